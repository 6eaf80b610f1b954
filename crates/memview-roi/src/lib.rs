//! The ROI runner: zones x analyzers per frame, on rayon, with no copies
//! and no heap allocation per frame.
//!
//! A [`RoiRunner`] holds the zones (rectangles that detections move between
//! frames), the analyzers, a preallocated result per zone, and the previous
//! frame's lease for motion. [`RoiRunner::process`] cuts each zone out of
//! the frame as a view (O(1), no copy), runs every analyzer on it in
//! parallel across zones, and catches an analyzer that panics as that
//! zone's error for that frame. Capture of the next frame overlaps analysis
//! when the frames come from a `memview_capture::Capture` thread.
//!
//! # Example
//!
//! ```
//! use memview_capture::{Capture, Policy, Synthetic};
//! use memview_pixel::format::I420;
//! use memview_roi::{analyzers, RoiRunner, Zone};
//!
//! let source = Synthetic::new(&I420, 640, 360, 4)?.with_frames(5);
//! let zones: Vec<Zone> = source.boxes().into_iter().enumerate()
//!     .map(|(i, r)| Zone::new(format!("box{i}"), r)).collect();
//! let mut runner = RoiRunner::new(zones, vec![Box::new(analyzers::MeanVariance), Box::new(analyzers::Motion)], 2)?;
//! let capture = Capture::start(source, 3, 2, Policy::Block)?;
//! while let Some(frame) = capture.recv() {
//!     let results = runner.process(frame?);
//!     assert!(results.iter().all(|r| r.error.is_none() && r.mean > 0.0));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// `unsafe` only in kernels::sse2 (SIMD loads), allowed there.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod analyzers;
mod kernels;
pub mod mask;
mod metrics;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use memview_capture::FrameLease;
use memview_pixel::Rect;
use rayon::prelude::*;

pub use crate::analyzers::{Analyzer, Samples, ZoneInput, ZoneResult};
pub use crate::metrics::{LatencyHistogram, Percentiles};

/// A zone to analyse: a name and a rectangle in frame pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// The zone's name (for reports).
    pub name: String,
    /// Where it is.
    pub rect: Rect,
}

impl Zone {
    /// A named zone.
    pub fn new(name: impl Into<String>, rect: Rect) -> Zone {
        Zone {
            name: name.into(),
            rect,
        }
    }
}

/// Why a runner could not be built.
#[derive(Debug)]
pub struct RunnerError(String);

impl std::fmt::Display for RunnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunnerError {}

/// The most zones a runner takes (a budget: each zone has a preallocated
/// result of about 2 KiB, and every zone is cut from every frame).
pub const MAX_ZONES: usize = 4096;

/// The most analysis threads a runner starts (a budget: rayon gives each a
/// stack, and more threads than cores only add switching).
pub const MAX_THREADS: usize = 256;

/// The most frames a runner holds at once: the frame it is processing and
/// the previous one, kept for motion. Give it as the capture's
/// `consumer_holds` (`memview_capture::CaptureOptions`), so the pool
/// feeding the runner never waits for a frame the runner holds.
pub const FRAMES_HELD: usize = 2;

/// Zones x analyzers per frame, in parallel.
pub struct RoiRunner {
    zones: Vec<Zone>,
    analyzers: Vec<Box<dyn Analyzer>>,
    results: Vec<ZoneResult>,
    previous: Option<FrameLease>,
    pool: std::sync::Arc<rayon::ThreadPool>,
    latency: LatencyHistogram,
    frames: u64,
}

impl std::fmt::Debug for RoiRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoiRunner")
            .field("zones", &self.zones)
            .field(
                "analyzers",
                &self.analyzers.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )
            .field("threads", &self.pool.current_num_threads())
            .field("frames", &self.frames)
            .finish()
    }
}

/// `analyzers` less those whose results another one of them writes in the
/// same pass ([`Analyzer::also_computes`]), in their order.
pub fn fuse(mut analyzers: Vec<Box<dyn Analyzer>>) -> Vec<Box<dyn Analyzer>> {
    // One at a time, so two analyzers that cover each other keep one.
    while let Some(i) = (0..analyzers.len()).find(|&i| {
        let name = analyzers[i].name();
        analyzers
            .iter()
            .enumerate()
            .any(|(j, b)| j != i && b.also_computes().contains(&name))
    }) {
        analyzers.remove(i);
    }
    analyzers
}

impl RoiRunner {
    /// A runner on its own rayon pool of `threads` threads (0: one per core).
    /// An analyzer whose results another one already writes in the same
    /// pass ([`Analyzer::also_computes`]: the histogram gives the mean and
    /// variance) is not run twice.
    pub fn new(
        zones: Vec<Zone>,
        analyzers: Vec<Box<dyn Analyzer>>,
        threads: usize,
    ) -> Result<RoiRunner, RunnerError> {
        if zones.len() > MAX_ZONES {
            return Err(RunnerError(format!(
                "{} zones is more than the {MAX_ZONES} a runner takes",
                zones.len()
            )));
        }
        if threads > MAX_THREADS {
            return Err(RunnerError(format!(
                "{threads} analysis threads is more than the {MAX_THREADS} a runner starts"
            )));
        }
        let analyzers = fuse(analyzers);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("memview-roi-{i}"))
            .build()
            .map_err(|e| RunnerError(format!("cannot start {threads} threads: {e}")))?;
        // Every worker runs once before the first frame: a thread that the
        // OS starts late would otherwise do its start-up allocations in the
        // middle of the stream, where none belong.
        pool.broadcast(|_| ());
        let pool = std::sync::Arc::new(pool);
        let results = vec![ZoneResult::default(); zones.len()];
        Ok(RoiRunner {
            zones,
            analyzers,
            results,
            previous: None,
            pool,
            latency: LatencyHistogram::new(),
            frames: 0,
        })
    }

    /// The zones.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// Moves zone `i` (detections move between frames).
    pub fn move_zone(&mut self, i: usize, rect: Rect) -> bool {
        match self.zones.get_mut(i) {
            Some(z) => {
                z.rect = rect;
                true
            }
            None => false,
        }
    }

    /// Adds a zone (allocates only if the zone list grows past its
    /// capacity); refused past [`MAX_ZONES`].
    pub fn add_zone(&mut self, zone: Zone) -> Result<(), RunnerError> {
        if self.zones.len() >= MAX_ZONES {
            return Err(RunnerError(format!(
                "a runner takes at most {MAX_ZONES} zones"
            )));
        }
        self.zones.push(zone);
        self.results.push(ZoneResult::default());
        Ok(())
    }

    /// Whether the analyzers can read frames of `format` (they need a luma
    /// plane of its own, of 8- or 16-bit samples): call it when a stream
    /// starts, to refuse a format up front rather than per zone.
    pub fn check_format(format: &memview_pixel::PixelFormat) -> Result<Samples, RunnerError> {
        Samples::check(format).map_err(RunnerError)
    }

    /// Removes zone `i`.
    pub fn remove_zone(&mut self, i: usize) -> Option<Zone> {
        if i >= self.zones.len() {
            return None;
        }
        self.results.remove(i);
        Some(self.zones.remove(i))
    }

    /// Threads in the runner's pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Frames processed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Per-frame processing latency so far.
    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    /// Runs `body` on one of the runner's own threads. Calls to
    /// [`RoiRunner::process`] inside it split work from there, without
    /// injecting a job from outside the pool per frame (which makes rayon's
    /// global queue allocate now and then): the zero-allocation way to run
    /// a stream.
    pub fn run<T: Send>(&mut self, body: impl FnOnce(&mut RoiRunner) -> T + Send) -> T {
        let pool = self.pool.clone();
        pool.install(|| body(self))
    }

    /// Analyses every zone of `frame` with every analyzer, in parallel, and
    /// returns one result per zone, in zone order. The frame is kept as the
    /// previous frame for motion until the next call.
    pub fn process(&mut self, frame: FrameLease) -> &[ZoneResult] {
        let start = Instant::now();
        {
            let cur = frame.frame();
            let job = FrameJob {
                cur,
                prev: self.previous.as_ref().map(|p| p.frame()),
                samples: Samples::of(cur.format()),
                analyzers: &self.analyzers,
            };
            let zones = &self.zones;
            let results = &mut self.results;
            self.pool.install(|| {
                results
                    .par_iter_mut()
                    .zip(zones.par_iter())
                    .for_each(|(out, zone)| {
                        job.analyze_zone(out, zone);
                    });
            });
        }
        self.previous = Some(frame);
        self.frames += 1;
        self.latency.record(start.elapsed());
        &self.results
    }

    /// Lets the previous frame go (its buffer returns to the pool).
    pub fn release_previous(&mut self) {
        self.previous = None;
    }
}

/// What every zone of one frame is analysed with.
struct FrameJob<'a, 'f> {
    cur: &'a memview_pixel::Frame<'f>,
    prev: Option<&'a memview_pixel::Frame<'f>>,
    /// How the frame's luma is stored; `None` if the analyzers cannot
    /// read it.
    samples: Option<Samples>,
    analyzers: &'a [Box<dyn Analyzer>],
}

impl FrameJob<'_, '_> {
    /// One zone: every analyzer, panics caught. A zone that fails (out of
    /// the frame, an unreadable format, a panicking analyzer) reports only
    /// its error: its other fields are reset, never left holding the
    /// previous frame's numbers. A zone that fails frame after frame writes
    /// each error into the same string (no allocation per frame).
    fn analyze_zone(&self, out: &mut ZoneResult, zone: &Zone) {
        let mut text = out.error.take();
        if let Some(t) = text.as_mut() {
            t.clear();
        }
        if let Err(()) = self.run_zone(out, zone, &mut text) {
            let error = text.take();
            *out = ZoneResult::default();
            out.error = error;
        }
    }

    fn run_zone(
        &self,
        out: &mut ZoneResult,
        zone: &Zone,
        text: &mut Option<String>,
    ) -> Result<(), ()> {
        let Some(samples) = self.samples else {
            let why = Samples::check(self.cur.format()).err().unwrap_or_default();
            push_error(text, format_args!("{why}"));
            return Err(());
        };
        // Borrowed ROIs: only the luma views are made.
        let roi = self.cur.roi_ref(zone.rect).map_err(|e| {
            push_error(text, format_args!("{e}"));
        })?;
        let Some(luma) = roi.plane(0).map(|v| v.to_view()) else {
            push_error(text, format_args!("the frame has no luma plane"));
            return Err(());
        };
        let previous = self
            .prev
            .and_then(|p| p.roi_ref(zone.rect).ok())
            .and_then(|r| r.plane(0))
            .map(|v| v.to_view());
        let input = ZoneInput {
            luma: &luma,
            previous: previous.as_ref(),
            samples,
        };
        let mut failed = false;
        for a in self.analyzers {
            let run = catch_unwind(AssertUnwindSafe(|| a.analyze(&input, out)));
            if let Err(panic) = run {
                let msg = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("analyzer panicked");
                push_error(text, format_args!("{}: {msg}", a.name()));
                failed = true;
            }
        }
        if failed {
            Err(())
        } else {
            Ok(())
        }
    }
}

/// Appends `what` to the zone's error text (`; ` between two errors).
fn push_error(text: &mut Option<String>, what: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let t = text.get_or_insert_with(String::new);
    if !t.is_empty() {
        t.push_str("; ");
    }
    let _ = t.write_fmt(what);
}
