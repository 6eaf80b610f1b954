//! `ndarray` interop (feature `ndarray`): views to arrays and back, no
//! copy, element for element, against ndarray's own indexing and slicing.

use memview_core::{Slice, View, ViewError, ViewMut};
use ndarray::{s, Array, ArrayD, Axis, IxDyn};
use proptest::prelude::*;

/// Every index of `shape`, in C order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &n in shape {
        out = out
            .into_iter()
            .flat_map(|i| {
                (0..n).map(move |k| {
                    let mut j = i.clone();
                    j.push(k);
                    j
                })
            })
            .collect();
    }
    out
}

fn as_isize(i: &[usize]) -> Vec<isize> {
    i.iter().map(|&k| k as isize).collect()
}

/// A shape of 1 to 4 axes and a slice (start, stop, step) per axis.
fn sliced_shape() -> impl Strategy<Value = (Vec<usize>, Vec<(isize, isize, isize)>)> {
    prop::collection::vec(1usize..6, 1..=4).prop_flat_map(|shape| {
        let slices: Vec<_> = shape
            .iter()
            .map(|&n| {
                let n = n as isize;
                (0..n, 0..=n, prop::sample::select(vec![1isize, 2, -1, -2]))
            })
            .collect();
        (Just(shape), slices)
    })
}

proptest! {
    /// A sliced, flipped, strided memview view of `<i2` items and the
    /// ndarray view made of it see the same items at every index.
    #[test]
    fn a_view_to_ndarray_sees_every_item((shape, slices) in sliced_shape()) {
        let n: usize = shape.iter().product();
        let items = ArrayD::from_shape_vec(IxDyn(&shape), (0..n as i16).map(|v| v * 3 - 7).collect()).unwrap();
        // An aligned `h` view of the items, sliced by memview's rules.
        let whole = View::from_ndarray(items.view()).unwrap();
        prop_assert_eq!(whole.format(), "h");
        let sl: Vec<Slice> = slices
            .iter()
            .map(|&(a, b, st)| {
                if st > 0 {
                    Slice::new(Some(a), Some(b), Some(st))
                } else {
                    // Backwards from b - 1 down to a (None: through 0).
                    Slice::new(Some(b - 1), (a > 0).then_some(a - 1), Some(st))
                }
            })
            .collect();
        let v = whole.slice(&sl).unwrap();
        let a = v.to_ndarray::<i16>().unwrap();
        prop_assert_eq!(a.shape(), v.shape());
        for i in indices(v.shape()) {
            prop_assert_eq!(a[IxDyn(&i)], v.get::<i16>(&as_isize(&i)).unwrap());
        }
    }

    /// An array, its axes permuted and flipped, becomes a view and back
    /// with every element where ndarray has it.
    #[test]
    fn an_ndarray_to_a_view_and_back(
        shape in prop::collection::vec(1usize..5, 1..=4),
        flips in prop::collection::vec(any::<bool>(), 4),
        rotate in 0usize..4,
    ) {
        let n: usize = shape.iter().product();
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), (0..n as u32).map(|v| v * 7 + 1).collect()).unwrap();
        let mut a = arr.view();
        let nd = shape.len();
        let mut order: Vec<usize> = (0..nd).collect();
        order.rotate_left(rotate % nd);
        a = a.permuted_axes(IxDyn(&order));
        for (k, &f) in flips.iter().take(nd).enumerate() {
            if f {
                a.invert_axis(Axis(k));
            }
        }
        let v = View::from_ndarray(a.clone()).unwrap();
        prop_assert_eq!(v.format(), "I");
        prop_assert_eq!(v.shape(), a.shape());
        for i in indices(a.shape()) {
            prop_assert_eq!(v.get::<u32>(&as_isize(&i)).unwrap(), a[IxDyn(&i)]);
        }
        let back = v.to_ndarray::<u32>().unwrap();
        prop_assert_eq!(back, a);
    }
}

#[test]
fn arrays_with_gaps_are_refused_and_mismatched_formats_too() {
    let arr = Array::from_shape_vec((4, 6), (0u8..24).collect()).unwrap();
    // Columns 1..4 of every row: the gaps may be another borrow's.
    assert_eq!(
        View::from_ndarray(arr.slice(s![.., 1..4])).unwrap_err(),
        ViewError::NotDense
    );
    // Whole rows are one run: fine, and a broadcast too.
    assert!(View::from_ndarray(arr.slice(s![1..3, ..])).is_ok());
    let row = Array::from_vec(vec![1u8, 2, 3]);
    let b = row.broadcast((5, 3)).unwrap();
    let v = View::from_ndarray(b).unwrap();
    assert_eq!(
        (v.shape(), v.strides()),
        (&[5usize, 3][..], &[0isize, 1][..])
    );
    // A `B` view is not an array of u16; an `<H` one is not of i16.
    let bytes = vec![0u8; 8];
    let bv = View::from_parts(&bytes, "B", 0, &[8], &[1]).unwrap();
    assert!(matches!(
        bv.to_ndarray::<u16>(),
        Err(ViewError::Mismatch(_))
    ));
    assert!(bv.to_ndarray::<u8>().is_ok());
}

#[test]
fn misaligned_or_fractional_strides_are_refused() {
    let words = [0u32; 8];
    let a = ndarray::ArrayView1::from(&words[..]);
    let v = View::from_ndarray(a).unwrap(); // "I", aligned
                                            // Bytes 1.. as a view of one-byte-shifted items of `I`: misaligned.
    let bytes = v.cast("B", None).unwrap();
    let shifted = bytes
        .slice(&[Slice::range(1, 29)])
        .unwrap()
        .cast("I", None)
        .unwrap();
    assert!(matches!(
        shifted.to_ndarray::<u32>(),
        Err(ViewError::Misaligned { .. })
    ));
}

#[test]
fn mutable_views_write_through_both_ways() {
    let mut arr = Array::from_shape_vec((3, 4), vec![0i32; 12]).unwrap();
    {
        let mut flipped = arr.view_mut();
        flipped.invert_axis(Axis(1));
        let mut v = ViewMut::from_ndarray(flipped).unwrap();
        let mut back = v.to_ndarray_mut::<i32>().unwrap();
        back[[0, 0]] = 5; // row 0, last column of the original
        back[[2, 3]] = 9; // row 2, first column
    }
    assert_eq!(arr[[0, 3]], 5);
    assert_eq!(arr[[2, 0]], 9);
    assert_eq!(arr.iter().filter(|&&x| x != 0).count(), 2);
}
