//! `ndarray` interop (feature `ndarray`): views to `ArrayView` /
//! `ArrayViewMut` and back, no copy, any dimension, negative strides
//! included, with memview's strict format rule.
//!
//! To ndarray, a view must have strides that are whole elements and an
//! aligned first item (ndarray's own requirements). From ndarray, an
//! array's elements must be one run of memory in some axis order (C,
//! Fortran, transposed, flipped, broadcast): a memview view covers a byte
//! span, and the gaps of a sliced array may belong to another `&mut`.

use core::mem::{align_of, size_of};

use memview_format::Element;
use ndarray::{ArrayView, ArrayViewMut, Axis, IxDyn, ShapeBuilder};

use super::{check_typed, View, ViewMut};
use crate::raw::Raw;
use crate::ViewError;

/// The element strides of `raw` for items of `T`, or why there are none.
fn element_strides<T: Element>(raw: &Raw) -> Result<Vec<isize>, ViewError> {
    check_typed::<T>(raw)?;
    let size = size_of::<T>() as isize;
    // A byte view passes the format rule, but its items are not `T`s: an
    // array of `T` needs a view cast to `T` first.
    if raw.itemsize as isize != size {
        return Err(ViewError::Mismatch(memview_format::FormatMismatch {
            expected: T::FORMAT.to_string(),
            found: raw.format.as_str().to_string(),
        }));
    }
    let first = raw.base as usize as isize + raw.offset;
    if first % align_of::<T>() as isize != 0 {
        return Err(ViewError::Misaligned {
            align: align_of::<T>(),
        });
    }
    raw.strides()
        .iter()
        .map(|&s| {
            if s % size == 0 {
                Ok(s / size)
            } else {
                Err(ViewError::Misaligned {
                    align: size_of::<T>(),
                })
            }
        })
        .collect()
}

/// The shape, the strides made non-negative, and the element offset from
/// item `[0, ...]` to the item the non-negative strides start from.
fn unflipped(shape: &[usize], strides: &[isize]) -> (Vec<usize>, isize) {
    let mut from = 0isize;
    let mut abs = Vec::with_capacity(strides.len());
    for (&n, &s) in shape.iter().zip(strides) {
        if s < 0 && n > 0 {
            from += s * (n as isize - 1);
        }
        abs.push(s.unsigned_abs());
    }
    (abs, from)
}

/// Flips back the axes whose memview strides are negative (the array was
/// made with their absolute values).
fn flip_back<S: ndarray::RawData>(a: &mut ndarray::ArrayBase<S, IxDyn>, strides: &[isize]) {
    for (axis, &s) in strides.iter().enumerate() {
        if s < 0 {
            a.invert_axis(Axis(axis));
        }
    }
}

impl View<'_> {
    /// The view as an `ndarray::ArrayViewD<T>` over the same bytes: `T`
    /// must be the view's item type (the strict rule of
    /// [`View::rows_as`]), every stride a whole number of `T`s and the
    /// first item aligned for `T`.
    ///
    /// ```
    /// use memview_core::View;
    /// let bytes: Vec<u8> = (0..12).collect();
    /// let v = View::from_parts(&bytes, "B", 0, &[3, 4], &[4, 1])?.flip(0)?;
    /// let a = v.to_ndarray::<u8>()?;
    /// assert_eq!(a[[0, 0]], 8); // the flipped first row
    /// assert_eq!(a.strides(), &[-4, 1]);
    /// # Ok::<(), memview_core::ViewError>(())
    /// ```
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayView<'_, T, IxDyn>, ViewError> {
        let strides = element_strides::<T>(&self.raw)?;
        let shape = self.raw.shape().to_vec();
        let (abs, from) = unflipped(&shape, &strides);
        let start = self
            .as_ptr()
            .wrapping_offset(from * size_of::<T>() as isize)
            .cast::<T>();
        // SAFETY: every item of this view lies inside bytes it keeps alive
        // and unwritten for as long as `self` is borrowed (checked when
        // the view was made); `start` is the item at the lowest address of
        // every axis, aligned (the first item is, and strides are whole
        // elements), and the non-negative strides from it reach exactly
        // the view's items. Axes are flipped back below with safe calls.
        let mut a = unsafe { ArrayView::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&abs)), start) };
        flip_back(&mut a, &strides);
        Ok(a)
    }
}

impl ViewMut<'_> {
    /// [`View::to_ndarray`] for a mutable view: an
    /// `ndarray::ArrayViewMutD<T>` writing through to the same bytes.
    pub fn to_ndarray_mut<T: Element>(&mut self) -> Result<ArrayViewMut<'_, T, IxDyn>, ViewError> {
        let strides = element_strides::<T>(&self.raw)?;
        let shape = self.raw.shape().to_vec();
        let (abs, from) = unflipped(&shape, &strides);
        let start = self
            .raw
            .base
            .wrapping_offset(self.raw.offset + from * size_of::<T>() as isize)
            .cast::<T>();
        // SAFETY: as in `View::to_ndarray`; a `ViewMut`'s items are its
        // own alone and never share bytes (checked when it was made), and
        // `&mut self` keeps them so for the array's lifetime.
        let mut a =
            unsafe { ArrayViewMut::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&abs)), start) };
        flip_back(&mut a, &strides);
        Ok(a)
    }
}

/// The byte span of an array's elements, as (offset in bytes from the
/// first element to the lowest address, span in bytes), if the elements
/// are one run of memory in some axis order; `None` otherwise.
fn dense_span<T>(shape: &[usize], strides: &[isize]) -> Option<(isize, usize)> {
    let size = size_of::<T>();
    if shape.contains(&0) {
        return Some((0, 0));
    }
    let mut axes: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&n, &s)| n > 1 && s != 0)
        .map(|(&n, &s)| (s.unsigned_abs(), n))
        .collect();
    axes.sort_unstable();
    let mut next = 1usize;
    for (s, n) in axes {
        if s != next {
            return None;
        }
        next = s.checked_mul(n)?;
    }
    let mut low = 0isize;
    for (&n, &s) in shape.iter().zip(strides) {
        if s < 0 {
            low += s * (n as isize - 1);
        }
    }
    Some((low * size as isize, next.checked_mul(size)?))
}

fn byte_strides<T>(strides: &[isize]) -> Vec<isize> {
    strides
        .iter()
        .map(|&s| s * size_of::<T>() as isize)
        .collect()
}

impl<'a, T: Element> TryFrom<ArrayView<'a, T, IxDyn>> for View<'a> {
    type Error = ViewError;

    /// The array's elements as a view of format `T::FORMAT`, no copy.
    fn try_from(a: ArrayView<'a, T, IxDyn>) -> Result<View<'a>, ViewError> {
        View::from_ndarray(a)
    }
}

impl<'a> View<'a> {
    /// A view of an `ndarray::ArrayView` of any dimension, no copy: format
    /// `T::FORMAT`, the array's shape and strides (negative ones
    /// included). The elements must be one run of memory in some axis
    /// order ([`ViewError::NotDense`] otherwise, e.g. for a sliced
    /// array with gaps: copy it with `to_owned()` first).
    pub fn from_ndarray<T: Element, D: ndarray::Dimension>(
        a: ArrayView<'a, T, D>,
    ) -> Result<View<'a>, ViewError> {
        let shape = a.shape().to_vec();
        let strides = a.strides().to_vec();
        let (low, span) = dense_span::<T>(&shape, &strides).ok_or(ViewError::NotDense)?;
        let first = a.as_ptr().cast::<u8>();
        // SAFETY: `dense_span` checked that the bytes from the lowest
        // element's address for `span` bytes are exactly the array's
        // elements, which the array borrows immutably for `'a`; `T` is a
        // plain number (`Element`), every byte of it initialised.
        let bytes = unsafe { core::slice::from_raw_parts(first.wrapping_offset(low), span) };
        View::from_parts(bytes, T::FORMAT, -low, &shape, &byte_strides::<T>(&strides))
    }
}

impl<'a> ViewMut<'a> {
    /// [`View::from_ndarray`] for an `ndarray::ArrayViewMut`: a mutable
    /// view writing through to the array's elements.
    pub fn from_ndarray<T: Element, D: ndarray::Dimension>(
        mut a: ArrayViewMut<'a, T, D>,
    ) -> Result<ViewMut<'a>, ViewError> {
        let shape = a.shape().to_vec();
        let strides = a.strides().to_vec();
        let (low, span) = dense_span::<T>(&shape, &strides).ok_or(ViewError::NotDense)?;
        let first = a.as_mut_ptr().cast::<u8>();
        // SAFETY: as in `View::from_ndarray`; the array borrows its
        // elements mutably for `'a` and gives that borrow up here.
        let bytes = unsafe { core::slice::from_raw_parts_mut(first.wrapping_offset(low), span) };
        ViewMut::from_parts(bytes, T::FORMAT, -low, &shape, &byte_strides::<T>(&strides))
    }
}
