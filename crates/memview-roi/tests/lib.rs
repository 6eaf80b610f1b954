//! The integration tests of memview-roi, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deep;
#[cfg(feature = "onnx")]
mod onnx;
mod reference;
mod results;
mod runner;
#[cfg(feature = "onnx")]
mod tiny_onnx;
