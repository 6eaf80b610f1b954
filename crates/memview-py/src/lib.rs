//! memview for Python: frames, planes and ROIs of the capture pool as
//! buffer exporters (`memoryview(plane)`, `numpy.asarray(plane)` see the
//! pool's bytes, no copy, and keep the frame out of the pool while they
//! live), memview's format strings, and the Rust ROI runner with the GIL
//! released.
//!
//! A thin crate at the top of the layers: each class wraps a library
//! type; every `unsafe` of the buffer protocol is in `buffer.rs`.

#![deny(missing_debug_implementations)]

mod buffer;

use std::ffi::c_int;
use std::sync::Mutex;
use std::time::Duration;

use memview_capture::{
    Capture as RsCapture, CaptureOptions, FrameLease, Policy, RecvError, SourceOptions, SourceSpec,
};
use memview_pixel::Rect;
use memview_roi::{analyzers, Fields, RoiRunner as RsRunner, Zone};
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use pyo3::{create_exception, ffi};

create_exception!(
    _memview,
    MemviewError,
    PyRuntimeError,
    "A memview capture or runner error."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    MemviewError::new_err(e.to_string())
}

/// A format string: `memview.Format(fmt, dialect="struct")`.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Format {
    inner: memview_format::Format,
    text: String,
}

fn dialect(name: &str) -> PyResult<memview_format::Dialect> {
    match name {
        "struct" => Ok(memview_format::Dialect::Struct),
        "pep3118" => Ok(memview_format::Dialect::Pep3118),
        _ => Err(PyValueError::new_err(format!(
            "dialect must be \"struct\" or \"pep3118\", not {name:?}"
        ))),
    }
}

fn to_value(v: &Bound<'_, PyAny>) -> PyResult<memview_format::Value> {
    use memview_format::Value;
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = v.extract::<i128>() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(Value::Float(f));
    }
    if let Ok(b) = v.extract::<Vec<u8>>() {
        return Ok(Value::Bytes(b));
    }
    Err(struct_error(
        v.py(),
        "required argument is not a packable value",
    ))
}

fn struct_error(py: Python<'_>, msg: &str) -> PyErr {
    match py
        .import("memview")
        .and_then(|m| m.getattr("FormatError"))
        .and_then(|c| c.call1((msg,)))
    {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

#[pymethods]
impl Format {
    #[new]
    #[pyo3(signature = (fmt, dialect = "struct"))]
    fn new(py: Python<'_>, fmt: &str, dialect: &str) -> PyResult<Format> {
        let d = self::dialect(dialect)?;
        match memview_format::Format::parse(fmt, d) {
            Ok(inner) => Ok(Format {
                inner,
                text: fmt.to_owned(),
            }),
            Err(e) => {
                let exc = struct_error(py, &e.to_string());
                exc.value(py).setattr("offset", e.offset())?;
                Err(exc)
            }
        }
    }

    /// `struct.calcsize`.
    #[getter]
    fn size(&self) -> usize {
        self.inner.size()
    }

    /// The largest native alignment of a field (1 if none).
    #[getter]
    fn align(&self) -> usize {
        self.inner.layout().align
    }

    /// The number of values `pack` takes and `unpack` returns.
    #[getter]
    fn items(&self) -> usize {
        self.inner.layout().items
    }

    /// The format as given.
    #[getter]
    fn format(&self) -> &str {
        &self.text
    }

    /// `struct.pack`.
    #[pyo3(signature = (*values))]
    fn pack<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let vals = values
            .iter()
            .map(|v| to_value(&v))
            .collect::<PyResult<Vec<_>>>()?;
        let out = self
            .inner
            .pack(&vals)
            .map_err(|e| struct_error(py, &e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// `struct.unpack`.
    fn unpack<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
        use memview_format::Value;
        let vals = self
            .inner
            .unpack(data)
            .map_err(|e| struct_error(py, &e.to_string()))?;
        let items: Vec<Bound<'py, PyAny>> = vals
            .into_iter()
            .map(|v| -> PyResult<Bound<'py, PyAny>> {
                Ok(match v {
                    Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
                    Value::Int(i) => i.into_pyobject(py)?.into_any(),
                    Value::Float(f) => f.into_pyobject(py)?.into_any(),
                    Value::Bytes(b) => PyBytes::new(py, &b).into_any(),
                })
            })
            .collect::<PyResult<_>>()?;
        PyTuple::new(py, items)
    }

    fn __repr__(&self) -> String {
        format!("memview.Format({:?})", self.text)
    }
}

/// One plane of a frame or of an ROI: a read-only buffer exporter over the
/// pool's bytes. It holds the frame's lease: while it (or any memoryview
/// or NumPy array of it) lives, the pool does not recycle the buffer.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Plane {
    lease: FrameLease,
    plane: usize,
    /// The ROI's rectangle, or `None` for the whole frame's plane.
    rect: Option<Rect>,
}

impl Plane {
    fn with_view<T>(&self, f: impl FnOnce(&memview_core::View<'_>) -> PyResult<T>) -> PyResult<T> {
        let frame = self.lease.frame();
        match self.rect {
            None => {
                let v = frame
                    .plane(self.plane)
                    .ok_or_else(|| PyValueError::new_err("no such plane"))?;
                f(v)
            }
            Some(r) => {
                let roi = frame.roi_ref(r).map_err(err)?;
                let v = roi
                    .plane(self.plane)
                    .ok_or_else(|| PyValueError::new_err("no such plane"))?
                    .to_view();
                f(&v)
            }
        }
    }
}

#[pymethods]
impl Plane {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        me.with_view(|v| {
            let parts = buffer::Parts::of(v);
            // SAFETY: the bytes are the lease's buffer, which `slf` (taken
            // as the buffer's `obj`) keeps out of the pool and unwritten:
            // the pool refills a buffer only when no lease of it is left.
            unsafe { buffer::fill(view, flags, &parts, slf.clone().into_any()) }
        })
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the buffer `__getbuffer__` filled.
        unsafe { buffer::release(view) }
    }

    /// The plane's shape.
    #[getter]
    fn shape(&self) -> PyResult<Vec<usize>> {
        self.with_view(|v| Ok(v.shape().to_vec()))
    }

    /// The plane's strides, in bytes.
    #[getter]
    fn strides(&self) -> PyResult<Vec<isize>> {
        self.with_view(|v| Ok(v.strides().to_vec()))
    }

    /// The plane's item format (`B`, `<H`).
    #[getter]
    fn format(&self) -> PyResult<String> {
        self.with_view(|v| Ok(v.format().to_owned()))
    }

    fn __repr__(&self) -> PyResult<String> {
        self.with_view(|v| {
            Ok(format!(
                "memview.Plane(plane={}, shape={:?}, strides={:?}, format={:?})",
                self.plane,
                v.shape(),
                v.strides(),
                v.format()
            ))
        })
    }
}

/// A captured frame (a lease of the pool). `release()` (or leaving a
/// `with` block) gives it back; planes and exports already taken stay
/// valid and keep the buffer until they go.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Frame {
    lease: Mutex<Option<FrameLease>>,
    seq: u64,
    timestamp: f64,
    /// The planes, made once (each holds its own clone of the lease).
    planes: std::sync::OnceLock<Py<PyTuple>>,
}

impl Frame {
    fn lease(&self) -> PyResult<FrameLease> {
        self.lease
            .lock()
            .map_err(|_| err("a frame's lock was poisoned"))?
            .clone()
            .ok_or_else(|| PyValueError::new_err("operation on a released frame"))
    }

    fn from_lease(lease: FrameLease) -> Frame {
        Frame {
            seq: lease.seq(),
            timestamp: lease.timestamp().as_secs_f64(),
            lease: Mutex::new(Some(lease)),
            planes: std::sync::OnceLock::new(),
        }
    }
}

fn planes_of(py: Python<'_>, lease: &FrameLease, rect: Option<Rect>) -> PyResult<Py<PyTuple>> {
    let n = lease.frame().format().planes;
    let planes = (0..n)
        .map(|p| {
            Py::new(
                py,
                Plane {
                    lease: lease.clone(),
                    plane: p,
                    rect,
                },
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, planes)?.unbind())
}

#[pymethods]
impl Frame {
    /// The whole frame's bytes, as laid out (planes one after another,
    /// padding included), as one read-only buffer.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let lease = slf.get().lease()?;
        let v = lease.bytes();
        let parts = buffer::Parts::of(v);
        // A plane holding its own lease is the buffer's owner: the frame
        // may be released while the export lives.
        let owner = Py::new(
            slf.py(),
            Plane {
                lease: lease.clone(),
                plane: usize::MAX,
                rect: None,
            },
        )?;
        // SAFETY: the bytes are `lease`'s buffer, kept out of the pool and
        // unwritten by the lease that `owner` (the buffer's `obj`) holds.
        unsafe { buffer::fill(view, flags, &parts, owner.into_bound(slf.py()).into_any()) }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the buffer `__getbuffer__` filled.
        unsafe { buffer::release(view) }
    }

    /// The frame's sequence number (0 for the first).
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// Seconds from the stream's start (the source's clock).
    #[getter]
    fn timestamp(&self) -> f64 {
        self.timestamp
    }

    /// Width and height in pixels.
    #[getter]
    fn size(&self) -> PyResult<(usize, usize)> {
        let l = self.lease()?;
        Ok((l.frame().width(), l.frame().height()))
    }

    /// The pixel format's name (`I420`, `NV12`, ...).
    #[getter]
    fn pixel_format(&self) -> PyResult<&'static str> {
        Ok(self.lease()?.frame().format().name)
    }

    /// The planes: 2-D `(rows, samples)` for planar formats, 3-D
    /// `(rows, groups, samples per group)` for packed ones.
    #[getter]
    fn planes(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let lease = self.lease()?;
        if let Some(p) = self.planes.get() {
            return Ok(p.clone_ref(py));
        }
        let made = planes_of(py, &lease, None)?;
        Ok(self.planes.get_or_init(|| made).clone_ref(py))
    }

    /// The region `(x, y, w, h)` snapped outward to the chroma grid, as
    /// plane views: no copy.
    fn roi(&self, x: usize, y: usize, w: usize, h: usize) -> PyResult<Roi> {
        let lease = self.lease()?;
        let rect = Rect::new(x, y, w, h);
        let effective = lease.frame().roi_ref(rect).map_err(err)?.effective();
        Ok(Roi {
            lease,
            requested: rect,
            effective,
        })
    }

    /// A copy of the frame, tight (planes one after another, no padding),
    /// with every zone `(x, y, w, h)` pixelated in `block x block` cells
    /// (each cell's rounded mean; 1 to 64): the privacy mask of
    /// `memview run --mask`. The frame stays read-only: the zones are
    /// written in the copy through disjoint mutable ROIs, in parallel with
    /// the GIL released (zones that overlap after snapping to the chroma
    /// grid go in separate rounds).
    #[pyo3(signature = (zones, block = 16))]
    fn masked(
        &self,
        py: Python<'_>,
        zones: Vec<(usize, usize, usize, usize)>,
        block: usize,
    ) -> PyResult<ByteArray> {
        let lease = self.lease()?;
        let rects: Vec<Rect> = zones
            .iter()
            .map(|&(x, y, w, h)| Rect::new(x, y, w, h))
            .collect();
        let bytes = py.detach(|| -> Result<Vec<u8>, String> {
            let frame = lease.frame();
            let layout = lease.layout();
            let tight =
                memview_pixel::FrameLayout::tight(layout.format(), layout.width(), layout.height())
                    .map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            buf.try_reserve_exact(tight.len())
                .map_err(|_| format!("cannot reserve {} bytes for the copy", tight.len()))?;
            buf.resize(tight.len(), 0);
            frame.copy_to(&mut buf).map_err(|e| e.to_string())?;
            let mut f =
                memview_pixel::FrameMut::from_bytes(&mut buf, &tight).map_err(|e| e.to_string())?;
            memview_roi::mask::mask_all(&mut f, &rects, block).map_err(|e| e.to_string())?;
            Ok(buf)
        });
        Ok(ByteArray {
            inner: Mutex::new(memview_core::ByteArray::from(bytes.map_err(err)?)),
        })
    }

    /// Gives the lease back (the pool may recycle the buffer once no plane
    /// or export of it is left).
    fn release(&self) -> PyResult<()> {
        self.lease
            .lock()
            .map_err(|_| err("a frame's lock was poisoned"))?
            .take();
        Ok(())
    }

    /// Whether `release()` was called.
    #[getter]
    fn released(&self) -> PyResult<bool> {
        Ok(self
            .lease
            .lock()
            .map_err(|_| err("a frame's lock was poisoned"))?
            .is_none())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _ty: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "memview.Frame(seq={}, timestamp={:.6})",
            self.seq, self.timestamp
        )
    }
}

/// A region of a frame: its planes are views of the frame's bytes.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Roi {
    lease: FrameLease,
    requested: Rect,
    effective: Rect,
}

fn rect_tuple(r: Rect) -> (usize, usize, usize, usize) {
    (r.x, r.y, r.w, r.h)
}

#[pymethods]
impl Roi {
    /// The planes of the region.
    #[getter]
    fn planes(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        planes_of(py, &self.lease, Some(self.requested))
    }

    /// The rectangle covered, on the chroma grid.
    #[getter]
    fn effective(&self) -> (usize, usize, usize, usize) {
        rect_tuple(self.effective)
    }

    /// The rectangle asked for.
    #[getter]
    fn requested(&self) -> (usize, usize, usize, usize) {
        rect_tuple(self.requested)
    }
}

/// Frames from a source named as `memview run --source` names it.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Capture {
    inner: Mutex<Option<RsCapture>>,
    buffers: usize,
}

fn policy(name: &str) -> PyResult<Policy> {
    match name {
        "block" => Ok(Policy::Block),
        "drop_newest" => Ok(Policy::DropNewest),
        "keep_latest" => Ok(Policy::KeepLatest),
        _ => Err(PyValueError::new_err(format!(
            "policy must be \"block\", \"drop_newest\" or \"keep_latest\", not {name:?}"
        ))),
    }
}

impl Capture {
    fn with<T>(&self, f: impl FnOnce(&RsCapture) -> PyResult<T>) -> PyResult<T> {
        let guard = self
            .inner
            .lock()
            .map_err(|_| err("a capture's lock was poisoned"))?;
        match guard.as_ref() {
            Some(c) => f(c),
            None => Err(PyValueError::new_err("operation on a closed capture")),
        }
    }
}

#[pymethods]
impl Capture {
    #[new]
    #[pyo3(signature = (source = "synthetic", buffers = 3, policy = "block", size = None, frames = None, boxes = 10, realtime = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &str,
        buffers: usize,
        policy: &str,
        size: Option<(usize, usize)>,
        frames: Option<u64>,
        boxes: usize,
        realtime: bool,
    ) -> PyResult<Capture> {
        let policy = self::policy(policy)?;
        let spec = SourceSpec::parse(source);
        let options = SourceOptions {
            size,
            frames,
            boxes,
            realtime,
            ..SourceOptions::default()
        };
        let capture = py.detach(|| -> Result<RsCapture, String> {
            let opened = memview_capture::open(&spec, &options).map_err(|e| e.to_string())?;
            if let Some(max) = opened.max_buffers.filter(|&m| buffers > m) {
                return Err(format!(
                    "{}: a pool of {buffers} buffers would starve the source; it backs at most {max}",
                    opened.label
                ));
            }
            RsCapture::with_options(
                opened.source,
                CaptureOptions {
                    buffers,
                    queue: 2.min(buffers.max(1)),
                    policy,
                    consumer_holds: 1,
                    limits: options.limits,
                },
            )
            .map_err(|e| e.to_string())
        });
        Ok(Capture {
            inner: Mutex::new(Some(capture.map_err(err)?)),
            buffers,
        })
    }

    /// The next frame, `None` at the end of the stream; raises
    /// `TimeoutError` if none came within `timeout` seconds.
    #[pyo3(signature = (timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Frame>> {
        let got = self.with(|c| {
            Ok(match timeout {
                None => py.detach(|| c.recv().map(|r| r.map_err(|e| e.to_string()))),
                Some(t) => {
                    if !(t >= 0.0 && t.is_finite()) {
                        return Err(PyValueError::new_err("timeout must be seconds, 0 or more"));
                    }
                    match py.detach(|| c.recv_timeout(Duration::from_secs_f64(t))) {
                        None => None,
                        Some(Ok(l)) => Some(Ok(l)),
                        Some(Err(RecvError::Timeout(_))) => {
                            return Err(PyTimeoutError::new_err("no frame within the timeout"))
                        }
                        Some(Err(e)) => Some(Err(e.to_string())),
                    }
                }
            })
        })?;
        match got {
            None => Ok(None),
            Some(Ok(lease)) => Ok(Some(Frame::from_lease(lease))),
            Some(Err(e)) => Err(err(e)),
        }
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Frame>> {
        self.recv(py, None)
    }

    /// The pool's counters: frames `captured`, `delivered` and `dropped`
    /// so far, buffers `recycled`, and `held`, the buffers out of the pool
    /// now (frames queued or held by Python: frames, planes, ROIs and
    /// their exports), of `buffers`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.with(|c| Ok(c.stats()))?;
        let d = PyDict::new(py);
        d.set_item("captured", s.captured)?;
        d.set_item("delivered", s.delivered)?;
        d.set_item("dropped", s.dropped)?;
        d.set_item("recycled", s.recycled)?;
        d.set_item("held", s.held)?;
        d.set_item("buffers", self.buffers)?;
        Ok(d)
    }

    /// Stops the source and closes the pool (frames and exports held stay
    /// valid).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .inner
            .lock()
            .map_err(|_| err("a capture's lock was poisoned"))?
            .take();
        py.detach(|| drop(taken));
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _ty: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

/// A column of results: one row per zone, as a buffer (`d` for numbers,
/// `Q` for counts, `[zones, n]` for arrays).
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct Column {
    data: Vec<u8>,
    format: &'static str,
    itemsize: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl Column {
    /// A column of `itemsize`-byte items given as their native bytes.
    fn new(data: Vec<u8>, itemsize: usize, format: &'static str, shape: Vec<usize>) -> Column {
        let mut strides = vec![0isize; shape.len()];
        let mut step = itemsize as isize;
        for (s, &n) in strides.iter_mut().zip(&shape).rev() {
            *s = step;
            step *= n as isize;
        }
        Column {
            data,
            format,
            itemsize,
            shape,
            strides,
        }
    }
}

#[pymethods]
impl Column {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        let parts = buffer::Parts {
            ptr: me.data.as_ptr(),
            nbytes: me.data.len(),
            itemsize: me.itemsize,
            format: me.format,
            shape: &me.shape,
            strides: &me.strides,
            c_contiguous: true,
        };
        // SAFETY: the column's bytes live as long as the column, which the
        // buffer holds (`obj`), and a frozen column is never written.
        unsafe { buffer::fill(view, flags, &parts, slf.clone().into_any()) }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the buffer `__getbuffer__` filled.
        unsafe { buffer::release(view) }
    }

    fn __len__(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }
}

/// Gathers every zone's fields into columns.
#[derive(Default)]
struct Gather {
    zones: usize,
    /// Field name, kind, values (numbers as f64, counts as u64), row width.
    f64s: Vec<(&'static str, Vec<f64>)>,
    u64s: Vec<(&'static str, Vec<u64>)>,
    arrays: Vec<(&'static str, Vec<u64>, usize)>,
    f32s: Vec<(&'static str, Vec<f32>, usize)>,
    strs: Vec<(&'static str, Vec<String>)>,
}

fn slot<'a, T>(list: &'a mut Vec<(&'static str, Vec<T>)>, name: &'static str) -> &'a mut Vec<T> {
    let i = match list.iter().position(|(n, _)| *n == name) {
        Some(i) => i,
        None => {
            list.push((name, Vec::new()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

impl Fields for Gather {
    fn u64(&mut self, name: &'static str, v: u64) {
        slot(&mut self.u64s, name).push(v);
    }

    fn f64(&mut self, name: &'static str, v: f64) {
        slot(&mut self.f64s, name).push(v);
    }

    fn str(&mut self, name: &'static str, v: &str) {
        slot(&mut self.strs, name).push(v.to_owned());
    }

    fn u64s(&mut self, name: &'static str, v: &[u64]) {
        match self.arrays.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, d, _)) => d.extend_from_slice(v),
            None => self.arrays.push((name, v.to_vec(), v.len())),
        }
    }

    fn f32s(&mut self, name: &'static str, v: &[f32]) {
        match self.f32s.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, d, _)) => d.extend_from_slice(v),
            None => self.f32s.push((name, v.to_vec(), v.len())),
        }
    }
}

/// One frame's results gathered in Rust (no GIL needed), made into a
/// [`Results`] with it.
struct Gathered {
    seq: u64,
    ids: Vec<String>,
    names: Vec<String>,
    errors: Vec<Option<String>>,
    fields: Gather,
}

impl Gathered {
    fn of(results: &memview_roi::FrameResults<'_>) -> Gathered {
        let mut g = Gather {
            zones: results.len(),
            ..Gather::default()
        };
        let mut ids = Vec::with_capacity(results.len());
        let mut names = Vec::with_capacity(results.len());
        let mut errors = Vec::with_capacity(results.len());
        for z in results.iter() {
            ids.push(z.zone().id.to_string());
            names.push(z.zone().name.to_string());
            errors.push(z.error().map(str::to_owned));
            for (_, o) in z.outputs() {
                o.fields(&mut g);
            }
        }
        Gathered {
            seq: results.frame().seq,
            ids,
            names,
            errors,
            fields: g,
        }
    }

    fn into_results(self, py: Python<'_>) -> PyResult<Results> {
        let g = &self.fields;
        let n = g.zones;
        let columns = PyDict::new(py);
        let col = |data: Vec<u8>, itemsize, format, shape| {
            Py::new(py, Column::new(data, itemsize, format, shape))
        };
        for (name, v) in &g.f64s {
            let data = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
            columns.set_item(*name, col(data, 8, "d", vec![n])?)?;
        }
        for (name, v) in &g.u64s {
            let data = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
            columns.set_item(*name, col(data, 8, "Q", vec![n])?)?;
        }
        for (name, v, w) in &g.arrays {
            // Counts as `I` (a histogram's, at most a zone's pixels), `Q`
            // only where one does not fit.
            let column = match v
                .iter()
                .map(|&x| u32::try_from(x))
                .collect::<Result<Vec<u32>, _>>()
            {
                Ok(narrow) => {
                    let data = narrow.iter().flat_map(|x| x.to_ne_bytes()).collect();
                    col(data, 4, "I", vec![n, *w])?
                }
                Err(_) => {
                    let data = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
                    col(data, 8, "Q", vec![n, *w])?
                }
            };
            columns.set_item(*name, column)?;
        }
        for (name, v, w) in &g.f32s {
            let data = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
            columns.set_item(*name, col(data, 4, "f", vec![n, *w])?)?;
        }
        for (name, v) in &g.strs {
            columns.set_item(*name, v.clone())?;
        }
        Ok(Results {
            seq: self.seq,
            ids: self.ids,
            names: self.names,
            errors: self.errors,
            columns: columns.unbind(),
        })
    }
}

/// One frame's results: each field an attribute holding a column with one
/// row per zone (`results.mean`, `results.histogram`), plus `ids`, `names`
/// and `errors`.
#[pyclass(module = "memview")]
#[derive(Debug)]
struct Results {
    #[pyo3(get)]
    seq: u64,
    #[pyo3(get)]
    ids: Vec<String>,
    #[pyo3(get)]
    names: Vec<String>,
    #[pyo3(get)]
    errors: Vec<Option<String>>,
    columns: Py<PyDict>,
}

#[pymethods]
impl Results {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.columns.bind(py).get_item(name)? {
            Some(v) => Ok(v.unbind()),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "no analyzer wrote a field {name:?}"
            ))),
        }
    }

    /// The field names.
    #[getter]
    fn fields(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.columns
            .bind(py)
            .keys()
            .iter()
            .map(|k| k.extract::<String>())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.ids.len()
    }
}

/// The Rust ROI runner: zones x analyzers per frame on its own threads,
/// the GIL released while it works.
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct RoiRunner {
    inner: Mutex<RsRunner>,
}

fn zone_of(i: usize, z: &Bound<'_, PyAny>) -> PyResult<Zone> {
    if let Ok((x, y, w, h)) = z.extract::<(usize, usize, usize, usize)>() {
        return Ok(Zone::new(format!("zone{i}"), Rect::new(x, y, w, h)));
    }
    if let Ok((name, (x, y, w, h))) = z.extract::<(String, (usize, usize, usize, usize))>() {
        return Ok(Zone::new(name, Rect::new(x, y, w, h)));
    }
    Err(PyValueError::new_err(
        "a zone is (x, y, w, h) or (name, (x, y, w, h))",
    ))
}

#[pymethods]
impl RoiRunner {
    #[new]
    #[pyo3(signature = (zones, analyzers = vec!["mean".to_owned(), "histogram".to_owned(), "motion".to_owned()], threads = 0))]
    fn new(
        zones: &Bound<'_, PyAny>,
        analyzers: Vec<String>,
        threads: usize,
    ) -> PyResult<RoiRunner> {
        let zones = zones
            .try_iter()?
            .enumerate()
            .map(|(i, z)| zone_of(i, &z?))
            .collect::<PyResult<Vec<_>>>()?;
        let list = analyzers
            .iter()
            .map(|n| {
                analyzers::by_name(n).ok_or_else(|| {
                    PyValueError::new_err(format!("unknown analyzer {n:?} ({})", analyzers::NAMES))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let runner = RsRunner::new(zones, list, threads)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(RoiRunner {
            inner: Mutex::new(runner),
        })
    }

    /// Analyses every zone of `frame` (the GIL released) and returns the
    /// results as columns.
    fn process(&self, py: Python<'_>, frame: &Frame) -> PyResult<Results> {
        let lease = frame.lease()?;
        let gathered = py.detach(|| {
            let mut runner = self
                .inner
                .lock()
                .map_err(|_| "a runner's lock was poisoned")?;
            Ok::<_, &str>(Gathered::of(&runner.process(lease)))
        });
        gathered.map_err(err)?.into_results(py)
    }

    /// Runs the stream: every frame of `capture` through the runner, the
    /// GIL released, until the stream ends or `frames` frames are done;
    /// `callback(results)` is called with every `every`th frame's results
    /// (the only time the GIL is taken). Returns the frames analysed.
    #[pyo3(signature = (capture, callback = None, every = 1, frames = None))]
    fn run(
        &self,
        py: Python<'_>,
        capture: &Capture,
        callback: Option<Py<PyAny>>,
        every: u64,
        frames: Option<u64>,
    ) -> PyResult<u64> {
        if every == 0 {
            return Err(PyValueError::new_err("every must be at least 1"));
        }
        let mut runner = self
            .inner
            .lock()
            .map_err(|_| err("a runner's lock was poisoned"))?;
        let runner: &mut RsRunner = &mut runner;
        let mut n = 0u64;
        while frames.is_none_or(|f| n < f) {
            let want = callback.is_some();
            let step = py.detach(|| -> PyResult<Option<Option<Gathered>>> {
                // Frames between callbacks never leave Rust.
                loop {
                    let Some(lease) = capture.with(|c| Ok(c.recv()))? else {
                        return Ok(None);
                    };
                    let lease = lease.map_err(err)?;
                    let results = runner.process(lease);
                    n += 1;
                    if want && n.is_multiple_of(every) {
                        return Ok(Some(Some(Gathered::of(&results))));
                    }
                    if frames.is_some_and(|f| n >= f) {
                        return Ok(Some(None));
                    }
                }
            })?;
            match step {
                None => break,
                Some(Some(g)) => {
                    if let Some(cb) = &callback {
                        cb.call1(py, (g.into_results(py)?,))?;
                    }
                }
                Some(None) => {}
            }
        }
        runner.release_previous();
        Ok(n)
    }

    /// The analyzers, in the order they run.
    #[getter]
    fn analyzers(&self) -> PyResult<Vec<&'static str>> {
        Ok(self
            .inner
            .lock()
            .map_err(|_| err("a runner's lock was poisoned"))?
            .names())
    }
}

/// A memoryview-exact view of any buffer: `memview.View(obj, format=None)`.
///
/// `format` is strict: a typed request over a buffer of another format
/// raises (big-endian data is never read as native); the byte formats `B`,
/// `b` and `c` are the escape hatch and read any C-contiguous buffer as its
/// bytes.
#[pyclass(frozen, module = "memview", name = "View")]
#[derive(Debug)]
struct PyView {
    import: std::sync::Arc<buffer::Imported>,
    format: String,
    offset: isize,
    shape: Vec<usize>,
    strides: Vec<isize>,
    itemsize: usize,
}

fn view_error(e: memview_core::ViewError) -> PyErr {
    use memview_core::ViewError as E;
    let text = e.to_string();
    match e {
        E::IndexOutOfBounds { .. } => pyo3::exceptions::PyIndexError::new_err(text),
        E::TooManyIndices { .. } | E::UnsupportedFormat { .. } => {
            pyo3::exceptions::PyNotImplementedError::new_err(text)
        }
        E::CastNotCContiguous | E::CastBadFormat | E::CastNonByte | E::ZeroDimIndex => {
            pyo3::exceptions::PyTypeError::new_err(text)
        }
        _ => PyValueError::new_err(text),
    }
}

fn list_to_py<'py>(py: Python<'py>, l: &memview_core::List) -> PyResult<Bound<'py, PyAny>> {
    use memview_format::Value;
    Ok(match l {
        memview_core::List::Item(v) => match v {
            Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => f.into_pyobject(py)?.into_any(),
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        },
        memview_core::List::List(items) => {
            let v = items
                .iter()
                .map(|i| list_to_py(py, i))
                .collect::<PyResult<Vec<_>>>()?;
            pyo3::types::PyList::new(py, v)?.into_any()
        }
    })
}

fn slice_of(s: &Bound<'_, pyo3::types::PySlice>) -> PyResult<memview_core::Slice> {
    let get = |name: &str| -> PyResult<Option<isize>> { s.getattr(name)?.extract() };
    Ok(memview_core::Slice::new(
        get("start")?,
        get("stop")?,
        get("step")?,
    ))
}

impl PyView {
    /// memview's view of the parts.
    fn view(&self) -> PyResult<memview_core::View<'_>> {
        memview_core::View::from_parts(
            self.import.bytes(),
            &self.format,
            self.offset,
            &self.shape,
            &self.strides,
        )
        .map_err(view_error)
    }

    fn derive(&self, v: &memview_core::View<'_>) -> PyView {
        PyView {
            import: self.import.clone(),
            format: v.format().to_owned(),
            offset: v.offset(),
            shape: v.shape().to_vec(),
            strides: v.strides().to_vec(),
            itemsize: v.itemsize(),
        }
    }
}

/// The byte formats, which read any buffer.
fn is_byte_format(f: &str) -> bool {
    matches!(f.trim_start_matches('@'), "B" | "b" | "c")
}

#[pymethods]
impl PyView {
    #[new]
    #[pyo3(signature = (obj, format = None))]
    fn new(obj: &Bound<'_, PyAny>, format: Option<&str>) -> PyResult<PyView> {
        let import = buffer::Imported::get(obj)?;
        let (shape, strides, itemsize) = import.layout();
        let exported = import.format();
        let me = PyView {
            format: exported.clone(),
            offset: import.offset,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            itemsize,
            import: std::sync::Arc::new(import),
        };
        // The parts are checked once, here.
        me.view()?;
        match format {
            None => Ok(me),
            Some(f) if f.trim_start_matches('@') == exported.trim_start_matches('@') => Ok(me),
            Some(f) if is_byte_format(f) => {
                let v = me.view()?;
                let bytes = v.cast(f, None).map_err(view_error)?;
                Ok(me.derive(&bytes))
            }
            Some(f) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "the buffer's items are {exported:?}, not {f:?}: memview reads a buffer only as \
                 its own format (or as bytes: B, b, c)"
            ))),
        }
    }

    /// The item format.
    #[getter]
    fn format(&self) -> &str {
        &self.format
    }

    /// Bytes per item.
    #[getter]
    fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// The shape.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    /// The strides, in bytes.
    #[getter]
    fn strides(&self) -> Vec<isize> {
        self.strides.clone()
    }

    /// The number of axes.
    #[getter]
    fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Bytes the items take.
    #[getter]
    fn nbytes(&self) -> usize {
        self.shape.iter().product::<usize>() * self.itemsize
    }

    /// Always `True`: memview views are read-only to Python.
    #[getter]
    fn readonly(&self) -> bool {
        true
    }

    /// Whether the exporter itself was read-only.
    #[getter]
    fn source_readonly(&self) -> bool {
        self.import.readonly()
    }

    #[getter]
    fn c_contiguous(&self) -> PyResult<bool> {
        Ok(self.view()?.is_c_contiguous())
    }

    fn __len__(&self) -> PyResult<usize> {
        self.view()?.len().map_err(view_error)
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.view()?;
        let as_item = |v: memview_core::View<'_>| -> PyResult<Bound<'py, PyAny>> {
            list_to_py(py, &v.tolist().map_err(view_error)?)
        };
        if let Ok(i) = key.extract::<isize>() {
            let one = v.index(&[i]).map_err(view_error)?;
            return if one.ndim() == 0 {
                as_item(one)
            } else {
                Ok(Py::new(py, self.derive(&one))?.into_bound(py).into_any())
            };
        }
        if let Ok(s) = key.cast::<pyo3::types::PySlice>() {
            let cut = v.slice_axis(0, slice_of(s)?).map_err(view_error)?;
            return Ok(Py::new(py, self.derive(&cut))?.into_bound(py).into_any());
        }
        if let Ok(t) = key.cast::<PyTuple>() {
            if let Ok(idx) = t.extract::<Vec<isize>>() {
                return as_item(v.index(&idx).map_err(view_error)?);
            }
            let slices = t
                .iter()
                .map(|k| {
                    k.cast::<pyo3::types::PySlice>()
                        .map_err(|_| {
                            pyo3::exceptions::PyTypeError::new_err(
                                "memview: invalid slice key (a tuple of all ints or all slices)",
                            )
                        })
                        .and_then(|s| slice_of(s))
                })
                .collect::<PyResult<Vec<_>>>()?;
            let cut = v.slice(&slices).map_err(view_error)?;
            return Ok(Py::new(py, self.derive(&cut))?.into_bound(py).into_any());
        }
        Err(pyo3::exceptions::PyTypeError::new_err(
            "memview: invalid slice key",
        ))
    }

    /// `memoryview.cast`.
    #[pyo3(signature = (format, shape = None))]
    fn cast(&self, format: &str, shape: Option<Vec<usize>>) -> PyResult<PyView> {
        let v = self.view()?;
        let c = v.cast(format, shape.as_deref()).map_err(view_error)?;
        Ok(self.derive(&c))
    }

    /// `memoryview.tolist`.
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        list_to_py(py, &self.view()?.tolist().map_err(view_error)?)
    }

    /// `memoryview.tobytes` (C order).
    fn tobytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(
            py,
            &self.view()?.to_bytes(memview_core::MemOrder::C),
        ))
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let me = slf.get();
        let v = me.view()?;
        let parts = buffer::Parts::of(&v);
        // SAFETY: the bytes are the imported exporter's, which `slf` (the
        // buffer's `obj`) keeps exported through its `Imported`.
        unsafe { buffer::fill(view, flags, &parts, slf.clone().into_any()) }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the buffer `__getbuffer__` filled.
        unsafe { buffer::release(view) }
    }

    fn __repr__(&self) -> String {
        format!(
            "memview.View(format={:?}, shape={:?}, strides={:?})",
            self.format, self.shape, self.strides
        )
    }
}

/// A byte buffer that counts its exports, as `bytearray` does: resizing
/// is refused while any export lives (CPython's `BufferError` and text).
#[pyclass(frozen, module = "memview")]
#[derive(Debug)]
struct ByteArray {
    inner: Mutex<memview_core::ByteArray>,
}

impl ByteArray {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, memview_core::ByteArray>> {
        self.inner
            .lock()
            .map_err(|_| err("a ByteArray's lock was poisoned"))
    }
}

fn buffer_error(e: memview_core::BufferError) -> PyErr {
    pyo3::exceptions::PyBufferError::new_err(match e {
        memview_core::BufferError::Exported { .. } => {
            "Existing exports of data: object cannot be re-sized".to_owned()
        }
        other => other.to_string(),
    })
}

#[pymethods]
impl ByteArray {
    /// `ByteArray(n)` (n zero bytes) or `ByteArray(buffer)` (a copy).
    #[new]
    fn new(init: &Bound<'_, PyAny>) -> PyResult<ByteArray> {
        let bytes = match init.extract::<usize>() {
            Ok(n) => vec![0u8; n],
            Err(_) => init.extract::<Vec<u8>>()?,
        };
        Ok(ByteArray {
            inner: Mutex::new(memview_core::ByteArray::from(bytes)),
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.lock()?.len())
    }

    /// Live exports (memoryviews, NumPy arrays, memview views).
    #[getter]
    fn exports(&self) -> PyResult<usize> {
        Ok(self.lock()?.exports())
    }

    /// Resizes to `n` bytes (new bytes zero); refused while exported.
    fn resize(&self, n: usize) -> PyResult<()> {
        self.lock()?.resize(n, 0).map_err(buffer_error)
    }

    /// Appends `data`; refused while exported.
    fn extend(&self, data: Vec<u8>) -> PyResult<()> {
        self.lock()?.extend_from_slice(&data).map_err(buffer_error)
    }

    /// The bytes.
    fn tobytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let v = self.lock()?.export_shared().map_err(buffer_error)?;
        Ok(PyBytes::new(py, &v.to_bytes(memview_core::MemOrder::C)))
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let v = slf.get().lock()?.export_shared().map_err(buffer_error)?;
        let parts = buffer::Parts {
            ptr: v.as_ptr(),
            nbytes: v.nbytes(),
            itemsize: 1,
            format: "B",
            shape: v.shape(),
            strides: v.strides(),
            c_contiguous: true,
        };
        // SAFETY: the bytes are the ByteArray's, kept alive and unresized
        // by the memview export `v`, held until the buffer is released.
        unsafe {
            buffer::fill_holding(view, flags, &parts, slf.clone().into_any(), Some(v.clone()))
        }
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython passes back the buffer `__getbuffer__` filled.
        unsafe { buffer::release(view) }
    }
}

#[pymodule]
fn _memview(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Format>()?;
    m.add_class::<Plane>()?;
    m.add_class::<Frame>()?;
    m.add_class::<Roi>()?;
    m.add_class::<Capture>()?;
    m.add_class::<Column>()?;
    m.add_class::<Results>()?;
    m.add_class::<RoiRunner>()?;
    m.add_class::<PyView>()?;
    m.add_class::<ByteArray>()?;
    m.add("MemviewError", m.py().get_type::<MemviewError>())?;
    Ok(())
}
