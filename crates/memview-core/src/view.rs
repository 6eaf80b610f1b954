//! `View` and `ViewMut`. This is the crate's one module with `unsafe`: it
//! turns validated layouts into memory accesses.

use core::fmt;
use core::marker::PhantomData;

use memview_format::{element_matches, Element};

use crate::error::ViewError;
use crate::export::{Managed, WriteGuard};
use crate::raw::{self, ItemFormat, MemOrder, OffsetWalker, Raw, Slice};
use crate::sync::Arc;

/// What keeps a read-only view's bytes alive and unwritten.
#[derive(Clone)]
enum Owner {
    /// A borrow (`'a`) does.
    Borrowed,
    /// A share of a managed buffer does; it counts as an export. Held only
    /// for its drop, which releases the export.
    Shared(#[allow(dead_code)] Arc<Managed>),
}

/// What keeps a mutable view's bytes alive and exclusively its own.
enum MutOwner {
    Borrowed,
    Writer(WriteGuard),
}

/// A read-only, strided, N-dimensional view of items in a byte buffer:
/// memoryview with its exact semantics, O(1) to make and to slice.
///
/// A `View<'a>` borrows its bytes for `'a`; a `View<'static>` from a
/// [`crate::Shared`] exporter owns a share of them and counts as an export
/// until dropped. Dropping (or [`View::release`]) releases it; a released
/// view cannot be used again, which the compiler checks.
#[derive(Clone)]
pub struct View<'a> {
    raw: Raw,
    owner: Owner,
    _life: PhantomData<&'a [u8]>,
}

// SAFETY: a View only reads, and its owner guarantees that nobody writes
// the bytes it covers while it lives (a shared borrow, or a managed buffer
// with no writer); reading the same bytes from several threads is fine.
unsafe impl Send for View<'_> {}
// SAFETY: as above; `&View` gives only read access.
unsafe impl Sync for View<'_> {}

/// A mutable, strided view. No two of its items share bytes, and no other
/// view overlaps it; it splits into disjoint mutable parts
/// ([`ViewMut::split_regions`], [`ViewMut::rows_mut`]) that can be written
/// from different threads.
pub struct ViewMut<'a> {
    raw: Raw,
    owner: MutOwner,
    _life: PhantomData<&'a mut [u8]>,
}

// SAFETY: a ViewMut is the only view of its bytes (a unique borrow, or a
// writer share of a managed buffer that refuses every other export), so
// moving it to another thread moves the only access.
unsafe impl Send for ViewMut<'_> {}
// SAFETY: `&ViewMut` only reads (through `as_view` and the getters).
unsafe impl Sync for ViewMut<'_> {}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_raw(f, "View", &self.raw)
    }
}

impl fmt::Debug for ViewMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_raw(f, "ViewMut", &self.raw)
    }
}

fn debug_raw(f: &mut fmt::Formatter<'_>, name: &str, r: &Raw) -> fmt::Result {
    f.debug_struct(name)
        .field("format", &r.format)
        .field("itemsize", &r.itemsize)
        .field("shape", &r.shape())
        .field("strides", &r.strides())
        .field("offset", &r.offset)
        .finish()
}

/// The raw memory accessors; every caller states why its range is valid.
mod mem {
    use crate::raw::Raw;

    /// # Safety
    ///
    /// * `off..off + len` lies inside `raw`'s buffer (one item or one row of
    ///   a layout `raw::validate` accepted);
    /// * the bytes stay alive and unwritten by others for `'a`.
    pub(super) unsafe fn bytes<'a>(raw: &Raw, off: isize, len: usize) -> &'a [u8] {
        debug_assert!(off >= 0 && off as usize + len <= raw.buf_len);
        // SAFETY: in bounds and alive by the caller's contract; u8 has no
        // alignment or validity requirement.
        unsafe { core::slice::from_raw_parts(raw.base.offset(off), len) }
    }

    /// # Safety
    ///
    /// As [`bytes()`], and no other live reference covers those bytes.
    pub(super) unsafe fn bytes_mut<'a>(raw: &Raw, off: isize, len: usize) -> &'a mut [u8] {
        debug_assert!(off >= 0 && off as usize + len <= raw.buf_len);
        // SAFETY: in bounds and unaliased by the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(raw.base.offset(off), len) }
    }
}

/// The view layer's typed-access check: strict format matching, alignment.
#[cfg(feature = "ndarray")]
mod ndarray;

fn check_typed<T: Element>(raw: &Raw) -> Result<(), ViewError> {
    let f = &raw.format;
    if !element_matches::<T>(f.single(), f.is_byte_format()) {
        return Err(ViewError::Mismatch(memview_format::FormatMismatch {
            expected: T::FORMAT.to_string(),
            found: f.as_str().to_string(),
        }));
    }
    Ok(())
}

fn is_aligned<T>(raw: &Raw, off: isize) -> bool {
    (raw.base as usize)
        .wrapping_add(off as usize)
        .is_multiple_of(core::mem::align_of::<T>())
}

impl<'a> View<'a> {
    /// A 1-D `B` view of a byte slice.
    pub fn from_bytes(bytes: &'a [u8]) -> View<'a> {
        View {
            raw: Raw::bytes(bytes.as_ptr().cast_mut(), bytes.len()),
            owner: Owner::Borrowed,
            _life: PhantomData,
        }
    }

    pub(crate) fn from_managed(m: Arc<Managed>) -> View<'static> {
        View {
            raw: Raw::bytes(m.base(), m.len()),
            owner: Owner::Shared(m),
            _life: PhantomData,
        }
    }

    /// A view from its parts, as a producer describes its memory (a
    /// camera's bytes-per-line, a decoder's linesize): every item must lie
    /// inside `bytes`, checked once here with checked arithmetic.
    ///
    /// ```
    /// use memview_core::View;
    /// let frame = vec![0u8; 100 * 64]; // 100 lines of 64 bytes, 60 used
    /// let v = View::from_parts(&frame, "B", 0, &[100, 60], &[64, 1])?;
    /// assert_eq!(v.shape(), &[100, 60]);
    /// assert!(View::from_parts(&frame, "B", 0, &[101, 60], &[64, 1]).is_err());
    /// # Ok::<(), memview_core::ViewError>(())
    /// ```
    pub fn from_parts(
        bytes: &'a [u8],
        format: &str,
        offset: isize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<View<'a>, ViewError> {
        View::from_bytes(bytes).with_parts(format, offset, shape, strides)
    }

    /// Re-lays this view's bytes out with new parts: the view must be
    /// C-contiguous, `offset` counts from its first byte, and every item of
    /// the new layout must lie inside its [`View::nbytes`] bytes (checked as
    /// [`View::from_parts`]). A view never reaches bytes outside its own
    /// this way. For shared views, the result is another export.
    pub fn with_parts(
        &self,
        format: &str,
        offset: isize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<View<'a>, ViewError> {
        Ok(self.derive(parts(&self.raw, format, offset, shape, strides)?))
    }

    /// A view of `raw` that a borrow for `'a` keeps alive (the caller's
    /// `raw` lies inside memory borrowed for `'a`).
    #[inline(always)]
    pub(crate) fn borrowed(raw: Raw) -> View<'a> {
        View {
            raw,
            owner: Owner::Borrowed,
            _life: PhantomData,
        }
    }

    /// The layout.
    #[inline(always)]
    pub(crate) fn raw(&self) -> &Raw {
        &self.raw
    }

    #[inline(always)]
    fn derive(&self, raw: Raw) -> View<'a> {
        View {
            raw,
            owner: self.owner.clone(),
            _life: PhantomData,
        }
    }

    #[inline(always)]
    fn map(
        &self,
        f: impl FnOnce(&mut Raw) -> Result<(), ViewError>,
    ) -> Result<View<'a>, ViewError> {
        // Clone in place and change the copy: one copy of the layout.
        let mut v = self.clone();
        f(&mut v.raw)?;
        Ok(v)
    }

    /// Releases the view now (the same as dropping it). CPython's
    /// `release()`; any later use is a compile error.
    pub fn release(self) {}

    /// The format, exactly as given.
    pub fn format(&self) -> &str {
        self.raw.format.as_str()
    }

    /// The parsed item format.
    pub fn item_format(&self) -> &ItemFormat {
        &self.raw.format
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.raw.itemsize
    }

    /// Number of dimensions (0 to 64).
    pub fn ndim(&self) -> usize {
        self.raw.ndim()
    }

    /// Extent of each axis.
    pub fn shape(&self) -> &[usize] {
        self.raw.shape()
    }

    /// Byte step of each axis (negative and zero allowed).
    pub fn strides(&self) -> &[isize] {
        self.raw.strides()
    }

    /// Byte offset of item `[0, ...]` in the buffer.
    pub fn offset(&self) -> isize {
        self.raw.offset
    }

    /// `product(shape) * itemsize`: the logical size.
    pub fn nbytes(&self) -> usize {
        self.raw.nbytes()
    }

    /// Always true: a `View` is read-only.
    pub fn readonly(&self) -> bool {
        true
    }

    /// The address of item `[0, 0, ...]`, memoryview's `buf`: what an
    /// exporter over FFI (a `Py_buffer`) hands out with the shape and
    /// strides. Reading through it is the caller's `unsafe` business: every
    /// item lies inside the validated buffer, which the view's owner keeps
    /// alive and unwritten while the view (or a copy of its parts) lives.
    pub fn as_ptr(&self) -> *const u8 {
        self.raw.base.cast_const().wrapping_offset(self.raw.offset)
    }

    /// `len()`: the extent of the first axis (an error for 0-d views, as in
    /// CPython 3.12).
    pub fn len(&self) -> Result<usize, ViewError> {
        self.raw
            .shape()
            .first()
            .copied()
            .ok_or(ViewError::ZeroDimLength)
    }

    /// Whether the view holds no items.
    pub fn is_empty(&self) -> bool {
        self.raw.nitems() == 0
    }

    /// C-contiguous, with CPython's exact definition.
    pub fn is_c_contiguous(&self) -> bool {
        self.raw.is_c_contiguous()
    }

    /// Fortran-contiguous, with CPython's exact definition.
    pub fn is_f_contiguous(&self) -> bool {
        self.raw.is_f_contiguous()
    }

    /// C- or Fortran-contiguous.
    pub fn is_contiguous(&self) -> bool {
        self.is_c_contiguous() || self.is_f_contiguous()
    }

    /// Indexes the first `idx.len()` axes (negative from the end): a
    /// sub-view of the remaining axes, or a 0-d view.
    #[inline]
    pub fn index(&self, idx: &[isize]) -> Result<View<'a>, ViewError> {
        self.map(|r| r.index(idx))
    }

    /// Slices one axis with Python's rules.
    #[inline]
    pub fn slice_axis(&self, axis: usize, s: Slice) -> Result<View<'a>, ViewError> {
        self.map(|r| r.slice_axis(axis, s))
    }

    /// Slices the leading axes, one [`Slice`] each.
    #[inline]
    pub fn slice(&self, slices: &[Slice]) -> Result<View<'a>, ViewError> {
        self.map(|r| r.slice(slices))
    }

    /// Rows `y` and columns `x` of the first two axes (a region of
    /// interest), in O(1) without allocating. Unlike slicing, a range that
    /// leaves the view is an error ([`ViewError::RegionOutOfBounds`], index
    /// 0 for `y`, 1 for `x`) rather than being clamped.
    ///
    /// ```
    /// use memview_core::View;
    /// let plane = vec![0u8; 1920 * 1080];
    /// let v = View::from_parts(&plane, "B", 0, &[1080, 1920], &[1920, 1])?;
    /// let face = v.region(400..600, 800..1000)?;
    /// assert_eq!((face.shape(), face.offset()), (&[200, 200][..], 400 * 1920 + 800));
    /// assert!(v.region(1000..1100, 0..10).is_err());
    /// # Ok::<(), memview_core::ViewError>(())
    /// ```
    #[inline]
    pub fn region(
        &self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> Result<View<'a>, ViewError> {
        Ok(self.derive(self.raw.region(y, x)?))
    }

    /// memoryview.cast: to a native single-code format, optionally with a
    /// new shape, with CPython's rules and error order.
    pub fn cast(&self, format: &str, shape: Option<&[usize]>) -> Result<View<'a>, ViewError> {
        self.map(|r| r.cast(format, shape))
    }

    /// Reverses the order of the axes.
    pub fn transpose(&self) -> View<'a> {
        let mut raw = self.raw.clone();
        raw.transpose();
        self.derive(raw)
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]`.
    pub fn permute(&self, axes: &[usize]) -> Result<View<'a>, ViewError> {
        self.map(|r| r.permute(axes))
    }

    /// Reverses one axis (a flip; negative stride).
    pub fn flip(&self, axis: usize) -> Result<View<'a>, ViewError> {
        self.map(|r| r.flip(axis))
    }

    /// The bytes of the view, if it is C-contiguous.
    pub fn as_bytes(&self) -> Result<&[u8], ViewError> {
        if !self.is_c_contiguous() {
            return Err(ViewError::NotCContiguous);
        }
        if self.is_empty() {
            return Ok(&[]);
        }
        // SAFETY: a non-empty C-contiguous layout covers exactly
        // `offset..offset + nbytes`, inside the validated buffer; the owner
        // keeps it alive and unwritten while `self` is borrowed.
        Ok(unsafe { mem::bytes(&self.raw, self.raw.offset, self.nbytes()) })
    }

    /// The items as `&[T]`: the view must be C-contiguous, its format must
    /// match `T` strictly (byte formats being the escape hatch), and the
    /// data aligned for `T`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], ViewError> {
        let bytes = self.as_bytes()?;
        check_typed::<T>(&self.raw)?;
        typed_slice(bytes)
    }

    /// The item at `idx` (one index per axis) as `T`, for strided data.
    pub fn get<T: Element>(&self, idx: &[isize]) -> Result<T, ViewError> {
        check_typed::<T>(&self.raw)?;
        let item = self.item(idx)?;
        typed_value(item)
    }

    /// The bytes of the item at `idx` (one index per axis).
    pub fn item(&self, idx: &[isize]) -> Result<&[u8], ViewError> {
        let mut raw = self.raw.clone();
        if raw.ndim() != idx.len() {
            if raw.ndim() == 0 {
                return Err(ViewError::ZeroDimIndex);
            }
            return Err(ViewError::TooManyIndices {
                ndim: raw.ndim(),
                given: idx.len(),
            });
        }
        raw.index(idx)?;
        // SAFETY: `raw` now addresses one item of the validated layout.
        Ok(unsafe { mem::bytes(&self.raw, raw.offset, self.raw.itemsize) })
    }

    /// The rows of the view: its trailing contiguous block (the last axis,
    /// merged with the axes before it, except the first, while they are
    /// contiguous too), one `&[u8]` per index of the remaining leading axes,
    /// in C order. A 2-D plane gives its lines; a packed `(h, w, c)` view
    /// gives lines of `w * c` bytes; a 1-D view gives one row. O(1) per
    /// row and no allocation: the analyzers' fast path.
    pub fn rows(&self) -> Result<Rows<'_>, ViewError> {
        let (k, len) = self.raw.row_plan()?;
        Ok(Rows {
            raw: &self.raw,
            walk: OffsetWalker::new(&self.raw, k, true),
            len,
        })
    }

    /// The rows as `&[T]`, checked once for format and alignment.
    pub fn rows_as<T: Element>(&self) -> Result<TypedRows<'_, T>, ViewError> {
        check_typed::<T>(&self.raw)?;
        let rows = self.rows()?;
        if rows.len % core::mem::size_of::<T>() != 0 {
            return Err(ViewError::Misaligned {
                align: core::mem::size_of::<T>(),
            });
        }
        if !rows.walk.clone().all(|off| is_aligned::<T>(&self.raw, off)) {
            return Err(ViewError::Misaligned {
                align: core::mem::align_of::<T>(),
            });
        }
        Ok(TypedRows {
            rows,
            _t: PhantomData,
        })
    }

    /// Every item's bytes in logical C order.
    pub fn items(&self) -> Items<'_> {
        Items {
            raw: &self.raw,
            walk: OffsetWalker::new(&self.raw, self.raw.ndim(), true),
        }
    }

    /// Every item's bytes in logical Fortran order.
    pub fn items_f(&self) -> Items<'_> {
        Items {
            raw: &self.raw,
            walk: OffsetWalker::new(&self.raw, self.raw.ndim(), false),
        }
    }

    /// `tobytes(order)`.
    pub fn to_bytes(&self, order: MemOrder) -> Vec<u8> {
        let mut out = vec![0u8; self.nbytes()];
        self.fill_bytes(&mut out, order);
        out
    }

    /// `tobytes` into a caller's buffer of exactly [`View::nbytes`] bytes.
    pub fn copy_into(&self, out: &mut [u8], order: MemOrder) -> Result<(), ViewError> {
        if out.len() != self.nbytes() {
            return Err(ViewError::WrongLength {
                expected: self.nbytes(),
                got: out.len(),
            });
        }
        self.fill_bytes(out, order);
        Ok(())
    }

    fn fill_bytes(&self, out: &mut [u8], order: MemOrder) {
        let c_order = match order {
            MemOrder::C => true,
            MemOrder::F => false,
            MemOrder::A => !self.is_f_contiguous() || self.is_c_contiguous(),
        };
        if self.is_empty() {
            return;
        }
        let contiguous = if c_order {
            self.is_c_contiguous()
        } else {
            self.is_f_contiguous()
        };
        if contiguous {
            // SAFETY: a contiguous non-empty layout covers exactly
            // `offset..offset + nbytes` of the validated buffer.
            out.copy_from_slice(unsafe { mem::bytes(&self.raw, self.raw.offset, out.len()) });
            return;
        }
        if c_order && self.raw.ndim() == 2 && self.raw.strides()[1] == self.raw.itemsize as isize {
            // The common ROI case, without the general walker.
            let n = self.raw.shape()[1] * self.raw.itemsize;
            let (mut off, step) = (self.raw.offset, self.raw.strides()[0]);
            for dst in out.chunks_exact_mut(n) {
                // SAFETY: row `y` of a validated 2-D layout whose last axis
                // is contiguous: `n` bytes at `offset + y * stride0`.
                dst.copy_from_slice(unsafe { mem::bytes(&self.raw, off, n) });
                off += step;
            }
            return;
        }
        if c_order {
            if let Ok(rows) = self.rows() {
                let n = rows.len;
                for (dst, row) in out.chunks_exact_mut(n).zip(rows) {
                    dst.copy_from_slice(row);
                }
                return;
            }
        }
        let isz = self.raw.itemsize;
        let items = if c_order {
            self.items()
        } else {
            self.items_f()
        };
        for (dst, item) in out.chunks_exact_mut(isz).zip(items) {
            dst.copy_from_slice(item);
        }
    }

    /// `hex()`: the C-order bytes in lowercase hex.
    pub fn hex(&self) -> String {
        self.hex_sep(None, 1)
    }

    /// `hex(sep, bytes_per_sep)`: a separator every `|bytes_per_sep|`
    /// bytes, counted from the right when positive and from the left when
    /// negative; 0 means none.
    pub fn hex_sep(&self, sep: Option<char>, bytes_per_sep: isize) -> String {
        crate::ops::hex(&self.to_bytes(MemOrder::C), sep, bytes_per_sep)
    }

    /// `tolist()`: nested lists of the items' values. Only native
    /// single-code formats are supported, as in memoryview.
    pub fn tolist(&self) -> Result<crate::ops::List, ViewError> {
        crate::ops::tolist(self)
    }
}

/// Checks `bytes` can be seen as `[T]` and returns it.
fn typed_slice<T: Element>(bytes: &[u8]) -> Result<&[T], ViewError> {
    let size = core::mem::size_of::<T>();
    if !bytes.len().is_multiple_of(size) {
        return Err(ViewError::Misaligned { align: size });
    }
    if !(bytes.as_ptr() as usize).is_multiple_of(core::mem::align_of::<T>()) {
        return Err(ViewError::Misaligned {
            align: core::mem::align_of::<T>(),
        });
    }
    // SAFETY: the pointer is aligned for T and the length is a multiple of
    // its size (both checked above); `T` is a sealed `Element`, a plain
    // number valid for every bit pattern; the lifetime is `bytes`'s.
    Ok(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
}

/// Reads one `T` from an item's bytes.
fn typed_value<T: Element>(item: &[u8]) -> Result<T, ViewError> {
    if item.len() != core::mem::size_of::<T>() {
        return Err(ViewError::BadItemsize {
            itemsize: item.len(),
            format_size: core::mem::size_of::<T>(),
        });
    }
    // SAFETY: `item` holds exactly size_of::<T>() bytes, read unaligned;
    // `T` is valid for every bit pattern (a sealed `Element`).
    Ok(unsafe { item.as_ptr().cast::<T>().read_unaligned() })
}

/// A new layout inside the bytes of the C-contiguous layout `within`.
fn parts(
    within: &Raw,
    format: &str,
    offset: isize,
    shape: &[usize],
    strides: &[isize],
) -> Result<Raw, ViewError> {
    if !within.is_c_contiguous() {
        return Err(ViewError::NotCContiguous);
    }
    let mut raw = within.clone();
    let f = ItemFormat::new(format)?;
    let itemsize = f.size();
    if itemsize == 0 {
        return Err(ViewError::ZeroSizeItem {
            format: format.to_owned(),
        });
    }
    raw::validate(within.nbytes(), offset, shape, strides, itemsize)?;
    raw.offset = within.offset + offset;
    raw.axes = crate::small::Axes::new(shape, strides);
    raw.itemsize = itemsize;
    raw.format = f;
    Ok(raw)
}

/// The rows of a view; see [`View::rows`].
#[derive(Debug, Clone)]
pub struct Rows<'v> {
    raw: &'v Raw,
    walk: OffsetWalker,
    len: usize,
}

impl<'v> Rows<'v> {
    /// The rows of `raw`'s buffer walked by `walk`, `len` bytes each; every
    /// row must lie inside a layout `raw::validate` accepted for that
    /// buffer, and the buffer must stay alive and unwritten for `'v`.
    pub(crate) fn new(raw: &'v Raw, walk: OffsetWalker, len: usize) -> Rows<'v> {
        Rows { raw, walk, len }
    }

    /// Bytes in each row.
    pub fn row_len(&self) -> usize {
        self.len
    }
}

impl<'v> Iterator for Rows<'v> {
    type Item = &'v [u8];

    #[inline]
    fn next(&mut self) -> Option<&'v [u8]> {
        let off = self.walk.next()?;
        // SAFETY: `off` is a row start of the validated layout and the row
        // is the contiguous trailing block, `len` bytes inside the buffer;
        // the view borrowed for 'v keeps it alive and unwritten.
        Some(unsafe { mem::bytes(self.raw, off, self.len) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl ExactSizeIterator for Rows<'_> {}

/// The rows of a view as `&[T]`; see [`View::rows_as`].
#[derive(Debug, Clone)]
pub struct TypedRows<'v, T> {
    rows: Rows<'v>,
    _t: PhantomData<T>,
}

impl<'v, T: Element> Iterator for TypedRows<'v, T> {
    type Item = &'v [T];

    fn next(&mut self) -> Option<&'v [T]> {
        let row = self.rows.next()?;
        // SAFETY: every row start was checked aligned for T, its length a
        // multiple of size_of::<T>() and the format T's, in `rows_as`.
        Some(unsafe {
            core::slice::from_raw_parts(
                row.as_ptr().cast::<T>(),
                row.len() / core::mem::size_of::<T>(),
            )
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

/// Every item's bytes in logical order; see [`View::items`].
#[derive(Debug, Clone)]
pub struct Items<'v> {
    raw: &'v Raw,
    walk: OffsetWalker,
}

impl<'v> Iterator for Items<'v> {
    type Item = &'v [u8];

    #[inline]
    fn next(&mut self) -> Option<&'v [u8]> {
        let off = self.walk.next()?;
        // SAFETY: `off` is an item of the validated layout.
        Some(unsafe { mem::bytes(self.raw, off, self.raw.itemsize) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl ExactSizeIterator for Items<'_> {}

/// A rectangle over a view's first two axes (`y` on axis 0, `x` on axis
/// 1), for taking several disjoint mutable regions at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First column (axis 1).
    pub x: usize,
    /// First row (axis 0).
    pub y: usize,
    /// Columns.
    pub w: usize,
    /// Rows.
    pub h: usize,
}

impl Region {
    /// Whether two regions share a cell.
    pub fn overlaps(&self, o: &Region) -> bool {
        // In u128, so regions reaching past `usize::MAX` compare exactly
        // instead of wrapping.
        let end = |a: usize, n: usize| a as u128 + n as u128;
        let empty = self.w == 0 || self.h == 0 || o.w == 0 || o.h == 0;
        !empty
            && (self.x as u128) < end(o.x, o.w)
            && (o.x as u128) < end(self.x, self.w)
            && (self.y as u128) < end(o.y, o.h)
            && (o.y as u128) < end(self.y, self.h)
    }
}

impl<'a> ViewMut<'a> {
    /// A 1-D `B` mutable view of a byte slice.
    pub fn from_bytes(bytes: &'a mut [u8]) -> ViewMut<'a> {
        ViewMut {
            raw: Raw::bytes(bytes.as_mut_ptr(), bytes.len()),
            owner: MutOwner::Borrowed,
            _life: PhantomData,
        }
    }

    pub(crate) fn from_guard(g: WriteGuard) -> ViewMut<'static> {
        ViewMut {
            raw: Raw::bytes(g.0.base(), g.0.len()),
            owner: MutOwner::Writer(g),
            _life: PhantomData,
        }
    }

    /// A mutable view from its parts, checked as [`View::from_parts`] and
    /// also refused if two items would share bytes.
    pub fn from_parts(
        bytes: &'a mut [u8],
        format: &str,
        offset: isize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<ViewMut<'a>, ViewError> {
        ViewMut::from_bytes(bytes).with_parts(format, offset, shape, strides)
    }

    /// Re-lays this view's bytes out with new parts, consuming it, with
    /// [`View::with_parts`]'s rules (C-contiguous, offsets from its first
    /// byte, nothing outside its own bytes), and no two items sharing bytes.
    pub fn with_parts(
        mut self,
        format: &str,
        offset: isize,
        shape: &[usize],
        strides: &[isize],
    ) -> Result<ViewMut<'a>, ViewError> {
        let raw = parts(&self.raw, format, offset, shape, strides)?;
        if !raw::no_self_overlap(raw.shape(), raw.strides(), raw.itemsize) {
            return Err(ViewError::SelfOverlap);
        }
        self.raw = raw;
        Ok(self)
    }

    fn map(
        mut self,
        f: impl FnOnce(&mut Raw) -> Result<(), ViewError>,
    ) -> Result<ViewMut<'a>, ViewError> {
        f(&mut self.raw)?;
        Ok(self)
    }

    /// A read-only view of the same items, borrowed from this one.
    pub fn as_view(&self) -> View<'_> {
        View {
            raw: self.raw.clone(),
            owner: Owner::Borrowed,
            _life: PhantomData,
        }
    }

    /// Gives up writing: a read-only view of the same items.
    pub fn into_view(self) -> View<'a> {
        let owner = match self.owner {
            MutOwner::Borrowed => Owner::Borrowed,
            MutOwner::Writer(g) => Owner::Shared(g.into_shared()),
        };
        View {
            raw: self.raw,
            owner,
            _life: PhantomData,
        }
    }

    /// A shorter-lived mutable view of the same items.
    pub fn reborrow(&mut self) -> ViewMut<'_> {
        ViewMut {
            raw: self.raw.clone(),
            owner: MutOwner::Borrowed,
            _life: PhantomData,
        }
    }

    /// Indexes the first axes, as [`View::index`].
    pub fn index(self, idx: &[isize]) -> Result<ViewMut<'a>, ViewError> {
        self.map(|r| r.index(idx))
    }

    /// Slices one axis, as [`View::slice_axis`].
    pub fn slice_axis(self, axis: usize, s: Slice) -> Result<ViewMut<'a>, ViewError> {
        self.map(|r| r.slice_axis(axis, s))
    }

    /// Slices the leading axes, as [`View::slice`].
    pub fn slice(self, slices: &[Slice]) -> Result<ViewMut<'a>, ViewError> {
        self.map(|r| r.slice(slices))
    }

    /// A region of the first two axes, as [`View::region`].
    pub fn region(
        mut self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> Result<ViewMut<'a>, ViewError> {
        self.raw = self.raw.region(y, x)?;
        Ok(self)
    }

    /// Casts, as [`View::cast`].
    pub fn cast(self, format: &str, shape: Option<&[usize]>) -> Result<ViewMut<'a>, ViewError> {
        self.map(|r| r.cast(format, shape))
    }

    /// Reverses the axes.
    pub fn transpose(mut self) -> ViewMut<'a> {
        self.raw.transpose();
        self
    }

    /// Reverses one axis.
    pub fn flip(self, axis: usize) -> Result<ViewMut<'a>, ViewError> {
        self.map(|r| r.flip(axis))
    }

    /// The view's bytes, writable, if it is C-contiguous.
    pub fn as_bytes_mut(&mut self) -> Result<&mut [u8], ViewError> {
        if !self.raw.is_c_contiguous() {
            return Err(ViewError::NotCContiguous);
        }
        if self.raw.nitems() == 0 {
            return Ok(&mut []);
        }
        // SAFETY: contiguous, in bounds; the ViewMut is the only access to
        // these bytes and is borrowed mutably for the result's lifetime.
        Ok(unsafe { mem::bytes_mut(&self.raw, self.raw.offset, self.raw.nbytes()) })
    }

    /// The items as `&mut [T]`, with [`View::as_slice`]'s checks.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T], ViewError> {
        check_typed::<T>(&self.raw)?;
        let bytes = self.as_bytes_mut()?;
        typed_slice::<T>(bytes)?;
        let n = bytes.len() / core::mem::size_of::<T>();
        // SAFETY: `typed_slice` checked alignment and length for T; the
        // bytes are exclusively ours for the borrow.
        Ok(unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<T>(), n) })
    }

    /// Writes `value` at `idx` (one index per axis).
    pub fn set<T: Element>(&mut self, idx: &[isize], value: T) -> Result<(), ViewError> {
        check_typed::<T>(&self.raw)?;
        if core::mem::size_of::<T>() != self.raw.itemsize {
            return Err(ViewError::BadItemsize {
                itemsize: self.raw.itemsize,
                format_size: core::mem::size_of::<T>(),
            });
        }
        let off = self.item_offset(idx)?;
        // SAFETY: `off` addresses one item, exclusively ours; the write is
        // unaligned-safe and T is plain data.
        unsafe {
            let dst = mem::bytes_mut(&self.raw, off, self.raw.itemsize);
            dst.as_mut_ptr().cast::<T>().write_unaligned(value);
        }
        Ok(())
    }

    fn item_offset(&self, idx: &[isize]) -> Result<isize, ViewError> {
        if self.raw.ndim() != idx.len() {
            return Err(ViewError::TooManyIndices {
                ndim: self.raw.ndim(),
                given: idx.len(),
            });
        }
        let mut raw = self.raw.clone();
        raw.index(idx)?;
        Ok(raw.offset)
    }

    /// The rows, writable; disjoint, so they can go to different threads.
    pub fn rows_mut(&mut self) -> Result<RowsMut<'_>, ViewError> {
        let (k, len) = self.raw.row_plan()?;
        Ok(RowsMut {
            walk: OffsetWalker::new(&self.raw, k, true),
            raw: &self.raw,
            len,
            _mut: PhantomData,
        })
    }

    /// Sets every byte of every item to `byte`.
    pub fn fill(&mut self, byte: u8) {
        let isz = self.raw.itemsize;
        if let Ok(rows) = self.rows_mut() {
            for r in rows {
                r.fill(byte);
            }
            return;
        }
        for off in OffsetWalker::new(&self.raw, self.raw.ndim(), true) {
            // SAFETY: `off` is an item of the validated, non-aliasing
            // layout, exclusively ours while `self` is borrowed mutably.
            unsafe { mem::bytes_mut(&self.raw, off, isz) }.fill(byte);
        }
    }

    /// Copies `src`'s items in: memoryview slice assignment's rule (same
    /// format ignoring a leading `@`, same itemsize, same shape).
    pub fn copy_from(&mut self, src: &View<'_>) -> Result<(), ViewError> {
        let strip = |s: &str| {
            s.strip_prefix('@')
                .map(str::to_owned)
                .unwrap_or_else(|| s.to_owned())
        };
        if strip(src.format()) != strip(self.raw.format.as_str())
            || src.itemsize() != self.raw.itemsize
            || src.shape() != self.raw.shape()
        {
            return Err(ViewError::DifferentStructures);
        }
        // Gather first: the source may overlap this view's bytes.
        let data = src.to_bytes(MemOrder::C);
        let isz = self.raw.itemsize;
        for (off, chunk) in
            OffsetWalker::new(&self.raw, self.raw.ndim(), true).zip(data.chunks_exact(isz))
        {
            // SAFETY: an item of our layout, exclusively ours.
            unsafe { mem::bytes_mut(&self.raw, off, isz) }.copy_from_slice(chunk);
        }
        Ok(())
    }

    /// Splits the view into disjoint mutable regions of its first two
    /// axes, each a `ViewMut` that can go to its own thread. Regions that
    /// overlap or leave the view are refused.
    pub fn split_regions(self, regions: &[Region]) -> Result<Vec<ViewMut<'a>>, ViewError> {
        let mut out = Vec::with_capacity(regions.len());
        self.split_regions_into(regions, &mut out)?;
        Ok(out)
    }

    /// [`ViewMut::split_regions`] into a caller's vector (cleared first),
    /// so a per-frame caller can reuse its allocation.
    pub fn split_regions_into(
        self,
        regions: &[Region],
        out: &mut Vec<ViewMut<'a>>,
    ) -> Result<(), ViewError> {
        out.clear();
        self.split_regions_with(regions, |v| out.push(v))
    }

    /// [`ViewMut::split_regions`], each region handed to `each` in order
    /// (into any container, with no allocation of its own). Nothing is
    /// handed out unless every region is valid.
    pub fn split_regions_with(
        self,
        regions: &[Region],
        mut each: impl FnMut(ViewMut<'a>),
    ) -> Result<(), ViewError> {
        if self.raw.ndim() < 2 {
            return Err(ViewError::BadAxis {
                axis: 1,
                ndim: self.raw.ndim(),
            });
        }
        let (h, w) = (self.raw.shape()[0], self.raw.shape()[1]);
        for (i, r) in regions.iter().enumerate() {
            let fits = r.x.checked_add(r.w).is_some_and(|e| e <= w)
                && r.y.checked_add(r.h).is_some_and(|e| e <= h);
            if !fits {
                return Err(ViewError::RegionOutOfBounds { index: i });
            }
            for (j, o) in regions[..i].iter().enumerate() {
                if r.overlaps(o) {
                    return Err(ViewError::Overlap { a: j, b: i });
                }
            }
        }
        for r in regions {
            let mut raw = self.raw.clone();
            raw.slice_axis(0, Slice::range(r.y as isize, (r.y + r.h) as isize))?;
            raw.slice_axis(1, Slice::range(r.x as isize, (r.x + r.w) as isize))?;
            let owner = match &self.owner {
                MutOwner::Borrowed => MutOwner::Borrowed,
                MutOwner::Writer(g) => MutOwner::Writer(g.split()),
            };
            each(ViewMut {
                raw,
                owner,
                _life: PhantomData,
            });
        }
        Ok(())
    }

    /// Bytes per item.
    pub fn itemsize(&self) -> usize {
        self.raw.itemsize
    }

    /// Extent of each axis.
    pub fn shape(&self) -> &[usize] {
        self.raw.shape()
    }

    /// Byte step of each axis.
    pub fn strides(&self) -> &[isize] {
        self.raw.strides()
    }

    /// Always false.
    pub fn readonly(&self) -> bool {
        false
    }
}

/// The rows of a mutable view; see [`ViewMut::rows_mut`].
#[derive(Debug)]
pub struct RowsMut<'v> {
    raw: &'v Raw,
    walk: OffsetWalker,
    len: usize,
    _mut: PhantomData<&'v mut [u8]>,
}

impl<'v> Iterator for RowsMut<'v> {
    type Item = &'v mut [u8];

    fn next(&mut self) -> Option<&'v mut [u8]> {
        let off = self.walk.next()?;
        // SAFETY: each row is a distinct contiguous block of a layout with
        // no self-overlap (checked when the ViewMut was built; slicing keeps
        // it), the iterator yields each once, and the ViewMut is borrowed
        // mutably for 'v.
        Some(unsafe { mem::bytes_mut(self.raw, off, self.len) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl ExactSizeIterator for RowsMut<'_> {}
