//! Capture errors.

use memview_core::{BufferError, ViewError};
use memview_pixel::PixelError;

/// Why a source could not deliver a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// A pool of no buffers, or of empty ones.
    #[error("a buffer pool needs at least one non-empty buffer")]
    EmptyPool,
    /// A frame larger than the pool's buffers.
    #[error("frames of {frame} bytes do not fit pool buffers of {buffer} bytes")]
    FrameTooLarge {
        /// Bytes per frame.
        frame: usize,
        /// Bytes per buffer.
        buffer: usize,
    },
    /// A bad or unsupported YUV4MPEG2 header, at a byte offset.
    #[error("y4m: {message} (at byte {offset})")]
    Y4m {
        /// What is wrong.
        message: String,
        /// Byte offset in the stream.
        offset: u64,
    },
    /// A stream that ended inside a frame.
    #[error("truncated frame {index}: {got} of {expected} bytes (at byte {offset})")]
    Truncated {
        /// Frame index (0-based).
        index: u64,
        /// Bytes read.
        got: usize,
        /// Bytes a frame has.
        expected: usize,
        /// Byte offset where the frame's data started.
        offset: u64,
    },
    /// `ffmpeg` is not on PATH.
    #[error("ffmpeg was not found on PATH: {0}")]
    FfmpegMissing(std::io::Error),
    /// The `ffmpeg` child failed; its stderr says why.
    #[error("ffmpeg exited with {status}: {stderr}")]
    Ffmpeg {
        /// How it exited.
        status: String,
        /// The end of what it printed.
        stderr: String,
    },
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A V4L2 call failed.
    #[error("v4l2: {op} failed: {source}")]
    V4l2 {
        /// The ioctl or call (`VIDIOC_DQBUF`, `mmap`).
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A V4L2 device that cannot be used as asked.
    #[error("v4l2: {0}")]
    V4l2Setup(String),
    /// A buffer the pool could not fill or export.
    #[error(transparent)]
    Buffer(#[from] BufferError),
    /// A frame layout error.
    #[error(transparent)]
    Pixel(#[from] PixelError),
    /// A view error.
    #[error(transparent)]
    View(#[from] ViewError),
}
