//! `memview run`: the main job. Frames from a source, zones cut out as
//! views, analyzers on rayon, and a summary of what it cost.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use memview_capture::{
    Capture, CaptureOptions, FfmpegSource, FrameSource, Limits, Policy, Synthetic, Y4mHeader,
    Y4mSource,
};
use memview_pixel::format::I420;
use memview_pixel::Rect;
use memview_roi::{analyzers, Analyzer, RoiRunner, Zone};
use serde_json::json;

use crate::alloc;
use crate::output::{FileId, Output};
use crate::signals::Signals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where frames come from: `synthetic`, a `.y4m` file (or FIFO), `-`
    /// (Y4M on stdin), `ffmpeg:INPUT` (anything ffmpeg decodes), or
    /// `v4l2:/dev/videoN` (a camera, zero-copy from the driver's buffers).
    #[arg(long, default_value = "synthetic")]
    source: String,
    /// Frame size of the synthetic source (default 1920x1080), or the size
    /// asked of a V4L2 device (default 640x480; the driver may pick the
    /// nearest it has). Other sources take their size from their header.
    #[arg(long, value_parser = parse_size)]
    size: Option<(usize, usize)>,
    /// The V4L2 pixel format to ask for (a fourcc with a planar luma:
    /// NV12, YU12, GREY, ...; default NV12).
    #[arg(long)]
    pixel_format: Option<String>,
    /// Frame rate to ask of a V4L2 device, frames per second.
    #[arg(long)]
    fps: Option<u32>,
    /// A zone `x,y,w,h` (repeatable); without any, `--zones` zones.
    #[arg(long = "zone", value_parser = parse_rect)]
    zone: Vec<Rect>,
    /// How many zones when none is given (default 10, at most 4096): the
    /// synthetic source's moving objects, or a grid over other sources'
    /// frames.
    #[arg(long, conflicts_with = "zone", value_parser = clap::value_parser!(u64).range(1..=memview_roi::MAX_ZONES as u64))]
    zones: Option<u64>,
    /// Analyzers, comma-separated: mean, histogram, motion, edges.
    #[arg(long, default_value = "mean,histogram,motion")]
    analyzers: String,
    /// Frames to process (the source may end sooner); 0: until the source
    /// ends.
    #[arg(long, default_value_t = 600)]
    frames: u64,
    /// Analysis threads (0: one per core; at most 256).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=memview_roi::MAX_THREADS as u64))]
    threads: u64,
    /// Pace the synthetic source at 60 frames/s and keep only the latest
    /// frame when analysis falls behind.
    #[arg(long)]
    realtime: bool,
    #[command(flatten)]
    input: crate::crop::InputArgs,
    /// Print one JSON object with the summary on the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Pixelate every zone (in parallel, in place in a copy of each frame)
    /// and write the masked frames to `-o`.
    #[arg(long, requires = "output")]
    mask: bool,
    /// Where `--mask` writes its Y4M stream (never over the input; a
    /// regular file appears only once it holds frames).
    #[arg(short = 'o', long, requires = "mask")]
    output: Option<String>,
}

/// The pool: the runner holds up to two frames (the frame and the previous
/// one), the queue two, and under `--realtime` one more is free for the
/// newest frame.
fn pool_options(args: &Args, limits: Limits) -> CaptureOptions {
    let policy = if args.realtime {
        Policy::KeepLatest
    } else {
        Policy::Block
    };
    let holds = memview_roi::FRAMES_HELD;
    CaptureOptions {
        buffers: policy.min_buffers(holds).max(3),
        queue: 2,
        policy,
        consumer_holds: holds,
        limits: Limits {
            max_pool_bytes: limits.max_frame_bytes.saturating_mul(4),
            ..limits
        },
    }
}

impl Args {
    fn limits(&self) -> Result<Limits, String> {
        self.input.limits()
    }

    /// Refuses flags that do nothing for this source, rather than ignoring
    /// them.
    fn check_applies(&self, kind: SourceKind) -> Result<(), String> {
        let only = |flag: &str, given: bool, ok: bool, to: &str| {
            if given && !ok {
                Err(format!(
                    "{flag} applies only to {to} sources, not to {}",
                    self.source
                ))
            } else {
                Ok(())
            }
        };
        only(
            "--size",
            self.size.is_some(),
            matches!(kind, SourceKind::Synthetic | SourceKind::V4l2),
            "synthetic and v4l2:",
        )?;
        only(
            "--pixel-format",
            self.pixel_format.is_some(),
            kind == SourceKind::V4l2,
            "v4l2:",
        )?;
        only(
            "--fps",
            self.fps.is_some(),
            kind == SourceKind::V4l2,
            "v4l2:",
        )?;
        only(
            "--realtime",
            self.realtime,
            kind == SourceKind::Synthetic,
            "synthetic",
        )?;
        Ok(())
    }

    fn zone_count(&self) -> usize {
        self.zones.map_or(10, |n| n as usize)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceKind {
    Synthetic,
    Ffmpeg,
    V4l2,
    Y4m,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s.split_once('x').ok_or("size must be WxH")?;
    let side = |v: &str, what: &str| -> Result<usize, String> {
        let n: usize = v.parse().map_err(|_| format!("bad {what} {v:?}"))?;
        if n == 0 || n > memview_pixel::MAX_DIMENSION {
            return Err(format!(
                "{what} {n} is not 1 to {}",
                memview_pixel::MAX_DIMENSION
            ));
        }
        Ok(n)
    };
    Ok((side(w, "width")?, side(h, "height")?))
}

pub(crate) fn parse_rect(s: &str) -> Result<Rect, String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad zone {s:?}: expected x,y,w,h"))
        })
        .collect::<Result<_, _>>()?;
    match v[..] {
        [_, _, 0, _] | [_, _, _, 0] => Err(format!(
            "empty zone {s:?}: a zone needs a width and a height of at least 1"
        )),
        [x, y, w, h] => Ok(Rect::new(x, y, w, h)),
        _ => Err(format!("bad zone {s:?}: expected x,y,w,h")),
    }
}

/// A grid of `n` zones of up to 200x200 over a `w x h` frame, or why `n`
/// zones do not fit.
fn grid(n: usize, w: usize, h: usize) -> Result<Vec<Rect>, String> {
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(cols).max(1);
    let (cw, ch) = (w / cols, h / rows);
    if cw == 0 || ch == 0 {
        return Err(format!(
            "{n} zones do not fit a {w}x{h} frame as a {cols}x{rows} grid"
        ));
    }
    let (zw, zh) = (cw.min(200), ch.min(200));
    Ok((0..n)
        .map(|i| {
            Rect::new(
                (i % cols) * cw + (cw - zw) / 2,
                (i / cols) * ch + (ch - zh) / 2,
                zw,
                zh,
            )
        })
        .collect())
}

/// The zones: the user's, each checked against the frame, or a grid.
fn zones_for(args: &Args, l: &memview_pixel::FrameLayout) -> Result<Vec<Rect>, String> {
    if args.zone.is_empty() {
        return grid(args.zone_count(), l.width(), l.height());
    }
    for z in &args.zone {
        let inside = z.x.checked_add(z.w).is_some_and(|e| e <= l.width())
            && z.y.checked_add(z.h).is_some_and(|e| e <= l.height());
        if !inside {
            return Err(format!(
                "zone {},{},{},{} leaves the {}x{} frame",
                z.x,
                z.y,
                z.w,
                z.h,
                l.width(),
                l.height()
            ));
        }
    }
    Ok(args.zone.clone())
}

/// What a run needs to know of its source besides its frames.
struct SourceInfo<'a> {
    label: String,
    /// The stream header, for the mask output (rate, interlacing, aspect,
    /// colour space and range carried over).
    header: Option<Y4mHeader>,
    /// The input's file, so no output overwrites it.
    input: Option<FileId>,
    tracker: Option<Synthetic>,
    /// Frames the source lost before the pool saw them (a camera's
    /// sequence gaps).
    source_drops: Option<&'a dyn Fn() -> u64>,
}

fn run_source<S: FrameSource + 'static>(
    args: &Args,
    source: S,
    zones: Vec<Rect>,
    info: SourceInfo<'_>,
    signals: &Signals,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let SourceInfo {
        label,
        header,
        input,
        mut tracker,
        source_drops,
    } = info;
    let label = label.as_str();
    let analyzers: Vec<Box<dyn Analyzer>> = args
        .analyzers
        .split(',')
        .map(|n| {
            analyzers::by_name(n.trim())
                .ok_or_else(|| format!("unknown analyzer {n:?} (mean, histogram, motion, edges)"))
        })
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = analyzers.iter().map(|a| a.name()).collect();
    let capture_layout = source.layout().clone();
    RoiRunner::check_format(capture_layout.format()).map_err(|e| format!("{label}: {e}"))?;
    let zones: Vec<Zone> = zones
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("zone{i}"), r))
        .collect();
    let nzones = zones.len();
    let mut runner = RoiRunner::new(zones, analyzers, args.threads as usize)?;
    let capture = Capture::with_options(source, pool_options(args, args.limits()?))?;
    signals.stop_on_signal(capture.stopper());
    // Outputs only once the stream is running: a run refused before it
    // leaves nothing behind.
    let mut masked = MaskOut::new(args, &capture_layout, header.as_ref(), input)?;
    // A progress bar on a terminal. Drawing it allocates; that is not the
    // pipeline's doing, so it is left out of the allocation counts.
    let limit = (args.frames > 0).then_some(args.frames);
    let bar = io::stderr().is_terminal().then(|| {
        alloc::uncounted(|| {
            let bar = ProgressBar::new(limit.unwrap_or(0));
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} frames, {per_sec}, eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        })
    });
    let warmup = limit.map_or(10, |l| 10u64.min(l / 4));
    let start = Instant::now();
    let (mut allocs_at, mut steady_start) = (alloc::counts(), start);
    let mut frames = 0u64;
    let (mut mean_luma, mut motion) = (0.0f64, 0u64);
    let mut zone_errors = 0u64;
    let mut rects: Vec<Rect> = runner.zones().iter().map(|z| z.rect).collect();
    let loop_result: Result<(), Box<dyn std::error::Error + Send + Sync>> = runner.run(|runner| {
        while limit.is_none_or(|l| frames < l) {
            let Some(frame) = capture.recv() else { break };
            let frame = frame?;
            // Zones follow the synthetic boxes: a perfect detector.
            if let Some(t) = tracker.as_mut() {
                while t.next_seq() < frame.seq() {
                    t.skip()?;
                }
                t.boxes_into(&mut rects);
                rects.truncate(nzones);
                for (i, r) in rects.iter().enumerate() {
                    runner.move_zone(i, *r);
                }
                t.skip()?;
            }
            if let Some(m) = masked.as_mut() {
                m.write(&frame, &rects)
                    .map_err(|e| format!("writing masked frames: {e}"))?;
            }
            let results = runner.process(frame);
            frames += 1;
            if frames == warmup {
                allocs_at = alloc::counts();
                steady_start = Instant::now();
            }
            mean_luma = results.iter().map(|r| r.mean).sum::<f64>() / results.len().max(1) as f64;
            motion = results.iter().map(|r| r.motion).sum();
            zone_errors += results.iter().filter(|r| r.error.is_some()).count() as u64;
            if let Some(bar) = bar.as_ref().filter(|_| frames % 16 == 0) {
                alloc::uncounted(|| bar.set_position(frames));
            }
        }
        Ok(())
    });
    // Counted the moment the loop ends: the capture thread may still be
    // winding down (a frame in flight, the closed queue), which is not the
    // per-frame steady state.
    let (a1, b1) = alloc::counts();
    // A source that fails ends the run: the frames before the fault were
    // analysed, and the summary says so before the error is reported.
    let source_error = loop_result.err();
    let interrupted = signals.received();
    if let Some(bar) = bar {
        alloc::uncounted(|| bar.finish_and_clear());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let steady = frames.saturating_sub(warmup).max(1);
    // Only frames after the warm-up count; a run that ended before it has
    // no steady state to report.
    let measured = frames > warmup;
    let allocs_per_frame = measured.then(|| (a1 - allocs_at.0) as f64 / steady as f64);
    let bytes_per_frame = measured.then(|| (b1 - allocs_at.1) as f64 / steady as f64);
    let steady_fps =
        measured.then(|| steady as f64 / steady_start.elapsed().as_secs_f64().max(1e-9));
    let p = runner.latency().percentiles();
    let stats = capture.stats();
    // Frames the pool's policy dropped, and those the source lost before
    // (a camera driver's sequence gaps).
    let dropped = stats.dropped + source_drops.map_or(0, |f| f());
    // The masked output is named once it holds the frames written: after
    // a fault or a signal too (whole frames only), but not when a run
    // failed before its first frame.
    let mask_error = match masked {
        Some(m) if frames > 0 || source_error.is_none() => m.finish().err(),
        _ => None,
    };
    let summary = json!({
        "frames": frames,
        "seconds": elapsed,
        "fps": frames as f64 / elapsed.max(1e-9),
        "steady_fps": steady_fps,
        "latency_us": {"p50": p.p50, "p95": p.p95, "p99": p.p99, "max": p.max},
        "dropped": dropped,
        "allocations_per_frame": allocs_per_frame,
        "bytes_allocated_per_frame": bytes_per_frame,
        "heap_peak_bytes": alloc::peak(),
        "rss_peak_bytes": alloc::rss_peak(),
        "zones": nzones,
        "zone_errors": zone_errors,
        "threads": runner.threads(),
        "analyzers": names,
        "source": label,
        "last_frame": {"mean_luma": mean_luma, "motion_sad": motion},
        "error": source_error.as_ref().map(ToString::to_string),
        "signal": interrupted.map(Signals::name),
    });
    let printed = print_summary(args, &summary, |out| {
        writeln!(
            out,
            "memview run: {label}, {nzones} zones x {} ({}), {} threads",
            names.len(),
            names.join(", "),
            runner.threads()
        )?;
        let fps = frames as f64 / elapsed.max(1e-9);
        match steady_fps {
            Some(s) => writeln!(
                out,
                "  frames            {frames} in {elapsed:.2} s = {fps:.0} frames/s ({s:.0} after warm-up)"
            )?,
            None => writeln!(out, "  frames            {frames} in {elapsed:.2} s = {fps:.0} frames/s")?,
        }
        writeln!(
            out,
            "  latency per frame p50 {:.0} us, p95 {:.0} us, p99 {:.0} us",
            p.p50, p.p95, p.p99
        )?;
        writeln!(out, "  dropped           {dropped}")?;
        match (allocs_per_frame, bytes_per_frame) {
            (Some(a), Some(b)) => writeln!(
                out,
                "  allocations       {a:.2} per frame after {warmup} warm-up frames ({b:.0} bytes)"
            )?,
            _ => writeln!(
                out,
                "  allocations       n/a: {frames} frames, not past the {warmup} warm-up frames"
            )?,
        }
        writeln!(
            out,
            "  heap peak         {:.1} MiB; RSS peak {}",
            alloc::peak() as f64 / 1048576.0,
            alloc::rss_peak().map_or("n/a".into(), |r| format!("{:.1} MiB", r as f64 / 1048576.0))
        )?;
        if zone_errors > 0 {
            writeln!(out, "  zone errors       {zone_errors}")?;
        }
        if let (Some(path), None) = (args.output.as_deref().filter(|_| args.mask), &mask_error) {
            writeln!(out, "  masked frames     {path}")?;
        }
        if let Some(e) = &source_error {
            writeln!(out, "  stopped by        {e}")?;
        }
        if let Some(sig) = interrupted {
            writeln!(out, "  stopped by        {}", Signals::name(sig))?;
        }
        Ok(())
    });
    if let Some(e) = mask_error {
        return Err(format!("writing masked frames: {e}").into());
    }
    printed?;
    if let Some(e) = source_error {
        return Err(e);
    }
    Ok(signals.exit_code().unwrap_or(ExitCode::SUCCESS))
}

/// Prints the summary (and the JSON line), ending quietly if stdout is
/// closed.
fn print_summary(
    args: &Args,
    summary: &serde_json::Value,
    text: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let r = text(&mut out).and_then(|()| {
        if args.json {
            writeln!(out, "{summary}")?;
        }
        out.flush()
    });
    crate::output::quiet_if_closed(r)
}

/// The `--mask` output: each frame copied, its zones pixelated in place in
/// parallel, written as Y4M.
struct MaskOut {
    out: Output,
    buf: Vec<u8>,
    layout: memview_pixel::FrameLayout,
}

impl MaskOut {
    fn new(
        args: &Args,
        layout: &memview_pixel::FrameLayout,
        header: Option<&Y4mHeader>,
        input: Option<FileId>,
    ) -> Result<Option<MaskOut>, Box<dyn std::error::Error>> {
        let (true, Some(path)) = (args.mask, args.output.as_deref()) else {
            return Ok(None);
        };
        let tag = layout
            .format()
            .y4m
            .ok_or("--mask writes Y4M, which cannot carry this pixel format")?;
        let tight =
            memview_pixel::FrameLayout::tight(layout.format(), layout.width(), layout.height())?;
        let mut out = Output::create(path, &[input])?;
        // The source's own header where it has one (frame rate,
        // interlacing, aspect, colour space with its chroma siting,
        // range); the synthetic source's 60 fps otherwise.
        let line = match header {
            Some(h) => h.to_line(layout.width(), layout.height()),
            None => format!(
                "YUV4MPEG2 W{} H{} F60:1 Ip A1:1 C{tag}\n",
                layout.width(),
                layout.height()
            ),
        };
        out.write_all(line.as_bytes())?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(tight.len())
            .map_err(|_| format!("cannot reserve {} bytes for the mask buffer", tight.len()))?;
        buf.resize(tight.len(), 0);
        Ok(Some(MaskOut {
            out,
            buf,
            layout: tight,
        }))
    }

    fn write(
        &mut self,
        frame: &memview_capture::FrameLease,
        zones: &[Rect],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        frame.frame().copy_to(&mut self.buf)?;
        let mut f = memview_pixel::FrameMut::from_bytes(&mut self.buf, &self.layout)?;
        memview_roi::mask::mask_all(&mut f, zones, 16)?;
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(&self.buf)?;
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        self.out.commit()
    }
}

pub fn run(args: &Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let limits = args.limits()?;
    let src = args.source.as_str();
    if src == "synthetic" {
        args.check_applies(SourceKind::Synthetic)?;
        let (w, h) = args.size.unwrap_or((1920, 1080));
        let mut s = Synthetic::new(&I420, w, h, args.zone_count())?;
        if args.frames > 0 {
            s = s.with_frames(args.frames);
        }
        if args.realtime {
            s = s.realtime(60, 1);
        }
        let (zones, tracker) = if args.zone.is_empty() {
            (
                s.boxes().into_iter().take(args.zone_count()).collect(),
                Some(s.clone()),
            )
        } else {
            (zones_for(args, s.layout())?, None)
        };
        let info = SourceInfo {
            label: format!("synthetic {w}x{h} I420"),
            header: None,
            input: None,
            tracker,
            source_drops: None,
        };
        return run_source(args, s, zones, info, &signals);
    }
    if let Some(input) = src.strip_prefix("ffmpeg:") {
        args.check_applies(SourceKind::Ffmpeg)?;
        let s = FfmpegSource::spawn_with(&["-i", input], Some("yuv420p"), &limits)?;
        let zones = zones_for(args, s.layout())?;
        let info = SourceInfo {
            label: src.to_owned(),
            header: Some(s.header().clone()),
            input: FileId::of_path(std::path::Path::new(input)),
            tracker: None,
            source_drops: None,
        };
        return run_source(args, s, zones, info, &signals);
    }
    if let Some(path) = src.strip_prefix("v4l2:") {
        args.check_applies(SourceKind::V4l2)?;
        return run_v4l2(args, path, &signals);
    }
    args.check_applies(SourceKind::Y4m)?;
    if src == "-" {
        let s = Y4mSource::stdin_with(&limits)?;
        let zones = zones_for(args, s.layout())?;
        let info = SourceInfo {
            label: "stdin (y4m)".into(),
            header: Some(s.header().clone()),
            input: FileId::of_stdin(),
            tracker: None,
            source_drops: None,
        };
        return run_source(args, s, zones, info, &signals);
    }
    let s = Y4mSource::open_with(src, &limits)?;
    let zones = zones_for(args, s.layout())?;
    let info = SourceInfo {
        label: src.to_owned(),
        header: Some(s.header().clone()),
        input: FileId::of_path(std::path::Path::new(src)),
        tracker: None,
        source_drops: None,
    };
    run_source(args, s, zones, info, &signals)
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn run_v4l2(
    args: &Args,
    path: &str,
    signals: &Signals,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use memview_capture::v4l2::V4l2Source;
    let fourcc = args.pixel_format.as_deref().unwrap_or("NV12");
    let cc: [u8; 4] = fourcc
        .as_bytes()
        .try_into()
        .map_err(|_| format!("--pixel-format {fourcc:?} is not a fourcc"))?;
    let format = memview_pixel::PixelFormat::from_fourcc(cc)
        .ok_or_else(|| format!("--pixel-format {fourcc}: not a raw format memview lays out"))?;
    RoiRunner::check_format(format).map_err(|e| format!("--pixel-format {fourcc}: {e}"))?;
    let (w, h) = args.size.unwrap_or((640, 480));
    let dim = |v: usize| u32::try_from(v).map_err(|_| "--size too large");
    let rate = args.fps.map(|f| (f, 1));
    let mut s = V4l2Source::open(path, cc, dim(w)?, dim(h)?, rate, 6)?;
    if let Some(t) = args.limits()?.read_timeout {
        s = s.with_timeout(t);
    }
    let l = s.layout().clone();
    let zones = zones_for(args, &l)?;
    let counters = s.counters();
    let gaps = move || counters.get().dropped();
    let info = SourceInfo {
        label: format!("{path} {}x{} {fourcc}", l.width(), l.height()),
        header: None,
        input: None,
        tracker: None,
        source_drops: Some(&gaps),
    };
    run_source(args, s, zones, info, signals)
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn run_v4l2(_: &Args, _: &str, _: &Signals) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Err(
        "this memview was built without the v4l2 feature (Linux only); try ffmpeg:/dev/videoN"
            .into(),
    )
}
