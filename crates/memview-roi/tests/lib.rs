//! The integration tests of memview-roi, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deep;
mod reference;
mod results;
mod runner;
