//! `ViewRef`: a `Copy` borrow of a view of up to three axes, the cheap
//! handle for per-frame work (a video plane is 2-D, a packed one 3-D).
//!
//! A [`View`] owns its layout (and, for a shared exporter, a share of the
//! buffer), so making one means writing and later dropping 120 bytes with
//! an owner. A `ViewRef<'v>` instead points at the layout of the view it
//! came from, for the buffer, item size and format, and keeps only its own
//! offset, shape and strides, inline: building one is a few word stores,
//! copying one is free and nothing needs dropping. It reads the same bytes
//! the same way; [`ViewRef::to_view`] turns it into a full `View` borrowed
//! for `'v` when the rest of the API is wanted.

use core::fmt;

use crate::error::ViewError;
use crate::raw::{self, MemOrder, OffsetWalker, Raw};
use crate::small::Axes;
use crate::view::{Rows, View};

/// Axes a [`ViewRef`] holds.
pub(crate) const AXES: usize = crate::small::AXES_INLINE;

/// A `Copy`, read-only borrow of a view of at most three axes, made by
/// [`View::view_ref`] and cut further in O(1) by [`ViewRef::region`].
///
/// ```
/// use memview_core::View;
/// let frame = vec![7u8; 100 * 64];
/// let luma = View::from_parts(&frame, "B", 0, &[100, 60], &[64, 1])?;
/// let zone = luma.view_ref()?.region(10..20, 5..25)?;
/// assert_eq!((zone.shape(), zone.strides()), (&[10, 20][..], &[64, 1][..]));
/// assert!(zone.rows()?.all(|row| row == [7u8; 20]));
/// assert_eq!(zone.to_view().shape(), &[10, 20]);
/// # Ok::<(), memview_core::ViewError>(())
/// ```
#[derive(Clone, Copy)]
pub struct ViewRef<'v> {
    /// The view this one lies in: its buffer, item size, format, number of
    /// axes and strides (a region keeps all of them), held inline there.
    parent: &'v Raw,
    offset: isize,
    shape: [usize; AXES],
}

impl fmt::Debug for ViewRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ViewRef")
            .field("format", &self.format())
            .field("offset", &self.offset)
            .field("shape", &self.shape())
            .field("strides", &self.strides())
            .finish()
    }
}

impl<'a> View<'a> {
    /// A [`ViewRef`] of this view: the same layout as a `Copy` handle
    /// borrowed from it. Views of more than three axes have none.
    #[inline]
    pub fn view_ref(&self) -> Result<ViewRef<'_>, ViewError> {
        let raw = self.raw();
        // Views of up to three axes keep them inline, where the handle
        // reads them.
        let Some(shape) = raw.axes.inline_shape() else {
            return Err(ViewError::TooManyAxesForRef { ndim: raw.ndim() });
        };
        Ok(ViewRef {
            parent: raw,
            offset: raw.offset,
            shape,
        })
    }
}

impl<'a> View<'a> {
    /// [`View::region`] as a [`ViewRef`]: `self.view_ref()?.region(y, x)`
    /// in one step, the per-zone fast path.
    #[inline]
    pub fn region_ref(
        &self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> Result<ViewRef<'_>, ViewError> {
        self.view_ref()?.region(y, x)
    }
}

impl<'a> View<'a> {
    /// [`View::region_ref`] without its checks, for a caller that has
    /// proved them once for many regions: memview-pixel checks a frame's
    /// planes against the frame's size once, then cuts every zone's planes
    /// with this.
    ///
    /// # Safety
    ///
    /// The view has two or three axes, `y.start <= y.end <= shape[0]`,
    /// `x.start <= x.end <= shape[1]`, and the region's offset fits in
    /// `isize` (true of any region of a view that has items; an empty
    /// region at the end of an axis of huge stride may not, which
    /// [`View::region_ref`] reports as an overflow). The returned view is read through
    /// raw pointers by safe code (`rows`, `copy_into`, `to_view`), so a
    /// region outside the view would read outside its buffer.
    #[inline(always)]
    pub unsafe fn region_ref_unchecked(
        &self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> ViewRef<'_> {
        debug_assert!(
            (2..=AXES).contains(&self.ndim()) && self.region_ref(y.clone(), x.clone()).is_ok(),
            "region_ref_unchecked: {y:?} x {x:?} outside {:?}",
            self.shape()
        );
        let raw = self.raw();
        // Two or three axes are inline (the caller's promise).
        let (shape, strides) = (raw.axes.inline_shape_ref(), raw.axes.inline_strides());
        ViewRef {
            parent: raw,
            offset: raw.offset + y.start as isize * strides[0] + x.start as isize * strides[1],
            shape: [y.end - y.start, x.end - x.start, shape[2]],
        }
    }
}

impl<'v> ViewRef<'v> {
    /// The item format (struct syntax).
    pub fn format(&self) -> &'v str {
        self.parent.format.as_str()
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.parent.itemsize
    }

    /// Number of axes.
    #[inline]
    pub fn ndim(&self) -> usize {
        self.parent.axes.inline_len()
    }

    /// Extent of each axis.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        &self.shape[..self.ndim()]
    }

    /// Signed byte step of each axis.
    #[inline]
    pub fn strides(&self) -> &[isize] {
        self.parent.strides()
    }

    /// Byte offset of the first item from the start of the buffer.
    pub fn offset(&self) -> isize {
        self.offset
    }

    /// Bytes the items take (`product(shape) * itemsize`).
    pub fn nbytes(&self) -> usize {
        self.shape().iter().product::<usize>() * self.itemsize()
    }

    /// Whether some axis is empty.
    pub fn is_empty(&self) -> bool {
        self.shape().contains(&0)
    }

    /// Rows `y` and columns `x` (the first two axes), as [`View::region`]:
    /// the same checks, the same errors, no allocation, no owner to clone.
    #[inline]
    pub fn region(
        &self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> Result<ViewRef<'v>, ViewError> {
        let strides = self.parent.axes.inline_strides();
        let offset = raw::region_start(self.ndim(), &self.shape, strides, self.offset, &y, &x)?;
        Ok(ViewRef {
            parent: self.parent,
            offset,
            shape: [y.end - y.start, x.end - x.start, self.shape[2]],
        })
    }

    /// The rows, as [`View::rows`] gives them.
    pub fn rows(&self) -> Result<Rows<'v>, ViewError> {
        let (k, len) = raw::row_plan(self.shape(), self.strides(), self.itemsize())?;
        let walk = OffsetWalker::from_parts(self.shape(), self.strides(), self.offset, k, true);
        // The layout is a sub-layout of the parent's validated one, whose
        // bytes the borrow `'v` keeps alive and unwritten.
        Ok(Rows::new(self.parent, walk, len))
    }

    /// The full [`View`] of the same items, borrowed for `'v`.
    pub fn to_view(&self) -> View<'v> {
        View::borrowed(Raw {
            base: self.parent.base,
            buf_len: self.parent.buf_len,
            offset: self.offset,
            axes: Axes::new(self.shape(), self.strides()),
            itemsize: self.parent.itemsize,
            format: self.parent.format.clone(),
        })
    }

    /// `tobytes` into a caller's buffer of exactly [`ViewRef::nbytes`]
    /// bytes, as [`View::copy_into`].
    pub fn copy_into(&self, out: &mut [u8], order: MemOrder) -> Result<(), ViewError> {
        if order == MemOrder::C {
            // Row by row: the common case, with no layout to build.
            if let Ok(rows) = self.rows() {
                let len = rows.len() * rows.row_len();
                if out.len() != len || len != self.nbytes() {
                    return Err(ViewError::WrongLength {
                        expected: self.nbytes(),
                        got: out.len(),
                    });
                }
                let width = rows.row_len();
                if width > 0 {
                    for (dst, row) in out.chunks_exact_mut(width).zip(rows) {
                        dst.copy_from_slice(row);
                    }
                }
                return Ok(());
            }
        }
        self.to_view().copy_into(out, order)
    }
}
