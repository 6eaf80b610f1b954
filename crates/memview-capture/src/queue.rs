//! Delivery from a capture thread to consumers, with a policy for slow
//! consumers, and the runner that drives a [`FrameSource`].

use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::CaptureError;
use crate::limits::Limits;
use crate::pool::{BufferPool, FrameLease, PoolInner, PoolStats};
use crate::source::FrameSource;
use crate::sync::{Arc, Condvar, Mutex, Ordering};

/// What to do when consumers fall behind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Wait for them: capture slows to the consumers' pace (files, pipes).
    #[default]
    Block,
    /// Drop the frame just captured (a live camera keeps its old backlog).
    DropNewest,
    /// Drop the oldest waiting frame, keeping only the latest (lowest
    /// latency for live analysis).
    KeepLatest,
}

impl Policy {
    /// The policy's name, as `memview run` and errors say it.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Block => "block",
            Policy::DropNewest => "drop-newest",
            Policy::KeepLatest => "keep-latest",
        }
    }

    /// The fewest buffers a pool needs under this policy for a consumer
    /// that holds up to `holds` frames at once (the one it works on
    /// included; at least 1 is assumed):
    /// - `Block`, `DropNewest`: `holds`, so the producer always gets a
    ///   buffer once the consumer lets its oldest frame go (with fewer, a
    ///   consumer waiting for the next frame holds every buffer: a
    ///   deadlock);
    /// - `KeepLatest`: `holds + 2`, so a newer frame is always captured
    ///   into a free buffer before the waiting one is dropped (with fewer,
    ///   the waiting frame would be dropped first, and lost for nothing at
    ///   the end of the stream).
    pub fn min_buffers(self, holds: usize) -> usize {
        let holds = holds.max(1);
        match self {
            Policy::Block | Policy::DropNewest => holds,
            Policy::KeepLatest => holds + 2,
        }
    }

    /// The buffers a streaming pool wants: `queue` frames waiting while the
    /// consumer holds `holds` and the producer fills one, and at least
    /// [`Policy::min_buffers`]. With fewer, the queue is never used: the
    /// producer waits for the consumer to let a frame go, the consumer for
    /// the producer to finish one, and any stall of either (another
    /// thread taking its core) idles both.
    pub fn streaming_buffers(self, holds: usize, queue: usize) -> usize {
        (holds.max(1) + queue + 1).max(self.min_buffers(holds))
    }
}

struct State {
    items: VecDeque<FrameLease>,
    closed: bool,
    error: Option<CaptureError>,
}

struct Inner {
    state: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
    depth: usize,
    policy: Policy,
    pool: Arc<PoolInner>,
}

fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A bounded queue of captured frames (its storage is allocated once).
#[derive(Clone)]
pub struct FrameQueue {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for FrameQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameQueue")
            .field("depth", &self.inner.depth)
            .field("policy", &self.inner.policy)
            .finish()
    }
}

impl FrameQueue {
    pub(crate) fn new(depth: usize, policy: Policy, pool: Arc<PoolInner>) -> FrameQueue {
        FrameQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    items: VecDeque::with_capacity(depth.max(1)),
                    closed: false,
                    error: None,
                }),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
                depth: depth.max(1),
                policy,
                pool,
            }),
        }
    }

    /// Hands a frame over under the queue's policy. Returns `false` once
    /// the queue is closed (no consumer left).
    pub(crate) fn push(&self, lease: FrameLease) -> bool {
        let i = &self.inner;
        let mut s = lock(&i.state);
        loop {
            if s.closed {
                // Captured after the consumer stopped: dropped, so every
                // captured frame is delivered or dropped exactly once.
                i.pool.dropped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            if s.items.len() < i.depth {
                s.items.push_back(lease);
                i.not_empty.notify_one();
                return true;
            }
            match i.policy {
                Policy::Block => {
                    s = match i.not_full.wait(s) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                }
                Policy::DropNewest => {
                    i.pool.dropped.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Policy::KeepLatest => {
                    let old = s.items.pop_front();
                    i.pool.dropped.fetch_add(1, Ordering::Relaxed);
                    s.items.push_back(lease);
                    i.not_empty.notify_one();
                    drop(s);
                    drop(old);
                    return true;
                }
            }
        }
    }

    /// Drops the oldest waiting frame (to free its buffer); whether there
    /// was one.
    pub(crate) fn drop_oldest(&self) -> bool {
        let old = lock(&self.inner.state).items.pop_front();
        let had = old.is_some();
        if had {
            self.inner.pool.dropped.fetch_add(1, Ordering::Relaxed);
            self.inner.not_full.notify_one();
        }
        had
    }

    /// Whether the queue was closed (by the producer at the end of the
    /// stream, or by a consumer stopping it).
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.inner.state).closed
    }

    /// Stops the stream now: closed, and the frames still waiting dropped
    /// (counted as dropped), so the next [`FrameQueue::recv`] ends it.
    pub(crate) fn stop(&self) {
        let waiting = {
            let mut s = lock(&self.inner.state);
            s.closed = true;
            let n = s.items.len() as u64;
            self.inner.pool.dropped.fetch_add(n, Ordering::Relaxed);
            std::mem::take(&mut s.items)
        };
        self.inner.not_empty.notify_all();
        self.inner.not_full.notify_all();
        drop(waiting);
    }

    /// Ends the stream, with the error that ended it, if any.
    pub(crate) fn close(&self, error: Option<CaptureError>) {
        let mut s = lock(&self.inner.state);
        s.closed = true;
        if s.error.is_none() {
            s.error = error;
        }
        self.inner.not_empty.notify_all();
        self.inner.not_full.notify_all();
    }

    /// The next frame, waiting for it; `None` at the end of the stream, or
    /// the error that ended it (once), after every frame before it.
    pub fn recv(&self) -> Option<Result<FrameLease, CaptureError>> {
        match self.recv_until(None) {
            Some(Ok(lease)) => Some(Ok(lease)),
            Some(Err(RecvError::Source(e))) => Some(Err(e)),
            // No deadline: only the two answers above, or the end.
            Some(Err(RecvError::Timeout(_))) | None => None,
        }
    }

    /// [`FrameQueue::recv`], waiting at most `timeout`:
    /// `Some(Err(RecvError::Timeout))` if no frame came in time (the
    /// stream goes on; call again).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<FrameLease, RecvError>> {
        self.recv_until(Some((Instant::now(), timeout)))
    }

    fn recv_until(
        &self,
        deadline: Option<(Instant, Duration)>,
    ) -> Option<Result<FrameLease, RecvError>> {
        let i = &self.inner;
        let mut s = lock(&i.state);
        loop {
            if let Some(lease) = s.items.pop_front() {
                i.pool.delivered.fetch_add(1, Ordering::Relaxed);
                i.not_full.notify_one();
                return Some(Ok(lease));
            }
            if s.closed {
                return s.error.take().map(|e| Err(RecvError::Source(e)));
            }
            s = match deadline {
                None => match i.not_empty.wait(s) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
                Some((start, timeout)) => {
                    let Some(left) = timeout.checked_sub(start.elapsed()) else {
                        return Some(Err(RecvError::Timeout(timeout)));
                    };
                    match i.not_empty.wait_timeout(s, left) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    }
                }
            };
        }
    }
}

/// Why [`Capture::recv_timeout`] gave no frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The source failed; the stream has ended.
    #[error(transparent)]
    Source(CaptureError),
    /// No frame arrived within the timeout; the stream goes on.
    #[error("no frame arrived within {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
}

/// How a [`Capture`] is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Buffers in the pool.
    pub buffers: usize,
    /// Frames the queue holds for the consumer (under `KeepLatest` at most
    /// `buffers - consumer_holds - 1`, so a buffer is always free for the
    /// next frame).
    pub queue: usize,
    /// What to do when the consumer falls behind.
    pub policy: Policy,
    /// The most frames the consumer holds at once, the one it works on
    /// included (a `memview_roi::RoiRunner` holds 2: the frame and the
    /// previous one). The pool must have [`Policy::min_buffers`].
    pub consumer_holds: usize,
    /// Memory budgets for the pool.
    pub limits: Limits,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            buffers: 3,
            queue: 2,
            policy: Policy::Block,
            consumer_holds: 1,
            limits: Limits::DEFAULT,
        }
    }
}

/// Stops a [`Capture`] from another thread (a signal handler's thread, a
/// UI): the consumer's next `recv` ends the stream, and a producer waiting
/// for a buffer gives up. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stopper {
    queue: FrameQueue,
}

impl Stopper {
    /// Ends the stream now (frames still queued are dropped and counted).
    pub fn stop(&self) {
        self.queue.stop();
        self.queue.inner.pool.close();
    }
}

/// How long dropping a [`Capture`] waits for its thread: a source blocked
/// in a read with no timeout (a FIFO with no writer) cannot be woken, so
/// after this the thread is left to finish on its own, owning the source.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A source running on its own capture thread, delivering frames through a
/// [`FrameQueue`] under a [`Policy`]. Dropping it stops the thread
/// promptly, whatever consumers still hold (see [`CLOSE_GRACE`]).
#[derive(Debug)]
pub struct Capture {
    queue: FrameQueue,
    stats: Arc<PoolInner>,
    thread: Option<JoinHandle<()>>,
    /// Told when the thread has ended (in a mutex: `Capture` is `Sync`).
    done: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Capture {
    /// Starts `source` with a pool of `buffers` frames and a queue of
    /// `depth` frames, for a consumer that holds up to two frames at once
    /// (a `memview_roi::RoiRunner`: the frame it works on and the previous
    /// one). Use [`Capture::with_options`] to say otherwise.
    pub fn start<S: FrameSource + 'static>(
        source: S,
        buffers: usize,
        depth: usize,
        policy: Policy,
    ) -> Result<Capture, CaptureError> {
        Capture::with_options(
            source,
            CaptureOptions {
                buffers,
                queue: depth,
                policy,
                consumer_holds: 2,
                ..CaptureOptions::default()
            },
        )
    }

    /// Starts `source` as `options` say. A pool too small for the policy
    /// and the consumer ([`Policy::min_buffers`]) is refused here, rather
    /// than deadlocking or losing frames later; a pool over the memory
    /// budget is refused before it is allocated.
    pub fn with_options<S: FrameSource + 'static>(
        mut source: S,
        options: CaptureOptions,
    ) -> Result<Capture, CaptureError> {
        let CaptureOptions {
            buffers,
            queue,
            policy,
            consumer_holds,
            limits,
        } = options;
        let needed = policy.min_buffers(consumer_holds);
        if buffers < needed {
            return Err(CaptureError::PoolTooSmall {
                buffers,
                holds: consumer_holds.max(1),
                policy: policy.name(),
                needed,
            });
        }
        let depth = match policy {
            Policy::KeepLatest => queue.min(buffers - consumer_holds.max(1) - 1),
            Policy::Block | Policy::DropNewest => queue,
        };
        let mut pool = BufferPool::with_limits(buffers, source.frame_len(), &limits)?;
        let queue = FrameQueue::new(depth, policy, pool.inner().clone());
        let q = queue.clone();
        let stats = pool.inner().clone();
        // Bounded: its one slot is allocated here, so the thread's last
        // word allocates nothing (a run counting allocations may still be
        // in its steady state).
        let (tell, done) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("memview-capture".into())
            .spawn(move || {
                let err = run(&mut source, &mut pool, &q, policy).err();
                q.close(err);
                // Drop the source (an ffmpeg child is killed and reaped)
                // before saying so.
                drop(source);
                let _ = tell.send(());
            })
            .map_err(|e| CaptureError::Io {
                context: "starting the capture thread".into(),
                source: e,
            })?;
        Ok(Capture {
            queue,
            stats,
            thread: Some(thread),
            done: std::sync::Mutex::new(done),
        })
    }

    /// The next frame; `None` at the end of the stream.
    pub fn recv(&self) -> Option<Result<FrameLease, CaptureError>> {
        self.queue.recv()
    }

    /// The next frame, waiting at most `timeout`; `Some(Err(Timeout))` if
    /// none came (the stream goes on), `None` at the end of the stream.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<FrameLease, RecvError>> {
        self.queue.recv_timeout(timeout)
    }

    /// A handle that stops the capture from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            queue: self.queue.clone(),
        }
    }

    /// The pool's counters so far.
    pub fn stats(&self) -> PoolStats {
        self.stats.stats()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Close the queue (a producer blocked on a full queue wakes) and the
        // pool (a producer waiting for a buffer that consumers hold wakes).
        self.stopper().stop();
        let Some(thread) = self.thread.take() else {
            return;
        };
        // A source blocked in a read cannot be woken; past the grace
        // period the thread is left to end on its own.
        let done = match self.done.get_mut() {
            Ok(d) => d,
            Err(p) => p.into_inner(),
        };
        match done.recv_timeout(CLOSE_GRACE) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

pub(crate) fn run(
    source: &mut dyn FrameSource,
    pool: &mut BufferPool,
    q: &FrameQueue,
    policy: Policy,
) -> Result<(), CaptureError> {
    loop {
        if q.is_closed() {
            return Ok(());
        }
        if pool.free() == 0 {
            match policy {
                Policy::Block => {}
                Policy::KeepLatest => {
                    // A consumer holding more frames than it declared:
                    // free a buffer by dropping the oldest waiting frame
                    // (with the declared holds a buffer is always free).
                    q.drop_oldest();
                }
                Policy::DropNewest => {
                    match source.skip() {
                        Ok(true) => {}
                        Ok(false) => {
                            if !resumed(source, None, q, pool)? {
                                return Ok(());
                            }
                            continue;
                        }
                        Err(e) => {
                            if !resumed(source, Some(e), q, pool)? {
                                return Ok(());
                            }
                            continue;
                        }
                    }
                    pool.inner().dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        // `None`: the pool was closed (the capture stopped).
        let Some(slot) = pool.acquire(None) else {
            return Ok(());
        };
        match source.next_frame(slot) {
            Ok(Some(lease)) => {
                if !q.push(lease) {
                    return Ok(());
                }
            }
            Ok(None) => {
                if !resumed(source, None, q, pool)? {
                    return Ok(());
                }
            }
            Err(e) => {
                if !resumed(source, Some(e), q, pool)? {
                    return Ok(());
                }
            }
        }
    }
}

/// A stream that ended or failed: whether its source resumed it (the
/// error if it failed for good). The pool lets go of the source's memory
/// first, so the source can close what it had open before it reopens.
fn resumed(
    source: &mut dyn FrameSource,
    failure: Option<CaptureError>,
    q: &FrameQueue,
    pool: &mut BufferPool,
) -> Result<bool, CaptureError> {
    pool.release_external();
    source.resume(failure, &|| q.is_closed())
}
