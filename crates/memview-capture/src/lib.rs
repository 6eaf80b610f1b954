#![doc = include_str!("../README.md")]
// `unsafe` only to map files (mmap.rs): nothing else in the crate may.
#![deny(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature
// say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]

mod error;
// The SIGBUS handler that guards mapped files against truncation.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod guard;
mod input;
mod limits;
// Mapping a file is `unsafe` (another process may change it); the module
// states the contract and passes it on through `unsafe fn`s.
#[allow(unsafe_code)]
mod mmap;
mod pool;
mod queue;
pub mod reconnect;
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
pub use crate::reconnect::{Backoff, ReconnectStats, Reconnecting, StreamChange};
pub use crate::source::{FrameSource, Paced, Synthetic};
pub use crate::spec::{
    open, open_reconnecting, InputFile, OpenedSource, SourceOptions, SourceSpec, NATIVE,
};
pub use crate::y4m::{raise_pipe_buffer, FfmpegSource, Y4mHeader, Y4mSource, MAX_HEADER};
