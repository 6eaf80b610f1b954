//! Every `unsafe` of the buffer protocol: filling a `Py_buffer` from a
//! memview view's parts, and freeing what it points to on release.

use std::ffi::{c_int, c_void, CString};

use pyo3::exceptions::PyBufferError;
use pyo3::{ffi, prelude::*};

/// What a `Py_buffer` is filled from: the address of item `[0, ...]`, the
/// bytes spanned, the item size and format, shape and strides. The owner
/// of the bytes is the exporting Python object, which the buffer holds a
/// reference to (`obj`), and which keeps them alive and unwritten.
pub(crate) struct Parts<'a> {
    pub(crate) ptr: *const u8,
    pub(crate) nbytes: usize,
    pub(crate) itemsize: usize,
    pub(crate) format: &'a str,
    pub(crate) shape: &'a [usize],
    pub(crate) strides: &'a [isize],
    pub(crate) c_contiguous: bool,
}

impl<'a> Parts<'a> {
    /// The parts of a memview view.
    pub(crate) fn of(v: &'a memview_core::View<'_>) -> Parts<'a> {
        Parts {
            ptr: v.as_ptr(),
            nbytes: v.nbytes(),
            itemsize: v.itemsize(),
            format: v.format(),
            shape: v.shape(),
            strides: v.strides(),
            c_contiguous: v.is_c_contiguous(),
        }
    }
}

/// What `internal` points to: the format text and the shape and strides,
/// freed in [`release`].
struct Held {
    format: CString,
    /// Shape then strides, `ndim` each.
    dims: Vec<ffi::Py_ssize_t>,
    /// A memview export held for as long as Python's (an exporter that
    /// counts its views: a `ByteArray` refuses to resize while it lives).
    _export: Option<memview_core::View<'static>>,
}

/// Fills `view` from `parts` for a read-only export requested with
/// `flags`, holding a reference to `owner`.
///
/// # Safety
///
/// - `view` is the `Py_buffer` CPython passed to `bf_getbuffer`.
/// - `parts` describe bytes that stay valid and unwritten for as long as
///   `owner` lives (the owner holds the memview lease or buffer).
pub(crate) unsafe fn fill(
    view: *mut ffi::Py_buffer,
    flags: c_int,
    parts: &Parts<'_>,
    owner: Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: passed on.
    unsafe { fill_holding(view, flags, parts, owner, None) }
}

/// [`fill`], holding `export` until the buffer is released.
///
/// # Safety
///
/// As [`fill`].
pub(crate) unsafe fn fill_holding(
    view: *mut ffi::Py_buffer,
    flags: c_int,
    parts: &Parts<'_>,
    owner: Bound<'_, PyAny>,
    export: Option<memview_core::View<'static>>,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("no Py_buffer to fill"));
    }
    if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err(
            "memview frames are read-only to Python (write through memview's own functions)",
        ));
    }
    let strided = flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES;
    let nd = flags & ffi::PyBUF_ND == ffi::PyBUF_ND;
    if !strided && !parts.c_contiguous {
        return Err(PyBufferError::new_err(
            "the view is not C-contiguous: ask for strides (PyBUF_STRIDES)",
        ));
    }
    let with_format = flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT;
    let format = CString::new(parts.format)
        .map_err(|_| PyBufferError::new_err("a format with a NUL byte"))?;
    let mut dims: Vec<ffi::Py_ssize_t> = Vec::with_capacity(2 * parts.shape.len());
    for &n in parts.shape {
        dims.push(
            ffi::Py_ssize_t::try_from(n).map_err(|_| PyBufferError::new_err("shape overflows"))?,
        );
    }
    dims.extend(parts.strides.iter().map(|&s| s as ffi::Py_ssize_t));
    let held = Box::new(Held {
        format,
        dims,
        _export: export,
    });
    let ndim = parts.shape.len();
    // SAFETY: `view` is CPython's, writable for this call; every pointer
    // stored in it points into `held` (released in `release`) or into
    // bytes `owner` keeps alive, and `obj` takes a strong reference.
    unsafe {
        (*view).buf = parts.ptr as *mut c_void;
        (*view).len = parts.nbytes as ffi::Py_ssize_t;
        (*view).readonly = 1;
        // Without a format the consumer reads unsigned bytes.
        (*view).itemsize = if with_format {
            parts.itemsize as ffi::Py_ssize_t
        } else {
            1
        };
        (*view).format = if with_format {
            held.format.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        (*view).ndim = if nd { ndim as c_int } else { 1 };
        let dims = held.dims.as_ptr().cast_mut();
        (*view).shape = if nd { dims } else { std::ptr::null_mut() };
        (*view).strides = if strided {
            dims.add(ndim)
        } else {
            std::ptr::null_mut()
        };
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = Box::into_raw(held).cast::<c_void>();
        (*view).obj = owner.into_ptr();
    }
    Ok(())
}

/// Frees what [`fill`] allocated for `view`.
///
/// # Safety
///
/// `view` is a `Py_buffer` that [`fill`] filled, released once.
pub(crate) unsafe fn release(view: *mut ffi::Py_buffer) {
    if view.is_null() {
        return;
    }
    // SAFETY: `internal` is the `Held` that `fill` leaked, or null.
    unsafe {
        let held = (*view).internal.cast::<Held>();
        if !held.is_null() {
            drop(Box::from_raw(held));
            (*view).internal = std::ptr::null_mut();
        }
    }
}

/// A buffer imported from any Python exporter (`PyObject_GetBuffer` with
/// strides and format), held until the last memview view of it goes.
#[derive(Debug)]
pub(crate) struct Imported {
    buf: pyo3::buffer::PyUntypedBuffer,
    /// Bytes from the lowest to one past the highest byte any item
    /// touches, and where item `[0, ...]` lies in them.
    lo: *const u8,
    span: usize,
    pub(crate) offset: isize,
}

// SAFETY: the pointers point into the exporter's memory, which `buf` (a
// `Send + Sync` handle that releases the export with the GIL) keeps alive;
// memview only reads through them.
unsafe impl Send for Imported {}
// SAFETY: as above: shared reads only.
unsafe impl Sync for Imported {}

impl Imported {
    /// Imports `obj`'s buffer.
    pub(crate) fn get(obj: &Bound<'_, PyAny>) -> PyResult<Imported> {
        let buf = pyo3::buffer::PyUntypedBuffer::get(obj)?;
        if buf.suboffsets().is_some_and(|s| s.iter().any(|&o| o >= 0)) {
            return Err(PyBufferError::new_err(
                "buffers with suboffsets (PIL-style arrays of pointers) are not supported",
            ));
        }
        let itemsize = buf.item_size() as isize;
        let (mut lo, mut hi) = (0isize, itemsize);
        if buf.shape().contains(&0) {
            hi = 0;
        } else {
            for (&n, &s) in buf.shape().iter().zip(buf.strides()) {
                let reach = (n as isize - 1)
                    .checked_mul(s)
                    .ok_or_else(|| PyBufferError::new_err("strides overflow"))?;
                if reach < 0 {
                    lo += reach;
                } else {
                    hi += reach;
                }
            }
        }
        let first = buf.buf_ptr().cast::<u8>().cast_const();
        Ok(Imported {
            lo: first.wrapping_offset(lo),
            span: (hi - lo).max(0) as usize,
            offset: -lo,
            buf,
        })
    }

    /// The exporter's bytes from the lowest item's to the highest's.
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.span == 0 {
            return &[];
        }
        // SAFETY: the exporter guarantees every item of its shape and
        // strides lies in memory it keeps alive while the export (`buf`)
        // is held; `lo..lo + span` is exactly the bytes those items cover.
        // Every caller holds the GIL for as long as it uses the slice, so
        // no Python code writes a writable exporter's bytes meanwhile.
        unsafe { std::slice::from_raw_parts(self.lo, self.span) }
    }

    /// The exporter's item format (`B` when it gave none).
    pub(crate) fn format(&self) -> String {
        self.buf.format().to_string_lossy().into_owned()
    }

    /// Shape, strides and item size as exported.
    pub(crate) fn layout(&self) -> (&[usize], &[isize], usize) {
        (self.buf.shape(), self.buf.strides(), self.buf.item_size())
    }

    /// Whether the exporter refused writes.
    pub(crate) fn readonly(&self) -> bool {
        self.buf.readonly()
    }
}
