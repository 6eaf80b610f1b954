//! The integration tests of memview-core, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
mod cpython;
mod exports;
mod numpy;
mod views;
