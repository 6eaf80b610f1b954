//! One way to name a source, shared by every front end: `memview run
//! --source X` and the Python package parse the same spec strings here.
//!
//! | spec | source |
//! |---|---|
//! | `synthetic` | [`Synthetic`]: moving boxes (faces, plates) on a textured background |
//! | `-` | Y4M on stdin |
//! | `ffmpeg:INPUT` | anything ffmpeg decodes, through an `ffmpeg` child ([`FfmpegSource`]), with [`SourceOptions::ffmpeg_input`] before its `-i` |
//! | `v4l2:/dev/videoN` | a V4L2 camera, zero-copy from the driver's buffers (feature `v4l2`, Linux) |
//! | anything else | a `.y4m` file or FIFO ([`Y4mSource`]) |

use std::path::PathBuf;
use std::sync::Arc;

use crate::reconnect::{Backoff, OnChange, ReconnectStats, Reconnecting};
use crate::{CaptureError, FfmpegSource, FrameSource, Limits, Synthetic, Y4mHeader, Y4mSource};
use memview_pixel::format::I420;

/// A parsed source spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// `synthetic`.
    Synthetic,
    /// `-`: Y4M on stdin.
    Stdin,
    /// `ffmpeg:INPUT`.
    Ffmpeg(String),
    /// `v4l2:PATH`.
    V4l2(PathBuf),
    /// A Y4M file or FIFO.
    Y4m(PathBuf),
}

impl SourceSpec {
    /// Parses a spec (every string names some source; opening it says
    /// whether it is there).
    pub fn parse(spec: &str) -> SourceSpec {
        if spec == "synthetic" {
            SourceSpec::Synthetic
        } else if spec == "-" {
            SourceSpec::Stdin
        } else if let Some(i) = spec.strip_prefix("ffmpeg:") {
            SourceSpec::Ffmpeg(i.to_owned())
        } else if let Some(p) = spec.strip_prefix("v4l2:") {
            SourceSpec::V4l2(PathBuf::from(p))
        } else {
            SourceSpec::Y4m(PathBuf::from(spec))
        }
    }

    /// Whether this is a live source that can drop out and come back: a
    /// camera (`v4l2:`, or a `/dev/` device through ffmpeg) or a network
    /// stream through ffmpeg (a `scheme://` URL other than `file://`).
    /// Files, pipes, stdin and the synthetic source end at their end.
    pub fn is_live(&self) -> bool {
        match self {
            SourceSpec::V4l2(_) => true,
            SourceSpec::Ffmpeg(i) => {
                i.starts_with("/dev/") || (i.contains("://") && !i.starts_with("file:"))
            }
            _ => false,
        }
    }

    /// The spec as written.
    pub fn to_spec(&self) -> String {
        match self {
            SourceSpec::Synthetic => "synthetic".into(),
            SourceSpec::Stdin => "-".into(),
            SourceSpec::Ffmpeg(i) => format!("ffmpeg:{i}"),
            SourceSpec::V4l2(p) => format!("v4l2:{}", p.display()),
            SourceSpec::Y4m(p) => p.display().to_string(),
        }
    }

    /// Refuses options that do nothing for this source, rather than
    /// ignoring them (named as `--flag`s, as the command line spells them).
    pub fn check(&self, o: &SourceOptions) -> Result<(), CaptureError> {
        let only = |flag: &str, given: bool, ok: bool, to: &str| {
            if given && !ok {
                Err(CaptureError::Options(format!(
                    "{flag} applies only to {to} sources, not to {}",
                    self.to_spec()
                )))
            } else {
                Ok(())
            }
        };
        let synthetic = *self == SourceSpec::Synthetic;
        let v4l2 = matches!(self, SourceSpec::V4l2(_));
        only(
            "--size",
            o.size.is_some(),
            synthetic || v4l2,
            "synthetic and v4l2:",
        )?;
        only("--pixel-format", o.pixel_format.is_some(), v4l2, "v4l2:")?;
        only("--fps", o.fps.is_some(), v4l2, "v4l2:")?;
        let file = matches!(self, SourceSpec::Y4m(_) | SourceSpec::Stdin);
        only(
            "--realtime",
            o.realtime,
            synthetic || file,
            "synthetic, file and stdin",
        )?;
        let ffmpeg = matches!(self, SourceSpec::Ffmpeg(_));
        only(
            "--ffmpeg-input",
            !o.ffmpeg_input.is_empty(),
            ffmpeg,
            "ffmpeg:",
        )?;
        only(
            "--ffmpeg-pix-fmt",
            o.ffmpeg_pix_fmt.is_some(),
            ffmpeg,
            "ffmpeg:",
        )?;
        if let Some(p) = &o.ffmpeg_pix_fmt {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(CaptureError::Options(format!(
                    "--ffmpeg-pix-fmt {p:?} is not a pixel format name (yuv420p, yuv422p, gray, ..., or native)"
                )));
            }
        }
        Ok(())
    }
}

/// How to open a source.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// Frame size of the synthetic source (default 1920x1080), or the size
    /// asked of a V4L2 device (default 640x480).
    pub size: Option<(usize, usize)>,
    /// The V4L2 fourcc to ask for (default NV12).
    pub pixel_format: Option<String>,
    /// Frames per second to ask of a V4L2 device.
    pub fps: Option<u32>,
    /// Pace the synthetic source at 60 frames/s, and Y4M files and stdin
    /// at their frame rate ([`crate::Paced`]).
    pub realtime: bool,
    /// Frames the synthetic source makes (`None`: without end).
    pub frames: Option<u64>,
    /// Moving boxes of the synthetic source.
    pub boxes: usize,
    /// Budgets and the read timeout.
    pub limits: Limits,
    /// Options for ffmpeg's input, before its `-i` (`ffmpeg:` sources):
    /// `-f lavfi`, `-rtsp_transport tcp`, `-re`, `-hwaccel auto`, ...
    pub ffmpeg_input: Vec<String>,
    /// The pixel format ffmpeg hands over (`ffmpeg:` sources): a
    /// `-pix_fmt` name Y4M carries, or [`NATIVE`] for the input's own
    /// (`None`: yuv420p).
    pub ffmpeg_pix_fmt: Option<String>,
}

/// [`SourceOptions::ffmpeg_pix_fmt`] for the input's own pixel format (no
/// `-pix_fmt`: ffmpeg converts only what Y4M cannot carry).
pub const NATIVE: &str = "native";

impl SourceOptions {
    /// ffmpeg's input arguments for `input`: the options, then `-i input`.
    pub fn ffmpeg_args<'a>(&'a self, input: &'a str) -> Vec<&'a str> {
        let mut args: Vec<&str> = self.ffmpeg_input.iter().map(String::as_str).collect();
        args.extend(["-i", input]);
        args
    }

    /// The `-pix_fmt` to ask of ffmpeg, `default` where none was given.
    pub fn ffmpeg_pix_fmt<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        match self.ffmpeg_pix_fmt.as_deref() {
            Some(NATIVE) => None,
            Some(p) => Some(p),
            None => default,
        }
    }
}

/// The file a source reads, so that no output overwrites it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputFile {
    /// A path.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

/// A source opened from its spec, and what a run needs to know of it
/// besides its frames.
pub struct OpenedSource {
    /// The source.
    pub source: Box<dyn FrameSource>,
    /// A label for reports.
    pub label: String,
    /// The stream header, where there is one (rate, interlacing, aspect,
    /// colour space and range, for outputs of the same stream).
    pub header: Option<Y4mHeader>,
    /// The file read, if any.
    pub input: Option<InputFile>,
    /// The synthetic source's twin, which knows where its boxes are in
    /// every frame: a perfect detector.
    pub tracker: Option<Synthetic>,
    /// Frames the source lost before the pool saw them (a camera's
    /// sequence gaps), where it counts them.
    pub source_drops: Option<Box<dyn Fn() -> u64 + Send>>,
    /// The most pool buffers the source can back, where it has a limit (a
    /// camera: its driver buffers less those that must stay queued with
    /// the driver). A larger pool would starve the source.
    pub max_buffers: Option<usize>,
    /// The reconnect counters, for a source opened by
    /// [`open_reconnecting`].
    pub reconnects: Option<Arc<ReconnectStats>>,
}

impl std::fmt::Debug for OpenedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSource")
            .field("label", &self.label)
            .field("layout", self.source.layout())
            .field("input", &self.input)
            .finish()
    }
}

impl OpenedSource {
    fn plain(source: Box<dyn FrameSource>, label: String, header: Option<Y4mHeader>) -> Self {
        OpenedSource {
            source,
            label,
            header,
            input: None,
            tracker: None,
            source_drops: None,
            max_buffers: None,
            reconnects: None,
        }
    }
}

/// `s`, paced at its timestamps if the options say so.
pub fn paced<S: FrameSource + 'static>(s: S, o: &SourceOptions) -> Box<dyn FrameSource> {
    if o.realtime {
        Box::new(crate::Paced::new(s))
    } else {
        Box::new(s)
    }
}

/// Opens the source `spec` names.
pub fn open(spec: &SourceSpec, o: &SourceOptions) -> Result<OpenedSource, CaptureError> {
    spec.check(o)?;
    let limits = &o.limits;
    Ok(match spec {
        SourceSpec::Synthetic => {
            let (w, h) = o.size.unwrap_or((1920, 1080));
            let mut s = Synthetic::new(&I420, w, h, o.boxes)?;
            if let Some(n) = o.frames {
                s = s.with_frames(n);
            }
            if o.realtime {
                s = s.realtime(60, 1);
            }
            let tracker = s.clone();
            let mut opened =
                OpenedSource::plain(Box::new(s), format!("synthetic {w}x{h} I420"), None);
            opened.tracker = Some(tracker);
            opened
        }
        SourceSpec::Ffmpeg(input) => {
            let s = FfmpegSource::spawn_with(
                &o.ffmpeg_args(input),
                o.ffmpeg_pix_fmt(Some("yuv420p")),
                limits,
            )?;
            let header = s.header().clone();
            let mut opened = OpenedSource::plain(Box::new(s), spec.to_spec(), Some(header));
            opened.input = Some(InputFile::Path(PathBuf::from(input)));
            opened
        }
        SourceSpec::Stdin => {
            let s = Y4mSource::stdin_with(limits)?;
            let header = s.header().clone();
            let mut opened = OpenedSource::plain(paced(s, o), "stdin (y4m)".into(), Some(header));
            opened.input = Some(InputFile::Stdin);
            opened
        }
        SourceSpec::Y4m(path) => {
            let s = Y4mSource::open_with(path, limits)?;
            let header = s.header().clone();
            let mut opened = OpenedSource::plain(paced(s, o), spec.to_spec(), Some(header));
            opened.input = Some(InputFile::Path(path.clone()));
            opened
        }
        SourceSpec::V4l2(path) => open_v4l2(path, o)?,
    })
}

/// Opens the source `spec` names as [`open`] does, wrapped in a
/// [`Reconnecting`] source: when it fails or ends it is opened again the
/// same way, after waits of `backoff`, and `on_change` hears of it. The
/// first open must succeed (a wrong URL or a missing device is an error,
/// not an endless retry).
pub fn open_reconnecting(
    spec: &SourceSpec,
    o: &SourceOptions,
    backoff: Backoff,
    on_change: Option<OnChange>,
) -> Result<OpenedSource, CaptureError> {
    let mut opened = open(spec, o)?;
    let (spec, o) = (spec.clone(), o.clone());
    // A camera counts the frames it lost per session (its driver's
    // sequence starts again): the total is every ended session's last
    // count plus the current one's.
    let drops = opened.source_drops.take().map(|first| {
        let d = Arc::new(std::sync::Mutex::new(SessionDrops::new(first)));
        let total = d.clone();
        opened.source_drops = Some(Box::new(move || lock(&total).total()));
        d
    });
    let reopen: crate::reconnect::Reopen = Box::new(move || {
        open(&spec, &o).map(|s| {
            if let (Some(d), Some(f)) = (&drops, s.source_drops) {
                lock(d).next_session(f);
            }
            s.source
        })
    });
    let mut r = Reconnecting::new(opened.source, reopen, backoff);
    if let Some(f) = on_change {
        r = r.on_change(f);
    }
    opened.reconnects = Some(r.stats());
    opened.source = Box::new(r);
    Ok(opened)
}

/// A counter of lost frames that a source keeps per session, summed over
/// the sessions of a reconnecting source.
struct SessionDrops {
    /// The counts of the sessions that ended, at their end.
    ended: u64,
    current: Box<dyn Fn() -> u64 + Send>,
}

impl SessionDrops {
    fn new(first: Box<dyn Fn() -> u64 + Send>) -> Self {
        SessionDrops {
            ended: 0,
            current: first,
        }
    }

    /// The current session ends (its count is kept) and `next` counts on.
    fn next_session(&mut self, next: Box<dyn Fn() -> u64 + Send>) {
        self.ended += (self.current)();
        self.current = next;
    }

    fn total(&self) -> u64 {
        self.ended + (self.current)()
    }
}

/// The lock, also after a thread panicked holding it (the counts it
/// guards are still whole numbers of frames lost).
fn lock(m: &std::sync::Mutex<SessionDrops>) -> std::sync::MutexGuard<'_, SessionDrops> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Driver buffers asked of a V4L2 device: a streaming pool of five (two
/// frames held by the analyzers, two queued, one being filled) and the
/// [`crate::v4l2::MIN_QUEUED`] that always stay with the driver. A driver
/// may grant fewer; [`OpenedSource::max_buffers`] then says how many.
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub const V4L2_BUFFERS: u32 = 5 + crate::v4l2::MIN_QUEUED as u32;

#[cfg(all(feature = "v4l2", target_os = "linux"))]
fn open_v4l2(path: &std::path::Path, o: &SourceOptions) -> Result<OpenedSource, CaptureError> {
    use crate::v4l2::V4l2Source;
    let bad = |m: String| CaptureError::Options(m);
    let fourcc = o.pixel_format.as_deref().unwrap_or("NV12");
    let cc: [u8; 4] = fourcc
        .as_bytes()
        .try_into()
        .map_err(|_| bad(format!("--pixel-format {fourcc:?} is not a fourcc")))?;
    if memview_pixel::PixelFormat::from_fourcc(cc).is_none() {
        return Err(bad(format!(
            "--pixel-format {fourcc}: not a raw format memview lays out"
        )));
    }
    let (w, h) = o.size.unwrap_or((640, 480));
    let dim = |v: usize| u32::try_from(v).map_err(|_| bad("--size too large".into()));
    let rate = o.fps.map(|f| (f, 1));
    let mut s = V4l2Source::open(path, cc, dim(w)?, dim(h)?, rate, V4L2_BUFFERS)?;
    if let Some(t) = o.limits.read_timeout {
        s = s.with_timeout(t);
    }
    let l = s.layout().clone();
    let counters = s.counters();
    let s_max = s.max_pool();
    let label = format!("{} {}x{} {fourcc}", path.display(), l.width(), l.height());
    let mut opened = OpenedSource::plain(Box::new(s), label, None);
    opened.source_drops = Some(Box::new(move || counters.get().dropped()));
    opened.max_buffers = Some(s_max);
    Ok(opened)
}

#[cfg(not(all(feature = "v4l2", target_os = "linux")))]
fn open_v4l2(_: &std::path::Path, _: &SourceOptions) -> Result<OpenedSource, CaptureError> {
    Err(CaptureError::Options(
        "this memview was built without the v4l2 feature (Linux only); try ffmpeg:/dev/videoN"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::SessionDrops;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A reconnected camera's drops: each session's counter starts at 0,
    /// and the total keeps the ended sessions' counts.
    #[test]
    fn session_drops_add_up_over_reconnects() {
        let counter = |c: &Arc<AtomicU64>| {
            let c = c.clone();
            Box::new(move || c.load(Ordering::Relaxed)) as Box<dyn Fn() -> u64 + Send>
        };
        let (first, second) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut d = SessionDrops::new(counter(&first));
        first.store(3, Ordering::Relaxed);
        assert_eq!(d.total(), 3);
        d.next_session(counter(&second));
        // The first device is gone; what it counts now no longer matters.
        first.store(100, Ordering::Relaxed);
        assert_eq!(d.total(), 3);
        second.store(2, Ordering::Relaxed);
        assert_eq!(d.total(), 5);
    }
}
