//! One stream of a run, however it was described (`run`'s flags or a
//! camera of `--config`): its source opened (reconnecting where it is
//! live), its zones, its runner and its capture; and the outputs several
//! streams share, written a whole line at a time.

use std::io::{self, BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use memview_capture::{
    Backoff, Capture, CaptureOptions, InputFile, Limits, OpenedSource, Policy, ReconnectStats,
    SourceOptions, SourceSpec, StreamChange, Y4mHeader,
};
use memview_pixel::{FrameLayout, Rect};
use memview_roi::detections::Detections;
use memview_roi::pipeline::ZoneFeed;
use memview_roi::{analyzers, AnalysisPool, BoxedAnalyzer, RoiRunner, Zone};

use crate::output::FileId;

/// Whether a live source is reopened when it fails or ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reconnect {
    /// Network streams and cameras ([`SourceSpec::is_live`]) reconnect;
    /// files, pipes and the synthetic source end.
    #[default]
    Auto,
    /// Every source but the synthetic one and stdin is reopened.
    Always,
    /// No source is reopened: a failure ends the stream.
    Never,
}

/// What one stream is made of.
#[derive(Clone, Debug, Default)]
pub struct StreamSpec {
    /// Its name in results and events (`None`: the one stream of a plain
    /// `run`, whose records carry no name).
    pub name: Option<String>,
    /// The source spec (`synthetic`, a file, `ffmpeg:...`, `v4l2:...`).
    pub source: String,
    /// How to open it.
    pub options: SourceOptions,
    /// Explicit zones.
    pub zone: Vec<Rect>,
    /// How many zones when none is given.
    pub zones: Option<u64>,
    /// A zones file.
    pub zones_file: Option<String>,
    /// A detections feed.
    pub detections: Option<String>,
    /// Analyzer names, comma-separated.
    pub analyzers: String,
    /// Whether to reconnect.
    pub reconnect: Reconnect,
    /// Pace the synthetic source and keep the latest frame.
    pub realtime: bool,
    /// Read a regular Y4M file through a memory map (frames are views of
    /// the page cache) rather than copying each into the pool (the
    /// default; `--no-mmap` clears it).
    pub mmap: bool,
}

impl StreamSpec {
    fn zone_count(&self) -> usize {
        self.zones.map_or(10, |n| n as usize)
    }

    /// The name for messages: the stream's, or its source's.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.source)
    }

    /// The analyzers it names, the motion analyzer added when events are
    /// wanted, and `extra` (the model's tensor stage) last.
    pub fn analyzers(
        &self,
        events: bool,
        extra: Option<BoxedAnalyzer>,
    ) -> Result<Vec<BoxedAnalyzer>, String> {
        let mut list: Vec<BoxedAnalyzer> = self
            .analyzers
            .split(',')
            .map(|n| {
                analyzers::by_name(n.trim())
                    .ok_or_else(|| format!("unknown analyzer {n:?} ({})", analyzers::NAMES))
            })
            .collect::<Result<_, _>>()?;
        if events && !list.iter().any(|a| a.name() == "motion") {
            list.push(analyzers::Motion.into());
        }
        list.extend(extra);
        Ok(list)
    }

    fn reconnects(&self, spec: &SourceSpec) -> bool {
        match self.reconnect {
            Reconnect::Auto => spec.is_live(),
            Reconnect::Always => !matches!(spec, SourceSpec::Synthetic | SourceSpec::Stdin),
            Reconnect::Never => false,
        }
    }
}

/// A stream opened: everything its run loop needs, its capture ready to
/// start ([`Starter::start`]).
pub struct Opened {
    pub capture: Starter,
    pub runner: RoiRunner,
    pub feed: ZoneFeed,
    pub layout: FrameLayout,
    pub header: Option<Y4mHeader>,
    pub label: String,
    pub input: Option<FileId>,
    pub source_drops: Option<Box<dyn Fn() -> u64 + Send>>,
    pub reconnects: Option<Arc<ReconnectStats>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("label", &self.label)
            .finish()
    }
}

/// A source and its pool, not yet capturing: a capture started long
/// before its consumer (a run opening many streams) would fill its queue
/// and drop frames of a paced source before the first is analysed.
pub struct Starter {
    source: Box<dyn memview_capture::FrameSource>,
    options: CaptureOptions,
}

impl std::fmt::Debug for Starter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Starter")
            .field("options", &self.options)
            .finish()
    }
}

impl Starter {
    /// Starts the capture thread (the pool is reserved now).
    pub fn start(self) -> Result<Capture, memview_capture::CaptureError> {
        Capture::with_options(self.source, self.options)
    }
}

/// Where a runner's threads come from.
#[derive(Debug)]
pub enum Threads<'a> {
    /// Its own pool of this many (0: one per core).
    Own(usize),
    /// A pool shared with other streams.
    Shared(&'a AnalysisPool),
}

/// Opens `spec`'s source (reconnecting where [`StreamSpec::reconnect`]
/// says, each change told to `events`), cuts its zones, and starts its
/// capture with `analyzers` (and `model`) on `threads`.
pub fn open(
    spec: &StreamSpec,
    analyzers: Vec<BoxedAnalyzer>,
    model: Option<Box<dyn memview_roi::model::Model>>,
    threads: Threads<'_>,
    events: Option<&SharedLines>,
) -> Result<Opened, Box<dyn std::error::Error>> {
    let source = SourceSpec::parse(&spec.source);
    // A camera format the analyzers cannot read is refused before the
    // device is opened.
    let asked = spec.options.pixel_format.as_deref().map(str::as_bytes);
    if let (SourceSpec::V4l2(_), Some(Ok(cc))) = (&source, asked.map(<[u8; 4]>::try_from)) {
        if let Some(f) = memview_pixel::PixelFormat::from_fourcc(cc) {
            if let Some(why) = analyzers.iter().find_map(|a| a.check(f).err()) {
                return Err(format!("--pixel-format {}: {why}", f.name).into());
            }
        }
    }
    let mut opened = if spec.reconnects(&source) {
        let announce = events.map(|out| stream_events(out.clone(), spec.name.clone()));
        memview_capture::open_reconnecting(&source, &spec.options, Backoff::default(), announce)?
    } else {
        memview_capture::open(&source, &spec.options)?
    };
    let (zones, follow) = static_zones(spec, &opened)?;
    // A regular file, its header checked by the reader, is mapped.
    if let (SourceSpec::Y4m(path), true, None) = (&source, spec.mmap, &opened.reconnects) {
        if let Some(mut m) = crate::crop::map_regular(path)? {
            // Paced, the capture thread has time to map each frame in:
            // only the rows fixed zones read (zones that move need all).
            m.set_populate(spec.options.realtime);
            if !follow && spec.detections.is_none() {
                let rects: Vec<Rect> = zones.iter().map(|z| z.rect).collect();
                m.populate_only(&rects);
            }
            opened.source = memview_capture::spec::paced(m, &spec.options);
        }
    }
    let input = match &opened.input {
        Some(InputFile::Path(p)) => FileId::of_path(p),
        Some(InputFile::Stdin) => FileId::of_stdin(),
        None => None,
    };
    let nzones = zones.len();
    let layout = opened.source.layout().clone();
    let label = opened.label.clone();
    let mut runner = match threads {
        Threads::Own(n) => RoiRunner::new(zones, analyzers, n)?,
        Threads::Shared(pool) => RoiRunner::with_pool(zones, analyzers, pool)?,
    };
    if let Some(m) = model {
        runner.set_model(m)?;
    }
    runner
        .check_format(layout.format())
        .map_err(|e| format!("{label}: {e}"))?;
    let limits = spec.options.limits;
    let feed = match (&spec.detections, follow, opened.tracker.clone()) {
        (Some(path), _, _) => ZoneFeed::Detections(open_detections(path, &limits)?),
        (None, true, Some(t)) => ZoneFeed::Synthetic(t, nzones),
        _ => ZoneFeed::Static,
    };
    let OpenedSource {
        source,
        header,
        source_drops,
        max_buffers,
        reconnects,
        ..
    } = opened;
    let capture = Starter {
        source,
        options: pool_options(spec.realtime, limits, max_buffers),
    };
    Ok(Opened {
        capture,
        runner,
        feed,
        layout,
        header,
        label,
        input,
        source_drops,
        reconnects,
    })
}

/// The capture pool: [`Policy::streaming_buffers`] (two frames held by
/// the analyzers, two queued, one being filled), or fewer where the source
/// can back fewer (a camera's driver buffers), never fewer than the policy
/// needs; the queue then takes what is left.
fn pool_options(realtime: bool, limits: Limits, max_buffers: Option<usize>) -> CaptureOptions {
    let policy = if realtime {
        Policy::KeepLatest
    } else {
        Policy::Block
    };
    let holds = memview_roi::FRAMES_HELD;
    let least = policy.min_buffers(holds);
    let buffers = policy
        .streaming_buffers(holds, 2)
        .min(max_buffers.unwrap_or(usize::MAX))
        .max(least);
    // Two queued where the pool has room: it always has under `Block`;
    // under `KeepLatest` a free buffer must remain for the newest frame.
    let queue = match policy {
        Policy::KeepLatest => (buffers - holds - 1).clamp(1, 2),
        _ => 2,
    };
    CaptureOptions {
        buffers,
        queue,
        policy,
        consumer_holds: holds,
        limits: Limits {
            max_pool_bytes: limits.max_frame_bytes.saturating_mul(buffers),
            ..limits
        },
    }
}

/// The static zones: `zone`s, the zones file, or (without detections)
/// the synthetic boxes or a grid. `true` with them if they follow the
/// synthetic boxes.
fn static_zones(
    spec: &StreamSpec,
    opened: &OpenedSource,
) -> Result<(Vec<Zone>, bool), Box<dyn std::error::Error>> {
    let l = opened.source.layout();
    if let Some(path) = &spec.zones_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let toml = path.ends_with(".toml");
        let zones = memview_roi::detections::parse_zones_file(&text, toml)
            .map_err(|e| format!("{path}: {e}"))?;
        for z in &zones {
            check_inside(&z.rect, l).map_err(|e| format!("{path}: zone {:?}: {e}", z.id))?;
        }
        return Ok((zones, false));
    }
    let named = |rects: Vec<Rect>| -> Vec<Zone> {
        rects
            .into_iter()
            .enumerate()
            .map(|(i, r)| Zone::new(format!("zone{i}"), r))
            .collect()
    };
    if !spec.zone.is_empty() {
        for z in &spec.zone {
            check_inside(z, l)?;
        }
        return Ok((named(spec.zone.clone()), false));
    }
    if spec.detections.is_some() {
        return Ok((Vec::new(), false));
    }
    if let Some(t) = &opened.tracker {
        let boxes = t.boxes().into_iter().take(spec.zone_count()).collect();
        return Ok((named(boxes), true));
    }
    Ok((
        named(grid(spec.zone_count(), l.width(), l.height())?),
        false,
    ))
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

/// Why `z` is not inside the frame `l` lays out, if it is not.
fn check_inside(z: &Rect, l: &FrameLayout) -> Result<(), String> {
    let inside = z.x.checked_add(z.w).is_some_and(|e| e <= l.width())
        && z.y.checked_add(z.h).is_some_and(|e| e <= l.height());
    if inside {
        return Ok(());
    }
    Err(format!(
        "zone {},{},{},{} leaves the {}x{} frame",
        z.x,
        z.y,
        z.w,
        z.h,
        l.width(),
        l.height()
    ))
}

/// Opens a detections feed: a file or FIFO (reads time out as the
/// source's do), or stdin.
fn open_detections(
    path: &str,
    limits: &Limits,
) -> Result<Detections<Box<dyn BufRead + Send>>, Box<dyn std::error::Error>> {
    let reader: Box<dyn BufRead + Send> = if path == "-" {
        let stdin = memview_capture::TimedRead::new(io::stdin(), limits.read_timeout);
        Box::new(BufReader::new(stdin))
    } else {
        let f = memview_capture::open_input(std::path::Path::new(path), limits.read_timeout)
            .map_err(|e| format!("--detections {path}: {e}"))?;
        Box::new(BufReader::new(f))
    };
    Ok(Detections::new(reader))
}

/// An output several writers share (the result writers of several
/// streams, and the capture threads announcing stream changes): each
/// `write` call is one whole line, written under the lock, so lines never
/// interleave. It may be made before its file (a stream can change state
/// once its capture starts, before the outputs exist): lines written until
/// [`SharedLines::set`] wait in memory, up to [`EARLY_LINES_MAX`] bytes.
#[derive(Clone, Default)]
pub struct SharedLines(Arc<Mutex<Lines>>);

#[derive(Default)]
struct Lines {
    out: Option<Box<dyn Write + Send>>,
    early: Vec<u8>,
}

/// The most bytes of lines kept before a [`SharedLines`] has its output;
/// lines past it are dropped.
pub const EARLY_LINES_MAX: usize = 64 << 10;

impl std::fmt::Debug for SharedLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedLines")
    }
}

impl SharedLines {
    /// Shares `out`.
    pub fn new(out: Box<dyn Write + Send>) -> SharedLines {
        let s = SharedLines::default();
        // A fresh lock cannot be poisoned, nor can lines wait in it.
        let _ = s.set(out);
        s
    }

    /// Gives the output its file, writing the lines that waited.
    pub fn set(&self, mut out: Box<dyn Write + Send>) -> io::Result<()> {
        self.with(|l| {
            out.write_all(&l.early)?;
            l.early = Vec::new();
            l.out = Some(out);
            Ok(())
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Lines) -> io::Result<T>) -> io::Result<T> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| io::Error::other("an output's writer panicked"))?;
        f(&mut guard)
    }
}

impl Write for SharedLines {
    /// `buf` must be whole lines (the sinks write a line per call).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|l| match l.out.as_mut() {
            Some(w) => w.write_all(buf),
            None => {
                if l.early.len() + buf.len() <= EARLY_LINES_MAX {
                    l.early.extend_from_slice(buf);
                }
                Ok(())
            }
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|l| l.out.as_mut().map_or(Ok(()), |w| w.flush()))
    }
}

/// Seconds since the Unix epoch, for events that no frame carries.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes each change of a live stream to `out` as a JSON line,
/// `stream_down` or `stream_up` (the schema is in the README), at once.
fn stream_events(
    mut out: SharedLines,
    name: Option<String>,
) -> Box<dyn FnMut(&StreamChange<'_>) + Send> {
    Box::new(move |change| {
        let mut line = serde_json::Map::new();
        let (event, extra) = match change {
            StreamChange::Down { reason, frames } => (
                "stream_down",
                serde_json::json!({"frames": frames, "reason": reason}),
            ),
            StreamChange::Up { attempts, down_for } => (
                "stream_up",
                serde_json::json!({"attempts": attempts, "down_seconds": down_for.as_secs_f64()}),
            ),
        };
        if let Some(n) = &name {
            line.insert("stream".into(), n.as_str().into());
        }
        line.insert("event".into(), event.into());
        line.insert("time".into(), now().into());
        if let serde_json::Value::Object(m) = extra {
            line.extend(m);
        }
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        // A reader that went away is the results' writer's to report.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    })
}
