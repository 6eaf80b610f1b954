//! Views: construction checks, offsets, rows, typed access, flips.

use memview_core::{MemOrder, Slice, View, ViewError, ViewMut};

#[test]
fn construction_is_checked() {
    let d = vec![0u8; 64];
    assert_eq!(
        View::from_parts(&d, "B", 0, &[8, 9], &[8, 1]).unwrap_err(),
        ViewError::OutOfBounds
    );
    assert_eq!(
        View::from_parts(&d, "B", 7, &[8], &[-1]).unwrap().shape(),
        &[8]
    );
    assert_eq!(
        View::from_parts(&d, "B", 6, &[8], &[-1]).unwrap_err(),
        ViewError::OutOfBounds
    );
    assert_eq!(
        View::from_parts(&d, "B", 0, &[usize::MAX, 2], &[1, 1]).unwrap_err(),
        ViewError::Overflow
    );
    assert_eq!(
        View::from_parts(&d, "B", 0, &[2, 2], &[isize::MAX, 1]).unwrap_err(),
        ViewError::Overflow
    );
    assert!(View::from_parts(&d, "B", 100, &[0], &[1]).is_err());
    assert!(View::from_parts(&d, "B", 64, &[0], &[1]).is_ok());
    assert!(View::from_parts(&d, "B", 0, &[1; 65], &[1; 65]).is_err());
    assert!(matches!(
        View::from_parts(&d, "Qy", 0, &[1], &[1]),
        Err(ViewError::Format(_))
    ));
    // Zero strides (broadcast) are fine read-only.
    let b = View::from_parts(&d, "i", 0, &[3, 4], &[0, 4]).unwrap();
    assert!(!b.is_contiguous());
}

#[test]
fn empty_slices_still_move_the_offset() {
    let d: Vec<u8> = (0..12).collect();
    let v = View::from_bytes(&d);
    let e = v.slice_axis(0, Slice::range(10, 2)).unwrap();
    assert_eq!((e.shape(), e.offset()), (&[0][..], 10));
    let r = v
        .slice_axis(0, Slice::new(Some(-100), None, Some(-1)))
        .unwrap();
    assert_eq!((r.shape(), r.offset()), (&[0][..], -1));
    assert_eq!(
        v.slice_axis(0, Slice::new(None, None, Some(0)))
            .unwrap_err()
            .to_string(),
        "slice step cannot be zero"
    );
}

#[test]
fn nd_index_slice_transpose_flip() {
    let d: Vec<u8> = (0..24).collect();
    let v = View::from_bytes(&d).cast("B", Some(&[2, 3, 4])).unwrap();
    let s = v.index(&[1]).unwrap();
    assert_eq!((s.shape(), s.offset()), (&[3, 4][..], 12));
    let t = v.transpose();
    assert_eq!(t.shape(), &[4, 3, 2]);
    assert_eq!(t.to_bytes(MemOrder::C)[..4], [0, 12, 4, 16]);
    assert!(t.is_f_contiguous() && !t.is_c_contiguous());
    assert_eq!(t.to_bytes(MemOrder::A), d);
    let f = v.flip(2).unwrap();
    assert_eq!(f.item(&[0, 0, 0]).unwrap(), &[3]);
    assert_eq!(
        v.index(&[0, -1, -1]).unwrap().tolist().unwrap(),
        memview_core::List::Item(memview_format::Value::Int(11))
    );
    assert_eq!(
        v.index(&[2]).unwrap_err().to_string(),
        "index out of bounds on dimension 1"
    );
    assert_eq!(
        v.index(&[0, 0, 0, 0]).unwrap_err().to_string(),
        "cannot index 3-dimension view with 4-element tuple"
    );
    let p = v.permute(&[2, 0, 1]).unwrap();
    assert_eq!(p.shape(), &[4, 2, 3]);
    assert!(v.permute(&[0, 0, 1]).is_err());
}

#[test]
fn rows_are_the_contiguous_trailing_block() {
    let d: Vec<u8> = (0..=255).cycle().take(1920 * 20).collect();
    let plane = View::from_parts(&d, "B", 0, &[20, 1920], &[1920, 1]).unwrap();
    let roi = plane
        .slice(&[Slice::range(3, 8), Slice::range(100, 150)])
        .unwrap();
    let rows: Vec<&[u8]> = roi.rows().unwrap().collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.len() == 50));
    assert_eq!(rows[1][0], d[4 * 1920 + 100]);
    // A packed 3-D (h, w, c) view merges w and c into one row.
    let rgb = View::from_parts(&d, "B", 0, &[10, 640, 3], &[2048, 3, 1]).unwrap();
    assert_eq!(rgb.rows().unwrap().next().unwrap().len(), 1920);
    // Lines stay lines even when they follow each other in memory.
    let tight = View::from_parts(&d, "B", 0, &[10, 640, 3], &[1920, 3, 1]).unwrap();
    assert_eq!(tight.rows().unwrap().len(), 10);
    let whole = View::from_bytes(&d);
    assert_eq!(whole.rows().unwrap().count(), 1);
    assert!(plane.transpose().rows().is_err());
}

#[test]
fn typed_access_is_strict() {
    let d: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let bytes: Vec<u8> = d.iter().flat_map(|x| x.to_ne_bytes()).collect();
    let v = View::from_bytes(&bytes).cast("f", Some(&[4, 4])).unwrap();
    assert!(matches!(v.as_slice::<i32>(), Err(ViewError::Mismatch(_))));
    let col = v.slice_axis(1, Slice::range(1, 2)).unwrap();
    assert_eq!(col.get::<f32>(&[2, 0]).unwrap(), 9.0);
    assert!(col.as_slice::<f32>().is_err());
    assert_eq!(v.as_slice::<u8>().unwrap().len(), 64);
    let left = v.slice_axis(1, Slice::range(0, 3)).unwrap();
    let rows: Vec<&[f32]> = match left.rows_as::<f32>() {
        Ok(r) => r.collect(),
        // The Vec<u8> may not be 4-aligned; then the error is the answer.
        Err(e) => {
            assert!(matches!(e, ViewError::Misaligned { .. }));
            return;
        }
    };
    assert_eq!(rows[3], &[12.0, 13.0, 14.0]);
}

#[test]
fn view_mut_writes_through_and_copies() {
    let mut d = vec![0u8; 24];
    let mut m = ViewMut::from_parts(&mut d, "h", 0, &[3, 4], &[8, 2]).unwrap();
    m.set::<i16>(&[1, 2], -2).unwrap();
    for r in m.rows_mut().unwrap() {
        r[0] = 9;
    }
    let src: Vec<u8> = (100..124).collect();
    let sv = View::from_bytes(&src).cast("h", Some(&[3, 4])).unwrap();
    let back = m.as_view().to_bytes(MemOrder::C);
    assert_eq!(back[0], 9);
    assert_eq!(&back[12..14], &(-2i16).to_ne_bytes());
    m.copy_from(&sv).unwrap();
    assert_eq!(d, src);
}

#[test]
fn equality_follows_memoryview() {
    let a: Vec<u8> = vec![1, 2, 3, 255];
    let va = View::from_bytes(&a);
    let c = va.cast("c", None).unwrap();
    let b = va.cast("b", None).unwrap();
    assert!(va == va.clone());
    assert!(va != c, "'B' never equals 'c'");
    assert!(va != b, "255 is not -1");
    let nan = f64::NAN.to_ne_bytes();
    let vn = View::from_bytes(&nan).cast("d", None).unwrap();
    assert!(vn != vn.clone(), "NaN is never equal");
    let e1 = View::from_parts(&a, "B", 0, &[0, 3], &[3, 1]).unwrap();
    let e2 = View::from_parts(&a, "B", 0, &[0, 5], &[5, 1]).unwrap();
    assert!(e1 == e2, "shapes equal up to the first zero");
    let t = View::from_parts(&a, "T{BB}", 0, &[2], &[2]).unwrap();
    assert!(t != t.clone(), "a format struct rejects is never equal");
    assert_eq!(va.hex_sep(Some(':'), 3), "01:0203ff");
    assert_eq!(va.hex_sep(Some(':'), -3), "010203:ff");
}

#[test]
fn region_is_strict_and_matches_slicing() {
    let d: Vec<u8> = (0..=255).cycle().take(64 * 48 * 3).collect();
    for (shape, strides) in [
        (vec![48, 64], vec![64, 1]),
        (vec![48, 64, 3], vec![192, 3, 1]),
        (vec![24, 32, 2, 3], vec![192, 6, 3, 1]),
    ] {
        let v = View::from_parts(&d, "B", 0, &shape, &strides).unwrap();
        let (from, to) = (10, 5);
        let backwards = from..to;
        let r = v.region(5..20, 7..30).unwrap();
        let s = v
            .slice(&[Slice::range(5, 20), Slice::range(7, 30)])
            .unwrap();
        assert_eq!(
            (r.shape(), r.strides(), r.offset()),
            (s.shape(), s.strides(), s.offset())
        );
        assert_eq!(r.to_bytes(MemOrder::C), s.to_bytes(MemOrder::C));
        let e = v.region(0..shape[0] + 1, 0..1).unwrap_err();
        assert_eq!(e, ViewError::RegionOutOfBounds { index: 0 });
        assert_eq!(
            v.region(0..1, backwards.clone()).unwrap_err(),
            ViewError::RegionOutOfBounds { index: 1 }
        );
        assert_eq!(v.region(3..3, 0..0).unwrap().shape()[..2], [0, 0]);
    }
    let line = View::from_bytes(&d);
    assert!(matches!(
        line.region(0..1, 0..1),
        Err(ViewError::BadAxis { .. })
    ));
    let mut m = d.clone();
    let mut roi = ViewMut::from_parts(&mut m, "B", 0, &[48, 192], &[192, 1])
        .unwrap()
        .region(1..3, 2..4)
        .unwrap();
    roi.fill(0);
    assert_eq!(&m[192..198], &[d[192], d[193], 0, 0, d[196], d[197]]);
}

/// A `ViewRef` and its regions read exactly what the `View` and its
/// regions read: random 2-D and 3-D layouts with padded lines, flipped and
/// transposed axes and 1- and 2-byte items; every region checks the same
/// bounds with the same errors; `region_ref_unchecked` gives the same
/// handles where the checks pass.
#[test]
fn view_ref_regions_equal_view_regions() {
    use memview_testkit::Rng;
    let mut rng = Rng::new(3118);
    let d: Vec<u8> = (0..4096).map(|i| (i * 37 % 253) as u8).collect();
    let (mut cases, mut refused) = (0, 0);
    while cases < 2000 {
        let three = rng.below(2) == 1;
        let item = 1 + rng.below(2);
        let c = if three { 1 + rng.below(4) } else { 1 };
        let w = 1 + rng.below(12);
        let h = 1 + rng.below(12);
        let line = w * c * item + rng.below(9);
        let (shape, strides) = if three {
            (
                vec![h, w, c],
                vec![line as isize, (c * item) as isize, item as isize],
            )
        } else {
            (vec![h, w], vec![line as isize, item as isize])
        };
        let fmt = if item == 2 { "<H" } else { "B" };
        let Ok(mut v) = View::from_parts(&d, fmt, 0, &shape, &strides) else {
            continue;
        };
        match rng.below(4) {
            0 => v = v.flip(0).unwrap(),
            1 => v = v.flip(1).unwrap(),
            2 if !three => v = v.transpose(),
            _ => {}
        }
        let (rows, cols) = (v.shape()[0], v.shape()[1]);
        let pick = |rng: &mut Rng, n: usize| {
            // Mostly inside, sometimes past the end or backwards.
            let a = rng.below(n + 2);
            let b = rng.below(n + 2);
            if rng.below(6) == 0 {
                b..a
            } else {
                a.min(b)..a.max(b)
            }
        };
        let (ys, xs) = (pick(&mut rng, rows), pick(&mut rng, cols));
        let want = v.region(ys.clone(), xs.clone());
        let got = v.view_ref().unwrap().region(ys.clone(), xs.clone());
        let fused = v.region_ref(ys.clone(), xs.clone());
        match (want, got, fused) {
            (Ok(a), Ok(b), Ok(f)) => {
                // SAFETY: `View::region` accepted these ranges of a view of
                // two or three axes.
                let unchecked = unsafe { v.region_ref_unchecked(ys.clone(), xs.clone()) };
                for r in [b, f, unchecked] {
                    assert_eq!(
                        (r.shape(), r.strides(), r.offset(), r.ndim(), r.itemsize()),
                        (a.shape(), a.strides(), a.offset(), a.ndim(), a.itemsize())
                    );
                    assert_eq!(
                        (r.format(), r.nbytes(), r.is_empty()),
                        (a.format(), a.nbytes(), a.is_empty())
                    );
                    match (a.rows(), r.rows()) {
                        (Ok(x), Ok(y)) => assert!(x.eq(y)),
                        (x, y) => assert_eq!(x.err(), y.err()),
                    }
                    for order in [MemOrder::C, MemOrder::F, MemOrder::A] {
                        let mut out = vec![0u8; r.nbytes()];
                        r.copy_into(&mut out, order).unwrap();
                        assert_eq!(out, a.to_bytes(order));
                    }
                    let mut short = vec![0u8; r.nbytes() + 1];
                    assert!(r.copy_into(&mut short, MemOrder::C).is_err());
                    let back = r.to_view();
                    assert_eq!(
                        (back.shape(), back.strides(), back.offset()),
                        (a.shape(), a.strides(), a.offset())
                    );
                    assert_eq!(back.to_bytes(MemOrder::C), a.to_bytes(MemOrder::C));
                }
            }
            (Err(a), Err(b), Err(f)) => {
                assert_eq!(a, b);
                assert_eq!(a, f);
                refused += 1;
            }
            other => panic!("View and ViewRef disagree on {ys:?} {xs:?}: {other:?}"),
        }
        cases += 1;
    }
    assert!(
        (200..1500).contains(&refused),
        "{refused} of {cases} refused"
    );
    // What a ViewRef cannot hold, it refuses.
    let line = View::from_bytes(&d);
    assert!(matches!(
        line.view_ref().unwrap().region(0..1, 0..1),
        Err(ViewError::BadAxis { axis: 1, ndim: 1 })
    ));
    let four = View::from_parts(&d, "B", 0, &[2, 2, 2, 2], &[8, 4, 2, 1]).unwrap();
    assert_eq!(
        four.view_ref().unwrap_err(),
        ViewError::TooManyAxesForRef { ndim: 4 }
    );
    assert!(four.region_ref(0..1, 0..1).is_err());
    // A Copy handle: it outlives nothing, but copies freely.
    let r = line.view_ref().unwrap();
    let copy = r;
    assert_eq!(copy.shape(), r.shape());
}

/// Issue 13: hostile but valid layouts give errors, never an abort.
#[test]
fn hostile_layouts_are_errors_not_aborts() {
    let d = [0u8; 4];
    // A valid empty view with a huge first extent: no items, but tolist
    // would need that many empty lists.
    for n in [usize::MAX, 1 << 40] {
        let v = View::from_parts(&d, "B", 0, &[n, 0], &[0, 1]).unwrap();
        assert_eq!(v.nbytes(), 0);
        match v.tolist() {
            Err(ViewError::ListTooLarge { entries }) => assert!(entries >= n.min(1 << 40)),
            other => panic!("shape [{n}, 0]: {other:?}"),
        }
    }
    // Small empty views still list as CPython does.
    let v = View::from_parts(&d, "B", 0, &[3, 0], &[0, 1]).unwrap();
    assert_eq!(
        v.tolist().unwrap(),
        memview_core::List::List(vec![memview_core::List::List(vec![]); 3])
    );
    // A zero-size item format says what is wrong with it.
    for f in ["0B", "0s", "0i"] {
        let e = View::from_parts(&d, f, 0, &[1], &[1]).unwrap_err();
        assert_eq!(e, ViewError::ZeroSizeItem { format: f.into() });
        let text = e.to_string();
        assert!(text.contains("0 bytes") && text.contains(f), "{text}");
    }
}

/// Issue 13: region overlap near `usize::MAX` neither panics nor wraps.
#[test]
fn region_overlap_does_not_wrap() {
    use memview_core::Region;
    let big = Region {
        x: usize::MAX - 1,
        y: 0,
        w: 10,
        h: 10,
    };
    let at0 = Region {
        x: 0,
        y: 0,
        w: 10,
        h: 10,
    };
    let near = Region {
        x: usize::MAX - 2,
        y: 5,
        w: 2,
        h: 1,
    };
    assert!(!big.overlaps(&at0) && !at0.overlaps(&big));
    assert!(big.overlaps(&near) && near.overlaps(&big));
    let tall = Region {
        x: 3,
        y: usize::MAX,
        w: 1,
        h: usize::MAX,
    };
    assert!(!tall.overlaps(&at0));
}

/// Found by the view_ops fuzz target: an extent-1 axis may carry any
/// stride, and walking past it once overflowed isize (a debug panic) on
/// the way to the carry.
#[test]
fn walks_over_extent_one_axes_with_huge_strides() {
    let d: Vec<u8> = (0..8).collect();
    for big in [isize::MAX, isize::MIN, isize::MAX / 2 + 3] {
        let v = View::from_parts(&d, "B", 2, &[3, 1], &[2, big]).unwrap();
        let items: Vec<u8> = v.items().flatten().copied().collect();
        assert_eq!(items, [2, 4, 6]);
        assert_eq!(v.to_bytes(MemOrder::F), [2, 4, 6]);
        let t = v.transpose();
        assert_eq!(t.to_bytes(MemOrder::C), [2, 4, 6]);
        let w = View::from_parts(&d, "B", 1, &[1, 2, 1], &[big, 3, big]).unwrap();
        assert_eq!(w.to_bytes(MemOrder::C), [1, 4]);
        assert_eq!(w.to_bytes(MemOrder::F), [1, 4]);
    }
}

/// Found by the view_ops fuzz target: an empty region at the end of an
/// axis, or any region of a layout with no items, has an offset no
/// validation bounded; it is an overflow error, never a wrap or a panic.
#[test]
fn regions_past_huge_strides_do_not_overflow() {
    let d = [0u8; 4];
    let v = View::from_parts(&d, "B", 1, &[1, 2], &[isize::MAX, 1]).unwrap();
    assert!(v.region(0..1, 0..2).is_ok());
    assert_eq!(v.region(1..1, 0..2).unwrap_err(), ViewError::Overflow);
    assert_eq!(v.region_ref(1..1, 0..2).unwrap_err(), ViewError::Overflow);
    let e = View::from_parts(&d, "B", 0, &[usize::MAX, 0], &[isize::MAX, 1]).unwrap();
    assert_eq!(e.region(7..9, 0..0).unwrap_err(), ViewError::Overflow);
    assert_eq!(e.region(0..0, 0..0).unwrap().shape(), &[0, 0]);
    // Indexing such a layout, likewise.
    let z = View::from_parts(&d, "B", 0, &[3, 0], &[isize::MAX, 1]).unwrap();
    assert_eq!(z.index(&[2]).unwrap_err(), ViewError::Overflow);
    assert_eq!(z.index(&[0]).unwrap().shape(), &[0]);
}

/// `as_ptr` is memoryview's `buf`: the address of item `[0, ...]`, which
/// moves with slicing and flipping (an FFI exporter hands it out with the
/// strides).
#[test]
fn as_ptr_is_the_first_items_address() {
    let data: Vec<u8> = (0..60).collect();
    let base = data.as_ptr();
    let v = View::from_parts(&data, "B", 0, &[6, 10], &[10, 1]).unwrap();
    assert_eq!(v.as_ptr(), base);
    let r = v.region(2..5, 3..7).unwrap();
    assert_eq!(r.as_ptr(), base.wrapping_add(23));
    assert_eq!(r.item(&[0, 0]).unwrap().as_ptr(), r.as_ptr());
    let f = r.flip(1).unwrap();
    assert_eq!(f.as_ptr(), base.wrapping_add(26));
    assert_eq!(f.item(&[0, 0]).unwrap(), &[26]);
}
