//! The layout of a view — pointer, offset, shape, strides, itemsize,
//! format — and every operation that only changes the layout. Nothing here
//! reads or writes memory.

use core::fmt;

use smallvec::SmallVec;

use memview_format::{Code, Dialect, Format, Order};

use crate::error::ViewError;

/// The most dimensions a view may have, as in CPython.
pub const MAX_NDIM: usize = 64;

pub(crate) type Dims = crate::small::Small<usize>;
pub(crate) type Strides = crate::small::Small<isize>;

/// What a view needs to know of its item format, learnt by parsing it once.
#[derive(Debug)]
struct FormatInfo {
    text: std::borrow::Cow<'static, str>,
    size: usize,
    single: Option<(Order, Code)>,
    is_byte: bool,
}

/// A view's item format: its text as given (`'@B'` stays `'@B'`), and what
/// was learnt parsing it once.
///
/// It is one pointer wide: the formats memoryview itself understands point
/// into a static table, so views of them never allocate or count
/// references; any other format is parsed once and shared.
#[derive(Clone)]
pub struct ItemFormat(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static FormatInfo),
    Shared(std::sync::Arc<FormatInfo>),
}

macro_rules! native_table {
    ($($text:literal => $code:ident, $size:literal $(, $order:ident)?;)*) => {
        [$(FormatInfo {
            text: std::borrow::Cow::Borrowed($text),
            size: $size,
            single: Some((native_table!(@order $($order)?), Code::$code)),
            is_byte: native_table!(@byte $($order)?) && matches!(Code::$code, Code::U8 | Code::I8 | Code::Char),
        },)*]
    };
    (@order) => { Order::Native };
    (@order $o:ident) => { Order::$o };
    (@byte) => { true };
    (@byte $o:ident) => { false };
}

/// memoryview's native single-code formats, bare and with `@`, then the
/// explicit-order formats that video planes and sample buffers use.
static NATIVE: [FormatInfo; 42] = native_table! {
    "B" => U8, 1; "b" => I8, 1; "c" => Char, 1; "?" => Bool, 1;
    "h" => I16, 2; "H" => U16, 2; "i" => Int, 4; "I" => UInt, 4;
    "l" => Long, 8; "L" => ULong, 8; "q" => I64, 8; "Q" => U64, 8;
    "n" => ISize, 8; "N" => USize, 8; "f" => F32, 4; "d" => F64, 8; "P" => VoidPtr, 8;
    "@B" => U8, 1; "@b" => I8, 1; "@c" => Char, 1; "@?" => Bool, 1;
    "@h" => I16, 2; "@H" => U16, 2; "@i" => Int, 4; "@I" => UInt, 4;
    "@l" => Long, 8; "@L" => ULong, 8; "@q" => I64, 8; "@Q" => U64, 8;
    "@n" => ISize, 8; "@N" => USize, 8; "@f" => F32, 4; "@d" => F64, 8; "@P" => VoidPtr, 8;
    "<H" => U16, 2, Little; "<h" => I16, 2, Little; "<I" => UInt, 4, Little; "<i" => Int, 4, Little;
    "<f" => F32, 4, Little; "<d" => F64, 8, Little; ">H" => U16, 2, Big; ">h" => I16, 2, Big;
};

impl fmt::Debug for ItemFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl ItemFormat {
    /// `B`: unsigned bytes.
    pub const BYTES: ItemFormat = ItemFormat(Repr::Static(&NATIVE[0]));

    fn info(&self) -> &FormatInfo {
        match &self.0 {
            Repr::Static(i) => i,
            Repr::Shared(i) => i,
        }
    }

    /// Parses a struct-dialect format (or, failing that, a PEP 3118 one:
    /// exporters such as ctypes hand out `T{...}`).
    pub fn new(text: &str) -> Result<ItemFormat, ViewError> {
        if let Some(known) = NATIVE.iter().find(|n| n.text == text) {
            return Ok(ItemFormat(Repr::Static(known)));
        }
        let f = Format::parse(text, Dialect::Struct)
            .or_else(|_| Format::parse(text, Dialect::Pep3118))
            .map_err(ViewError::Format)?;
        Ok(ItemFormat(Repr::Shared(std::sync::Arc::new(FormatInfo {
            text: std::borrow::Cow::Owned(text.to_owned()),
            size: f.size(),
            single: f.single(),
            is_byte: f.is_byte_format(),
        }))))
    }

    /// The format text, exactly as given.
    pub fn as_str(&self) -> &str {
        &self.info().text
    }

    /// The size of one item.
    pub fn size(&self) -> usize {
        self.info().size
    }

    /// The single code and its order, if the format is one plain code.
    pub fn single(&self) -> Option<(Order, Code)> {
        self.info().single
    }

    /// Whether the format is `B`, `b` or `c` with at most a leading `@`.
    pub fn is_byte_format(&self) -> bool {
        self.info().is_byte
    }

    /// The code if the format is a native single character with an
    /// optional `@`: the formats memoryview itself understands.
    pub fn native_code(&self) -> Option<Code> {
        let s = self.as_str();
        let c = s.strip_prefix('@').unwrap_or(s);
        if c.len() != 1 {
            return None;
        }
        self.single().map(|(_, code)| code)
    }
}

/// A Python slice: `start:stop:step`, each optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slice {
    /// Start, negative from the end.
    pub start: Option<isize>,
    /// Stop (exclusive), negative from the end.
    pub stop: Option<isize>,
    /// Step, not zero.
    pub step: Option<isize>,
}

impl Slice {
    /// `start:stop:step`.
    pub fn new(start: Option<isize>, stop: Option<isize>, step: Option<isize>) -> Slice {
        Slice { start, stop, step }
    }

    /// `:`, the whole axis.
    pub fn full() -> Slice {
        Slice::default()
    }

    /// `start:stop`.
    pub fn range(start: isize, stop: isize) -> Slice {
        Slice::new(Some(start), Some(stop), None)
    }

    /// `(start, step, slicelength)` for an axis of `length`, exactly as
    /// `PySlice_Unpack` and `PySlice_AdjustIndices`.
    #[inline]
    pub fn indices(self, length: usize) -> Result<(isize, isize, usize), ViewError> {
        let len = length as isize;
        let step = self.step.unwrap_or(1);
        if step == 0 {
            return Err(ViewError::StepZero);
        }
        // PySlice_Unpack keeps -step from overflowing.
        let step = step.max(-isize::MAX);
        let (dstart, dstop) = if step < 0 {
            (isize::MAX, isize::MIN)
        } else {
            (0, isize::MAX)
        };
        let adjust = |v: isize| {
            if v < 0 {
                let v = v.saturating_add(len);
                if v < 0 {
                    if step < 0 {
                        -1
                    } else {
                        0
                    }
                } else {
                    v
                }
            } else if v >= len {
                if step < 0 {
                    len - 1
                } else {
                    len
                }
            } else {
                v
            }
        };
        let start = adjust(self.start.unwrap_or(dstart));
        let stop = adjust(self.stop.unwrap_or(dstop));
        let n = if step == 1 {
            (stop - start).max(0)
        } else if step < 0 {
            if stop < start {
                (start - stop - 1) / (-step) + 1
            } else {
                0
            }
        } else if start < stop {
            (stop - start - 1) / step + 1
        } else {
            0
        };
        Ok((start, step, n as usize))
    }
}

/// Logical orders for `to_bytes` and `copy_into`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemOrder {
    /// Row-major (`'C'`).
    C,
    /// Column-major (`'F'`).
    F,
    /// The raw memory if the view is C- or F-contiguous, else C (`'A'`).
    A,
}

/// Shape, strides, offset and format over some memory.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    /// Start of the buffer the view lies in.
    pub base: *mut u8,
    /// Length of that buffer.
    pub buf_len: usize,
    /// Byte offset of item `[0, 0, ...]` from `base` (memoryview's `buf`).
    pub offset: isize,
    pub axes: crate::small::Axes,
    pub itemsize: usize,
    pub format: ItemFormat,
}

/// Checks that every item of a layout lies inside `buf_len` bytes, with
/// checked arithmetic (test_buffer's `verify_structure`, without its
/// requirement that strides be multiples of the itemsize, which padded
/// camera lines break).
pub(crate) fn validate(
    buf_len: usize,
    offset: isize,
    shape: &[usize],
    strides: &[isize],
    itemsize: usize,
) -> Result<(), ViewError> {
    if shape.len() > MAX_NDIM {
        return Err(ViewError::TooManyDims);
    }
    if shape.len() != strides.len() {
        return Err(ViewError::StridesMismatch);
    }
    let len = isize::try_from(buf_len).map_err(|_| ViewError::Overflow)?;
    let isz = isize::try_from(itemsize).map_err(|_| ViewError::Overflow)?;
    // The number of items must be representable.
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(itemsize))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or(ViewError::Overflow)?;
    if shape.contains(&0) {
        return if (0..=len).contains(&offset) || shape.is_empty() {
            Ok(())
        } else {
            Err(ViewError::OutOfBounds)
        };
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&d, &s) in shape.iter().zip(strides) {
        let d = isize::try_from(d).map_err(|_| ViewError::Overflow)?;
        let span = (d - 1).checked_mul(s).ok_or(ViewError::Overflow)?;
        if span < 0 {
            lo = lo.checked_add(span).ok_or(ViewError::Overflow)?;
        } else {
            hi = hi.checked_add(span).ok_or(ViewError::Overflow)?;
        }
    }
    let first = offset.checked_add(lo).ok_or(ViewError::Overflow)?;
    let end = offset
        .checked_add(hi)
        .and_then(|e| e.checked_add(isz))
        .ok_or(ViewError::Overflow)?;
    if first < 0 || end > len {
        return Err(ViewError::OutOfBounds);
    }
    Ok(())
}

/// Whether no two items of a (valid, non-empty) layout share a byte: with
/// axes sorted by stride magnitude, each stride must step over everything
/// the smaller axes span.
pub(crate) fn no_self_overlap(shape: &[usize], strides: &[isize], itemsize: usize) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut axes: SmallVec<[(usize, usize); 4]> = shape
        .iter()
        .zip(strides)
        .filter(|(&d, _)| d > 1)
        .map(|(&d, &s)| (s.unsigned_abs(), d))
        .collect();
    axes.sort_unstable();
    let mut span = itemsize;
    for (s, d) in axes {
        if s < span {
            return false;
        }
        span += s * (d - 1);
    }
    true
}

impl Raw {
    /// A 1-D `B` layout of a whole buffer.
    pub(crate) fn bytes(base: *mut u8, len: usize) -> Raw {
        Raw {
            base,
            buf_len: len,
            offset: 0,
            axes: crate::small::Axes::new(&[len], &[1]),
            itemsize: 1,
            format: ItemFormat::BYTES,
        }
    }

    #[inline]
    pub(crate) fn shape(&self) -> &[usize] {
        self.axes.shape()
    }

    #[inline]
    pub(crate) fn strides(&self) -> &[isize] {
        self.axes.strides()
    }

    pub(crate) fn ndim(&self) -> usize {
        self.axes.shape().len()
    }

    pub(crate) fn nitems(&self) -> usize {
        self.shape().iter().product()
    }

    pub(crate) fn nbytes(&self) -> usize {
        self.nitems() * self.itemsize
    }

    pub(crate) fn is_c_contiguous(&self) -> bool {
        self.contiguous(true)
    }

    pub(crate) fn is_f_contiguous(&self) -> bool {
        self.contiguous(false)
    }

    /// CPython's exact definition (memoryobject.c and abstract.c).
    fn contiguous(&self, c_order: bool) -> bool {
        match self.ndim() {
            0 => true,
            1 => self.shape()[0] == 1 || self.strides()[0] == self.itemsize as isize,
            _ => {
                if self.nbytes() == 0 {
                    return true;
                }
                let mut expected = self.itemsize as isize;
                let check = |(d, s): (&usize, &isize), expected: &mut isize| {
                    if *d > 1 && *s != *expected {
                        return false;
                    }
                    *expected *= *d as isize;
                    true
                };
                if c_order {
                    self.shape()
                        .iter()
                        .zip(self.strides())
                        .rev()
                        .all(|p| check(p, &mut expected))
                } else {
                    self.shape()
                        .iter()
                        .zip(self.strides())
                        .all(|p| check(p, &mut expected))
                }
            }
        }
    }

    /// Indexes the first `idx.len()` axes, removing them.
    pub(crate) fn index(&mut self, idx: &[isize]) -> Result<(), ViewError> {
        if self.ndim() == 0 && !idx.is_empty() {
            return Err(ViewError::ZeroDimIndex);
        }
        if idx.len() > self.ndim() {
            return Err(ViewError::TooManyIndices {
                ndim: self.ndim(),
                given: idx.len(),
            });
        }
        let mut offset = self.offset;
        for (dim, (&i, (&d, &s))) in idx
            .iter()
            .zip(self.shape().iter().zip(self.strides()))
            .enumerate()
        {
            let d = d as isize;
            let i = if i < 0 { i + d } else { i };
            if i < 0 || i >= d {
                return Err(ViewError::IndexOutOfBounds { dim: dim + 1 });
            }
            // Checked: in a layout with no items (another axis of extent
            // 0) the strides are unbounded (found by the view_ops fuzz
            // target).
            offset = i
                .checked_mul(s)
                .and_then(|d| offset.checked_add(d))
                .ok_or(ViewError::Overflow)?;
        }
        self.offset = offset;
        self.axes.remove_front(idx.len());
        Ok(())
    }

    #[inline]
    pub(crate) fn slice_axis(&mut self, axis: usize, s: Slice) -> Result<(), ViewError> {
        if self.ndim() == 0 {
            return Err(ViewError::ZeroDimIndex);
        }
        let ndim = self.ndim();
        let d = *self
            .shape()
            .get(axis)
            .ok_or(ViewError::BadAxis { axis, ndim })?;
        let (start, step, n) = s.indices(d)?;
        let stride = self.strides()[axis];
        // The offset moves even when the result is empty, as in CPython.
        self.offset = start
            .checked_mul(stride)
            .and_then(|m| self.offset.checked_add(m))
            .ok_or(ViewError::Overflow)?;
        let new_stride = stride.checked_mul(step).ok_or(ViewError::Overflow)?;
        let (shape, strides) = self.axes.both_mut();
        shape[axis] = n;
        strides[axis] = new_stride;
        Ok(())
    }

    /// Rows `y` and columns `x` of the first two axes, step 1; a range
    /// that leaves the view is an error (no clamping). Returns a new layout
    /// built whole: the ROI hot path.
    #[inline(always)]
    pub(crate) fn region(
        &self,
        y: core::ops::Range<usize>,
        x: core::ops::Range<usize>,
    ) -> Result<Raw, ViewError> {
        let (shape, strides) = (self.shape(), self.strides());
        let offset = region_start(shape.len(), shape, strides, self.offset, &y, &x)?;
        Ok(Raw {
            base: self.base,
            buf_len: self.buf_len,
            offset,
            axes: self.axes.with_first_two(y.end - y.start, x.end - x.start),
            itemsize: self.itemsize,
            format: self.format.clone(),
        })
    }

    #[inline]
    pub(crate) fn slice(&mut self, slices: &[Slice]) -> Result<(), ViewError> {
        if slices.len() > self.ndim() {
            return Err(ViewError::TooManyIndices {
                ndim: self.ndim(),
                given: slices.len(),
            });
        }
        for (axis, s) in slices.iter().enumerate() {
            self.slice_axis(axis, *s)?;
        }
        Ok(())
    }

    pub(crate) fn permute(&mut self, axes: &[usize]) -> Result<(), ViewError> {
        let ndim = self.ndim();
        let mut seen: SmallVec<[bool; 8]> = smallvec::smallvec![false; ndim];
        if axes.len() != ndim {
            return Err(ViewError::BadAxis {
                axis: axes.len(),
                ndim,
            });
        }
        for &a in axes {
            match seen.get_mut(a) {
                Some(s) if !*s => *s = true,
                _ => return Err(ViewError::BadAxis { axis: a, ndim }),
            }
        }
        let shape: Dims = axes.iter().map(|&a| self.shape()[a]).collect();
        let strides: Strides = axes.iter().map(|&a| self.strides()[a]).collect();
        self.axes = crate::small::Axes::new(&shape, &strides);
        Ok(())
    }

    pub(crate) fn transpose(&mut self) {
        let (shape, strides) = self.axes.both_mut();
        shape.reverse();
        strides.reverse();
    }

    /// Reverses an axis: `[::-1]` on it.
    pub(crate) fn flip(&mut self, axis: usize) -> Result<(), ViewError> {
        self.slice_axis(axis, Slice::new(None, None, Some(-1)))
    }

    /// memoryview.cast, with CPython's checks in CPython's order.
    pub(crate) fn cast(&mut self, format: &str, shape: Option<&[usize]>) -> Result<(), ViewError> {
        if !self.is_c_contiguous() {
            return Err(ViewError::CastNotCContiguous);
        }
        if (shape.is_some() || self.ndim() != 1) && self.shape().contains(&0) {
            return Err(ViewError::CastZeros);
        }
        if shape.is_some_and(|s| s.len() > MAX_NDIM) {
            return Err(ViewError::TooManyDims);
        }
        if self.ndim() != 1 && shape.is_some_and(|s| s.len() != 1) {
            return Err(ViewError::CastNdToNd);
        }
        let body = format.strip_prefix('@').unwrap_or(format);
        if !matches!(body.as_bytes(), [b] if b"cbB?hHiIlLqQnNfdP".contains(b)) {
            return Err(ViewError::CastBadFormat);
        }
        let new = ItemFormat::new(format)?;
        if !self.format.is_byte_format() && !new.is_byte_format() {
            return Err(ViewError::CastNonByte);
        }
        let nbytes = self.nbytes();
        let isz = new.size();
        if !nbytes.is_multiple_of(isz) {
            return Err(ViewError::CastNotMultiple);
        }
        let mut out_shape = Dims::one(nbytes / isz);
        if let Some(s) = shape {
            let mut product: usize = 1;
            for &d in s {
                if d == 0 {
                    return Err(ViewError::CastShapeZero);
                }
                product = product
                    .checked_mul(d)
                    .filter(|&p| p <= isize::MAX as usize)
                    .ok_or(ViewError::CastProductOverflow)?;
            }
            if product.checked_mul(isz) != Some(nbytes) {
                return Err(ViewError::CastSizeMismatch);
            }
            out_shape = s.iter().copied().collect();
        }
        self.axes = crate::small::Axes::new(&out_shape, &c_strides(&out_shape, isz));
        self.itemsize = isz;
        self.format = new;
        Ok(())
    }

    /// Byte offsets (from `base`) of every row of the view's trailing
    /// contiguous block, and that block's length in bytes.
    pub(crate) fn row_plan(&self) -> Result<(usize, usize), ViewError> {
        row_plan(self.shape(), self.strides(), self.itemsize)
    }
}

/// The checks of a region (rows `y`, columns `x`: the first two axes) of
/// a validated layout with `ndim` axes, and the offset of its first item;
/// `View::region` and `ViewRef::region` share them.
#[inline(always)]
pub(crate) fn region_start(
    ndim: usize,
    shape: &[usize],
    strides: &[isize],
    offset: isize,
    y: &core::ops::Range<usize>,
    x: &core::ops::Range<usize>,
) -> Result<isize, ViewError> {
    if ndim < 2 {
        return Err(ViewError::BadAxis { axis: 1, ndim });
    }
    if y.start > y.end || y.end > shape[0] {
        return Err(ViewError::RegionOutOfBounds { index: 0 });
    }
    if x.start > x.end || x.end > shape[1] {
        return Err(ViewError::RegionOutOfBounds { index: 1 });
    }
    // Checked: a start at the end of an axis (an empty region), or any
    // start in a layout with no items, is not an item the layout's
    // validation bounded, so its offset can leave isize (found by the
    // view_ops fuzz target).
    let step = |i: usize, s: isize| isize::try_from(i).ok().and_then(|i| i.checked_mul(s));
    step(y.start, strides[0])
        .and_then(|a| step(x.start, strides[1]).and_then(|b| a.checked_add(b)))
        .and_then(|d| offset.checked_add(d))
        .ok_or(ViewError::Overflow)
}

/// How a layout splits into rows (see `View::rows`): the number of leading
/// axes walked, and the bytes of each row.
pub(crate) fn row_plan(
    shape: &[usize],
    strides: &[isize],
    itemsize: usize,
) -> Result<(usize, usize), ViewError> {
    // Merge trailing axes while they are contiguous, but keep the first
    // axis of an N-d view: its rows are lines, even when they follow each
    // other in memory.
    let ndim = shape.len();
    let mut inner = itemsize;
    let mut k = ndim;
    let keep = usize::from(k >= 2);
    while k > keep {
        let (d, s) = (shape[k - 1], strides[k - 1]);
        if d <= 1 || s == inner as isize {
            inner *= d;
            k -= 1;
        } else {
            break;
        }
    }
    if k == ndim && k > 0 {
        return Err(ViewError::LastAxisNotContiguous);
    }
    Ok((k, inner))
}

/// C-order strides for a shape.
pub(crate) fn c_strides(shape: &[usize], itemsize: usize) -> Strides {
    let mut strides = Strides::filled(0, shape.len());
    let mut s = itemsize as isize;
    for (st, &d) in strides.iter_mut().zip(shape).rev() {
        *st = s;
        s *= d as isize;
    }
    strides
}

/// Walks every index tuple of the first `k` axes in C order (or F order),
/// yielding the byte offset of each; O(1) amortised per step, no
/// allocation for up to 4 axes.
#[derive(Clone, Debug)]
pub(crate) struct OffsetWalker {
    /// The stride of a one-axis walk (a 2-D view's rows, the common case),
    /// stepped without looking at the inline-or-heap arrays.
    one_axis: Option<isize>,
    shape: Dims,
    strides: Strides,
    idx: Dims,
    next: isize,
    remaining: usize,
    c_order: bool,
}

impl OffsetWalker {
    pub(crate) fn new(raw: &Raw, k: usize, c_order: bool) -> OffsetWalker {
        OffsetWalker::from_parts(raw.shape(), raw.strides(), raw.offset, k, c_order)
    }

    /// The offsets of the first `k` axes of a layout given by its parts.
    pub(crate) fn from_parts(
        all_shape: &[usize],
        all_strides: &[isize],
        offset: isize,
        k: usize,
        c_order: bool,
    ) -> OffsetWalker {
        let shape: Dims = all_shape[..k].iter().copied().collect();
        let remaining = if all_shape.contains(&0) {
            0
        } else {
            shape.iter().product()
        };
        OffsetWalker {
            one_axis: if k == 1 { Some(all_strides[0]) } else { None },
            idx: Dims::filled(0, k),
            strides: all_strides[..k].iter().copied().collect(),
            shape,
            next: offset,
            remaining,
            c_order,
        }
    }
}

impl OffsetWalker {
    /// Steps the index of a walk over several axes, odometer-style (kept
    /// out of line so the one-axis step inlines into row loops).
    #[inline(never)]
    fn advance(&mut self) {
        let k = self.shape.len();
        for step in 0..k {
            let ax = if self.c_order { k - 1 - step } else { step };
            self.idx[ax] += 1;
            // Wrapping: stepping past the end of an axis can leave isize
            // (an extent-1 axis may have any stride), but the carry below
            // comes back to a valid offset, which wrapping arithmetic gives
            // exactly (found by the view_ops fuzz target).
            self.next = self.next.wrapping_add(self.strides[ax]);
            if self.idx[ax] < self.shape[ax] {
                break;
            }
            self.next = self
                .next
                .wrapping_sub(self.strides[ax].wrapping_mul(self.shape[ax] as isize));
            self.idx[ax] = 0;
        }
    }
}

impl Iterator for OffsetWalker {
    type Item = isize;

    #[inline]
    fn next(&mut self) -> Option<isize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let cur = self.next;
        match self.one_axis {
            // Past the last row this points nowhere; it is never used.
            Some(step) => self.next = self.next.wrapping_add(step),
            None if self.remaining > 0 => self.advance(),
            None => {}
        }
        Some(cur)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for OffsetWalker {}
