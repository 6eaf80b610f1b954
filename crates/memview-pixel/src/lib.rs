#![doc = include_str!("../README.md")]
// `unsafe` only in the SIMD kernels (convert::{avx2, avx512},
// resize::{sse2, avx2}, tensor::avx2: intrinsics) and in `RoiRef::plane`
// (memview-core's unchecked region cut, on frames that passed `covers`),
// allowed there.
#![deny(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature
// say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]

pub mod convert;
mod error;
pub mod format;
mod frame;
#[cfg(feature = "image")]
pub mod image;
mod layout;
pub mod resize;
pub mod tensor;

pub use crate::error::PixelError;
pub use crate::format::{ColorFamily, Component, PixelFormat};
pub use crate::frame::{Frame, FrameMut, Rect, Roi, RoiMut, RoiMuts, RoiRef, Snap, INLINE_ROIS};
pub use crate::layout::{FrameLayout, PlaneLayout, MAX_DIMENSION};
