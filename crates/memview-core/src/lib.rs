#![doc = include_str!("../README.md")]
//!
//! ## Overview
//!
//! * Exporters ([`Exporter`], [`ExporterMut`]) hand out views: byte slices,
//!   `Vec<u8>`, `Box<[u8]>`, memory maps (feature `mmap`), and [`Shared`]
//!   (alias [`ByteArray`]), an owning, reference-counted exporter whose
//!   views are `'static + Send + Sync`. Every view of a `Shared` — slices
//!   and casts of views too — counts as an export; while one lives,
//!   resizing or freeing is refused with CPython's "Existing exports"
//!   error. For borrowed exporters the borrow checker does the same at
//!   compile time.
//! * Views are validated once, at construction, with checked arithmetic;
//!   every operation maps a valid layout to a valid one.
//! * [`View::rows`] yields the contiguous rows of a view as `&[u8]`, O(1)
//!   each: the analyzers' vectorisable fast path.
//! * [`ViewMut`] writes through and splits into disjoint, `Send` parts.
//!
//! ## Safety
//!
//! All `unsafe` blocks are in `view.rs` and `view/ndarray.rs`, each with a
//! `// SAFETY:` note: they turn layouts that `raw::validate` accepted into
//! slices, and ndarray views into memview views and back; `ahead.rs` has
//! one more, a prefetch (which reads nothing and cannot fault). The one
//! `unsafe fn`, [`View::region_ref_unchecked`], is a region whose checks
//! the caller has made (its contract; debug builds assert it). Typed access
//! is limited to the sealed `memview_format::Element` types, plain numbers
//! valid for every bit pattern. The tests also run under AddressSanitizer
//! (`cargo xtask asan`).

#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature
// say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn)]

mod ahead;
#[cfg(feature = "bytes")]
mod bytes;
mod error;
mod export;
mod ops;
mod raw;
mod small;
mod sync;
mod view;
mod view_ref;

#[cfg(all(test, loom))]
mod tests;

pub use crate::ahead::Ahead;
pub use crate::error::ViewError;
pub use crate::export::{BufferError, ByteArray, Exporter, ExporterMut, Shared, Storage};
pub use crate::ops::List;
pub use crate::raw::{ItemFormat, MemOrder, Slice, MAX_NDIM};
pub use crate::view::{Items, Region, Rows, RowsMut, TypedRows, View, ViewMut};
pub use crate::view_ref::ViewRef;
