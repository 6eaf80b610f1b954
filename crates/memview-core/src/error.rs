//! View errors, with CPython's memoryview texts where memoryview defines
//! them.

use core::fmt;

use memview_format::{FormatMismatch, ParseError};

use crate::export::BufferError;

/// Why a view operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewError {
    /// `index out of bounds on dimension D` (1-based, as CPython).
    IndexOutOfBounds {
        /// The dimension, counted from 1.
        dim: usize,
    },
    /// `cannot index N-dimension view with K-element tuple`.
    TooManyIndices {
        /// Dimensions of the view.
        ndim: usize,
        /// Indices given.
        given: usize,
    },
    /// `invalid indexing of 0-dim memory`.
    ZeroDimIndex,
    /// `0-dim memory has no length` (CPython 3.12's rule).
    ZeroDimLength,
    /// `slice step cannot be zero`.
    StepZero,
    /// An axis number at or past `ndim`, or a permutation that is not one.
    BadAxis {
        /// The axis.
        axis: usize,
        /// Dimensions of the view.
        ndim: usize,
    },
    /// `memoryview: casts are restricted to C-contiguous views`.
    CastNotCContiguous,
    /// `memoryview: cannot cast view with zeros in shape or strides`.
    CastZeros,
    /// `memoryview: number of dimensions must not exceed 64`.
    TooManyDims,
    /// `memoryview: cast must be 1D -> ND or ND -> 1D`.
    CastNdToNd,
    /// `memoryview: destination format must be a native single character
    /// format prefixed with an optional '@'`.
    CastBadFormat,
    /// `memoryview: cannot cast between two non-byte formats`.
    CastNonByte,
    /// `memoryview: length is not a multiple of itemsize`.
    CastNotMultiple,
    /// `memoryview.cast(): elements of shape must be integers > 0`.
    CastShapeZero,
    /// `memoryview.cast(): product(shape) > SSIZE_MAX`.
    CastProductOverflow,
    /// `memoryview: product(shape) * itemsize != buffer size`.
    CastSizeMismatch,
    /// `memoryview: format X not supported` / `memoryview: unsupported
    /// format X` (tolist and item access need one native code).
    UnsupportedFormat {
        /// The format.
        format: String,
        /// Whether it is a single character (CPython's two texts).
        single_char: bool,
    },
    /// `memoryview: underlying buffer is not C-contiguous`.
    NotCContiguous,
    /// Rows were asked of a view whose last axis is not contiguous.
    LastAxisNotContiguous,
    /// Typed access at an address not aligned for the type.
    Misaligned {
        /// The alignment the type needs.
        align: usize,
    },
    /// `memoryview assignment: lvalue and rvalue have different structures`.
    DifferentStructures,
    /// A destination buffer of the wrong length.
    WrongLength {
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A layout with an item outside the buffer.
    OutOfBounds,
    /// Layout arithmetic that overflows `isize`.
    Overflow,
    /// An itemsize of 0, or one that differs from the format's size.
    BadItemsize {
        /// The itemsize given.
        itemsize: usize,
        /// The format's size.
        format_size: usize,
    },
    /// A format whose items take no bytes (`"0B"`, `"0s"`, `""`...): a
    /// view needs items of at least one byte.
    ZeroSizeItem {
        /// The format.
        format: String,
    },
    /// A `tolist` result too large to build: more list entries than memory
    /// can be reserved for (a huge view with a zero extent, such as shape
    /// `[1 << 40, 0]`). CPython raises `MemoryError` here.
    ListTooLarge {
        /// The entries the nested lists would hold (saturated at
        /// `usize::MAX`).
        entries: usize,
    },
    /// Shape and strides of different lengths.
    StridesMismatch,
    /// A mutable layout in which two items share bytes.
    SelfOverlap,
    /// An array (ndarray) whose elements are not one run of memory in any
    /// axis order, so no byte span holds them alone.
    NotDense,
    /// Two mutable regions asked for together overlap (regions `a` and `b`).
    Overlap {
        /// Index of the first region.
        a: usize,
        /// Index of the second region.
        b: usize,
    },
    /// A [`crate::ViewRef`] of a view with more axes than it holds.
    TooManyAxesForRef {
        /// The view's axes.
        ndim: usize,
    },
    /// A region that leaves the view.
    RegionOutOfBounds {
        /// Index of the region.
        index: usize,
    },
    /// A format string that does not parse.
    Format(ParseError),
    /// Typed access with the wrong element type.
    Mismatch(FormatMismatch),
    /// An exporter's refusal.
    Buffer(BufferError),
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ViewError::*;
        match self {
            IndexOutOfBounds { dim } => write!(f, "index out of bounds on dimension {dim}"),
            TooManyIndices { ndim, given } => write!(
                f,
                "cannot index {ndim}-dimension view with {given}-element tuple"
            ),
            ZeroDimIndex => f.write_str("invalid indexing of 0-dim memory"),
            ZeroDimLength => f.write_str("0-dim memory has no length"),
            StepZero => f.write_str("slice step cannot be zero"),
            BadAxis { axis, ndim } => write!(f, "axis {axis} is out of range for a {ndim}-d view"),
            CastNotCContiguous => f.write_str("memoryview: casts are restricted to C-contiguous views"),
            CastZeros => f.write_str("memoryview: cannot cast view with zeros in shape or strides"),
            TooManyDims => f.write_str("memoryview: number of dimensions must not exceed 64"),
            CastNdToNd => f.write_str("memoryview: cast must be 1D -> ND or ND -> 1D"),
            CastBadFormat => f.write_str(
                "memoryview: destination format must be a native single character format prefixed with an optional '@'",
            ),
            CastNonByte => f.write_str("memoryview: cannot cast between two non-byte formats"),
            CastNotMultiple => f.write_str("memoryview: length is not a multiple of itemsize"),
            CastShapeZero => f.write_str("memoryview.cast(): elements of shape must be integers > 0"),
            CastProductOverflow => f.write_str("memoryview.cast(): product(shape) > SSIZE_MAX"),
            CastSizeMismatch => f.write_str("memoryview: product(shape) * itemsize != buffer size"),
            UnsupportedFormat {
                format,
                single_char: true,
            } => write!(f, "memoryview: format {format} not supported"),
            UnsupportedFormat { format, .. } => write!(f, "memoryview: unsupported format {format}"),
            NotCContiguous => f.write_str("memoryview: underlying buffer is not C-contiguous"),
            LastAxisNotContiguous => f.write_str("the view's last axis is not contiguous"),
            Misaligned { align } => write!(f, "data is not aligned to {align} bytes"),
            DifferentStructures => {
                f.write_str("memoryview assignment: lvalue and rvalue have different structures")
            }
            WrongLength { expected, got } => {
                write!(f, "destination holds {got} bytes, the view {expected}")
            }
            OutOfBounds => f.write_str("an item of the layout lies outside the buffer"),
            Overflow => f.write_str("layout arithmetic overflows isize"),
            BadItemsize {
                itemsize,
                format_size,
            } => write!(
                f,
                "itemsize {itemsize} does not fit the format's size {format_size}"
            ),
            ZeroSizeItem { format } => write!(
                f,
                "format {format:?} has items of 0 bytes; a view's items need at least 1 byte"
            ),
            ListTooLarge { entries } => write!(
                f,
                "tolist: cannot reserve memory for {entries} list entries"
            ),
            StridesMismatch => f.write_str("shape and strides differ in length"),
            SelfOverlap => f.write_str("a mutable layout must not map two items to the same bytes"),
            NotDense => f.write_str(
                "the array's elements are not one run of memory (a sliced array with gaps): \
                 copy it first",
            ),
            Overlap { a, b } => write!(f, "mutable regions {a} and {b} overlap"),
            TooManyAxesForRef { ndim } => write!(
                f,
                "a ViewRef holds at most {} axes; this view has {ndim}",
                crate::view_ref::AXES
            ),
            RegionOutOfBounds { index } => write!(f, "region {index} leaves the view"),
            Format(e) => write!(f, "invalid format: {e}"),
            Mismatch(e) => e.fmt(f),
            Buffer(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ViewError {}

impl From<ParseError> for ViewError {
    fn from(e: ParseError) -> ViewError {
        ViewError::Format(e)
    }
}

impl From<FormatMismatch> for ViewError {
    fn from(e: FormatMismatch) -> ViewError {
        ViewError::Mismatch(e)
    }
}

impl From<BufferError> for ViewError {
    fn from(e: BufferError) -> ViewError {
        ViewError::Buffer(e)
    }
}
