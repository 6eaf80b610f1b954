#![doc = include_str!("../README.md")]
// `unsafe` only in kernels::sse2 / avx2 (SIMD loads), allowed there.
#![deny(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature
// say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]

mod analyzer;
pub mod analyzers;
pub mod detections;
pub mod events;
mod json;
mod kernels;
pub mod mask;
mod metrics;
pub mod model;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod pipeline;
pub mod record;
pub mod sink;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use memview_capture::FrameLease;
use memview_pixel::{PixelFormat, Rect};
use rayon::prelude::*;

pub use crate::analyzer::{
    Analyzer, AnyOutput, BoxedAnalyzer, Fields, FrameInfo, Output, Zone, ZoneInput,
};
pub use crate::metrics::{LatencyHistogram, Percentiles};

/// Why a runner could not be built or changed.
#[derive(Debug)]
pub struct RunnerError(String);

impl RunnerError {
    pub(crate) fn new(s: impl Into<String>) -> RunnerError {
        RunnerError(s.into())
    }
}

impl std::fmt::Display for RunnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunnerError {}

/// The most zones a runner takes (a budget: each zone has preallocated
/// outputs, about 2 KiB for the histogram, and every zone is cut from
/// every frame).
pub const MAX_ZONES: usize = 4096;

/// The most analysis threads a runner starts (a budget: rayon gives each a
/// stack, and more threads than cores only add switching).
pub const MAX_THREADS: usize = 256;

/// The longest zone id or name, in bytes.
pub const MAX_ZONE_ID: usize = 256;

/// The most frames a runner holds at once: the frame it is processing and
/// the previous one, kept for motion. Give it as the capture's
/// `consumer_holds` (`memview_capture::CaptureOptions`), so the pool
/// feeding the runner never waits for a frame the runner holds.
pub const FRAMES_HELD: usize = 2;

/// One zone's place in the runner: the zone, its outputs and its error.
#[derive(Debug)]
struct Slot {
    zone: Zone,
    /// The rectangle covered in the last frame (snapped to the chroma
    /// grid).
    effective: Rect,
    /// The last frame's error, if the zone failed (the string is kept and
    /// reused).
    error: Option<String>,
    failed: bool,
    /// One per analyzer, in the runner's order.
    outputs: Vec<Box<dyn AnyOutput>>,
}

/// The rayon threads runners analyse zones on: one runner's own, or one
/// shared by the runners of several streams ([`RoiRunner::with_pool`]).
#[derive(Clone, Debug)]
pub struct AnalysisPool(std::sync::Arc<rayon::ThreadPool>);

impl AnalysisPool {
    /// A pool of `threads` threads (0: one per core; at most
    /// [`MAX_THREADS`]), every one started before this returns.
    pub fn new(threads: usize) -> Result<AnalysisPool, RunnerError> {
        if threads > MAX_THREADS {
            return Err(RunnerError(format!(
                "{threads} analysis threads is more than the {MAX_THREADS} a runner starts"
            )));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("memview-roi-{i}"))
            .build()
            .map_err(|e| RunnerError(format!("cannot start {threads} threads: {e}")))?;
        // Every worker runs once before the first frame: a thread that the
        // OS starts late would otherwise do its start-up allocations in the
        // middle of the stream, where none belong.
        pool.broadcast(|_| ());
        Ok(AnalysisPool(std::sync::Arc::new(pool)))
    }

    /// Its threads.
    pub fn threads(&self) -> usize {
        self.0.current_num_threads()
    }
}

fn too_many_zones(n: usize) -> RunnerError {
    RunnerError(format!(
        "{n} zones is more than the {MAX_ZONES} a runner takes"
    ))
}

/// Zones x analyzers per frame, in parallel.
pub struct RoiRunner {
    slots: Vec<Slot>,
    /// Removed zones' slots, kept for the next zone added (their outputs
    /// and strings are reused).
    spare: Vec<Slot>,
    analyzers: Vec<BoxedAnalyzer>,
    /// The format the outputs were made for, and why the analyzers cannot
    /// read it (if they cannot).
    format: &'static PixelFormat,
    refused: Option<String>,
    info: FrameInfo,
    previous: Option<FrameLease>,
    pool: AnalysisPool,
    /// The pool is shared with other runners ([`RoiRunner::with_pool`]).
    shared: bool,
    latency: LatencyHistogram,
    frames: u64,
    /// The model run on the zones' tensors once per frame, if one is set;
    /// its outputs are the last of each zone's outputs.
    model: Option<model::ModelStage>,
}

impl std::fmt::Debug for RoiRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoiRunner")
            .field(
                "zones",
                &self.slots.iter().map(|s| &s.zone).collect::<Vec<_>>(),
            )
            .field("analyzers", &self.names())
            .field("threads", &self.pool.threads())
            .field("frames", &self.frames)
            .finish()
    }
}

/// `analyzers` less those whose fields another one of them writes in the
/// same pass ([`Analyzer::also_computes`]), in their order.
pub fn fuse(mut analyzers: Vec<BoxedAnalyzer>) -> Vec<BoxedAnalyzer> {
    // One at a time, so two analyzers that cover each other keep one.
    while let Some(i) = (0..analyzers.len()).find(|&i| {
        let name = analyzers[i].name();
        analyzers.iter().enumerate().any(|(j, b)| {
            j != i && (b.also_computes().contains(&name) || (j < i && b.name() == name))
        })
    }) {
        analyzers.remove(i);
    }
    analyzers
}

fn check_zone(zone: &Zone) -> Result<(), RunnerError> {
    if zone.id.is_empty() || zone.id.len() > MAX_ZONE_ID || zone.name.len() > MAX_ZONE_ID {
        return Err(RunnerError::new(format!(
            "zone id {:?}: ids are 1 to {MAX_ZONE_ID} bytes, names at most {MAX_ZONE_ID}",
            zone.id
        )));
    }
    if zone.rect.w == 0 || zone.rect.h == 0 {
        return Err(RunnerError::new(format!(
            "zone {:?} is empty ({}x{}): a zone needs a width and a height of at least 1",
            zone.id, zone.rect.w, zone.rect.h
        )));
    }
    Ok(())
}

impl RoiRunner {
    /// A runner on its own rayon pool of `threads` threads (0: one per
    /// core). An analyzer whose fields another one already writes in the
    /// same pass ([`Analyzer::also_computes`]: the histogram gives the mean
    /// and variance) is not run twice, nor is one given twice.
    pub fn new(
        zones: Vec<Zone>,
        analyzers: Vec<BoxedAnalyzer>,
        threads: usize,
    ) -> Result<RoiRunner, RunnerError> {
        if zones.len() > MAX_ZONES {
            return Err(too_many_zones(zones.len()));
        }
        let pool = AnalysisPool::new(threads)?;
        let mut runner = RoiRunner::with_pool(zones, analyzers, &pool)?;
        runner.shared = false;
        Ok(runner)
    }

    /// A runner on a pool other runners share: one per stream, every zone
    /// of every stream analysed on the same threads. Each stream's loop
    /// then runs on a thread of its own ([`RoiRunner::run`] does not move
    /// it into the pool, where loops would occupy the threads).
    pub fn with_pool(
        zones: Vec<Zone>,
        analyzers: Vec<BoxedAnalyzer>,
        pool: &AnalysisPool,
    ) -> Result<RoiRunner, RunnerError> {
        if zones.len() > MAX_ZONES {
            return Err(too_many_zones(zones.len()));
        }
        let analyzers = fuse(analyzers);
        let format = &memview_pixel::format::I420;
        let mut runner = RoiRunner {
            slots: Vec::with_capacity(zones.len()),
            spare: Vec::new(),
            analyzers,
            format,
            refused: None,
            info: FrameInfo::default(),
            previous: None,
            pool: pool.clone(),
            shared: true,
            latency: LatencyHistogram::new(),
            frames: 0,
            model: None,
        };
        runner.refused = runner.refusal(format);
        for z in zones {
            runner.add_zone(z)?;
        }
        Ok(runner)
    }

    /// The analyzers' names, in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.analyzers.iter().map(BoxedAnalyzer::name).collect()
    }

    /// The analyzers, in the order they run (and their outputs appear).
    pub fn analyzers(&self) -> &[BoxedAnalyzer] {
        &self.analyzers
    }

    /// The zones, in order.
    pub fn zones(&self) -> impl ExactSizeIterator<Item = &Zone> + '_ {
        self.slots.iter().map(|s| &s.zone)
    }

    /// The number of zones.
    pub fn zone_count(&self) -> usize {
        self.slots.len()
    }

    /// The zone with id `id`, if there is one.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.position(id).map(|i| &self.slots[i].zone)
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| &*s.zone.id == id)
    }

    /// Moves zone `id` (detections move between frames); `false` if there
    /// is none.
    pub fn move_zone(&mut self, id: &str, rect: Rect) -> bool {
        match self.position(id) {
            Some(i) => self.move_zone_at(i, rect),
            None => false,
        }
    }

    /// Moves the `i`th zone.
    pub fn move_zone_at(&mut self, i: usize, rect: Rect) -> bool {
        match self.slots.get_mut(i) {
            Some(s) => {
                s.zone.rect = rect;
                true
            }
            None => false,
        }
    }

    /// Adds a zone at the end. Its outputs are made now (or a removed
    /// zone's reused); refused past [`MAX_ZONES`], for an id already in
    /// use, an empty id or an empty rectangle.
    pub fn add_zone(&mut self, zone: Zone) -> Result<(), RunnerError> {
        if self.slots.len() >= MAX_ZONES {
            return Err(RunnerError(format!(
                "a runner takes at most {MAX_ZONES} zones"
            )));
        }
        check_zone(&zone)?;
        if self.position(&zone.id).is_some() {
            return Err(RunnerError(format!(
                "two zones have the id {:?}: ids must be unique",
                zone.id
            )));
        }
        let slot = match self.spare.pop() {
            Some(mut s) => {
                s.zone = zone;
                s.failed = false;
                for o in &mut s.outputs {
                    o.reset();
                }
                s
            }
            None => Slot {
                outputs: self.new_outputs(self.format),
                zone,
                effective: Rect::new(0, 0, 0, 0),
                error: None,
                failed: false,
            },
        };
        self.slots.push(slot);
        Ok(())
    }

    /// A zone's outputs for frames of `format`: one per analyzer, then the
    /// model's.
    fn new_outputs(&self, format: &'static PixelFormat) -> Vec<Box<dyn AnyOutput>> {
        self.analyzers
            .iter()
            .map(|a| a.output(format))
            .chain(self.model.as_ref().map(model::ModelStage::output))
            .collect()
    }

    /// Runs `model` once per frame on the batch of the zones' tensors (the
    /// runner's [`model::Tensor`] analyzer makes them), after the
    /// analyzers; its outputs become the last of each zone's outputs.
    /// Refused without a tensor analyzer, or if the model takes tensors of
    /// another size.
    pub fn set_model(&mut self, model: Box<dyn model::Model>) -> Result<(), RunnerError> {
        let Some((i, slot)) = self.analyzers.iter().enumerate().find_map(|(i, a)| {
            let o = a.output(self.format);
            let t = o.as_any().downcast_ref::<model::TensorOut>()?;
            Some((i, t.data.len()))
        }) else {
            return Err(RunnerError::new(format!(
                "model {}: the runner has no tensor analyzer to feed it",
                model.name()
            )));
        };
        if let Some(n) = model.input_len().filter(|&n| n != slot) {
            return Err(RunnerError::new(format!(
                "model {} takes {n} values per zone, the tensors have {slot}",
                model.name()
            )));
        }
        let stage = model::ModelStage::new(model, i, slot);
        let had = self.model.is_some();
        for s in self.slots.iter_mut().chain(&mut self.spare) {
            if had {
                s.outputs.pop();
            }
            s.outputs.push(stage.output());
        }
        self.model = Some(stage);
        Ok(())
    }

    /// Removes zone `id`, keeping its outputs for the next zone added.
    pub fn remove_zone(&mut self, id: &str) -> Option<Zone> {
        let i = self.position(id)?;
        let slot = self.slots.remove(i);
        let zone = slot.zone.clone();
        self.spare.push(slot);
        Some(zone)
    }

    /// Removes every zone.
    pub fn clear_zones(&mut self) {
        self.spare.append(&mut self.slots);
    }

    /// Why the analyzers cannot read `format`, if one cannot.
    fn refusal(&self, format: &'static PixelFormat) -> Option<String> {
        self.analyzers.iter().find_map(|a| {
            a.check(format)
                .err()
                .map(|why| format!("{}: {why}", a.name()))
        })
    }

    /// Prepares the runner for frames of `format`: every analyzer is asked
    /// whether it can read them (the first refusal is the error, with its
    /// reason), and each zone's outputs are made for that format. Call it
    /// when a stream starts, to refuse a format up front rather than per
    /// zone; [`RoiRunner::process`] calls it when the format changes.
    pub fn check_format(&mut self, format: &'static PixelFormat) -> Result<(), RunnerError> {
        if !std::ptr::eq(format, self.format) {
            self.format = format;
            self.refused = self.refusal(format);
            let fresh: Vec<_> = (0..self.slots.len() + self.spare.len())
                .map(|_| self.new_outputs(format))
                .collect();
            for (s, o) in self.slots.iter_mut().chain(&mut self.spare).zip(fresh) {
                s.outputs = o;
            }
        }
        match &self.refused {
            Some(why) => Err(RunnerError(why.clone())),
            None => Ok(()),
        }
    }

    /// Threads in the runner's pool.
    pub fn threads(&self) -> usize {
        self.pool.threads()
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
    /// a stream. A runner on a shared pool ([`RoiRunner::with_pool`])
    /// runs `body` where it is called, and each frame's work is handed to
    /// the pool.
    pub fn run<T: Send>(&mut self, body: impl FnOnce(&mut RoiRunner) -> T + Send) -> T {
        if self.shared {
            return body(self);
        }
        let pool = self.pool.0.clone();
        pool.install(|| body(self))
    }

    /// Analyses every zone of `frame` with every analyzer, in parallel, and
    /// returns the frame's results, zones in order. The frame is kept as
    /// the previous frame for motion until the next call.
    pub fn process(&mut self, frame: FrameLease) -> FrameResults<'_> {
        let start = Instant::now();
        {
            let cur = frame.frame();
            // Only a change of format allocates (new outputs).
            let _ = self.check_format(cur.format());
            self.info = FrameInfo {
                seq: frame.seq(),
                pts: frame.timestamp(),
                width: cur.width(),
                height: cur.height(),
                format: cur.format(),
            };
            let job = FrameJob {
                cur,
                prev: self
                    .previous
                    .as_ref()
                    .map(FrameLease::frame)
                    .filter(|p| std::ptr::eq(p.format(), cur.format())),
                info: &self.info,
                refused: self.refused.as_deref(),
                analyzers: &self.analyzers,
            };
            let slots = &mut self.slots;
            self.pool.0.install(|| {
                slots.par_iter_mut().for_each(|slot| job.analyze_zone(slot));
            });
            if let Some(m) = &mut self.model {
                m.run(&mut self.slots);
            }
        }
        self.previous = Some(frame);
        self.frames += 1;
        self.latency.record(start.elapsed());
        self.results()
    }

    /// The last frame's results.
    pub fn results(&self) -> FrameResults<'_> {
        FrameResults {
            info: &self.info,
            slots: &self.slots,
            analyzers: &self.analyzers,
            model: self.model.as_ref().map(|m| m.model.name()),
        }
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
    info: &'a FrameInfo,
    /// Why the analyzers cannot read the frame's format, if they cannot.
    refused: Option<&'a str>,
    analyzers: &'a [BoxedAnalyzer],
}

impl FrameJob<'_, '_> {
    /// One zone: every analyzer, panics caught. A zone that fails (out of
    /// the frame, an unreadable format, a panicking analyzer) reports only
    /// its error: its outputs are reset, never left holding the previous
    /// frame's numbers. A zone that fails frame after frame writes each
    /// error into the same string (no allocation per frame).
    fn analyze_zone(&self, slot: &mut Slot) {
        let mut text = slot.error.take();
        if let Some(t) = text.as_mut() {
            t.clear();
        }
        slot.failed = self.run_zone(slot, &mut text).is_err();
        if slot.failed {
            for o in &mut slot.outputs {
                o.reset();
            }
        }
        slot.error = text;
    }

    fn run_zone(&self, slot: &mut Slot, text: &mut Option<String>) -> Result<(), ()> {
        if let Some(why) = self.refused {
            push_error(text, format_args!("{why}"));
            return Err(());
        }
        let roi = self.cur.roi_ref(slot.zone.rect).map_err(|e| {
            push_error(text, format_args!("{e}"));
        })?;
        slot.effective = roi.effective();
        let input = ZoneInput {
            roi,
            previous: self.prev.and_then(|p| p.roi_ref(slot.zone.rect).ok()),
            zone: &slot.zone,
            frame: self.info,
        };
        let mut failed = false;
        for (a, out) in self.analyzers.iter().zip(&mut slot.outputs) {
            let run = catch_unwind(AssertUnwindSafe(|| a.analyze(&input, out.as_mut())));
            match run {
                Ok(true) => {
                    if let Some(why) = out.error() {
                        push_error(text, format_args!("{}: {why}", a.name()));
                        failed = true;
                    }
                }
                Ok(false) => {
                    push_error(text, format_args!("{}: output of another type", a.name()));
                    failed = true;
                }
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("analyzer panicked");
                    push_error(text, format_args!("{}: {msg}", a.name()));
                    failed = true;
                }
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
pub(crate) fn push_error(text: &mut Option<String>, what: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let t = text.get_or_insert_with(String::new);
    if !t.is_empty() {
        t.push_str("; ");
    }
    let _ = t.write_fmt(what);
}

/// One frame's results: a report per zone, in zone order.
#[derive(Clone, Copy, Debug)]
pub struct FrameResults<'r> {
    info: &'r FrameInfo,
    slots: &'r [Slot],
    analyzers: &'r [BoxedAnalyzer],
    model: Option<&'static str>,
}

impl<'r> FrameResults<'r> {
    /// The frame the results are for.
    pub fn frame(&self) -> &'r FrameInfo {
        self.info
    }

    /// The number of zones.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `i`th zone's report.
    pub fn zone(&self, i: usize) -> Option<ZoneReport<'r>> {
        let slot = self.slots.get(i)?;
        Some(ZoneReport {
            slot,
            analyzers: self.analyzers,
            model: self.model,
        })
    }

    /// Every zone's report, in zone order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ZoneReport<'r>> + 'r {
        let (analyzers, model) = (self.analyzers, self.model);
        self.slots.iter().map(move |slot| ZoneReport {
            slot,
            analyzers,
            model,
        })
    }

    /// Zones that failed this frame.
    pub fn errors(&self) -> usize {
        self.slots.iter().filter(|s| s.failed).count()
    }
}

/// One zone's results for one frame.
#[derive(Clone, Copy, Debug)]
pub struct ZoneReport<'r> {
    slot: &'r Slot,
    analyzers: &'r [BoxedAnalyzer],
    model: Option<&'static str>,
}

impl<'r> ZoneReport<'r> {
    /// The zone: id, name, rectangle asked for.
    pub fn zone(&self) -> &'r Zone {
        &self.slot.zone
    }

    /// The rectangle analysed (on the chroma grid).
    pub fn effective(&self) -> Rect {
        self.slot.effective
    }

    /// Why the zone failed this frame, if it did (its outputs are reset).
    pub fn error(&self) -> Option<&'r str> {
        if self.slot.failed {
            self.slot.error.as_deref()
        } else {
            None
        }
    }

    /// Each analyzer's name and output, in the runner's order, then the
    /// model's.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = (&'static str, &'r dyn AnyOutput)> {
        let names: smallvec::SmallVec<[&'static str; 8]> = self
            .analyzers
            .iter()
            .map(BoxedAnalyzer::name)
            .chain(self.model)
            .collect();
        names
            .into_iter()
            .zip(self.slot.outputs.iter().map(|o| &**o))
    }

    pub(crate) fn raw_outputs(&self) -> &'r [Box<dyn AnyOutput>] {
        &self.slot.outputs
    }

    /// The output of type `O`, if an analyzer of the runner writes one.
    pub fn get<O: Output>(&self) -> Option<&'r O> {
        self.slot
            .outputs
            .iter()
            .find_map(|o| o.as_any().downcast_ref::<O>())
    }

    /// The value of the scalar field `name` (`"mean"`, `"motion"`), from
    /// whichever analyzer writes it.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        analyzer::scalar(&self.slot.outputs, name)
    }
}
