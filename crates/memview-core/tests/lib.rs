//! The integration tests of memview-core, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
#[cfg(feature = "bytes")]
mod bytes;
mod cpython;
mod exports;
#[cfg(feature = "ndarray")]
mod ndarray;
mod numpy;
mod views;
