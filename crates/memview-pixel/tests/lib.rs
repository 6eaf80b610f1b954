//! The integration tests of memview-pixel, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod convert;
mod ffmpeg;
#[cfg(feature = "image")]
mod image;
mod layouts;
mod opencv;
mod props;
