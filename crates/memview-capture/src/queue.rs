//! Delivery from a capture thread to consumers, with a policy for slow
//! consumers, and the runner that drives a [`FrameSource`].

use std::collections::VecDeque;
use std::thread::JoinHandle;

use crate::error::CaptureError;
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
        let i = &self.inner;
        let mut s = lock(&i.state);
        loop {
            if let Some(lease) = s.items.pop_front() {
                i.pool.delivered.fetch_add(1, Ordering::Relaxed);
                i.not_full.notify_one();
                return Some(Ok(lease));
            }
            if s.closed {
                return s.error.take().map(Err);
            }
            s = match i.not_empty.wait(s) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }
}

/// A source running on its own capture thread, delivering frames through a
/// [`FrameQueue`] under a [`Policy`]. Dropping it stops the thread.
#[derive(Debug)]
pub struct Capture {
    queue: FrameQueue,
    stats: Arc<PoolInner>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts `source` with a pool of `buffers` frames and a queue of
    /// `depth` frames.
    pub fn start<S: FrameSource + 'static>(
        mut source: S,
        buffers: usize,
        depth: usize,
        policy: Policy,
    ) -> Result<Capture, CaptureError> {
        let mut pool = BufferPool::new(buffers, source.frame_len())?;
        let queue = FrameQueue::new(depth, policy, pool.inner().clone());
        let q = queue.clone();
        let stats = pool.inner().clone();
        let thread = std::thread::Builder::new()
            .name("memview-capture".into())
            .spawn(move || {
                let err = run(&mut source, &mut pool, &q, policy).err();
                q.close(err);
            })
            .map_err(|e| CaptureError::Io {
                context: "starting the capture thread".into(),
                source: e,
            })?;
        Ok(Capture {
            queue,
            stats,
            thread: Some(thread),
        })
    }

    /// The next frame; `None` at the end of the stream.
    pub fn recv(&self) -> Option<Result<FrameLease, CaptureError>> {
        self.queue.recv()
    }

    /// The pool's counters so far.
    pub fn stats(&self) -> PoolStats {
        let i = &self.stats;
        PoolStats {
            captured: i.captured.load(Ordering::Relaxed),
            delivered: i.delivered.load(Ordering::Relaxed),
            dropped: i.dropped.load(Ordering::Relaxed),
            recycled: i.recycled.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.queue.close(None);
        // Drain so a blocked producer wakes and sees the queue closed.
        while let Some(Ok(_)) = self.queue.recv() {}
        if let Some(t) = self.thread.take() {
            let _ = t.join();
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
        if pool.free() == 0 {
            match policy {
                Policy::Block => {}
                Policy::KeepLatest => {
                    // Free a buffer by dropping the oldest waiting frame.
                    if !q.drop_oldest() && pool.try_acquire().is_none() {
                        // Every buffer is held by consumers: wait for one.
                    }
                }
                Policy::DropNewest => {
                    if !source.skip()? {
                        return Ok(());
                    }
                    pool.inner().dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let Some(slot) = pool.acquire(None) else {
            continue;
        };
        match source.next_frame(slot)? {
            Some(lease) => {
                if !q.push(lease) {
                    return Ok(());
                }
            }
            None => return Ok(()),
        }
    }
}
