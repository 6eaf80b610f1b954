//! Pixel formats as a descriptor table, frame layouts with padded lines,
//! subsampling-aware zero-copy ROIs, and colour conversion, on top of
//! memview-core views.
//!
//! A video frame is not one array: I420 is three planes of different
//! sizes, NV12 interleaves chroma, YUYV packs two pixels in four bytes,
//! producers pad their lines, and P010 keeps its 10 bits high. This crate
//! describes formats with a table (as FFmpeg's `pixdesc` and GStreamer do),
//! lays frames out ([`FrameLayout`]: tight, aligned, or a producer's
//! strides), and cuts regions of interest out of them in O(1) without a
//! copy ([`Frame::roi`], or [`Frame::roi_ref`] for a `Copy` ROI borrowed
//! from its frame whose plane views are made in a few nanoseconds),
//! snapping to the chroma grid by an explicit policy.
//!
//! # Example
//!
//! ```
//! use memview_pixel::{format::I420, Frame, FrameLayout, Rect};
//!
//! let layout = FrameLayout::tight(&I420, 1920, 1080)?;
//! let bytes = vec![0u8; layout.len()];
//! let frame = Frame::from_bytes(&bytes, &layout)?;
//! let face = frame.roi(Rect::new(801, 400, 200, 199))?; // odd: snapped outward
//! assert_eq!(face.effective(), Rect::new(800, 400, 202, 200));
//! assert_eq!(face.plane(1).map(|p| p.shape()), Some(&[100, 101][..])); // U rows, samples
//! let tight = face.to_vec(); // what ffmpeg -vf crop=202:200:800:400 writes
//! assert_eq!(tight.len(), 202 * 200 + 2 * 101 * 100);
//! // The per-frame fast path: the same ROI borrowed, its planes `ViewRef`s.
//! let fast = frame.roi_ref(Rect::new(801, 400, 200, 199))?;
//! assert_eq!(fast.effective(), face.effective());
//! assert_eq!(fast.plane(1).map(|p| p.shape().to_vec()), Some(vec![100, 101]));
//! assert!(fast.rows(0).is_some_and(|mut rows| rows.all(|r| r.len() == 202)));
//! # Ok::<(), memview_pixel::PixelError>(())
//! ```

// `unsafe` only in convert::avx2 (SIMD intrinsics) and in `RoiRef::plane`
// (memview-core's unchecked region cut, on frames that passed `covers`),
// allowed there.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod convert;
mod error;
pub mod format;
mod frame;
mod layout;

pub use crate::error::PixelError;
pub use crate::format::{ColorFamily, Component, PixelFormat};
pub use crate::frame::{Frame, FrameMut, Rect, Roi, RoiMut, RoiMuts, RoiRef, Snap, INLINE_ROIS};
pub use crate::layout::{FrameLayout, PlaneLayout, MAX_DIMENSION};
