//! `memview run`: the main job. Arguments parsed into the library's
//! options; the source opened from its spec (`memview_capture::open`),
//! the run loop with sinks and events (`memview_roi::pipeline`), and the
//! summary printed.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use memview_capture::{Limits, SourceOptions};
use memview_pixel::Rect;
use memview_roi::events::{MotionEvents, MotionOptions};
use memview_roi::pipeline::{self, MaskWriter, Pipeline};
use memview_roi::sink::{
    Csv, EventLines, JsonLines, ResultWriter, Sink, SinkPolicy, WriterOptions,
};
use memview_roi::BoxedAnalyzer;
use serde_json::json;

use crate::alloc;
use crate::mqtt::Brokers;
use crate::output::{FileId, Output};
use crate::signals::Signals;
use crate::stream::{self, Opened, Reconnect, SharedLines, StreamSpec, Threads};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where frames come from: `synthetic`, a `.y4m` file (or FIFO), `-`
    /// (Y4M on stdin), `ffmpeg:INPUT` (anything ffmpeg decodes), or
    /// `v4l2:/dev/videoN` (a camera, zero-copy from the driver's buffers).
    /// Repeatable: several sources run at once as streams `stream0`,
    /// `stream1`, ... sharing one analysis pool (default: synthetic).
    #[arg(long)]
    pub(crate) source: Vec<String>,
    /// Cameras from a TOML file (`[[camera]]` tables: name, source, zones,
    /// analyzers, outputs; the README has the schema), run at once on one
    /// analysis pool.
    #[arg(long, conflicts_with_all = ["source", "size", "pixel_format", "fps", "zone", "zones", "zones_file", "detections", "mask", "model"])]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Whether a source that fails or ends is opened again, with backoff
    /// (0.5 s doubling to 10 s): `auto` for network streams
    /// (`ffmpeg:rtsp://...`, any `scheme://`) and cameras, `always` for
    /// every source but synthetic and stdin, `never`.
    #[arg(long, value_enum, default_value_t = Reconnect::Auto)]
    pub(crate) reconnect: Reconnect,
    /// Read a regular Y4M file into the pool's buffers instead of through
    /// a memory map (where frames are views of the page cache, nothing is
    /// copied, and a file truncated while mapped ends the run with an
    /// error).
    #[arg(long)]
    pub(crate) no_mmap: bool,
    /// Frame size of the synthetic source (default 1920x1080), or the size
    /// asked of a V4L2 device (default 640x480; the driver may pick the
    /// nearest it has). Other sources take their size from their header.
    #[arg(long, value_parser = parse_size)]
    pub(crate) size: Option<(usize, usize)>,
    /// The V4L2 pixel format to ask for (a fourcc: NV12, YU12, YUYV, GREY,
    /// ...; default NV12).
    #[arg(long)]
    pub(crate) pixel_format: Option<String>,
    /// Frame rate to ask of a V4L2 device, frames per second.
    #[arg(long)]
    pub(crate) fps: Option<u32>,
    /// A zone `x,y,w,h` (repeatable); without any (and without
    /// `--zones-file` or `--detections`), `--zones` zones.
    #[arg(long = "zone", value_parser = parse_rect)]
    pub(crate) zone: Vec<Rect>,
    /// How many zones when none is given (default 10, at most 4096): the
    /// synthetic source's moving objects, or a grid over other sources'
    /// frames.
    #[arg(long, conflicts_with_all = ["zone", "zones_file"], value_parser = clap::value_parser!(u64).range(1..=memview_roi::MAX_ZONES as u64))]
    pub(crate) zones: Option<u64>,
    /// Named static zones from a file: JSON (`{"zones": [{"id", "name",
    /// "rect": [x, y, w, h]}]}`) or TOML (`[[zone]]` tables), by its
    /// extension (`.toml`; anything else is JSON).
    #[arg(long, conflicts_with = "zone")]
    pub(crate) zones_file: Option<String>,
    /// Zones from an external detector: JSON Lines `{"frame": N, "zones":
    /// [{"id": "face-3", "rect": [x, y, w, h]}]}` from a file, a FIFO or
    /// `-` (stdin). Zones appear, move and vanish with it; a frame without
    /// a line keeps the last zones.
    #[arg(long)]
    pub(crate) detections: Option<String>,
    /// Analyzers, comma-separated: mean, histogram, motion, edges, colour.
    #[arg(long, default_value = "mean,histogram,motion")]
    pub(crate) analyzers: String,
    /// Frames to process per stream (the source may end sooner); 0: until
    /// the source ends [default: 600, or the config's `frames`].
    #[arg(long)]
    pub(crate) frames: Option<u64>,
    /// Analysis threads (0: one per core; at most 256).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=memview_roi::MAX_THREADS as u64))]
    pub(crate) threads: u64,
    /// Pace the source as a camera would deliver it (the synthetic source
    /// at 60 frames/s, a Y4M file or stdin at its frame rate) and keep
    /// only the latest frame when analysis falls behind.
    #[arg(long)]
    pub(crate) realtime: bool,
    #[command(flatten)]
    pub(crate) input: crate::crop::InputArgs,
    /// Write every frame's results as JSON Lines (or CSV) to FILE, or `-`
    /// for stdout (the summary then goes to stderr), or publish them to an
    /// MQTT broker: `mqtt://HOST[:PORT]/TOPIC` (one message per frame on
    /// TOPIC, or TOPIC/STREAM with several streams).
    #[arg(long)]
    pub(crate) results: Option<String>,
    /// The format of `--results`.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Jsonl, requires = "results")]
    pub(crate) results_format: ResultsFormat,
    /// With `--results-format csv`: write the histograms (every array
    /// field) to this CSV file, one row per frame and zone; without it
    /// they are left out.
    #[arg(long, requires = "results")]
    pub(crate) results_arrays: Option<String>,
    /// Write motion events (`motion_start`, `motion_end`; `stream_down`,
    /// `stream_up` for live sources) as JSON Lines to FILE, or `-` for
    /// stdout, or publish them to `mqtt://HOST[:PORT]/TOPIC` in Frigate's
    /// `new`/`update`/`end` shape. Adds the motion analyzer if it is not
    /// listed.
    #[arg(long)]
    pub(crate) events: Option<String>,
    /// Mean absolute luma difference per pixel above which a zone is
    /// moving.
    #[arg(long, default_value_t = MotionOptions::default().threshold)]
    pub(crate) motion_threshold: f64,
    /// Moving frames in a row that start a motion event (K).
    #[arg(long, default_value_t = MotionOptions::default().start_frames, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) motion_start_frames: u32,
    /// Still frames in a row that end it (M).
    #[arg(long, default_value_t = MotionOptions::default().end_frames, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) motion_end_frames: u32,
    /// When the result writer falls behind: `drop` records (counted in the
    /// summary) or `block` the pipeline until it catches up.
    #[arg(long, value_enum, default_value_t = SinkPolicyArg::Drop)]
    pub(crate) sink_policy: SinkPolicyArg,
    /// The result writer's nice value (0 to 19, Linux): above 0 it writes
    /// in time capture and analysis leave idle (records it cannot keep up
    /// with are dropped and counted, or wait under `--sink-policy block`).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub(crate) writer_nice: i32,
    /// Result records the writer may fall behind by (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=memview_roi::sink::MAX_RING as u64))]
    pub(crate) result_buffer: u64,
    /// Messages that may wait for an MQTT broker (`--results` /
    /// `--events mqtt://HOST[:PORT]/TOPIC`) that is slow or gone; past
    /// them messages are dropped and counted, and analysis never waits.
    #[arg(long, default_value_t = crate::mqtt::QUEUE as u64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub(crate) mqtt_queue: u64,
    /// Print one JSON object with the summary on the last line of stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Pixelate every zone (in parallel, in place in a copy of each frame)
    /// and write the masked frames to `-o`.
    #[arg(long, requires = "output")]
    pub(crate) mask: bool,
    /// Where `--mask` writes its Y4M stream (never over the input; a
    /// regular file appears only once it holds frames).
    #[arg(short = 'o', long, requires = "mask")]
    pub(crate) output: Option<String>,
    /// An ONNX model (run by tract, pure Rust; memview built with the
    /// `onnx` feature) run once per frame on the batch of every zone's
    /// tensor: each of its outputs becomes a field of the zone in
    /// `--results`.
    #[arg(long)]
    pub(crate) model: Option<std::path::PathBuf>,
    /// The model's input size, WxH.
    #[arg(long, value_parser = parse_size, default_value = "224x224", requires = "model")]
    pub(crate) input_size: (usize, usize),
    /// Subtracted from each 8-bit sample first, per channel: one value or
    /// `R,G,B` (OpenCV's `mean`; default 0).
    #[arg(long, value_parser = parse_triple, requires = "model")]
    pub(crate) mean: Option<[f32; 3]>,
    /// Then multiplied, per channel: one value or `R,G,B`, each a number or
    /// a fraction like `1/255` (OpenCV's `scalefactor`; default 1).
    #[arg(long, value_parser = parse_triple, requires = "model")]
    pub(crate) scale: Option<[f32; 3]>,
    /// How a zone is fitted to the input: `stretch`, `letterbox`
    /// (OpenCV's), `yolo` (Ultralytics', grey borders) or `crop` (centre).
    #[arg(long, value_enum, default_value_t = FitArg::Stretch, requires = "model")]
    fit: FitArg,
    /// The input's channel order.
    #[arg(long, value_enum, default_value_t = OrderArg::Rgb, requires = "model")]
    channel_order: OrderArg,
    /// The input's layout.
    #[arg(long, value_enum, default_value_t = LayoutArg::Nchw, requires = "model")]
    layout: LayoutArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FitArg {
    Stretch,
    Letterbox,
    Yolo,
    Crop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OrderArg {
    Rgb,
    Bgr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LayoutArg {
    Nchw,
    Nhwc,
}

/// One number or three (`R,G,B`), each a decimal or a fraction `a/b`.
fn parse_triple(s: &str) -> Result<[f32; 3], String> {
    let one = |p: &str| -> Result<f32, String> {
        let p = p.trim();
        let v = match p.split_once('/') {
            Some((a, b)) => {
                let (a, b): (f64, f64) = (
                    a.trim().parse().map_err(|_| format!("bad number {a:?}"))?,
                    b.trim().parse().map_err(|_| format!("bad number {b:?}"))?,
                );
                a / b
            }
            None => p.parse().map_err(|_| format!("bad number {p:?}"))?,
        };
        if v.is_finite() {
            Ok(v as f32)
        } else {
            Err(format!("{p:?} is not a finite number"))
        }
    };
    let v: Vec<f32> = s.split(',').map(one).collect::<Result<_, _>>()?;
    match v[..] {
        [a] => Ok([a; 3]),
        [r, g, b] => Ok([r, g, b]),
        _ => Err(format!("{s:?}: one value or three (R,G,B)")),
    }
}

/// The tensor the model takes, from the flags.
fn tensor_spec(args: &Args) -> memview_pixel::tensor::TensorSpec {
    use memview_pixel::tensor::{ChannelOrder, Fit, Normalize, TensorLayout, TensorSpec};
    let (w, h) = args.input_size;
    let mut spec = TensorSpec::new(w, h);
    spec.fit = match args.fit {
        FitArg::Stretch => Fit::Stretch,
        FitArg::Letterbox => Fit::Letterbox { fill: [0; 3] },
        FitArg::Yolo => Fit::Yolo { fill: [114; 3] },
        FitArg::Crop => Fit::CenterCrop,
    };
    spec.order = match args.channel_order {
        OrderArg::Rgb => ChannelOrder::Rgb,
        OrderArg::Bgr => ChannelOrder::Bgr,
    };
    spec.layout = match args.layout {
        LayoutArg::Nchw => TensorLayout::Nchw,
        LayoutArg::Nhwc => TensorLayout::Nhwc,
    };
    if args.mean.is_some() || args.scale.is_some() {
        spec.normalize = Normalize::MeanScale {
            mean: args.mean.unwrap_or([0.0; 3]),
            scale: args.scale.unwrap_or([1.0; 3]),
        };
    }
    spec
}

/// The model `--model` names, loaded for `spec`.
#[cfg(feature = "onnx")]
fn load_model(
    path: &std::path::Path,
    spec: &memview_pixel::tensor::TensorSpec,
) -> Result<Box<dyn memview_roi::model::Model>, String> {
    let m = memview_roi::onnx::OnnxModel::load(path, spec).map_err(|e| format!("--model: {e}"))?;
    Ok(Box::new(m))
}

#[cfg(not(feature = "onnx"))]
fn load_model(
    _: &std::path::Path,
    _: &memview_pixel::tensor::TensorSpec,
) -> Result<Box<dyn memview_roi::model::Model>, String> {
    Err(
        "--model: this memview was built without ONNX support (build it with `--features onnx`)"
            .into(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ResultsFormat {
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SinkPolicyArg {
    Drop,
    Block,
}

impl Args {
    fn limits(&self) -> Result<Limits, String> {
        self.input.limits()
    }

    /// The result writer for `sinks` (none without sinks), as the flags
    /// say; `counted`: its allocations counted apart from the pipeline's
    /// (the one stream of a plain run).
    pub(crate) fn writer(
        &self,
        sinks: Vec<Box<dyn Sink>>,
        frames: Option<u64>,
        counted: bool,
    ) -> io::Result<Option<ResultWriter>> {
        if sinks.is_empty() {
            return Ok(None);
        }
        let options = WriterOptions {
            capacity: self.result_buffer as usize,
            policy: match self.sink_policy {
                SinkPolicyArg::Drop => SinkPolicy::Drop,
                SinkPolicyArg::Block => SinkPolicy::Block,
            },
            on_start: counted.then_some(alloc::mark_writer as fn()),
            counts: counted.then_some(alloc::writer_counts as fn() -> (usize, usize)),
            warmup: pipeline::warmup(frames),
            nice: self.writer_nice,
        };
        ResultWriter::start(sinks, options).map(Some)
    }

    /// The frame limit per stream (`None`: until the source ends).
    pub(crate) fn frame_limit(&self) -> Option<u64> {
        let n = self.frames.unwrap_or(600);
        (n > 0).then_some(n)
    }

    /// The stream the flags describe, reading `source`.
    pub(crate) fn stream(&self, source: &str, name: Option<String>) -> Result<StreamSpec, String> {
        let limits = self.limits()?;
        let (ffmpeg_input, ffmpeg_pix_fmt) = self.input.ffmpeg();
        Ok(StreamSpec {
            name,
            source: source.to_owned(),
            options: SourceOptions {
                size: self.size,
                pixel_format: self.pixel_format.clone(),
                fps: self.fps,
                realtime: self.realtime,
                frames: self.frame_limit(),
                boxes: self.zones.map_or(10, |n| n as usize),
                limits,
                ffmpeg_input,
                ffmpeg_pix_fmt,
            },
            zone: self.zone.clone(),
            zones: self.zones,
            zones_file: self.zones_file.clone(),
            detections: self.detections.clone(),
            analyzers: self.analyzers.clone(),
            reconnect: self.reconnect,
            realtime: self.realtime,
            mmap: !self.no_mmap,
        })
    }

    /// Whether results or events go to stdout (the summary then goes to
    /// stderr).
    fn stdout_taken(&self) -> bool {
        self.results.as_deref() == Some("-") || self.events.as_deref() == Some("-")
    }

    /// Refuses two streams on one standard stream.
    fn check_streams(&self) -> Result<(), String> {
        if self.results.as_deref() == Some("-") && self.events.as_deref() == Some("-") {
            return Err("--results - and --events - would both write to stdout".into());
        }
        if self.source.iter().any(|s| s == "-") && self.detections.as_deref() == Some("-") {
            return Err("--source - and --detections - would both read stdin".into());
        }
        if self.results_arrays.is_some() && self.results_format != ResultsFormat::Csv {
            return Err("--results-arrays goes with --results-format csv".into());
        }
        let results_mqtt = Brokers::check(self.results.as_deref())?;
        Brokers::check(self.events.as_deref())?;
        if results_mqtt && self.results_format == ResultsFormat::Csv {
            return Err("--results mqtt:// publishes JSON, not CSV".into());
        }
        Ok(())
    }
}

pub(crate) fn parse_size(s: &str) -> Result<(usize, usize), String> {
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

/// Prints the summary (and the JSON line), ending quietly if stdout is
/// closed.
fn print_summary(
    args: &Args,
    summary: &serde_json::Value,
    text: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    // Results or events on stdout: the summary goes to stderr.
    let mut out: Box<dyn Write> = if args.stdout_taken() {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    let r = text(&mut out).and_then(|()| {
        if args.json {
            writeln!(out, "{summary}")?;
        }
        out.flush()
    });
    crate::output::quiet_if_closed(r)
}

/// An output stream: stdout for `-`, else a file written as results come
/// (a consumer can follow it), never over an input.
pub(crate) fn stream_out(
    path: &str,
    inputs: &[Option<FileId>],
) -> Result<Box<dyn Write + Send>, Box<dyn std::error::Error>> {
    if path == "-" {
        return Ok(Box::new(io::stdout()));
    }
    Ok(Box::new(Output::create_streaming(path, inputs)?))
}

pub fn run(args: &Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if args.config.is_some() || args.source.len() > 1 {
        return crate::multi::run(args);
    }
    let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    args.check_streams()?;
    let source = args.source.first().map_or("synthetic", String::as_str);
    let spec = args.stream(source, None)?;
    let model_stage = args
        .model
        .as_ref()
        .map(|_| memview_roi::model::Tensor::new(tensor_spec(args)).map(BoxedAnalyzer::from))
        .transpose()?;
    let analyzers = spec.analyzers(args.events.is_some(), model_stage)?;
    // The model is loaded before the source opens: a bad model file is
    // refused without touching a camera.
    let model = args
        .model
        .as_deref()
        .map(|p| load_model(p, &tensor_spec(args)))
        .transpose()?;
    let events = args
        .events
        .as_ref()
        .map(|_| {
            MotionEvents::new(MotionOptions {
                threshold: args.motion_threshold,
                start_frames: args.motion_start_frames,
                end_frames: args.motion_end_frames,
            })
        })
        .transpose()
        .map_err(|e| format!("--motion-threshold: {e}"))?;
    // Stream changes (a live source down, up) go out with the events, as
    // soon as the events' file exists.
    let event_lines = args.events.as_ref().map(|_| SharedLines::default());
    let opened = stream::open(
        &spec,
        analyzers,
        model,
        Threads::Own(args.threads as usize),
        event_lines.as_ref(),
    )?;
    let Opened {
        capture,
        mut runner,
        feed,
        layout,
        header,
        label,
        input,
        source_drops,
        reconnects,
    } = opened;
    let names = runner.names();
    let capture = capture.start()?;
    signals.stop_on_signal(capture.stopper());
    // Outputs only once the stream is running: a run refused before it
    // leaves nothing behind.
    let inputs = [input];
    let mut masked = match (args.mask, args.output.as_deref()) {
        (true, Some(path)) => Some(
            MaskWriter::new(Output::create(path, &inputs)?, &layout, header.as_ref(), 16)
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let brokers = Brokers::connect(
        args.results.as_deref(),
        args.events.as_deref(),
        args.mqtt_queue as usize,
    )?;
    if let Some(sink) = brokers.results_sink(None) {
        sinks.push(sink);
    } else if let Some(path) = &args.results {
        let out = stream_out(path, &inputs)?;
        sinks.push(match args.results_format {
            ResultsFormat::Jsonl => Box::new(JsonLines::new(out)),
            ResultsFormat::Csv => {
                let arrays = args
                    .results_arrays
                    .as_deref()
                    .map(|p| stream_out(p, &inputs))
                    .transpose()?;
                Box::new(Csv::new(out, arrays))
            }
        });
    }
    if let Some(sink) = brokers.events_sink(None, &label, event_lines.as_ref())? {
        sinks.push(sink);
    } else if let (Some(path), Some(lines)) = (&args.events, &event_lines) {
        lines.set(stream_out(path, &inputs)?)?;
        sinks.push(Box::new(EventLines::new(lines.clone())));
    }
    let writer = args.writer(sinks, args.frame_limit(), true)?;
    // A progress bar on a terminal. Drawing it allocates; that is not the
    // pipeline's doing, so it is left out of the allocation counts.
    let limit = args.frame_limit();
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
    let progress = |n: u64| {
        if let Some(b) = bar.as_ref() {
            alloc::uncounted(|| b.set_position(n));
        }
    };
    let report = pipeline::run(
        &capture,
        &mut runner,
        Pipeline {
            frames: limit,
            zones: feed,
            writer,
            events,
            hook: masked
                .as_mut()
                .map(|m| m as &mut dyn memview_roi::pipeline::FrameHook),
            progress: Some(&progress),
            allocations: Some(alloc::counts),
        },
    );
    let interrupted = signals.received();
    let mqtt = brokers.finish();
    if let Some(bar) = bar {
        alloc::uncounted(|| bar.finish_and_clear());
    }
    let frames = report.frames;
    let elapsed = report.elapsed.as_secs_f64();
    let warmup = report.warmup;
    let p = runner.latency().percentiles();
    let stats = capture.stats();
    // Frames the pool's policy dropped, and those the source lost before
    // (a camera driver's sequence gaps).
    let dropped = stats.dropped + source_drops.as_ref().map_or(0, |f| f());
    // The masked output is named once it holds the frames written: after
    // a fault or a signal too (whole frames only), but not when a run
    // failed before its first frame.
    let mask_error = match masked {
        Some(m) if frames > 0 || report.error.is_none() => {
            m.into_inner().and_then(Output::commit).err()
        }
        _ => None,
    };
    // A reader of the results that went away (`| head`) ends the run
    // quietly, as a closed stdout does.
    let sink_error = report
        .sink_error
        .filter(|e| e.kind() != io::ErrorKind::BrokenPipe);
    let (allocs_per_frame, bytes_per_frame) = report.allocations_per_frame.unzip();
    let writer_allocs = report.writer_allocations_per_frame.map(|w| w.0);
    let steady_fps = report.steady_fps;
    let zone_errors = report.zone_errors;
    let source_error = report.error;
    let summary = json!({
        "frames": frames,
        "seconds": elapsed,
        "fps": frames as f64 / elapsed.max(1e-9),
        "steady_fps": steady_fps,
        "latency_us": {"p50": p.p50, "p95": p.p95, "p99": p.p99, "max": p.max},
        "dropped": dropped,
        "allocations_per_frame": allocs_per_frame,
        "bytes_allocated_per_frame": bytes_per_frame,
        "writer_allocations_per_frame": writer_allocs,
        "heap_peak_bytes": alloc::peak(),
        "rss_peak_bytes": alloc::rss_peak(),
        "zones": runner.zone_count(),
        "zone_errors": zone_errors,
        "threads": runner.threads(),
        "analyzers": names,
        "source": label,
        "reconnects": reconnects.as_ref().map(|r| r.reconnects()),
        "last_frame": {"mean_luma": report.mean_luma, "motion_sad": report.motion},
        "result_records_written": report.result_records_written,
        "result_records_dropped": report.result_records_dropped,
        "events": report.events,
        "events_dropped": report.events_dropped,
        "error": source_error.as_ref().map(ToString::to_string),
        "signal": interrupted.map(Signals::name),
        "mqtt": mqtt,
    });
    let printed = print_summary(args, &summary, |out| {
        writeln!(
            out,
            "memview run: {label}, {} zones x {} ({}), {} threads",
            runner.zone_count(),
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
        if let Some(w) = writer_allocs {
            writeln!(out, "  writer allocs     {w:.2} per frame")?;
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
        if let Some(r) = reconnects.as_ref().filter(|r| r.reconnects() > 0) {
            writeln!(
                out,
                "  reconnects        {} ({:.1} s down)",
                r.reconnects(),
                r.downtime().as_secs_f64()
            )?;
        }
        if args.results.is_some() || args.events.is_some() {
            writeln!(
                out,
                "  results           {} records written, {} dropped; {} events",
                report.result_records_written, report.result_records_dropped, report.events
            )?;
        }
        if let Some(m) = &mqtt {
            writeln!(out, "  mqtt              {}", crate::mqtt::describe(m))?;
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
    if let Some(e) = sink_error {
        return Err(format!("writing results: {e}").into());
    }
    printed?;
    if let Some(e) = source_error {
        return Err(e);
    }
    Ok(signals.exit_code().unwrap_or(ExitCode::SUCCESS))
}
