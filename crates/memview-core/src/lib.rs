//! memoryview-exact, strided, N-dimensional views of byte buffers, with
//! export counting — and no ndarray.
//!
//! A region of a video frame should be a few integers, never a copy. A
//! [`View`] is exactly that: a pointer, an offset, a shape, signed byte
//! strides and an item format, made and sliced in O(1) with no allocation
//! (up to 3 dimensions inline; 64 at most). Its semantics are CPython's
//! `memoryview`, error texts included, and go beyond where memoryview stops:
//! N-d slicing and indexing, transposes and flips, typed row access for
//! analyzers, and disjoint mutable regions for parallel writers.
//!
//! # Overview
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
//! # Example
//!
//! ```
//! use memview_core::{MemOrder, Slice, View};
//!
//! // A 6x8 plane of bytes; take the 3x4 region at row 2, column 3.
//! let plane: Vec<u8> = (0..48).collect();
//! let v = View::from_parts(&plane, "B", 0, &[6, 8], &[8, 1])?;
//! let roi = v.slice(&[Slice::range(2, 5), Slice::range(3, 7)])?;
//! assert_eq!(roi.shape(), &[3, 4]);
//! assert_eq!(roi.offset(), 19);
//! let rows: Vec<&[u8]> = roi.rows()?.collect();
//! assert_eq!(rows[0], &[19, 20, 21, 22]);
//! assert_eq!(roi.to_bytes(MemOrder::C).len(), 12);
//! # Ok::<(), memview_core::ViewError>(())
//! ```
//!
//! # Crate features
//!
//! * `mmap`: [`Exporter`] and [`Storage`] for `memmap2::Mmap` and
//!   `memmap2::MmapMut`.
//!
//! # Safety
//!
//! All `unsafe` blocks are in `view.rs`, each with a `// SAFETY:` note:
//! they turn layouts that `raw::validate` accepted into slices. The one
//! `unsafe fn`, [`View::region_ref_unchecked`], is a region whose checks
//! the caller has made (its contract; debug builds assert it). Typed access
//! is limited to the sealed `memview_format::Element` types, plain numbers
//! valid for every bit pattern. The tests also run under AddressSanitizer
//! (`cargo xtask asan`).

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn)]

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

pub use crate::error::ViewError;
pub use crate::export::{BufferError, ByteArray, Exporter, ExporterMut, Shared, Storage};
pub use crate::ops::List;
pub use crate::raw::{ItemFormat, MemOrder, Slice, MAX_NDIM};
pub use crate::view::{Items, Region, Rows, RowsMut, TypedRows, View, ViewMut};
pub use crate::view_ref::ViewRef;
