//! `memview run` with several streams: repeated `--source`s, or the
//! cameras of `--config cameras.toml`. Every stream has its own capture
//! thread, pool and queue (its own drop policy), its own loop thread and
//! result writer; all zones of all streams are analysed on one shared
//! rayon pool. A stream that stalls, fails or ends stops only itself; the
//! summary has a row per stream and the totals.

use std::collections::HashSet;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use memview_roi::events::{MotionEvents, MotionOptions};
use memview_roi::pipeline::{self, Pipeline, RunReport};
use memview_roi::sink::{Csv, EventLines, JsonLines, ResultWriter, Sink};
use memview_roi::AnalysisPool;
use serde::Deserialize;
use serde_json::json;

use crate::mqtt::Brokers;
use crate::output::FileId;
use crate::run::{Args, ResultsFormat};
use crate::signals::Signals;
use crate::stream::{self, Opened, Reconnect, SharedLines, StreamSpec, Threads};

/// The most streams one run takes (each has three threads: capture, loop
/// and result writer).
pub const MAX_STREAMS: usize = 256;

/// A `--config` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Analysis threads shared by every camera (0: one per core).
    threads: Option<u64>,
    /// Frames per camera (0: until each source ends).
    frames: Option<u64>,
    /// Every camera's results, each line naming its stream.
    results: Option<String>,
    /// Every camera's events, each line naming its stream.
    events: Option<String>,
    #[serde(default)]
    camera: Vec<Camera>,
}

/// A `[[camera]]` of the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Camera {
    name: String,
    source: String,
    ffmpeg_input: Option<String>,
    ffmpeg_pix_fmt: Option<String>,
    size: Option<String>,
    pixel_format: Option<String>,
    fps: Option<u32>,
    #[serde(default)]
    realtime: bool,
    zones: Option<u64>,
    #[serde(default)]
    zone: Vec<String>,
    zones_file: Option<String>,
    detections: Option<String>,
    analyzers: Option<String>,
    reconnect: Option<Reconnect>,
    /// `false`: read a regular file instead of mapping it (`--no-mmap`).
    mmap: Option<bool>,
    /// This camera's results in a file of its own (no stream names).
    results: Option<String>,
    /// This camera's events in a file of its own.
    events: Option<String>,
}

/// One stream of the run and where its records go.
#[derive(Debug)]
struct Plan {
    spec: StreamSpec,
    /// A file of its own for the results / events (else the shared ones).
    results: Option<String>,
    events: Option<String>,
}

/// Whether `name` can name a stream: 1 to 64 letters, digits, `-`, `_`
/// or `.` (it goes into MQTT topics and file names).
fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "camera name {name:?}: 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

impl Camera {
    fn plan(self, args: &Args) -> Result<Plan, String> {
        check_name(&self.name)?;
        let mut spec = args.stream(&self.source, Some(self.name.clone()))?;
        let what = |field: &str| format!("camera {:?}: {field}", self.name);
        if let Some(i) = &self.ffmpeg_input {
            spec.options.ffmpeg_input = i.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(p) = self.ffmpeg_pix_fmt {
            spec.options.ffmpeg_pix_fmt = Some(p);
        }
        if let Some(sz) = &self.size {
            spec.options.size =
                Some(crate::run::parse_size(sz).map_err(|e| format!("{}: {e}", what("size")))?);
        }
        spec.options.pixel_format = self.pixel_format.or(spec.options.pixel_format);
        spec.options.fps = self.fps.or(spec.options.fps);
        spec.options.realtime = self.realtime;
        spec.realtime = self.realtime;
        if let Some(n) = self.zones {
            if n == 0 || n > memview_roi::MAX_ZONES as u64 {
                return Err(format!(
                    "{} {n} is not 1 to {}",
                    what("zones"),
                    memview_roi::MAX_ZONES
                ));
            }
            spec.zones = Some(n);
            spec.options.boxes = n as usize;
        }
        spec.zone = self
            .zone
            .iter()
            .map(|z| crate::run::parse_rect(z))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", what("zone")))?;
        spec.zones_file = self.zones_file;
        spec.detections = self.detections;
        if let Some(a) = self.analyzers {
            spec.analyzers = a;
        }
        if let Some(r) = self.reconnect {
            spec.reconnect = r;
        }
        if let Some(m) = self.mmap {
            spec.mmap = m;
        }
        Ok(Plan {
            spec,
            results: self.results,
            events: self.events,
        })
    }
}

/// The streams `args` describe, and the run's shared settings.
struct Setup {
    plans: Vec<Plan>,
    threads: usize,
    frames: Option<u64>,
    results: Option<String>,
    events: Option<String>,
}

fn setup(args: &Args) -> Result<Setup, Box<dyn std::error::Error>> {
    let Some(path) = &args.config else {
        if args.mask || args.model.is_some() {
            return Err("--mask and --model take one source".into());
        }
        if args.detections.is_some() {
            return Err(
                "--detections feeds one stream: give each camera its own in --config".into(),
            );
        }
        let plans = args
            .source
            .iter()
            .enumerate()
            .map(|(i, src)| {
                Ok(Plan {
                    spec: args.stream(src, Some(format!("stream{i}")))?,
                    results: None,
                    events: None,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        return Ok(Setup {
            plans,
            threads: args.threads as usize,
            frames: args.frame_limit(),
            results: args.results.clone(),
            events: args.events.clone(),
        });
    };
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        // toml's message spans lines (the excerpt): its first is enough.
        let m = e.message().to_owned();
        let at = e
            .span()
            .map(|s| format!(" (at byte {})", s.start))
            .unwrap_or_default();
        format!("{shown}: {m}{at}")
    })?;
    if config.camera.is_empty() {
        return Err(format!("{shown}: no [[camera]]").into());
    }
    if config.camera.len() > MAX_STREAMS {
        return Err(format!(
            "{shown}: {} cameras is more than the {MAX_STREAMS} a run takes",
            config.camera.len()
        )
        .into());
    }
    let threads = match (args.threads, config.threads) {
        (0, Some(t)) if t as usize <= memview_roi::MAX_THREADS => t as usize,
        (0, Some(t)) => {
            return Err(format!(
                "{shown}: threads {t} is over the {} a run starts",
                memview_roi::MAX_THREADS
            )
            .into())
        }
        (t, _) => t as usize,
    };
    // A flag wins over the file.
    let frames = match (args.frames, config.frames) {
        (None, Some(n)) => (n > 0).then_some(n),
        _ => args.frame_limit(),
    };
    let mut names = HashSet::new();
    let mut plans = Vec::new();
    for cam in config.camera {
        if !names.insert(cam.name.clone()) {
            return Err(format!("{shown}: two cameras are named {:?}", cam.name).into());
        }
        let mut plan = cam.plan(args).map_err(|e| format!("{shown}: {e}"))?;
        plan.spec.options.frames = frames;
        plans.push(plan);
    }
    Ok(Setup {
        plans,
        threads,
        frames,
        results: args.results.clone().or(config.results),
        events: args.events.clone().or(config.events),
    })
}

/// What one stream did.
struct Done {
    name: String,
    label: String,
    report: RunReport,
    latency: memview_roi::Percentiles,
    dropped: u64,
    reconnects: Option<(u64, Duration)>,
    zones: usize,
}

pub fn run(args: &Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let Setup {
        plans,
        threads,
        frames,
        results,
        events,
    } = setup(args)?;
    if plans.len() > MAX_STREAMS {
        return Err(format!(
            "{} sources is more than the {MAX_STREAMS} a run takes",
            plans.len()
        )
        .into());
    }
    if args.results_format == ResultsFormat::Csv && results.is_some() {
        return Err(
            "CSV results of several streams need a file per camera (`results` in each [[camera]] of --config)"
                .into(),
        );
    }
    if args.results_arrays.is_some() {
        return Err("--results-arrays takes one stream".into());
    }
    let stdout_users = [results.as_deref(), events.as_deref()]
        .into_iter()
        .chain(
            plans
                .iter()
                .flat_map(|p| [p.results.as_deref(), p.events.as_deref()]),
        )
        .filter(|o| *o == Some("-"))
        .count();
    if stdout_users > 1 {
        return Err("two outputs would both write to stdout".into());
    }
    if plans.iter().filter(|p| p.spec.source == "-").count()
        + usize::from(
            plans
                .iter()
                .any(|p| p.spec.detections.as_deref() == Some("-")),
        )
        > 1
    {
        return Err("two streams would both read stdin".into());
    }
    let motion = MotionOptions {
        threshold: args.motion_threshold,
        start_frames: args.motion_start_frames,
        end_frames: args.motion_end_frames,
    };
    MotionEvents::new(motion).map_err(|e| format!("--motion-threshold: {e}"))?;
    let results_mqtt = Brokers::check(results.as_deref())?;
    let events_mqtt = Brokers::check(events.as_deref())?;
    for p in &plans {
        for own in [&p.results, &p.events].into_iter().flatten() {
            if Brokers::check(Some(own))? {
                return Err(format!(
                    "camera {:?}: MQTT goes in the config's top-level results/events (each camera publishes on TOPIC/NAME)",
                    p.spec.label()
                )
                .into());
            }
        }
    }
    let pool = AnalysisPool::new(threads)?;
    // Events to a file are shared by the streams; to a broker each stream
    // has its own topic, so its changes get lines of their own.
    let shared_events = (events.is_some() && !events_mqtt).then(SharedLines::default);
    // Every stream is opened before any runs: a camera that cannot be
    // opened refuses the whole run, before any output exists.
    let mut opened = Vec::with_capacity(plans.len());
    let mut own_events = Vec::with_capacity(plans.len());
    for plan in &plans {
        let own = (plan.events.is_some() || events_mqtt).then(SharedLines::default);
        let wants_events = own.is_some() || shared_events.is_some();
        let analyzers = plan.spec.analyzers(wants_events, None)?;
        let lines = own.as_ref().or(shared_events.as_ref());
        let o = stream::open(&plan.spec, analyzers, None, Threads::Shared(&pool), lines)
            .map_err(|e| format!("{}: {e}", plan.spec.label()))?;
        opened.push(o);
        own_events.push(own);
    }
    let inputs: Vec<Option<FileId>> = opened.iter().map(|o| o.input).collect();
    let brokers = Brokers::connect(
        results.as_deref(),
        events.as_deref(),
        args.mqtt_queue as usize,
    )?;
    let shared_results = results
        .as_deref()
        .filter(|_| !results_mqtt)
        .map(|p| crate::run::stream_out(p, &inputs).map(SharedLines::new))
        .transpose()?;
    if let (Some(path), Some(lines)) = (&events, &shared_events) {
        lines.set(crate::run::stream_out(path, &inputs)?)?;
    }
    let mut writers = Vec::with_capacity(plans.len());
    for (plan, own) in plans.iter().zip(&own_events) {
        let name = plan.spec.label();
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        match (&plan.results, &shared_results) {
            (Some(path), _) => {
                let out = crate::run::stream_out(path, &inputs)?;
                sinks.push(match args.results_format {
                    ResultsFormat::Jsonl => Box::new(JsonLines::new(out)),
                    ResultsFormat::Csv => Box::new(Csv::new(out, None)),
                });
            }
            (None, Some(lines)) => sinks.push(Box::new(JsonLines::new(lines.clone()).stream(name))),
            (None, None) => sinks.extend(brokers.results_sink(Some(name))),
        }
        let events = plan.events.is_some() || events.is_some();
        match (&plan.events, own, &shared_events) {
            (Some(path), Some(lines), _) => {
                lines.set(crate::run::stream_out(path, &inputs)?)?;
                sinks.push(Box::new(EventLines::new(lines.clone())));
            }
            (None, _, Some(lines)) => {
                sinks.push(Box::new(EventLines::new(lines.clone()).stream(name)))
            }
            (None, own, None) => {
                sinks.extend(brokers.events_sink(Some(name), name, own.as_ref())?)
            }
            _ => {}
        }
        let writer = args.writer(sinks, frames, false)?;
        writers.push((writer, events));
    }
    let done: Vec<Done> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .iter()
            .zip(opened)
            .zip(writers)
            .map(|((plan, o), (writer, events))| {
                let name = plan.spec.label().to_owned();
                let signals = &signals;
                std::thread::Builder::new()
                    .name(format!("memview-{name}"))
                    .spawn_scoped(s, move || {
                        stream_loop(name, o, writer, events, frames, motion, signals)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .map_err(|_| "a stream's thread panicked".to_owned()),
                Err(e) => Err(format!("cannot start a stream's thread: {e}")),
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let interrupted = signals.received();
    let mqtt = brokers.finish();
    summarise(args, &done, pool.threads(), interrupted, mqtt)?;
    // A reader of the results that went away (`| head`) ends the run
    // quietly, as a closed stdout does.
    let sink_errors: Vec<String> = done
        .iter()
        .filter_map(|d| {
            let e = d.report.sink_error.as_ref()?;
            (e.kind() != io::ErrorKind::BrokenPipe).then(|| format!("{}: {e}", d.name))
        })
        .collect();
    if !sink_errors.is_empty() {
        return Err(format!("writing results: {}", sink_errors.join("; ")).into());
    }
    let failed: Vec<String> = done
        .iter()
        .filter_map(|d| Some(format!("{}: {}", d.name, d.report.error.as_ref()?)))
        .collect();
    match failed.len() {
        0 => Ok(signals.exit_code().unwrap_or(ExitCode::SUCCESS)),
        1 => Err(failed[0].clone().into()),
        n => Err(format!("{n} streams failed: {}", failed.join("; ")).into()),
    }
}

/// One stream's run loop, on its own thread.
fn stream_loop(
    name: String,
    o: Opened,
    writer: Option<ResultWriter>,
    events: bool,
    frames: Option<u64>,
    motion: MotionOptions,
    signals: &Signals,
) -> Done {
    let Opened {
        capture,
        mut runner,
        feed,
        label,
        source_drops,
        reconnects,
        ..
    } = o;
    // The capture starts on the stream's own thread, with its consumer.
    let capture = match capture.start() {
        Ok(c) => c,
        Err(e) => {
            return Done {
                name,
                label,
                report: RunReport {
                    error: Some(e.into()),
                    ..RunReport::default()
                },
                latency: runner.latency().percentiles(),
                dropped: 0,
                reconnects: None,
                zones: runner.zone_count(),
            }
        }
    };
    signals.stop_on_signal(capture.stopper());
    let report = pipeline::run(
        &capture,
        &mut runner,
        Pipeline {
            frames,
            zones: feed,
            writer,
            events: events.then(|| MotionEvents::new(motion).ok()).flatten(),
            ..Pipeline::default()
        },
    );
    let stats = capture.stats();
    Done {
        name,
        label,
        latency: runner.latency().percentiles(),
        dropped: stats.dropped + source_drops.as_ref().map_or(0, |f| f()),
        reconnects: reconnects.map(|r| (r.reconnects(), r.downtime())),
        zones: runner.zone_count(),
        report,
    }
}

/// Prints the per-stream table and the totals (and the JSON line).
fn summarise(
    args: &Args,
    done: &[Done],
    threads: usize,
    interrupted: Option<i32>,
    mqtt: Option<serde_json::Value>,
) -> io::Result<()> {
    let fps = |d: &Done| d.report.frames as f64 / d.report.elapsed.as_secs_f64().max(1e-9);
    let frames: u64 = done.iter().map(|d| d.report.frames).sum();
    let seconds = done
        .iter()
        .map(|d| d.report.elapsed.as_secs_f64())
        .fold(0.0, f64::max);
    let dropped: u64 = done.iter().map(|d| d.dropped).sum();
    let zones: usize = done.iter().map(|d| d.zones).sum();
    let rows: Vec<serde_json::Value> = done
        .iter()
        .map(|d| {
            let p = &d.latency;
            let r = &d.report;
            json!({
                "name": d.name,
                "source": d.label,
                "frames": r.frames,
                "seconds": r.elapsed.as_secs_f64(),
                "fps": fps(d),
                "steady_fps": r.steady_fps,
                "dropped": d.dropped,
                "latency_us": {"p50": p.p50, "p95": p.p95, "p99": p.p99, "max": p.max},
                "zones": d.zones,
                "zone_errors": r.zone_errors,
                "reconnects": d.reconnects.map(|r| r.0),
                "down_seconds": d.reconnects.map(|r| r.1.as_secs_f64()),
                "result_records_written": r.result_records_written,
                "result_records_dropped": r.result_records_dropped,
                "events": r.events,
                "events_dropped": r.events_dropped,
                "error": r.error.as_ref().map(ToString::to_string),
            })
        })
        .collect();
    let summary = json!({
        "streams": rows,
        "frames": frames,
        "seconds": seconds,
        "fps": frames as f64 / seconds.max(1e-9),
        "dropped": dropped,
        "zones": zones,
        "threads": threads,
        "heap_peak_bytes": crate::alloc::peak(),
        "rss_peak_bytes": crate::alloc::rss_peak(),
        "signal": interrupted.map(Signals::name),
        "mqtt": mqtt,
    });
    let stdout_taken = std::iter::once(args.results.as_deref())
        .chain([args.events.as_deref()])
        .any(|o| o == Some("-"));
    let mut out: Box<dyn Write> = if stdout_taken {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    let r = (|| -> io::Result<()> {
        writeln!(
            out,
            "memview run: {} streams, {zones} zones, {threads} shared threads",
            done.len()
        )?;
        writeln!(
            out,
            "  {:<12} {:>7} {:>7} {:>7} {:>8} {:>8} {:>5}  source",
            "stream", "frames", "fps", "dropped", "p50 us", "p99 us", "recon"
        )?;
        for d in done {
            writeln!(
                out,
                "  {:<12} {:>7} {:>7.0} {:>7} {:>8.0} {:>8.0} {:>5}  {}",
                d.name,
                d.report.frames,
                fps(d),
                d.dropped,
                d.latency.p50,
                d.latency.p99,
                d.reconnects.map_or("-".into(), |r| r.0.to_string()),
                d.label
            )?;
            if let Some(e) = &d.report.error {
                writeln!(out, "  {:<12} stopped by {e}", "")?;
            }
        }
        writeln!(
            out,
            "  {:<12} {frames:>7} {:>7.0} {dropped:>7}   in {seconds:.2} s",
            "total",
            frames as f64 / seconds.max(1e-9)
        )?;
        if let Some(m) = &mqtt {
            writeln!(out, "  mqtt         {}", crate::mqtt::describe(m))?;
        }
        if let Some(sig) = interrupted {
            writeln!(out, "  stopped by   {}", Signals::name(sig))?;
        }
        if args.json {
            writeln!(out, "{summary}")?;
        }
        out.flush()
    })();
    crate::output::quiet_if_closed(r)
}
