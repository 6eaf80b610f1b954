//! The run loop `memview run` drives, for every front end: frames from a
//! [`Capture`], zones moved by a tracker or a detector, the runner, motion
//! events, result records to the writer thread, an optional per-frame hook
//! (the mask writer), and a report of what the run cost.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use memview_capture::{Capture, FrameLease, FrameSource, Synthetic, Y4mHeader};
use memview_pixel::{FrameLayout, Rect};

use crate::detections::Detections;
use crate::events::MotionEvents;
use crate::sink::ResultWriter;
use crate::RoiRunner;

/// An error of the run, as it travels between threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Called with each frame and its zones' rectangles before the frame is
/// analysed (the mask writer).
pub trait FrameHook: Send {
    /// One frame.
    fn frame(&mut self, frame: &FrameLease, zones: &[Rect]) -> Result<(), BoxError>;
}

/// Where zones come from besides the runner's own.
pub enum ZoneFeed {
    /// The runner's zones stay where they are.
    Static,
    /// The first `n` zones follow the synthetic source's boxes (its twin
    /// knows where they are in every frame: a perfect detector).
    Synthetic(Synthetic, usize),
    /// Zones from a detector's JSON Lines.
    Detections(Detections<Box<dyn BufRead + Send>>),
}

impl std::fmt::Debug for ZoneFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ZoneFeed::Static => "Static",
            ZoneFeed::Synthetic(..) => "Synthetic",
            ZoneFeed::Detections(_) => "Detections",
        })
    }
}

/// What a run does besides analysing.
pub struct Pipeline<'a> {
    /// Frames to process (`None`: until the source ends).
    pub frames: Option<u64>,
    /// Where zones come from.
    pub zones: ZoneFeed,
    /// The result writer, if results or events leave the process.
    pub writer: Option<ResultWriter>,
    /// Motion events, if wanted (the runner needs the motion analyzer).
    pub events: Option<MotionEvents>,
    /// Called with each frame before it is analysed.
    pub hook: Option<&'a mut dyn FrameHook>,
    /// Called with the frame count now and then (a progress bar).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Allocations and bytes allocated so far, from a counting allocator:
    /// the report then gives them per frame after the warm-up.
    /// (The writer counts its own: [`WriterOptions::counts`].)
    ///
    /// [`WriterOptions::counts`]: crate::sink::WriterOptions::counts
    pub allocations: Option<fn() -> (usize, usize)>,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("frames", &self.frames)
            .field("zones", &self.zones)
            .field("writer", &self.writer.is_some())
            .field("events", &self.events.is_some())
            .finish()
    }
}

impl Default for Pipeline<'_> {
    fn default() -> Self {
        Pipeline {
            frames: None,
            zones: ZoneFeed::Static,
            writer: None,
            events: None,
            hook: None,
            progress: None,
            allocations: None,
        }
    }
}

/// What a run did and cost.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Frames analysed.
    pub frames: u64,
    /// Wall time of the loop.
    pub elapsed: Duration,
    /// Frames of warm-up left out of the steady-state figures.
    pub warmup: u64,
    /// Frames per second after the warm-up (`None` if the run ended
    /// before it).
    pub steady_fps: Option<f64>,
    /// Allocations and bytes per frame after the warm-up, with a counter.
    pub allocations_per_frame: Option<(f64, f64)>,
    /// The same for the result writer's thread, per record after its own
    /// warm-up ([`crate::sink::Written::per_record`]).
    pub writer_allocations_per_frame: Option<(f64, f64)>,
    /// Zone failures, summed over frames.
    pub zone_errors: u64,
    /// The last frame's mean luma over its zones.
    pub mean_luma: f64,
    /// The last frame's summed motion (SAD).
    pub motion: u64,
    /// Result records the writer could not take (dropped, counted).
    pub result_records_dropped: u64,
    /// Result records the sinks wrote.
    pub result_records_written: u64,
    /// Motion events raised.
    pub events: u64,
    /// Motion events dropped (more than [`crate::events::MAX_PENDING`]
    /// waited for a record).
    pub events_dropped: u64,
    /// Why the run stopped early: the source failed, a detection line was
    /// bad, the hook failed.
    pub error: Option<BoxError>,
    /// Why writing results failed, if it did.
    pub sink_error: Option<io::Error>,
}

/// Runs the pipeline until the source ends, the frame count is reached,
/// the capture is stopped (a signal), or something fails; results and
/// events written so far are flushed before it returns.
pub fn run(capture: &Capture, runner: &mut RoiRunner, mut p: Pipeline<'_>) -> RunReport {
    let limit = p.frames.filter(|&n| n > 0);
    let warmup = warmup(limit);
    let counts = p.allocations;
    let start = Instant::now();
    let mut report = RunReport {
        warmup,
        ..RunReport::default()
    };
    let mut allocs_at = counts.map(|f| f());
    let mut steady_start = start;
    let mut rects: Vec<Rect> = Vec::with_capacity(runner.zone_count());
    let mut events_seen = 0u64;
    let looped: Result<(), BoxError> = runner.run(|runner| {
        while limit.is_none_or(|l| report.frames < l) {
            let Some(frame) = capture.recv() else { break };
            let frame = frame?;
            let layout: &FrameLayout = frame.layout();
            let (w, h) = (layout.width(), layout.height());
            match &mut p.zones {
                ZoneFeed::Static => {}
                ZoneFeed::Synthetic(t, n) => {
                    while t.next_seq() < frame.seq() {
                        t.skip()?;
                    }
                    t.boxes_into(&mut rects);
                    rects.truncate(*n);
                    for (i, r) in rects.iter().enumerate() {
                        runner.move_zone_at(i, *r);
                    }
                    t.skip()?;
                }
                ZoneFeed::Detections(d) => d.apply(frame.seq(), runner, w, h)?,
            }
            if let Some(hook) = p.hook.as_deref_mut() {
                rects.clear();
                rects.extend(runner.zones().map(|z| z.rect));
                hook.frame(&frame, &rects)?;
            }
            let results = runner.process(frame);
            report.frames += 1;
            if report.frames == warmup {
                allocs_at = counts.map(|f| f());
                steady_start = Instant::now();
            }
            let n = results.len().max(1) as f64;
            report.mean_luma = results.iter().filter_map(|z| z.scalar("mean")).sum::<f64>() / n;
            report.motion = results
                .iter()
                .filter_map(|z| z.scalar("motion"))
                .sum::<f64>() as u64;
            report.zone_errors += results.errors() as u64;
            if let Some(ev) = p.events.as_mut() {
                ev.update(&results);
            }
            if let Some(wr) = p.writer.as_mut() {
                if report.frames == 1 {
                    wr.prepare(|rec| rec.fill(&results));
                }
                let events = p.events.as_mut();
                let pending = events.as_ref().map_or(&[][..], |e| e.pending());
                let sent = wr.push(|rec| {
                    rec.fill(&results);
                    rec.push_events(pending);
                });
                if sent {
                    if let Some(e) = events {
                        events_seen += e.pending().len() as u64;
                        e.clear_pending();
                    }
                }
                if wr.failed() {
                    break;
                }
            }
            if let Some(f) = p.progress.filter(|_| report.frames.is_multiple_of(16)) {
                f(report.frames);
            }
        }
        Ok(())
    });
    // Counted the moment the loop ends: the capture thread may still be
    // winding down (a frame in flight, the closed queue), which is not the
    // per-frame steady state.
    let allocs_end = counts.map(|f| f());
    report.elapsed = start.elapsed();
    report.error = looped.err();
    let steady = report.frames.saturating_sub(warmup).max(1);
    if report.frames > warmup {
        report.steady_fps = Some(steady as f64 / steady_start.elapsed().as_secs_f64().max(1e-9));
        report.allocations_per_frame = per_frame(allocs_at, allocs_end, steady);
    }
    // Episodes in progress end with the stream; the last events leave in
    // a record of their own, waited for.
    if let Some(ev) = p.events.as_mut() {
        ev.finish(runner.results().frame());
        report.events_dropped = ev.dropped();
    }
    if let Some(mut wr) = p.writer.take() {
        if let Some(ev) = p.events.as_mut().filter(|e| !e.pending().is_empty()) {
            if wr.push_waiting(|rec| rec.events_only(ev.pending())) {
                events_seen += ev.pending().len() as u64;
                ev.clear_pending();
            }
        }
        report.result_records_dropped = wr.dropped();
        match wr.finish() {
            Ok(w) => {
                report.result_records_written = w.records;
                report.writer_allocations_per_frame = w.per_record();
            }
            Err(e) => report.sink_error = Some(e),
        }
    }
    report.events = events_seen;
    report
}

/// Frames of warm-up [`run`] leaves out of the steady-state figures for a
/// run of `frames` (`None`: no limit): 10, or a quarter of a short run.
/// A [`ResultWriter`] counting its allocations would skip as many records
/// ([`WriterOptions::warmup`]).
///
/// [`WriterOptions::warmup`]: crate::sink::WriterOptions::warmup
pub fn warmup(frames: Option<u64>) -> u64 {
    frames.map_or(10, |l| 10u64.min(l / 4))
}

/// Allocations and bytes per frame between two counts, over `frames`.
fn per_frame(
    at: Option<(usize, usize)>,
    end: Option<(usize, usize)>,
    frames: u64,
) -> Option<(f64, f64)> {
    let (a, b) = (at?, end?);
    Some((
        b.0.saturating_sub(a.0) as f64 / frames as f64,
        b.1.saturating_sub(a.1) as f64 / frames as f64,
    ))
}

/// The `--mask` output: each frame copied, its zones pixelated in place in
/// parallel, written as Y4M to any writer.
#[derive(Debug)]
pub struct MaskWriter<W> {
    out: W,
    buf: Vec<u8>,
    layout: FrameLayout,
    block: usize,
}

impl<W: Write + Send> MaskWriter<W> {
    /// A writer of `layout`'s frames (written tight) to `out`, pixelated in
    /// blocks of `block` pixels; the stream header is `header`'s where the
    /// source has one (frame rate, interlacing, aspect, colour space with
    /// its chroma siting, range), 60 fps progressive otherwise.
    pub fn new(
        mut out: W,
        layout: &FrameLayout,
        header: Option<&Y4mHeader>,
        block: usize,
    ) -> Result<MaskWriter<W>, BoxError> {
        let tag = layout
            .format()
            .y4m
            .ok_or("--mask writes Y4M, which cannot carry this pixel format")?;
        let tight = FrameLayout::tight(layout.format(), layout.width(), layout.height())?;
        let line = match header {
            Some(h) => h.to_line(layout.width(), layout.height()),
            None => format!(
                "YUV4MPEG2 W{} H{} F60:1 Ip A1:1 C{tag}\n",
                layout.width(),
                layout.height()
            ),
        };
        let mut buf = Vec::new();
        buf.try_reserve_exact(tight.len())
            .map_err(|_| format!("cannot reserve {} bytes for the mask buffer", tight.len()))?;
        buf.resize(tight.len(), 0);
        out.write_all(line.as_bytes())?;
        Ok(MaskWriter {
            out,
            buf,
            layout: tight,
            block,
        })
    }

    /// The writer, flushed.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write + Send> FrameHook for MaskWriter<W> {
    fn frame(&mut self, frame: &FrameLease, zones: &[Rect]) -> Result<(), BoxError> {
        let masked = (|| -> Result<(), BoxError> {
            frame.frame().copy_to(&mut self.buf)?;
            let mut f = memview_pixel::FrameMut::from_bytes(&mut self.buf, &self.layout)?;
            crate::mask::mask_all(&mut f, zones, self.block)?;
            self.out.write_all(b"FRAME\n")?;
            self.out.write_all(&self.buf)?;
            Ok(())
        })();
        masked.map_err(|e| format!("writing masked frames: {e}").into())
    }
}
