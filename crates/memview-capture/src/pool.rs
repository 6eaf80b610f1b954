//! The buffer pool and the frame leases it hands out.

use core::fmt;
use std::time::Duration;

use memview_core::{Shared, Storage, View};
use memview_pixel::{Frame, FrameLayout};

use crate::error::CaptureError;
use crate::limits::Limits;
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};

/// Alignment of every pooled buffer: a cache line, and enough for any SIMD
/// load.
pub const BUFFER_ALIGN: usize = 64;

/// A heap buffer whose bytes start on a [`BUFFER_ALIGN`] boundary: the box
/// is over-allocated and the bytes start at the first aligned address.
struct AlignedBuf {
    raw: Box<[u8]>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer, reserved fallibly: a size the allocator refuses is
    /// an error, not an abort.
    fn new(len: usize) -> Result<AlignedBuf, CaptureError> {
        let total = len
            .checked_add(BUFFER_ALIGN - 1)
            .ok_or(CaptureError::OutOfMemory { bytes: len })?;
        let mut raw = Vec::new();
        raw.try_reserve_exact(total)
            .map_err(|_| CaptureError::OutOfMemory { bytes: total })?;
        raw.resize(total, 0u8);
        let raw = raw.into_boxed_slice();
        let misalign = raw.as_ptr() as usize % BUFFER_ALIGN;
        let start = (BUFFER_ALIGN - misalign) % BUFFER_ALIGN;
        Ok(AlignedBuf { raw, start, len })
    }
}

impl Storage for AlignedBuf {
    fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.raw[self.start..self.start + self.len])
    }
}

/// What a pool counts: totals since the pool was made, and `held`, the
/// buffers out of it now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Frames written into a buffer and published.
    pub captured: u64,
    /// Frames handed to a consumer.
    pub delivered: u64,
    /// Frames dropped under the slow-consumer policy.
    pub dropped: u64,
    /// Buffers filled again after an earlier frame in them was released.
    pub recycled: u64,
    /// Buffers out of the pool now: frames published and not yet let go
    /// by every lease (those waiting in a capture's queue included). A
    /// producer waits while every buffer is held.
    pub held: usize,
}

/// The state leases share with the pool.
#[derive(Debug)]
pub(crate) struct PoolInner {
    /// Notified whenever a lease is dropped, so a waiting producer rescans.
    released: Mutex<u64>,
    cond: Condvar,
    pub(crate) captured: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) recycled: AtomicU64,
    /// Buffers with a lease out ([`PoolStats::held`]).
    pub(crate) held: AtomicUsize,
    /// Per buffer, the [`FrameLease`]s of its frame alive. A lease gives
    /// its reference up before it counts itself out here, so the count
    /// reaching zero means every lease is gone: only then is the buffer
    /// free, and only then is a waiting producer woken.
    handles: Box<[AtomicUsize]>,
    /// Set when the pool's consumers are gone: a producer waiting for a
    /// free buffer gives up instead of waiting for buffers that consumers
    /// may never release.
    closed: AtomicBool,
}

impl PoolInner {
    /// Wakes a producer waiting in [`BufferPool::acquire`] for good: every
    /// later acquire returns `None` at once.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify();
    }

    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            captured: self.captured.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            recycled: self.recycled.load(Ordering::Relaxed),
            held: self.held.load(Ordering::Relaxed),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn notify(&self) {
        // A poisoned lock only means another thread panicked while holding
        // it; the counter is still usable.
        let mut n = lock_counter(&self.released);
        *n += 1;
        self.cond.notify_all();
    }
}

/// A fixed set of buffers, allocated once, [`BUFFER_ALIGN`]-aligned, each
/// filled only when no view of it exists.
///
/// The producer side ([`BufferPool::acquire`]) finds a buffer with no
/// export (memview-core's count: the last [`FrameLease`] and every view
/// taken from it dropped), fills it, and [`Slot::publish`]es it as a lease.
/// memview-core itself refuses the write if a view is still alive, so a
/// buffer is never filled while viewed, whatever consumers do.
pub struct BufferPool {
    buffers: Vec<Shared>,
    /// One lease per buffer, made once and handed out again and again, so
    /// publishing a frame allocates nothing. A lease is out while its
    /// `Arc` has more than this one reference.
    leases: Vec<Arc<LeaseInner>>,
    used: Vec<bool>,
    len: usize,
    inner: Arc<PoolInner>,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("buffers", &self.buffers.len())
            .field("len", &self.len)
            .field("stats", &self.stats())
            .finish()
    }
}

impl BufferPool {
    /// `count` buffers of `len` bytes each (both at least 1), within the
    /// default [`Limits`].
    pub fn new(count: usize, len: usize) -> Result<BufferPool, CaptureError> {
        BufferPool::with_limits(count, len, &Limits::DEFAULT)
    }

    /// `count` buffers of `len` bytes each, refused before anything is
    /// allocated if a frame or the whole pool would pass `limits`, and
    /// reserved fallibly ([`CaptureError::OutOfMemory`] where the
    /// allocator says no).
    pub fn with_limits(
        count: usize,
        len: usize,
        limits: &Limits,
    ) -> Result<BufferPool, CaptureError> {
        if count == 0 || len == 0 {
            return Err(CaptureError::EmptyPool);
        }
        if len > limits.max_frame_bytes {
            return Err(CaptureError::OverBudget {
                what: "a frame",
                bytes: len as u128,
                limit: limits.max_frame_bytes,
            });
        }
        let total = count as u128 * len as u128;
        if total > limits.max_pool_bytes as u128 {
            return Err(CaptureError::OverBudget {
                what: "the buffer pool",
                bytes: total,
                limit: limits.max_pool_bytes,
            });
        }
        let mut buffers = Vec::new();
        buffers
            .try_reserve_exact(count)
            .map_err(|_| CaptureError::OutOfMemory { bytes: len })?;
        for _ in 0..count {
            buffers.push(Shared::from(AlignedBuf::new(len)?));
        }
        let inner = Arc::new(PoolInner {
            released: Mutex::new(0),
            cond: Condvar::new(),
            captured: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            recycled: AtomicU64::new(0),
            held: AtomicUsize::new(0),
            handles: (0..count).map(|_| AtomicUsize::new(0)).collect(),
            closed: AtomicBool::new(false),
        });
        Ok(BufferPool {
            buffers,
            leases: (0..count)
                .map(|index| {
                    Arc::new(LeaseInner {
                        data: None,
                        index,
                        pool: inner.clone(),
                    })
                })
                .collect(),
            used: vec![false; count],
            len,
            inner,
        })
    }

    /// Bytes per buffer.
    pub fn buffer_len(&self) -> usize {
        self.len
    }

    /// Number of buffers.
    pub fn count(&self) -> usize {
        self.buffers.len()
    }

    /// Buffers with no live lease or view.
    pub fn free(&self) -> usize {
        (0..self.buffers.len()).filter(|&i| self.is_free(i)).count()
    }

    /// No lease of buffer `i` is out, and no view of it either (beyond the
    /// pool's own lease's, which it drops before filling).
    fn is_free(&self, i: usize) -> bool {
        // The pool's own lease holds one view of the bytes and one per plane
        // (none when it shows someone else's bytes, a memory map's).
        let own = self.leases[i]
            .data
            .as_ref()
            .filter(|d| !d.external)
            .map_or(0, |d| 1 + d.layout.format().planes);
        Arc::strong_count(&self.leases[i]) == 1 && self.buffers[i].exports() == own
    }

    /// Gives up the pool's own views of frames it showed from someone
    /// else's memory ([`Slot::publish_external`]: a mapped file, a
    /// driver's buffers) whose leases have all been dropped, as they would
    /// be when their slots are next filled. Called when a stream goes down,
    /// so a source dropped to be reopened lets its memory go: a V4L2
    /// device's mapped buffers keep its file open, and a camera that
    /// comes back only once its last user closes it (vivid) would never
    /// come back. A frame a consumer still holds keeps its view.
    pub fn release_external(&mut self) {
        for lease in &mut self.leases {
            if let Some(l) = Arc::get_mut(lease) {
                if l.data.as_ref().is_some_and(|d| d.external) {
                    l.data = None;
                }
            }
        }
    }

    fn find_free(&mut self) -> Option<usize> {
        let i = (0..self.buffers.len()).find(|&i| self.is_free(i))?;
        // Release the pool's own views of the buffer, so it can be filled.
        if let Some(l) = Arc::get_mut(&mut self.leases[i]) {
            l.data = None;
        }
        (self.buffers[i].exports() == 0).then_some(i)
    }

    /// The counters.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats()
    }

    pub(crate) fn inner(&self) -> &Arc<PoolInner> {
        &self.inner
    }

    /// A free buffer to fill, without waiting.
    pub fn try_acquire(&mut self) -> Option<Slot<'_>> {
        let index = self.find_free()?;
        Some(Slot::new(self, index))
    }

    /// A free buffer to fill, waiting up to `timeout` for a lease to be
    /// released (`None` waits as long as it takes). `None` on timeout, or
    /// at once once the pool is closed (its [`crate::Capture`] dropped:
    /// consumers may hold every buffer for good).
    pub fn acquire(&mut self, timeout: Option<Duration>) -> Option<Slot<'_>> {
        let start = std::time::Instant::now();
        loop {
            if self.inner.is_closed() {
                return None;
            }
            // Read the release counter before scanning: a release between
            // the scan and the wait changes it, so no wake-up is lost.
            let seen = *lock_counter(&self.inner.released);
            if let Some(index) = self.find_free() {
                return Some(Slot::new(self, index));
            }
            let left = match timeout {
                Some(t) => t.checked_sub(start.elapsed())?,
                None => Duration::from_secs(3600),
            };
            let mut guard = lock_counter(&self.inner.released);
            while *guard == seen && !self.inner.is_closed() {
                guard = match self.inner.cond.wait_timeout(guard, left) {
                    Ok((g, r)) if r.timed_out() => {
                        drop(g);
                        break;
                    }
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
                if timeout.is_some_and(|t| start.elapsed() >= t) {
                    break;
                }
            }
        }
    }
}

fn lock_counter(m: &Mutex<u64>) -> crate::sync::MutexGuard<'_, u64> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A free buffer, borrowed from its pool for filling.
#[derive(Debug)]
pub struct Slot<'p> {
    pool: &'p mut BufferPool,
    index: usize,
    /// Added to the sequence number and timestamp the source publishes
    /// (a reconnected source numbers its frames from 0 again).
    seq_base: u64,
    pts_base: Duration,
}

impl<'p> Slot<'p> {
    fn new(pool: &'p mut BufferPool, index: usize) -> Slot<'p> {
        Slot {
            pool,
            index,
            seq_base: 0,
            pts_base: Duration::ZERO,
        }
    }

    /// This slot, its frame numbered `seq` frames and `pts` later than the
    /// source says.
    pub(crate) fn offset(mut self, seq: u64, pts: Duration) -> Slot<'p> {
        self.seq_base = seq;
        self.pts_base = pts;
        self
    }
    /// Which of the pool's buffers this is (stable for the pool's life), so
    /// a source can remember what it left in each.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many buffers the pool has (slot indices run below it), so a
    /// source can set up what it keeps per buffer once, up front.
    pub fn pool_count(&self) -> usize {
        self.pool.buffers.len()
    }

    /// Whether another of the pool's buffers is free too: its last lease
    /// and every view of it are gone (a source showing someone else's
    /// memory through its leases, a camera's, can give that memory back
    /// early).
    pub fn is_released(&self, index: usize) -> bool {
        index != self.index && index < self.pool.buffers.len() && self.pool.is_free(index)
    }

    /// The buffer's bytes, to fill. memview-core hands them out only while
    /// no view of the buffer exists.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8], CaptureError> {
        Ok(self.pool.buffers[self.index].bytes_mut()?)
    }

    /// Publishes the filled buffer as a frame.
    pub fn publish(
        self,
        layout: FrameLayout,
        seq: u64,
        timestamp: Duration,
    ) -> Result<FrameLease, CaptureError> {
        let view = self.pool.buffers[self.index].export_shared()?;
        self.publish_view(view, false, layout, seq, timestamp)
    }

    /// Publishes bytes that live elsewhere (a frame of a memory-mapped
    /// file) through this slot's lease, without filling the buffer: the
    /// zero-copy path. The view is a whole frame laid out by `layout`.
    pub fn publish_external(
        self,
        view: View<'static>,
        layout: FrameLayout,
        seq: u64,
        timestamp: Duration,
    ) -> Result<FrameLease, CaptureError> {
        self.publish_view(view, true, layout, seq, timestamp)
    }

    fn publish_view(
        self,
        view: View<'static>,
        external: bool,
        layout: FrameLayout,
        seq: u64,
        timestamp: Duration,
    ) -> Result<FrameLease, CaptureError> {
        let pool = self.pool;
        let seq = seq.saturating_add(self.seq_base);
        let timestamp = timestamp.saturating_add(self.pts_base);
        let frame = Frame::new(&view, &layout)?;
        if std::mem::replace(&mut pool.used[self.index], true) {
            pool.inner.recycled.fetch_add(1, Ordering::Relaxed);
        }
        pool.inner.captured.fetch_add(1, Ordering::Relaxed);
        let lease = &mut pool.leases[self.index];
        // `find_free` saw this lease unique, and nothing can clone it since.
        let Some(inner) = Arc::get_mut(lease) else {
            return Err(CaptureError::Buffer(memview_core::BufferError::Exported {
                exports: Arc::strong_count(lease) - 1,
            }));
        };
        inner.data = Some(LeaseData {
            frame,
            view,
            external,
            layout,
            seq,
            timestamp,
        });
        pool.inner.handles[self.index].store(1, Ordering::Relaxed);
        pool.inner.held.fetch_add(1, Ordering::Relaxed);
        Ok(FrameLease {
            inner: Some(lease.clone()),
        })
    }
}

struct LeaseData {
    frame: Frame<'static>,
    view: View<'static>,
    /// The view is of bytes outside the pool (a memory map).
    external: bool,
    layout: FrameLayout,
    seq: u64,
    timestamp: Duration,
}

struct LeaseInner {
    data: Option<LeaseData>,
    /// The buffer's place in the pool (its count of leases,
    /// `PoolInner::handles`).
    index: usize,
    pool: Arc<PoolInner>,
}

/// A captured frame: `Send`, cheap to clone (an `Arc`) among workers. Its
/// buffer goes back to the pool when the last lease and the last view
/// taken from it are dropped.
pub struct FrameLease {
    /// Always `Some` until the lease is dropped.
    inner: Option<Arc<LeaseInner>>,
}

impl Clone for FrameLease {
    fn clone(&self) -> FrameLease {
        if let Some(i) = &self.inner {
            i.pool.handles[i.index].fetch_add(1, Ordering::Relaxed);
        }
        FrameLease {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for FrameLease {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let (pool, index) = (inner.pool.clone(), inner.index);
            // Give the reference up first, then count this lease out: the
            // decrement that reaches zero comes after every other lease's
            // reference is gone (each gave its own up before its
            // decrement), so the producer woken then finds the buffer
            // free. Dropping any other lease wakes no one.
            drop(inner);
            if pool.handles[index].fetch_sub(1, Ordering::AcqRel) == 1 {
                pool.held.fetch_sub(1, Ordering::Relaxed);
                pool.notify();
            }
        }
    }
}

impl fmt::Debug for FrameLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.data();
        f.debug_struct("FrameLease")
            .field("seq", &d.seq)
            .field("timestamp", &d.timestamp)
            .field("format", &d.layout.format().name)
            .field("size", &(d.layout.width(), d.layout.height()))
            .finish()
    }
}

impl FrameLease {
    fn data(&self) -> &LeaseData {
        match self.inner.as_ref().and_then(|i| i.data.as_ref()) {
            Some(d) => d,
            // A lease is handed out only right after its data is set, and
            // the data is cleared only while the pool holds the sole `Arc`.
            None => unreachable!("a published lease always has its frame"),
        }
    }

    /// The frame's planes. Views taken from it borrow the lease, so they
    /// cannot outlive it: the last lease dropped is the last use of the
    /// buffer, checked by the compiler.
    pub fn frame(&self) -> &Frame<'_> {
        &self.data().frame
    }

    /// The frame's bytes, as laid out by [`FrameLease::layout`].
    pub fn bytes(&self) -> &View<'_> {
        &self.data().view
    }

    /// The layout the frame was captured with.
    pub fn layout(&self) -> &FrameLayout {
        &self.data().layout
    }

    /// The frame's sequence number (0 for the first).
    pub fn seq(&self) -> u64 {
        self.data().seq
    }

    /// When the frame was captured, from the start of the capture (or the
    /// stream's own clock, where it has one).
    pub fn timestamp(&self) -> Duration {
        self.data().timestamp
    }
}
