//! Frame sources over a buffer pool that never recycles a viewed frame.
//!
//! Camera pipelines hand frames from a producer to analyzers and back; this
//! crate makes that hand-off safe and allocation-free. A [`BufferPool`]
//! holds a fixed number of 64-byte-aligned buffers. A [`FrameSource`]
//! fills a free one and publishes it as a [`FrameLease`]: `Send`, cheap to
//! share among workers, with the frame's planes as memview views. The
//! buffer is filled again only when the last lease *and* the last view of
//! it are gone — memview-core's export count refuses the write otherwise.
//!
//! Sources: [`Synthetic`] (moving boxes standing in for faces and plates),
//! [`Y4mSource`] (files, stdin, pipes), [`FfmpegSource`] (anything ffmpeg
//! decodes), [`MmapSource`] (raw and Y4M files as zero-copy views of a
//! memory map), and with the `v4l2` feature on Linux `v4l2::V4l2Source`
//! (cameras, through mmap streaming). [`Capture`] runs a source on its own thread with a
//! slow-consumer [`Policy`].
//!
//! # Example
//!
//! ```
//! use memview_capture::{Capture, Policy, Synthetic};
//! use memview_pixel::format::I420;
//!
//! let source = Synthetic::new(&I420, 320, 240, 4)?.with_frames(10);
//! let capture = Capture::start(source, 3, 2, Policy::Block)?;
//! let mut n = 0;
//! while let Some(frame) = capture.recv() {
//!     let frame = frame?;
//!     assert_eq!(frame.seq(), n);
//!     assert_eq!(frame.frame().plane(0).map(|p| p.shape()), Some(&[240, 320][..]));
//!     n += 1;
//! }
//! assert_eq!(n, 10);
//! # Ok::<(), memview_capture::CaptureError>(())
//! ```

// `unsafe` only to map files (mmap.rs): nothing else in the crate may.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod error;
mod input;
mod limits;
// Mapping a file is `unsafe` (another process may change it); the module
// states the contract and passes it on through `unsafe fn`s.
#[allow(unsafe_code)]
mod mmap;
mod pool;
mod queue;
mod source;
pub mod spec;
mod sync;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub mod v4l2;
mod y4m;

#[cfg(all(test, loom))]
mod tests;

pub use crate::error::CaptureError;
pub use crate::input::{open_input, TimedRead};
pub use crate::limits::{Limits, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_POOL_BYTES};
pub use crate::mmap::MmapSource;
pub use crate::pool::{BufferPool, FrameLease, PoolStats, Slot, BUFFER_ALIGN};
pub use crate::queue::{
    Capture, CaptureOptions, FrameQueue, Policy, RecvError, Stopper, CLOSE_GRACE,
};
pub use crate::source::{FrameSource, Synthetic};
pub use crate::spec::{open, InputFile, OpenedSource, SourceOptions, SourceSpec};
pub use crate::y4m::{raise_pipe_buffer, FfmpegSource, Y4mHeader, Y4mSource, MAX_HEADER};
