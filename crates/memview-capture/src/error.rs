//! Capture errors.

use memview_core::{BufferError, ViewError};
use memview_pixel::PixelError;

/// Why a source could not deliver a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Options that do not fit the source (one line, naming the option).
    #[error("{0}")]
    Options(String),
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
    /// A mapped file cut shorter than frames already handed out.
    #[error(
        "the file was cut to {len} bytes while mapped, before frame {index}{}",
        if *zeroed { "; frames in flight read zeros where their pages were cut" } else { "" }
    )]
    CutWhileMapped {
        /// The next frame's index.
        index: u64,
        /// The file's length now.
        len: u64,
        /// Whether the SIGBUS guard had to show cut pages as zeros.
        zeroed: bool,
    },
    /// A size an input declared (or a pool would need) that passes a
    /// [`crate::Limits`] budget: refused before anything is allocated.
    #[error("{what} would take {bytes} bytes, over the budget of {limit} bytes")]
    OverBudget {
        /// What would be too large ("a frame", "the buffer pool").
        what: &'static str,
        /// Bytes it would take.
        bytes: u128,
        /// The budget.
        limit: usize,
    },
    /// A count past its documented limit.
    #[error("{count} {what} is more than the {limit} allowed")]
    TooMany {
        /// What is counted ("synthetic boxes").
        what: &'static str,
        /// How many were asked for.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The allocator refused a reservation within the budget.
    #[error("cannot reserve {bytes} bytes of memory for the buffer pool")]
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// A pool with too few buffers for its queue and consumers: the
    /// producer would wait for a buffer only the waiting consumer could
    /// release (a deadlock), or, keeping the latest frame, would have to
    /// drop a frame before it knew a newer one exists.
    #[error(
        "a {buffers}-buffer pool is too small: {policy} with a consumer that holds up to \
         {holds} frames needs at least {needed} buffers"
    )]
    PoolTooSmall {
        /// Buffers asked for.
        buffers: usize,
        /// Frames the consumer holds at once.
        holds: usize,
        /// The policy's name.
        policy: &'static str,
        /// Buffers needed.
        needed: usize,
    },
    /// A source that sent nothing for longer than its read timeout.
    #[error("the source stalled: nothing arrived for {:.1} s while {context}", .after.as_secs_f64())]
    Stalled {
        /// How long it waited.
        after: std::time::Duration,
        /// What was being read.
        context: String,
    },
    /// `ffmpeg` is not on PATH.
    #[error("ffmpeg was not found on PATH: {0}")]
    FfmpegMissing(std::io::Error),
    /// The `ffmpeg` child failed; its stderr says why.
    #[error("ffmpeg exited with {status}{}", said(.stderr))]
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

/// `: TEXT` for what a child printed, or a note that it printed nothing
/// (a child killed by a signal often says nothing).
fn said(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        " and printed nothing".to_owned()
    } else {
        // One line in messages: the child's lines joined.
        format!(
            ": {}",
            text.lines().map(str::trim).collect::<Vec<_>>().join(" / ")
        )
    }
}
