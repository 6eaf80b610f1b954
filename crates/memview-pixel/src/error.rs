//! Errors of the pixel layer.

use memview_core::ViewError;

use crate::frame::Rect;

/// What went wrong with a layout, a frame, an ROI or a conversion.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PixelError {
    /// A width or height of 0 or above [`crate::MAX_DIMENSION`].
    #[error("impossible frame size {width}x{height} (each side must be 1 to 65536)")]
    BadDimensions {
        /// Width asked for.
        width: usize,
        /// Height asked for.
        height: usize,
    },
    /// Layout arithmetic that overflows.
    #[error("frame layout size overflows")]
    TooLarge,
    /// A line alignment that is not a power of two.
    #[error("line alignment {align} is not a power of two")]
    BadAlignment {
        /// The alignment.
        align: usize,
    },
    /// A buffer shorter than the layout.
    #[error("buffer of {len} bytes is too small for the frame layout, which needs {needed}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        len: usize,
    },
    /// A stride shorter than a line.
    #[error("plane {plane}: stride {stride} is shorter than a line of {row_bytes} bytes")]
    StrideTooSmall {
        /// The plane.
        plane: usize,
        /// The stride given.
        stride: usize,
        /// Bytes in a line.
        row_bytes: usize,
    },
    /// Two planes sharing bytes.
    #[error("planes {a} and {b} overlap")]
    PlanesOverlap {
        /// First plane.
        a: usize,
        /// Second plane.
        b: usize,
    },
    /// A plane list of the wrong length.
    #[error("the format has {expected} planes, {got} were given")]
    WrongPlaneCount {
        /// Planes of the format.
        expected: usize,
        /// Planes given.
        got: usize,
    },
    /// A rectangle that leaves the frame.
    #[error("rectangle {rect} leaves the {width}x{height} frame")]
    OutOfFrame {
        /// The rectangle.
        rect: Rect,
        /// Frame width.
        width: usize,
        /// Frame height.
        height: usize,
    },
    /// A rectangle of width or height 0.
    #[error("rectangle {rect} is empty: a zone needs a width and a height of at least 1")]
    EmptyRect {
        /// The rectangle.
        rect: Rect,
    },
    /// A rectangle off the subsampling grid, in strict mode.
    #[error("rectangle {rect} is not aligned to the {gx}x{gy} chroma grid")]
    Misaligned {
        /// The rectangle.
        rect: Rect,
        /// Horizontal grid.
        gx: usize,
        /// Vertical grid.
        gy: usize,
    },
    /// Two mutable ROIs that overlap (after snapping).
    #[error("mutable regions {a} and {b} overlap")]
    RoisOverlap {
        /// First region.
        a: usize,
        /// Second region.
        b: usize,
    },
    /// A conversion between formats memview does not convert.
    #[error("cannot convert {from} to {to}")]
    Unsupported {
        /// Source format.
        from: &'static str,
        /// Destination format.
        to: &'static str,
    },
    /// Source and destination of different sizes.
    #[error("source is {0}x{1}, destination {2}x{3}")]
    SizeMismatch(usize, usize, usize, usize),
    /// A destination buffer of the wrong length.
    #[error("destination holds {got} bytes, {expected} are needed")]
    WrongLength {
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A resize (or a tensor's fit) that cannot be done.
    #[error("cannot resize {}x{} to {}x{}: {why}", from.0, from.1, to.0, to.1)]
    BadResize {
        /// Source size.
        from: (usize, usize),
        /// Destination size.
        to: (usize, usize),
        /// Why not.
        why: &'static str,
    },
    /// A tensor specification that cannot be met.
    #[error("tensor: {0}")]
    BadTensor(&'static str),
    /// An error of the view layer.
    #[error(transparent)]
    View(#[from] ViewError),
}
