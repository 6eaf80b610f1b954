//! The integration tests of memview-format, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cpython;
mod fuzz;
mod pack;
mod parse;
mod prop;
