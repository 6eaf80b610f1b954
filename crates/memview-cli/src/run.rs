//! `memview run`: the main job. Frames from a source, zones cut out as
//! views, analyzers on rayon, and a summary of what it cost.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use memview_capture::{Capture, FfmpegSource, FrameSource, Policy, Synthetic, Y4mSource};
use memview_pixel::format::I420;
use memview_pixel::Rect;
use memview_roi::{analyzers, Analyzer, RoiRunner, Zone};
use serde_json::json;

use crate::alloc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where frames come from: `synthetic`, a `.y4m` file, `-` (Y4M on
    /// stdin), `ffmpeg:INPUT` (anything ffmpeg decodes), or
    /// `v4l2:/dev/videoN` (a camera, zero-copy from the driver's buffers).
    #[arg(long, default_value = "synthetic")]
    source: String,
    /// Frame size of the synthetic source, or the size asked of a V4L2
    /// device (the driver may pick the nearest it has).
    #[arg(long, default_value = "1920x1080", value_parser = parse_size)]
    size: (usize, usize),
    /// The V4L2 pixel format to ask for (a fourcc with a luma plane:
    /// NV12, YU12, GREY, ...).
    #[arg(long, default_value = "NV12")]
    pixel_format: String,
    /// Frame rate to ask of a V4L2 device, frames per second.
    #[arg(long)]
    fps: Option<u32>,
    /// A zone `x,y,w,h` (repeatable); without any, `--zones` zones.
    #[arg(long = "zone", value_parser = parse_rect)]
    zone: Vec<Rect>,
    /// How many zones when none is given: the synthetic source's moving
    /// objects, or a grid over other sources' frames.
    #[arg(long, default_value_t = 10)]
    zones: usize,
    /// Analyzers, comma-separated: mean, histogram, motion, edges.
    #[arg(long, default_value = "mean,histogram,motion")]
    analyzers: String,
    /// Frames to process (the source may end sooner).
    #[arg(long, default_value_t = 600)]
    frames: u64,
    /// Analysis threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Pace the synthetic source at 60 frames/s and keep only the latest
    /// frame when analysis falls behind.
    #[arg(long)]
    realtime: bool,
    /// Print one JSON object with the summary on the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Pixelate every zone (in parallel, in place in a copy of each frame)
    /// and write the masked frames to `-o`.
    #[arg(long, requires = "output")]
    mask: bool,
    /// Where `--mask` writes its Y4M stream.
    #[arg(short = 'o', long)]
    output: Option<String>,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s.split_once('x').ok_or("size must be WxH")?;
    Ok((
        w.parse().map_err(|_| "bad width")?,
        h.parse().map_err(|_| "bad height")?,
    ))
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
        [x, y, w, h] => Ok(Rect::new(x, y, w, h)),
        _ => Err(format!("bad zone {s:?}: expected x,y,w,h")),
    }
}

/// A grid of `n` zones of up to 200x200 over a `w x h` frame.
fn grid(n: usize, w: usize, h: usize) -> Vec<Rect> {
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(cols).max(1);
    let (cw, ch) = (w / cols, h / rows);
    let (zw, zh) = (cw.min(200), ch.min(200));
    (0..n)
        .map(|i| {
            Rect::new(
                (i % cols) * cw + (cw - zw) / 2,
                (i / cols) * ch + (ch - zh) / 2,
                zw,
                zh,
            )
        })
        .collect()
}

fn run_source<S: FrameSource + 'static>(
    args: &Args,
    source: S,
    zones: Vec<Rect>,
    mut tracker: Option<Synthetic>,
    label: &str,
    source_drops: Option<&dyn Fn() -> u64>,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let analyzers: Vec<Box<dyn Analyzer>> = args
        .analyzers
        .split(',')
        .map(|n| {
            analyzers::by_name(n.trim())
                .ok_or_else(|| format!("unknown analyzer {n:?} (mean, histogram, motion, edges)"))
        })
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = analyzers.iter().map(|a| a.name()).collect();
    let zones: Vec<Zone> = zones
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("zone{i}"), r))
        .collect();
    let nzones = zones.len();
    let mut runner = RoiRunner::new(zones, analyzers, args.threads)?;
    let policy = if args.realtime {
        Policy::KeepLatest
    } else {
        Policy::Block
    };
    let capture_layout = source.layout().clone();
    let capture = Capture::start(source, 3, 2, policy)?;
    // A progress bar on a terminal. Drawing it allocates; that is not the
    // pipeline's doing, so it is left out of the allocation counts.
    let bar = io::stderr().is_terminal().then(|| {
        alloc::uncounted(|| {
            let bar = ProgressBar::new(args.frames);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} frames, {per_sec}, eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        })
    });
    let warmup = 10u64.min(args.frames / 4);
    let start = Instant::now();
    let (mut allocs_at, mut steady_start) = (alloc::counts(), start);
    let mut frames = 0u64;
    let (mut mean_luma, mut motion) = (0.0f64, 0u64);
    let mut zone_errors = 0u64;
    let mut rects: Vec<Rect> = runner.zones().iter().map(|z| z.rect).collect();
    let mut masked = MaskOut::new(args, &capture_layout)?;
    let loop_result: Result<(), memview_capture::CaptureError> = runner.run(|runner| {
        while frames < args.frames {
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
                    .map_err(|e| memview_capture::CaptureError::Io {
                        context: "writing masked frames".into(),
                        source: io::Error::other(e.to_string()),
                    })?;
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
    });
    let mut out = io::stdout().lock();
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
    if let Some(m) = masked {
        m.finish()?;
        writeln!(
            out,
            "  masked frames     {}",
            args.output.as_deref().unwrap_or("")
        )?;
    }
    if let Some(e) = &source_error {
        writeln!(out, "  stopped by        {e}")?;
    }
    if args.json {
        writeln!(out, "{summary}")?;
    }
    match source_error {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The `--mask` output: each frame copied, its zones pixelated in place in
/// parallel, written as Y4M.
struct MaskOut {
    out: io::BufWriter<std::fs::File>,
    buf: Vec<u8>,
    layout: memview_pixel::FrameLayout,
}

impl MaskOut {
    fn new(
        args: &Args,
        layout: &memview_pixel::FrameLayout,
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
        let f = std::fs::File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
        let mut out = io::BufWriter::with_capacity(1 << 20, f);
        writeln!(
            out,
            "YUV4MPEG2 W{} H{} F60:1 Ip A1:1 C{tag}",
            layout.width(),
            layout.height()
        )?;
        Ok(Some(MaskOut {
            out,
            buf: vec![0; tight.len()],
            layout: tight,
        }))
    }

    fn write(
        &mut self,
        frame: &memview_capture::FrameLease,
        zones: &[Rect],
    ) -> Result<(), Box<dyn std::error::Error>> {
        frame.frame().copy_to(&mut self.buf)?;
        let mut f = memview_pixel::FrameMut::from_bytes(&mut self.buf, &self.layout)?;
        memview_roi::mask::mask_all(&mut f, zones, 16)?;
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(&self.buf)?;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub fn run(args: &Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let src = args.source.as_str();
    if src == "synthetic" {
        let (w, h) = args.size;
        let mut s = Synthetic::new(&I420, w, h, args.zones.max(1))?.with_frames(args.frames);
        if args.realtime {
            s = s.realtime(60, 1);
        }
        let (zones, tracker) = if args.zone.is_empty() {
            (
                s.boxes().into_iter().take(args.zones).collect(),
                Some(s.clone()),
            )
        } else {
            (args.zone.clone(), None)
        };
        return run_source(
            args,
            s,
            zones,
            tracker,
            &format!("synthetic {w}x{h} I420"),
            None,
        );
    }
    if let Some(input) = src.strip_prefix("ffmpeg:") {
        let s = FfmpegSource::spawn(input, Some("yuv420p"))?;
        let l = s.layout().clone();
        let zones = if args.zone.is_empty() {
            grid(args.zones, l.width(), l.height())
        } else {
            args.zone.clone()
        };
        return run_source(args, s, zones, None, src, None);
    }
    if let Some(path) = src.strip_prefix("v4l2:") {
        return run_v4l2(args, path);
    }
    if src == "-" {
        let s = Y4mSource::stdin()?;
        let l = s.layout().clone();
        let zones = if args.zone.is_empty() {
            grid(args.zones, l.width(), l.height())
        } else {
            args.zone.clone()
        };
        return run_source(args, s, zones, None, "stdin (y4m)", None);
    }
    let s = Y4mSource::open(src)?;
    let l = s.layout().clone();
    let zones = if args.zone.is_empty() {
        grid(args.zones, l.width(), l.height())
    } else {
        args.zone.clone()
    };
    run_source(args, s, zones, None, src, None)
}

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn run_v4l2(args: &Args, path: &str) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use memview_capture::v4l2::V4l2Source;
    let cc: [u8; 4] = args
        .pixel_format
        .as_bytes()
        .try_into()
        .map_err(|_| format!("--pixel-format {:?} is not a fourcc", args.pixel_format))?;
    let format = memview_pixel::PixelFormat::from_fourcc(cc).ok_or_else(|| {
        format!(
            "--pixel-format {}: not a raw format memview lays out",
            args.pixel_format
        )
    })?;
    if format
        .components
        .iter()
        .any(|c| c.plane == 0 && c.is_chroma())
    {
        return Err(format!(
            "--pixel-format {}: the analyzers need a planar luma (NV12, YU12, GREY, ...)",
            args.pixel_format
        )
        .into());
    }
    let (w, h) = args.size;
    let dim = |v: usize| u32::try_from(v).map_err(|_| "--size too large");
    let rate = args.fps.map(|f| (f, 1));
    let s = V4l2Source::open(path, cc, dim(w)?, dim(h)?, rate, 6)?;
    let l = s.layout().clone();
    let zones = if args.zone.is_empty() {
        grid(args.zones, l.width(), l.height())
    } else {
        args.zone.clone()
    };
    let label = format!("{path} {}x{} {}", l.width(), l.height(), args.pixel_format);
    let counters = s.counters();
    let gaps = move || counters.get().dropped();
    run_source(args, s, zones, None, &label, Some(&gaps))
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn run_v4l2(_: &Args, _: &str) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Err(
        "this memview was built without the v4l2 feature (Linux only); try ffmpeg:/dev/videoN"
            .into(),
    )
}
