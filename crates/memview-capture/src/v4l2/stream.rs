//! The mmap streaming state machine, over any [`Device`]: the real one
//! (ioctls on a `/dev/videoN`) or the fake one the unit tests drive.
//!
//! Every driver buffer is in exactly one place: queued in the driver,
//! leased to consumers (as [`V4l2Buffer`]s), or idle (after STREAMOFF).
//! The last lease of a buffer queues it again as it drops, so the driver
//! gets it back the moment nobody looks at it. A dequeue that would leave
//! fewer than [`MIN_QUEUED`] buffers with the driver gives that frame
//! straight back instead (counted as held back), so consumers that keep
//! frames can never starve the camera.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memview_core::{Shared, View};

use crate::error::CaptureError;

/// Buffers that always stay queued in the driver.
pub const MIN_QUEUED: usize = 2;

/// Memory planes a buffer may have that this backend reports on (the
/// multi-planar API allows 8; formats in use have at most 3).
pub(crate) const PLANES: usize = 3;

/// Where one memory plane of a driver buffer lies in the device's mmap
/// space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlaneInfo {
    pub length: u32,
    pub offset: u32,
}

/// What a dequeue reports about a filled buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dequeued {
    pub index: u32,
    pub sequence: u32,
    pub timestamp: Duration,
    pub bytesused: [u32; PLANES],
    /// The driver flagged the data as possibly corrupt.
    pub error: bool,
}

/// The operations streaming needs from a device.
pub(crate) trait Device: Send + Sync + 'static {
    /// The memory planes of buffer `index` (QUERYBUF).
    fn query(&self, index: u32) -> io::Result<Vec<PlaneInfo>>;
    /// Maps one memory plane read-only.
    fn map(&self, plane: PlaneInfo) -> io::Result<Shared>;
    /// Gives buffer `index` to the driver (QBUF).
    fn queue(&self, index: u32) -> io::Result<()>;
    /// Takes a filled buffer back (DQBUF), `None` if none is ready.
    fn dequeue(&self) -> io::Result<Option<Dequeued>>;
    /// Waits up to `timeout` for a filled buffer; `false` on timeout.
    fn wait(&self, timeout: Duration) -> io::Result<bool>;
    /// STREAMON.
    fn stream_on(&self) -> io::Result<()>;
    /// STREAMOFF: the driver gives up every queued buffer.
    fn stream_off(&self) -> io::Result<()>;
    /// REQBUFS(0), once nothing uses the buffers.
    fn free_buffers(&self) -> io::Result<()>;
}

fn v4l2(op: &'static str) -> impl FnOnce(io::Error) -> CaptureError {
    move |source| CaptureError::V4l2 { op, source }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Driver,
    Leased,
    Idle,
}

struct State {
    streaming: bool,
    owner: Vec<Owner>,
    queued: usize,
    /// A QBUF that failed while a lease dropped, reported by the next
    /// dequeue.
    error: Option<CaptureError>,
    /// The driver's last sequence number and its 64-bit extension.
    last_seq: Option<u32>,
    seq: u64,
}

/// A stream's counters, readable from any thread while it runs.
#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    gaps: AtomicU64,
    held_back: AtomicU64,
    corrupt: AtomicU64,
}

/// What a stream has counted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V4l2Stats {
    /// Frames handed out as leases.
    pub delivered: u64,
    /// Frames the driver skipped: gaps in its sequence numbers (it had no
    /// queued buffer, or dropped them itself).
    pub gaps: u64,
    /// Frames given straight back because taking them would have left
    /// fewer than [`MIN_QUEUED`] buffers with the driver.
    pub held_back: u64,
    /// Buffers the driver flagged as corrupt (`V4L2_BUF_FLAG_ERROR`),
    /// given back without being delivered.
    pub corrupt: u64,
}

impl V4l2Stats {
    /// Every frame lost on the way: gaps, held back and corrupt.
    pub fn dropped(&self) -> u64 {
        self.gaps + self.held_back + self.corrupt
    }
}

/// A live handle on a stream's counters (it does not keep the stream up).
#[derive(Clone, Debug)]
pub struct V4l2Counters(Arc<Counters>);

impl V4l2Counters {
    /// The counts so far.
    pub fn get(&self) -> V4l2Stats {
        let c = &self.0;
        V4l2Stats {
            delivered: c.delivered.load(Ordering::Relaxed),
            gaps: c.gaps.load(Ordering::Relaxed),
            held_back: c.held_back.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
        }
    }
}

struct BufData {
    index: u32,
    /// One read-only view per memory plane, of the whole mapping.
    planes: Vec<View<'static>>,
    /// Leases alive: the one that takes this to zero queues the buffer.
    leases: AtomicUsize,
}

struct Core {
    // Field order is drop order: the mappings go before the device, whose
    // drop frees the buffers and closes the file.
    bufs: Vec<Arc<BufData>>,
    state: Mutex<State>,
    counters: Arc<Counters>,
    dev: Box<dyn Device>,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The last lease of buffer `index` is gone: back to the driver, or
    /// idle once streaming stopped.
    fn give_back(&self, index: u32) {
        let mut s = self.lock();
        self.requeue(&mut s, index);
    }

    fn requeue(&self, s: &mut State, index: u32) {
        let i = index as usize;
        if !s.streaming {
            s.owner[i] = Owner::Idle;
            return;
        }
        match self.dev.queue(index) {
            Ok(()) => {
                s.owner[i] = Owner::Driver;
                s.queued += 1;
            }
            Err(e) => {
                s.owner[i] = Owner::Idle;
                s.error.get_or_insert(CaptureError::V4l2 {
                    op: "VIDIOC_QBUF",
                    source: e,
                });
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Every lease is gone (each holds the core). Views exported from a
        // lease into a frame pool may still map the memory: the kernel then
        // refuses REQBUFS(0) with EBUSY and frees the buffers itself when
        // the last mapping goes, so the error is of no use to anyone.
        self.bufs.clear();
        let _ = self.dev.free_buffers();
    }
}

/// A running mmap stream: dequeues filled driver buffers as
/// [`V4l2Buffer`] leases. Dropping it stops streaming; leases still alive
/// stay valid (their memory stays mapped) and are not queued again.
pub struct V4l2Stream {
    core: Arc<Core>,
}

impl fmt::Debug for V4l2Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.core.lock();
        f.debug_struct("V4l2Stream")
            .field("buffers", &self.core.bufs.len())
            .field("queued", &s.queued)
            .field("streaming", &s.streaming)
            .field("stats", &self.stats())
            .finish()
    }
}

impl V4l2Stream {
    /// Maps `count` buffers the device already allocated (REQBUFS), queues
    /// them all and starts streaming.
    pub(crate) fn start(dev: Box<dyn Device>, count: u32) -> Result<V4l2Stream, CaptureError> {
        if (count as usize) <= MIN_QUEUED {
            return Err(CaptureError::V4l2Setup(format!(
                "the driver granted {count} buffers; streaming needs more than {MIN_QUEUED}"
            )));
        }
        let mut bufs = Vec::with_capacity(count as usize);
        for index in 0..count {
            let infos = dev.query(index).map_err(v4l2("VIDIOC_QUERYBUF"))?;
            if infos.is_empty() || infos.len() > PLANES {
                return Err(CaptureError::V4l2Setup(format!(
                    "buffer {index} has {} memory planes (1 to {PLANES} supported)",
                    infos.len()
                )));
            }
            let mut planes = Vec::with_capacity(infos.len());
            for info in infos {
                let map = dev.map(info).map_err(v4l2("mmap"))?;
                planes.push(map.export_shared()?);
            }
            bufs.push(Arc::new(BufData {
                index,
                planes,
                leases: AtomicUsize::new(0),
            }));
        }
        let core = Arc::new(Core {
            bufs,
            state: Mutex::new(State {
                streaming: false,
                owner: vec![Owner::Idle; count as usize],
                queued: 0,
                error: None,
                last_seq: None,
                seq: 0,
            }),
            counters: Arc::default(),
            dev,
        });
        {
            let mut s = core.lock();
            s.streaming = true;
            for index in 0..count {
                core.requeue(&mut s, index);
                if let Some(e) = s.error.take() {
                    return Err(e);
                }
            }
            core.dev.stream_on().map_err(v4l2("VIDIOC_STREAMON"))?;
        }
        Ok(V4l2Stream { core })
    }

    /// Buffers the driver granted.
    pub fn buffers(&self) -> usize {
        self.core.bufs.len()
    }

    /// Buffers queued in the driver right now.
    pub fn queued(&self) -> usize {
        self.core.lock().queued
    }

    /// Whether the stream is still on.
    pub fn is_streaming(&self) -> bool {
        self.core.lock().streaming
    }

    /// The counts so far.
    pub fn stats(&self) -> V4l2Stats {
        self.counters().get()
    }

    /// A handle on the counters that other threads can read.
    pub fn counters(&self) -> V4l2Counters {
        V4l2Counters(self.core.counters.clone())
    }

    /// The next frame, waiting up to `timeout` for one it may deliver
    /// (`Ok(None)` when none came: frames held back because consumers
    /// keep all the others do not count). Frames the driver skipped are
    /// counted as gaps.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<V4l2Buffer>, CaptureError> {
        let core = &self.core;
        let c = &core.counters;
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut s = core.lock();
                if let Some(e) = s.error.take() {
                    return Err(e);
                }
                if !s.streaming {
                    return Err(CaptureError::V4l2Setup("the stream was stopped".into()));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !core.dev.wait(left).map_err(v4l2("poll"))? {
                return Ok(None);
            }
            let mut s = core.lock();
            let Some(d) = core.dev.dequeue().map_err(v4l2("VIDIOC_DQBUF"))? else {
                continue;
            };
            let i = d.index as usize;
            if s.owner.get(i) != Some(&Owner::Driver) {
                return Err(CaptureError::V4l2Setup(format!(
                    "the driver returned buffer {} that it did not hold",
                    d.index
                )));
            }
            s.owner[i] = Owner::Leased;
            s.queued -= 1;
            let seq = match s.last_seq {
                None => u64::from(d.sequence),
                Some(last) => {
                    let step = d.sequence.wrapping_sub(last);
                    if step > 1 {
                        c.gaps.fetch_add(u64::from(step - 1), Ordering::Relaxed);
                    }
                    s.seq + u64::from(step.max(1))
                }
            };
            s.last_seq = Some(d.sequence);
            s.seq = seq;
            if d.error || s.queued < MIN_QUEUED {
                let counter = if d.error { &c.corrupt } else { &c.held_back };
                counter.fetch_add(1, Ordering::Relaxed);
                core.requeue(&mut s, d.index);
                continue;
            }
            drop(s);
            let buf = core.bufs[i].clone();
            buf.leases.store(1, Ordering::Release);
            c.delivered.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(V4l2Buffer {
                core: core.clone(),
                buf,
                seq,
                timestamp: d.timestamp,
                bytesused: d.bytesused,
            }));
        }
    }

    /// Stops streaming (STREAMOFF): the driver gives up its queued buffers,
    /// and leases still alive stay valid but are not queued again.
    pub fn stop(&mut self) -> Result<(), CaptureError> {
        let mut s = self.core.lock();
        if !s.streaming {
            return Ok(());
        }
        s.streaming = false;
        for o in s.owner.iter_mut().filter(|o| **o == Owner::Driver) {
            *o = Owner::Idle;
        }
        s.queued = 0;
        self.core.dev.stream_off().map_err(v4l2("VIDIOC_STREAMOFF"))
    }
}

impl Drop for V4l2Stream {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A dequeued driver buffer: a zero-copy lease, `Send` and cheap to clone.
/// Views taken from it borrow it; when the last clone drops, the buffer is
/// queued in the driver again at once.
pub struct V4l2Buffer {
    core: Arc<Core>,
    buf: Arc<BufData>,
    seq: u64,
    timestamp: Duration,
    bytesused: [u32; PLANES],
}

impl Clone for V4l2Buffer {
    fn clone(&self) -> V4l2Buffer {
        self.buf.leases.fetch_add(1, Ordering::Relaxed);
        V4l2Buffer {
            core: self.core.clone(),
            buf: self.buf.clone(),
            seq: self.seq,
            timestamp: self.timestamp,
            bytesused: self.bytesused,
        }
    }
}

impl Drop for V4l2Buffer {
    fn drop(&mut self) {
        if self.buf.leases.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.core.give_back(self.buf.index);
        }
    }
}

impl fmt::Debug for V4l2Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V4l2Buffer")
            .field("index", &self.buf.index)
            .field("seq", &self.seq)
            .field("timestamp", &self.timestamp)
            .field("bytesused", &&self.bytesused[..self.planes()])
            .finish()
    }
}

impl V4l2Buffer {
    /// The driver's buffer index.
    pub fn index(&self) -> u32 {
        self.buf.index
    }

    /// The frame's sequence number: the driver's, extended past 32 bits
    /// (gaps mean frames the driver dropped).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The driver's timestamp (`CLOCK_MONOTONIC` for most drivers).
    pub fn timestamp(&self) -> Duration {
        self.timestamp
    }

    /// Memory planes (1 for the single-planar API and single-buffer
    /// formats).
    pub fn planes(&self) -> usize {
        // `start` refuses buffers of more than PLANES memory planes.
        self.buf.planes.len().min(PLANES)
    }

    /// Bytes of plane `p` the driver filled (for compressed formats such
    /// as MJPEG, the size of the encoded image).
    pub fn bytes_used(&self, p: usize) -> Option<usize> {
        self.bytesused[..self.planes()].get(p).map(|&b| b as usize)
    }

    /// The whole mapping of memory plane `p` (its length is the driver's
    /// buffer length, which may exceed what a frame uses).
    pub fn view(&self, p: usize) -> Option<&View<'_>> {
        self.buf.planes.get(p)
    }

    /// The filled bytes of memory plane `p`: MJPEG and other compressed
    /// formats are opaque bytes of this length.
    pub fn bytes(&self, p: usize) -> Option<&[u8]> {
        let used = self.bytes_used(p)?;
        let all = self.view(p)?.as_bytes().ok()?;
        all.get(..used.min(all.len()))
    }

    /// A view of plane `p` that lives on its own (it keeps the mapping,
    /// not the lease): for publishing into a frame pool, whose slot keeps
    /// this lease until the frame is released.
    pub(crate) fn detached_view(&self, p: usize) -> Option<View<'static>> {
        self.buf.planes.get(p).cloned()
    }
}
