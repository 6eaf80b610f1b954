//! Live sources that come back: a network stream or a camera reopened with
//! backoff when it fails or ends, without ending the capture.
//!
//! [`Reconnecting`] wraps a source and the way to open it again. When the
//! source fails (a read timeout, an ffmpeg child that died, a device
//! error) or ends (a network stream's sender went away), it is dropped (an
//! ffmpeg child is killed and reaped, a device closed), a
//! [`StreamChange::Down`] is announced, and it is reopened after a delay
//! that doubles from [`Backoff::first`] up to [`Backoff::max`], until it
//! opens or the capture stops. The reopened source must have the same
//! frame layout (the pool's buffers are sized for it): one that differs
//! ends the stream with an error. Frames go on being numbered where they
//! left off, and timestamps go on from the time the stream was down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memview_pixel::FrameLayout;

use crate::error::CaptureError;
use crate::pool::{FrameLease, Slot};
use crate::source::FrameSource;

/// How long to wait between attempts to reopen a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait (after the failure).
    pub first: Duration,
    /// The longest wait: each failed attempt doubles the wait up to this.
    pub max: Duration,
}

impl Default for Backoff {
    /// 0.5 s, doubling up to 10 s.
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

/// A change of a live stream's state, announced on the capture thread.
#[derive(Debug)]
pub enum StreamChange<'a> {
    /// The stream failed or ended, and will be reopened.
    Down {
        /// Why (the error, or "the stream ended").
        reason: &'a str,
        /// Frames delivered so far.
        frames: u64,
    },
    /// The stream was reopened.
    Up {
        /// Attempts it took.
        attempts: u32,
        /// How long it was down.
        down_for: Duration,
    },
}

/// Opens the source again.
pub type Reopen = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CaptureError> + Send>;

/// Told of each [`StreamChange`].
pub type OnChange = Box<dyn FnMut(&StreamChange<'_>) + Send>;

/// Counters of a [`Reconnecting`] source, readable from any thread.
#[derive(Debug, Default)]
pub struct ReconnectStats {
    reconnects: AtomicU64,
    down: AtomicBool,
    down_ms: AtomicU64,
}

impl ReconnectStats {
    /// Times the source was reopened.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// Whether the source is down now.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Time spent down, over the reconnects completed.
    pub fn downtime(&self) -> Duration {
        Duration::from_millis(self.down_ms.load(Ordering::Relaxed))
    }
}

/// A source reopened with backoff when it fails or ends (the module docs
/// say how).
pub struct Reconnecting {
    current: Option<Box<dyn FrameSource>>,
    reopen: Reopen,
    on_change: Option<OnChange>,
    layout: FrameLayout,
    frame_len: usize,
    rate: Option<(u32, u32)>,
    backoff: Backoff,
    stats: Arc<ReconnectStats>,
    started: Instant,
    /// Frames delivered (the next frame's number once reconnected).
    delivered: u64,
    /// What the current session's numbers and timestamps are offset by.
    seq_base: u64,
    pts_base: Duration,
    /// The last frame's number and timestamp, as published.
    last: Option<(u64, Duration)>,
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnecting")
            .field("layout", &self.layout)
            .field("connected", &self.current.is_some())
            .field("backoff", &self.backoff)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Reconnecting {
    /// `source`, opened again by `reopen` whenever it fails or ends.
    pub fn new(source: Box<dyn FrameSource>, reopen: Reopen, backoff: Backoff) -> Reconnecting {
        Reconnecting {
            layout: source.layout().clone(),
            frame_len: source.frame_len(),
            rate: source.frame_rate(),
            current: Some(source),
            reopen,
            on_change: None,
            backoff,
            stats: Arc::new(ReconnectStats::default()),
            started: Instant::now(),
            delivered: 0,
            seq_base: 0,
            pts_base: Duration::ZERO,
            last: None,
        }
    }

    /// Announces each change of state to `f` (on the capture thread).
    pub fn on_change(mut self, f: OnChange) -> Reconnecting {
        self.on_change = Some(f);
        self
    }

    /// The counters, shared.
    pub fn stats(&self) -> Arc<ReconnectStats> {
        self.stats.clone()
    }

    fn announce(&mut self, change: &StreamChange<'_>) {
        if let Some(f) = self.on_change.as_mut() {
            f(change);
        }
    }

    /// Waits `d` in short steps; `false` if the capture stopped meanwhile.
    fn wait(d: Duration, stopped: &dyn Fn() -> bool) -> bool {
        let end = Instant::now() + d;
        loop {
            if stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    /// Reopens the source; `Ok(false)` if the capture stopped first.
    fn reconnect(&mut self, stopped: &dyn Fn() -> bool) -> Result<bool, CaptureError> {
        let down_at = Instant::now();
        let mut delay = self.backoff.first;
        let mut attempts = 0u32;
        loop {
            if !Reconnecting::wait(delay, stopped) {
                return Ok(false);
            }
            attempts = attempts.saturating_add(1);
            delay = delay.saturating_mul(2).min(self.backoff.max);
            let source = match (self.reopen)() {
                Ok(s) => s,
                Err(_) if !stopped() => continue,
                Err(_) => return Ok(false),
            };
            let l = source.layout();
            if l != &self.layout || source.frame_len() != self.frame_len {
                return Err(CaptureError::Options(format!(
                    "the stream came back as {}x{} {}, not {}x{} {} as before",
                    l.width(),
                    l.height(),
                    l.format().name,
                    self.layout.width(),
                    self.layout.height(),
                    self.layout.format().name
                )));
            }
            // Numbers go on after the last frame, timestamps from now.
            self.seq_base = self.last.map_or(0, |(s, _)| s.saturating_add(1));
            let now = self.started.elapsed();
            self.pts_base = match self.last {
                Some((_, pts)) if pts >= now => pts + Duration::from_millis(1),
                _ => now,
            };
            self.current = Some(source);
            let down_for = down_at.elapsed();
            self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
            self.stats
                .down_ms
                .fetch_add(down_for.as_millis() as u64, Ordering::Relaxed);
            self.stats.down.store(false, Ordering::Relaxed);
            self.announce(&StreamChange::Up { attempts, down_for });
            return Ok(true);
        }
    }
}

impl FrameSource for Reconnecting {
    fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    fn frame_len(&self) -> usize {
        self.frame_len
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.rate
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        let Some(source) = self.current.as_mut() else {
            // Only after a failed resume; nothing more comes.
            return Ok(None);
        };
        let lease = source.next_frame(slot.offset(self.seq_base, self.pts_base))?;
        if let Some(l) = &lease {
            self.delivered += 1;
            self.last = Some((l.seq(), l.timestamp()));
        }
        Ok(lease)
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        match self.current.as_mut() {
            Some(s) => s.skip(),
            None => Ok(false),
        }
    }

    fn resume(
        &mut self,
        failure: Option<CaptureError>,
        stopped: &dyn Fn() -> bool,
    ) -> Result<bool, CaptureError> {
        if stopped() {
            return Ok(false);
        }
        // Drop the source first: an ffmpeg child is killed and reaped, a
        // device closed, before anything is reopened.
        self.current = None;
        let reason = failure.map_or_else(|| "the stream ended".to_owned(), |e| e.to_string());
        self.stats.down.store(true, Ordering::Relaxed);
        let frames = self.delivered;
        self.announce(&StreamChange::Down {
            reason: &reason,
            frames,
        });
        self.reconnect(stopped)
    }
}
