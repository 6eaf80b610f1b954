//! The integration tests of memview-capture, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
mod faults;
mod pool;
mod reconnect;
mod y4m;
mod y4m_crate;
