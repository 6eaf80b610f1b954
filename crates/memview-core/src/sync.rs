//! The one place atomics and `Arc` come from: std normally, loom when the
//! loom models are built (`--cfg loom`).

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
