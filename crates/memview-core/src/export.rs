//! Exporters: the owners of bytes that hand out views (`bf_getbuffer`), and
//! the export counting that keeps them from resizing or freeing under a
//! view.

use core::fmt;

use crate::sync::{Arc, AtomicUsize, Ordering};
use crate::view::{View, ViewMut};

/// Why an exporter refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BufferError {
    /// A resize or free while views exist. CPython's text is `Existing
    /// exports of data: object cannot be re-sized`; the count is ours.
    Exported {
        /// Live views of the exporter.
        exports: usize,
    },
    /// A read-only view was asked for while a mutable view exists, or a
    /// mutable view while any view exists.
    MutablyExported {
        /// Live mutable views.
        writers: usize,
    },
    /// A mutable view of read-only storage: `memoryview: underlying buffer
    /// is not writable`.
    NotWritable,
}

impl fmt::Display for BufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferError::Exported { exports } => write!(
                f,
                "Existing exports of data: object cannot be re-sized ({exports} export{})",
                if *exports == 1 { "" } else { "s" }
            ),
            BufferError::MutablyExported { writers } => write!(
                f,
                "buffer is exported mutably ({writers} mutable view{}): no other view may be taken",
                if *writers == 1 { "" } else { "s" }
            ),
            BufferError::NotWritable => {
                f.write_str("memoryview: underlying buffer is not writable")
            }
        }
    }
}

impl std::error::Error for BufferError {}

/// Anything that owns bytes and can show them as a read-only view: the
/// `bf_getbuffer` side of the buffer protocol.
///
/// The view is a 1-D, C-contiguous view of every byte with format `B`. For
/// borrowed exporters the borrow is the export: Rust refuses at compile
/// time to resize or free a `Vec` while a view of it lives.
pub trait Exporter {
    /// A read-only view of every byte.
    fn export(&self) -> Result<View<'_>, BufferError>;
}

/// An exporter that can also hand out one mutable view.
pub trait ExporterMut: Exporter {
    /// A mutable view of every byte.
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError>;
}

impl Exporter for [u8] {
    fn export(&self) -> Result<View<'_>, BufferError> {
        Ok(View::from_bytes(self))
    }
}

impl ExporterMut for [u8] {
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError> {
        Ok(ViewMut::from_bytes(self))
    }
}

impl Exporter for Vec<u8> {
    fn export(&self) -> Result<View<'_>, BufferError> {
        Ok(View::from_bytes(self))
    }
}

impl ExporterMut for Vec<u8> {
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError> {
        Ok(ViewMut::from_bytes(self))
    }
}

impl Exporter for Box<[u8]> {
    fn export(&self) -> Result<View<'_>, BufferError> {
        Ok(View::from_bytes(self))
    }
}

impl ExporterMut for Box<[u8]> {
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError> {
        Ok(ViewMut::from_bytes(self))
    }
}

#[cfg(feature = "mmap")]
impl Exporter for memmap2::Mmap {
    fn export(&self) -> Result<View<'_>, BufferError> {
        Ok(View::from_bytes(self))
    }
}

#[cfg(feature = "mmap")]
impl Exporter for memmap2::MmapMut {
    fn export(&self) -> Result<View<'_>, BufferError> {
        Ok(View::from_bytes(self))
    }
}

#[cfg(feature = "mmap")]
impl ExporterMut for memmap2::MmapMut {
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError> {
        Ok(ViewMut::from_bytes(self))
    }
}

/// Storage a [`Shared`] exporter can own.
///
/// `bytes` and `bytes_mut` must keep returning the same memory for as long
/// as the storage is not otherwise mutated; every implementation here is a
/// heap allocation or a mapping, which never moves.
pub trait Storage: Send + Sync + 'static {
    /// The bytes.
    fn bytes(&self) -> &[u8];
    /// The bytes, writable, or `None` for read-only storage.
    fn bytes_mut(&mut self) -> Option<&mut [u8]>;
    /// The storage as a resizable `Vec`, if it is one.
    fn as_vec_mut(&mut self) -> Option<&mut Vec<u8>> {
        None
    }
}

impl Storage for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(self)
    }
    fn as_vec_mut(&mut self) -> Option<&mut Vec<u8>> {
        Some(self)
    }
}

impl Storage for Box<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(self)
    }
}

#[cfg(feature = "mmap")]
impl Storage for memmap2::Mmap {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

#[cfg(feature = "mmap")]
impl Storage for memmap2::MmapMut {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(self)
    }
}

/// The managed buffer: storage plus the count of live mutable views. The
/// count of all live views is the `Arc`'s strong count minus the exporter's
/// own reference.
pub(crate) struct Managed {
    storage: core::cell::UnsafeCell<Box<dyn Storage>>,
    /// Start of the bytes; derived once from `bytes_mut` (or `bytes` for
    /// read-only storage) while the storage was exclusively owned.
    base: *mut u8,
    len: usize,
    writable: bool,
    writers: AtomicUsize,
}

// SAFETY: the storage is `Send + Sync`; `base` points into it, and the
// bytes behind it are only written through `ViewMut`s, which the `writers`
// count keeps disjoint from every read-only view (see `Shared`).
unsafe impl Send for Managed {}
// SAFETY: as above; `&Managed` gives access only to `base`, `len` and the
// atomic count, never to the storage itself.
unsafe impl Sync for Managed {}

impl Managed {
    fn new(mut storage: Box<dyn Storage>) -> Managed {
        let (base, len, writable) = match storage.bytes_mut() {
            Some(b) => (b.as_mut_ptr(), b.len(), true),
            None => {
                let b = storage.bytes();
                (b.as_ptr().cast_mut(), b.len(), false)
            }
        };
        Managed {
            storage: core::cell::UnsafeCell::new(storage),
            base,
            len,
            writable,
            writers: AtomicUsize::new(0),
        }
    }

    /// The storage, exclusively: only reachable through `Arc::get_mut`.
    fn storage_mut(&mut self) -> &mut Box<dyn Storage> {
        self.storage.get_mut()
    }

    /// Re-derives `base` after the storage changed.
    fn refresh(&mut self) {
        let (base, len) = match self.storage.get_mut().bytes_mut() {
            Some(b) => (b.as_mut_ptr(), b.len()),
            None => {
                let b = self.storage.get_mut().bytes();
                (b.as_ptr().cast_mut(), b.len())
            }
        };
        self.base = base;
        self.len = len;
    }

    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// A mutable export's claim on a [`Managed`] buffer; releases it on drop.
pub(crate) struct WriteGuard(pub(crate) Arc<Managed>);

impl WriteGuard {
    /// One more writer: a split part of an existing mutable view.
    pub(crate) fn split(&self) -> WriteGuard {
        self.0.writers.fetch_add(1, Ordering::AcqRel);
        WriteGuard(self.0.clone())
    }

    /// Gives up writing, keeping the buffer alive as a read-only export.
    pub(crate) fn into_shared(self) -> Arc<Managed> {
        let arc = self.0.clone();
        drop(self);
        arc
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An owning, reference-counted exporter whose views are `Send + Sync` and
/// `'static`: they can outlive the scope that made them and cross threads.
///
/// It is the `bytearray` of memview. Views count as exports, and so do
/// views made from views (slices, casts, clones). While any export lives,
/// [`Shared::resize`], [`Shared::bytes_mut`] and [`Shared::try_into_inner`]
/// refuse with [`BufferError::Exported`]; once the last view is dropped they
/// succeed. Dropping a `Shared` while views live is fine: the views keep the
/// bytes alive.
///
/// ```
/// use memview_core::{ByteArray, BufferError};
/// let mut b = ByteArray::from(vec![1u8, 2, 3]);
/// let v = b.export_shared()?;
/// let w = v.slice_axis(0, memview_core::Slice::new(Some(1), None, None))?;
/// drop(v);
/// assert_eq!(b.resize(10, 0), Err(BufferError::Exported { exports: 1 }));
/// drop(w);
/// b.resize(10, 0)?;
/// assert_eq!(b.len(), 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Shared {
    inner: Arc<Managed>,
}

/// The `bytearray` analogue: a resizable [`Shared`] exporter over a `Vec`.
pub type ByteArray = Shared;

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("len", &self.inner.len)
            .field("exports", &self.exports())
            .field("writers", &self.inner.writers.load(Ordering::Relaxed))
            .finish()
    }
}

impl<S: Storage> From<S> for Shared {
    fn from(s: S) -> Shared {
        Shared::new(Box::new(s))
    }
}

impl Shared {
    /// Takes ownership of `storage`.
    pub fn new(storage: Box<dyn Storage>) -> Shared {
        Shared {
            inner: Arc::new(Managed::new(storage)),
        }
    }

    /// The number of live views (exports).
    pub fn exports(&self) -> usize {
        Arc::strong_count(&self.inner) - 1
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.inner.len
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// A read-only, `'static` view of every byte; refused while a mutable
    /// view exists.
    pub fn export_shared(&self) -> Result<View<'static>, BufferError> {
        let writers = self.inner.writers.load(Ordering::Acquire);
        if writers != 0 {
            return Err(BufferError::MutablyExported { writers });
        }
        Ok(View::from_managed(self.inner.clone()))
    }

    /// A mutable, `'static` view of every byte; refused while any view
    /// exists. It can be split into disjoint mutable parts.
    pub fn export_shared_mut(&mut self) -> Result<ViewMut<'static>, BufferError> {
        if !self.inner.writable {
            return Err(BufferError::NotWritable);
        }
        let exports = self.exports();
        if exports != 0 {
            return Err(BufferError::Exported { exports });
        }
        self.inner.writers.fetch_add(1, Ordering::AcqRel);
        Ok(ViewMut::from_guard(WriteGuard(self.inner.clone())))
    }

    fn unique(&mut self) -> Result<&mut Managed, BufferError> {
        let exports = self.exports();
        Arc::get_mut(&mut self.inner).ok_or(BufferError::Exported { exports })
    }

    /// The bytes, writable: the exporter's own mutation, refused while any
    /// view exists so that no view ever sees its bytes change under it.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8], BufferError> {
        let m = self.unique()?;
        m.storage_mut().bytes_mut().ok_or(BufferError::NotWritable)
    }

    /// Resizes a `Vec`-backed buffer, filling new bytes with `value`.
    pub fn resize(&mut self, new_len: usize, value: u8) -> Result<(), BufferError> {
        let m = self.unique()?;
        let v = m
            .storage_mut()
            .as_vec_mut()
            .ok_or(BufferError::NotWritable)?;
        v.resize(new_len, value);
        m.refresh();
        Ok(())
    }

    /// Appends bytes to a `Vec`-backed buffer.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferError> {
        let m = self.unique()?;
        let v = m
            .storage_mut()
            .as_vec_mut()
            .ok_or(BufferError::NotWritable)?;
        v.extend_from_slice(bytes);
        m.refresh();
        Ok(())
    }

    /// Frees the exporter and returns its storage, refused while views
    /// exist (the exporter is handed back with the error).
    pub fn try_into_inner(self) -> Result<Box<dyn Storage>, (Shared, BufferError)> {
        let exports = self.exports();
        match Arc::try_unwrap(self.inner) {
            Ok(m) => Ok(m.storage.into_inner()),
            Err(inner) => Err((Shared { inner }, BufferError::Exported { exports })),
        }
    }
}

impl Exporter for Shared {
    fn export(&self) -> Result<View<'_>, BufferError> {
        self.export_shared()
    }
}

impl ExporterMut for Shared {
    fn export_mut(&mut self) -> Result<ViewMut<'_>, BufferError> {
        self.export_shared_mut()
    }
}
