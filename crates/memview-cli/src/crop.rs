//! `memview crop` and `memview probe`: Y4M streams, zone by zone.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use memview_capture::{
    BufferPool, CaptureError, FfmpegSource, FrameSource, Limits, MmapSource, SourceOptions,
    SourceSpec, Y4mHeader, Y4mSource,
};
use memview_pixel::{Rect, Snap};
use serde_json::json;

use crate::output::{quiet_if_closed, FileId, Output};
use crate::signals::Signals;

/// What every stream-reading subcommand takes besides its input.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Seconds a read may wait for data before the source counts as
    /// stalled (a FIFO, pipe or ffmpeg child that stopped sending); 0
    /// waits forever.
    #[arg(long, default_value_t = 10.0)]
    source_timeout: f64,
    /// The largest frame a source may declare, in bytes (a hostile header
    /// can claim 65536x65536); `run`'s pool may take 4 such frames,
    /// `crop`'s 2.
    #[arg(long, default_value_t = memview_capture::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Options for ffmpeg's input, before its `-i` (`ffmpeg:` sources),
    /// separated by spaces: `-f lavfi`, `-rtsp_transport tcp`, `-re`,
    /// `-hwaccel auto`, ...
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    ffmpeg_input: Option<String>,
    /// The pixel format ffmpeg hands memview (`ffmpeg:` sources): a
    /// `-pix_fmt` name Y4M carries (yuv420p, yuv422p, yuv444p, gray,
    /// yuv420p10le, ...), or `native` for the input's own. Default:
    /// yuv420p for `run`, native for `crop` and `probe`.
    #[arg(long, value_name = "FORMAT")]
    ffmpeg_pix_fmt: Option<String>,
}

impl InputArgs {
    /// The ffmpeg options these flags give.
    pub(crate) fn ffmpeg(&self) -> (Vec<String>, Option<String>) {
        let input = self
            .ffmpeg_input
            .as_deref()
            .map(|o| o.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        (input, self.ffmpeg_pix_fmt.clone())
    }

    /// The budgets these flags give (a pool of two frames).
    pub(crate) fn limits(&self) -> Result<Limits, String> {
        let t = self.source_timeout;
        if !(t >= 0.0 && t.is_finite()) {
            return Err(format!("--source-timeout {t}: give seconds, 0 or more"));
        }
        Ok(Limits {
            max_frame_bytes: self.max_frame_bytes,
            max_pool_bytes: self.max_frame_bytes.saturating_mul(2),
            read_timeout: (t > 0.0).then(|| Duration::from_secs_f64(t)),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct CropArgs {
    /// A `.y4m` file, `-` for stdin, or `ffmpeg:INPUT`.
    input: String,
    /// A zone `x,y,w,h` on the chroma grid (repeatable).
    #[arg(long = "zone", value_parser = crate::run::parse_rect, required = true)]
    zone: Vec<Rect>,
    /// Output Y4M file; with several zones a pattern with `%d` (the zone's
    /// index), such as `zone_%d.y4m`. Never the input; a regular file
    /// appears only once it holds frames.
    #[arg(short = 'o', long)]
    output: String,
    /// Read a regular file with `read` into pooled buffers instead of
    /// memory-mapping it (where each frame is a view of the page cache).
    #[arg(long)]
    no_mmap: bool,
    #[command(flatten)]
    input_args: InputArgs,
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// A `.y4m` file, `-` for stdin, or `ffmpeg:INPUT`.
    input: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Count a regular file's frames by reading it instead of
    /// memory-mapping it (which touches only each frame's FRAME line).
    #[arg(long)]
    no_mmap: bool,
    #[command(flatten)]
    input_args: InputArgs,
}

/// A source, its stream header, and the input's file.
struct Opened(Box<dyn FrameSource>, Y4mHeader, Option<FileId>);

fn open(
    input: &str,
    args: &InputArgs,
    limits: &Limits,
    mmap: bool,
) -> Result<Opened, CaptureError> {
    let (ffmpeg_input, ffmpeg_pix_fmt) = args.ffmpeg();
    let spec = SourceSpec::parse(input);
    let options = SourceOptions {
        ffmpeg_input,
        ffmpeg_pix_fmt,
        ..SourceOptions::default()
    };
    spec.check(&options)?;
    match &spec {
        SourceSpec::Ffmpeg(i) => {
            let s = FfmpegSource::spawn_with(
                &options.ffmpeg_args(i),
                options.ffmpeg_pix_fmt(None),
                limits,
            )?;
            let h = s.header().clone();
            return Ok(Opened(Box::new(s), h, FileId::of_path(Path::new(i))));
        }
        SourceSpec::Stdin => {
            let s = Y4mSource::stdin_with(limits)?;
            let h = s.header().clone();
            return Ok(Opened(Box::new(s), h, FileId::of_stdin()));
        }
        // Everything else names a file (crop and probe take no synthetic
        // or camera source).
        _ => {}
    }
    // The header is read and checked (budgets, hostile tags) by the
    // reader, whatever then reads the frames.
    let s = Y4mSource::open_with(input, limits)?;
    let h = s.header().clone();
    let path = Path::new(input);
    if mmap {
        if let Some(m) = map_regular(path)? {
            return Ok(Opened(Box::new(m), h, FileId::of_path(path)));
        }
    }
    Ok(Opened(Box::new(s), h, FileId::of_path(path)))
}

/// The Y4M file `path` memory-mapped, if it is a regular file (not a
/// FIFO, a device or a directory, which are read). Call it after the
/// reader has checked the header: the map then only locates frames.
pub(crate) fn map_regular(path: &Path) -> Result<Option<MmapSource>, CaptureError> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    // SAFETY: the map is read-only, and `MmapSource` checks the file's
    // length before each frame, so a file truncated while it is read ends
    // the stream with an error rather than a SIGBUS; a truncation racing
    // with that check, or another process writing into the file, is the
    // risk the README states for mapped input (`--no-mmap` avoids it).
    #[allow(unsafe_code)]
    let m = unsafe { MmapSource::open_y4m(path) }?;
    Ok(Some(m))
}

/// Refuses a zone that ffmpeg's crop filter would not cut as given: it
/// rounds x, y, w and h down to the chroma grid (a 65x47 zone of an odd
/// 4:2:0 frame comes out 64x46), so a zone off the grid, or outside the
/// frame, is an error that names what ffmpeg would write.
fn check_zone(z: Rect, h: &Y4mHeader) -> Result<(), String> {
    let (gx, gy) = h.layout.format().grid();
    let inside = z.x.checked_add(z.w).is_some_and(|e| e <= h.width)
        && z.y.checked_add(z.h).is_some_and(|e| e <= h.height);
    if !inside {
        return Err(format!(
            "zone {},{},{},{} leaves the {}x{} frame",
            z.x, z.y, z.w, z.h, h.width, h.height
        ));
    }
    let down = |v: usize, g: usize| v / g * g;
    let snapped = Rect::new(down(z.x, gx), down(z.y, gy), down(z.w, gx), down(z.h, gy));
    if snapped != z {
        let hint = if snapped.w == 0 || snapped.h == 0 {
            "nothing".to_owned()
        } else {
            format!("{},{},{},{}", snapped.x, snapped.y, snapped.w, snapped.h)
        };
        return Err(format!(
            "zone {},{},{},{} is not on the {gx}x{gy} chroma grid of {}: ffmpeg's crop filter \
             would cut {hint} instead; give a zone on the grid",
            z.x,
            z.y,
            z.w,
            z.h,
            h.layout.format().name
        ));
    }
    Ok(())
}

pub fn crop(args: &CropArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if args.zone.len() > 1 && !args.output.contains("%d") {
        return Err("with several zones, -o needs a pattern with %d (such as zone_%d.y4m)".into());
    }
    let signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let limits = args.input_args.limits()?;
    let Opened(mut src, header, input) =
        open(&args.input, &args.input_args, &limits, !args.no_mmap)?;
    for z in &args.zone {
        check_zone(*z, &header)?;
    }
    let paths: Vec<String> = (0..args.zone.len())
        .map(|i| args.output.replace("%d", &i.to_string()))
        .collect();
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].contains(p) {
            return Err(format!(
                "zones {i} and {} would both write {p}",
                paths[..i].iter().position(|q| q == p).unwrap_or(0)
            )
            .into());
        }
    }
    let mut outs = Vec::with_capacity(args.zone.len());
    for (z, path) in args.zone.iter().zip(&paths) {
        let mut w = Output::create(path, &[input])?;
        w.write_all(header.to_line(z.w, z.h).as_bytes())?;
        outs.push(w);
    }
    let mut pool = BufferPool::with_limits(2, src.frame_len(), &limits)?;
    let mut buf = Vec::new();
    let mut frames = 0u64;
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        while signals.received().is_none() {
            let Some(slot) = pool.acquire(None) else {
                return Err("the frame pool closed".into());
            };
            let Some(lease) = src.next_frame(slot)? else {
                break;
            };
            for (z, out) in args.zone.iter().zip(&mut outs) {
                // On the grid (checked above): Strict cuts it exactly.
                let roi = lease.frame().roi_with(*z, Snap::Strict)?;
                buf.resize(roi.tight_len(), 0);
                roi.copy_to(&mut buf)?;
                out.write_all(b"FRAME\n")?;
                out.write_all(&buf)?;
            }
            frames += 1;
        }
        Ok(())
    })();
    // The frames cut so far are kept (whole frames only), as after a
    // signal; a run that failed before its first frame leaves nothing.
    if frames > 0 || result.is_ok() {
        for o in outs {
            o.commit()?;
        }
    }
    result?;
    eprintln!("memview crop: {frames} frames, {} zones", args.zone.len());
    Ok(signals.exit_code().unwrap_or(ExitCode::SUCCESS))
}

pub fn probe(args: &ProbeArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let limits = args.input_args.limits()?;
    let Opened(mut src, h, _) = open(&args.input, &args.input_args, &limits, !args.no_mmap)?;
    // A regular file of bare frames (its header checked by the reader) is
    // counted from its size.
    let counted = if args.no_mmap || args.input == "-" || args.input.starts_with("ffmpeg:") {
        None
    } else {
        map_regular(Path::new(&args.input))?.and_then(|m| m.frames_by_size())
    };
    let frames = match counted {
        Some(n) => n,
        None => {
            let mut frames = 0u64;
            while src.skip()? {
                frames += 1;
            }
            frames
        }
    };
    let format = h.layout.format();
    let mut out = io::stdout().lock();
    let r = if args.json {
        writeln!(
            out,
            "{}",
            json!({
                "format": format.name,
                "pix_fmt": format.ffmpeg,
                "y4m_colorspace": h.colorspace,
                "width": h.width,
                "height": h.height,
                "frame_rate": if h.rate.1 == 0 { serde_json::Value::Null } else { json!(format!("{}/{}", h.rate.0, h.rate.1)) },
                "frames": frames,
                "frame_bytes": h.layout.len(),
            })
        )
    } else {
        (|| {
            writeln!(
                out,
                "{}: {} ({}) {}x{}",
                args.input, format.name, h.colorspace, h.width, h.height
            )?;
            if h.rate.1 != 0 {
                writeln!(
                    out,
                    "  frame rate {}/{} = {:.3} fps",
                    h.rate.0,
                    h.rate.1,
                    f64::from(h.rate.0) / f64::from(h.rate.1)
                )?;
            }
            writeln!(out, "  {frames} frames of {} bytes", h.layout.len())
        })()
    };
    quiet_if_closed(r.and_then(|()| out.flush()))?;
    Ok(ExitCode::SUCCESS)
}
