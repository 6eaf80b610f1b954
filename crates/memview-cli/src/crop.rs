//! `memview crop` and `memview probe`: Y4M streams, zone by zone.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use memview_capture::{BufferPool, CaptureError, FfmpegSource, FrameSource, Y4mHeader, Y4mSource};
use memview_pixel::{Rect, Snap};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct CropArgs {
    /// A `.y4m` file, `-` for stdin, or `ffmpeg:INPUT`.
    input: String,
    /// A zone `x,y,w,h` on the chroma grid (repeatable).
    #[arg(long = "zone", value_parser = crate::run::parse_rect, required = true)]
    zone: Vec<Rect>,
    /// Output Y4M file; with several zones a pattern with `%d` (the zone's
    /// index), such as `zone_%d.y4m`.
    #[arg(short = 'o', long)]
    output: String,
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// A `.y4m` file, `-` for stdin, or `ffmpeg:INPUT`.
    input: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// A source and its stream header.
fn open(input: &str) -> Result<(Box<dyn FrameSource>, Y4mHeader), CaptureError> {
    if let Some(i) = input.strip_prefix("ffmpeg:") {
        let s = FfmpegSource::spawn(i, None)?;
        let h = s.header().clone();
        return Ok((Box::new(s), h));
    }
    if input == "-" {
        let s = Y4mSource::stdin()?;
        let h = s.header().clone();
        return Ok((Box::new(s), h));
    }
    let s = Y4mSource::open(input)?;
    let h = s.header().clone();
    Ok((Box::new(s), h))
}

pub fn crop(args: &CropArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if args.zone.len() > 1 && !args.output.contains("%d") {
        return Err("with several zones, -o needs a pattern with %d (such as zone_%d.y4m)".into());
    }
    let (mut src, header) = open(&args.input)?;
    let mut outs = Vec::with_capacity(args.zone.len());
    for (i, z) in args.zone.iter().enumerate() {
        let path = args.output.replace("%d", &i.to_string());
        let f = File::create(&path).map_err(|e| format!("cannot create {path}: {e}"))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(header.to_line(z.w, z.h).as_bytes())?;
        outs.push(w);
    }
    let mut pool = BufferPool::new(2, src.frame_len())?;
    let mut buf = Vec::new();
    let mut frames = 0u64;
    loop {
        let Some(slot) = pool.acquire(None) else {
            continue;
        };
        let Some(lease) = src.next_frame(slot)? else {
            break;
        };
        for (z, out) in args.zone.iter().zip(&mut outs) {
            // Strict: a rectangle off the chroma grid is an error here, not
            // silently grown (ffmpeg would round it differently).
            let roi = lease.frame().roi_with(*z, Snap::Strict)?;
            buf.resize(roi.tight_len(), 0);
            roi.copy_to(&mut buf)?;
            out.write_all(b"FRAME\n")?;
            out.write_all(&buf)?;
        }
        frames += 1;
    }
    for mut o in outs {
        o.flush()?;
    }
    eprintln!("memview crop: {frames} frames, {} zones", args.zone.len());
    Ok(ExitCode::SUCCESS)
}

pub fn probe(args: &ProbeArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (mut src, h) = open(&args.input)?;
    let mut frames = 0u64;
    while src.skip()? {
        frames += 1;
    }
    let format = h.layout.format();
    if args.json {
        println!(
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
        );
    } else {
        let mut out = io::stdout().lock();
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
        writeln!(out, "  {frames} frames of {} bytes", h.layout.len())?;
    }
    Ok(ExitCode::SUCCESS)
}
