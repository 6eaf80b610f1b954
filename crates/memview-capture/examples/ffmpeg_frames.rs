//! Frames from ffmpeg: its `testsrc2` test pattern decoded by a child
//! process, read as Y4M into the pool on a capture thread, and each frame's
//! planes looked at in place. Any input ffmpeg reads works the same way
//! (`-i clip.mp4`, `-rtsp_transport tcp -i rtsp://...`).
//!
//! ```text
//! cargo run -p memview-capture --example ffmpeg_frames
//! ```

use memview_capture::{Capture, CaptureError, FfmpegSource, Policy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-frames:v",
        "30",
    ];
    let source = match FfmpegSource::spawn_args(&input, Some("yuv420p")) {
        Ok(s) => s,
        Err(e @ CaptureError::FfmpegMissing(_)) => {
            eprintln!("this example needs ffmpeg on the PATH: {e}");
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    // Four buffers: the frame looked at, one in the queue, one being read.
    let capture = Capture::start(source, 4, 2, Policy::Block)?;
    let mut frames = 0u64;
    while let Some(frame) = capture.recv() {
        let frame = frame?;
        let y = frame.frame().plane(0).ok_or("no luma plane")?;
        assert_eq!(y.shape(), &[360, 640]);
        // The mean luma of the frame's top-left 64x64, read in place.
        let corner = y.region(0..64, 0..64)?;
        let sum: u64 = corner
            .rows()?
            .map(|r| r.iter().map(|&b| u64::from(b)).sum::<u64>())
            .sum();
        if frame.seq().is_multiple_of(10) {
            println!(
                "frame {} at {:?}: top-left mean luma {:.1}",
                frame.seq(),
                frame.timestamp(),
                sum as f64 / 4096.0
            );
        }
        frames += 1;
    }
    let stats = capture.stats();
    println!(
        "{frames} frames; captured {}, dropped {}",
        stats.captured, stats.dropped
    );
    assert_eq!(frames, 30);
    Ok(())
}
