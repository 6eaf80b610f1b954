//! Y4M from ffmpeg: every colour space, odd sizes and 1080p, files and
//! pipes; frames must equal ffmpeg's own rawvideo byte for byte. Corrupted
//! copies exercise every error path.

use std::time::{Duration, Instant};

use memview_capture::{BufferPool, CaptureError, FfmpegSource, FrameSource, Y4mSource};
use memview_testkit::ffmpeg;

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("memview-y4m-{}-{name}", std::process::id()))
}

/// `frames` frames of testsrc2 at `w x h` in `pix`, as Y4M and as raw.
fn make(pix: &str, w: usize, h: usize, frames: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let src = format!("testsrc2=size={}x{}:rate=25", w + 1, h + 1);
    let vf = format!("format=rgb24,crop={w}:{h}:0:0,format={pix}");
    let n = frames.to_string();
    let common = ["-f", "lavfi", "-i", &src, "-frames:v", &n, "-vf", &vf];
    let y4m = ffmpeg(&[&common[..], &["-strict", "-1", "-f", "yuv4mpegpipe", "-"]].concat())?;
    let raw = ffmpeg(&[&common[..], &["-f", "rawvideo", "-"]].concat())?;
    Some((y4m, raw))
}

fn read_all(src: &mut dyn FrameSource) -> Result<Vec<u8>, (Vec<u8>, CaptureError)> {
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let mut out = Vec::new();
    loop {
        match src.next_frame(pool.try_acquire().unwrap()) {
            Ok(Some(f)) => out.extend_from_slice(f.bytes().as_bytes().unwrap()),
            Ok(None) => return Ok(out),
            Err(e) => return Err((out, e)),
        }
    }
}

#[test]
fn every_colour_space_equals_ffmpeg_rawvideo() {
    let mut checked = 0;
    for (pix, tag) in [
        ("yuv420p", "420jpeg"),
        ("yuv422p", "422"),
        ("yuv444p", "444"),
        ("gray", "mono"),
        ("gray16le", "mono16"),
        ("yuv420p10le", "420p10"),
    ] {
        // ffmpeg's y4m muxer rounds the chroma line of 16-bit formats down at
        // odd widths (641 bytes for 321 samples), against the spec's ceil:
        // give those even widths.
        let sizes = if pix.ends_with("le") {
            [(642, 479), (36, 17)]
        } else {
            [(641, 479), (35, 17)]
        };
        for (w, h) in sizes {
            let Some((y4m, raw)) = make(pix, w, h, 3) else {
                return;
            };
            let mut src = Y4mSource::new(std::io::Cursor::new(&y4m)).unwrap();
            assert!(
                src.header()
                    .colorspace
                    .starts_with(tag.trim_end_matches("jpeg")),
                "{pix}: C{}",
                src.header().colorspace
            );
            assert_eq!(
                (src.header().width, src.header().height, src.header().rate),
                (w, h, (25, 1))
            );
            let got = match read_all(&mut src) {
                Ok(g) => g,
                Err((_, e)) => panic!("{pix} {w}x{h}: {e}"),
            };
            assert!(got == raw, "{pix} {w}x{h}: frames differ from rawvideo");
            // Mapped from a file, and as views of the stream in memory:
            // the same bytes, with no copy.
            let path = tmp(&format!("space-{pix}-{w}.y4m"));
            std::fs::write(&path, &y4m).unwrap();
            // SAFETY: the file is private to this test and not changed
            // while mapped.
            let mapped =
                read_all(&mut unsafe { memview_capture::MmapSource::open_y4m(&path) }.unwrap());
            std::fs::remove_file(&path).unwrap();
            assert!(
                mapped.is_ok_and(|g| g == raw),
                "{pix} {w}x{h}: mapped frames differ"
            );
            let shared = memview_core::Shared::from(y4m.clone());
            let viewed = read_all(&mut memview_capture::MmapSource::y4m(shared).unwrap());
            assert!(
                viewed.is_ok_and(|g| g == raw),
                "{pix} {w}x{h}: in-memory frames differ"
            );
            checked += 1;
        }
    }
    // 1080p from a file on disk.
    let Some((y4m, raw)) = make("yuv420p", 1920, 1080, 2) else {
        return;
    };
    let path = tmp("1080p.y4m");
    std::fs::write(&path, &y4m).unwrap();
    let got = read_all(&mut Y4mSource::open(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    assert!(got.as_ref().is_ok_and(|g| *g == raw), "1080p file differs");
    eprintln!("y4m differential: {} streams", checked + 1);
}

#[test]
fn ffmpeg_child_pipe_equals_rawvideo() {
    let Some((_, raw)) = make("yuv420p", 320, 240, 5) else {
        return;
    };
    let mut src = FfmpegSource::spawn_args(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=321x241:rate=25",
            "-frames:v",
            "5",
            "-vf",
            "format=rgb24,crop=320:240:0:0,format=yuv420p",
        ],
        None,
    )
    .unwrap();
    let got = read_all(&mut src);
    assert!(
        got.as_ref().is_ok_and(|g| *g == raw),
        "frames through the pipe differ"
    );
}

#[test]
fn a_dying_ffmpeg_is_an_error_not_a_hang() {
    if ffmpeg(&["-version"]).is_none() {
        return;
    }
    let mut src = FfmpegSource::spawn_args(
        &["-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"],
        Some("yuv420p"),
    )
    .unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    assert!(src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .is_some());
    let kill = std::process::Command::new("kill")
        .args(["-9", &src.child_id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = Instant::now();
    let err = loop {
        match src.next_frame(pool.try_acquire().unwrap()) {
            Ok(Some(_)) => assert!(
                start.elapsed() < Duration::from_secs(10),
                "frames after kill -9"
            ),
            Ok(None) => panic!("a killed ffmpeg must be an error, not a clean end"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, CaptureError::Ffmpeg { .. }), "{err}");
    assert!(err.to_string().contains("signal"), "{err}");
}

#[test]
fn ffmpeg_errors_carry_its_stderr() {
    if ffmpeg(&["-version"]).is_none() {
        return;
    }
    let err = FfmpegSource::spawn("/nonexistent/input.mp4", None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("No such file"), "{text}");
}

#[test]
fn corrupt_streams_are_errors_with_offsets() {
    let Some((y4m, raw)) = make("yuv420p", 64, 48, 3) else {
        return;
    };
    let frame = 64 * 48 * 3 / 2;
    let header_len = y4m.iter().position(|&b| b == b'\n').unwrap() + 1;
    // Truncated inside frame 2: frames 0 and 1 come out intact.
    let cut = &y4m[..y4m.len() - 100];
    let Err((got, err)) = read_all(&mut Y4mSource::new(cut).unwrap()) else {
        panic!("a truncated stream read cleanly");
    };
    assert_eq!(got, raw[..2 * frame]);
    match err {
        CaptureError::Truncated {
            index,
            got,
            expected,
            offset,
        } => {
            assert_eq!((index, got, expected), (2, frame - 100, frame));
            assert_eq!(offset as usize, header_len + 3 * 6 + 2 * frame);
        }
        e => panic!("{e}"),
    }
    // A damaged FRAME header.
    let mut bad = y4m.clone();
    let second = header_len + 6 + frame;
    bad[second..second + 5].copy_from_slice(b"FRAMX");
    let Err((got, err)) = read_all(&mut Y4mSource::new(&bad[..]).unwrap()) else {
        panic!("a damaged FRAME header read cleanly");
    };
    assert_eq!(got.len(), frame);
    assert!(
        matches!(err, CaptureError::Y4m { offset, .. } if offset as usize == second),
        "{err}"
    );
    // Headers: garbage, none, unknown tags, absurd sizes, unsupported C.
    for (input, want) in [
        (&b"GIF89a"[..], "missing YUV4MPEG2 signature"),
        (b"", "empty stream"),
        (b"YUV4MPEG2 W64 H48", "ends inside the stream header"),
        (b"YUV4MPEG2 W64 H48 Q1\n", "unknown header tag"),
        (b"YUV4MPEG2 W64 H48 F30\n", "frame rate must be N:D"),
        (b"YUV4MPEG2 W64\n", "lacks W or H"),
        (b"YUV4MPEG2 W64 H48 C444alpha\n", "unsupported colour space"),
        (b"YUV4MPEG2 W100000 H48\n", "impossible frame size"),
        (b"YUV4MPEG2 Wx H48\n", "bad width"),
    ] {
        let err = Y4mSource::new(input).unwrap_err();
        assert!(
            err.to_string().contains(want),
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
    }
    let long = [b"YUV4MPEG2 W64 H48 X".as_slice(), &vec![b'a'; 5000], b"\n"].concat();
    assert!(Y4mSource::new(&long[..])
        .unwrap_err()
        .to_string()
        .contains("longer than"));
    // XCOLORRANGE and FRAME parameters are read.
    let mut with_params = b"YUV4MPEG2 W64 H48 F30000:1001 It A1:1 XCOLORRANGE=FULL\n".to_vec();
    with_params.extend_from_slice(b"FRAME Ixyz\n");
    with_params.extend(std::iter::repeat_n(7u8, frame));
    let mut src = Y4mSource::new(&with_params[..]).unwrap();
    assert_eq!(src.header().full_range, Some(true));
    assert_eq!(src.frame_rate(), Some((30000, 1001)));
    assert_eq!(read_all(&mut src).map(|g| g.len()).ok(), Some(frame));
}

#[test]
fn mapped_files_are_zero_copy_and_exact() {
    use memview_capture::MmapSource;
    use memview_pixel::{format::I420, FrameLayout};
    let Some((y4m, raw)) = make("yuv420p", 641, 479, 4) else {
        return;
    };
    let (py, pr) = (tmp("map.y4m"), tmp("map.raw"));
    std::fs::write(&py, &y4m).unwrap();
    std::fs::write(&pr, &raw).unwrap();
    let layout = FrameLayout::tight(&I420, 641, 479).unwrap();
    // SAFETY: the files are private to this test and not changed while mapped.
    let mut sy = unsafe { MmapSource::open_y4m(&py) }.unwrap();
    // SAFETY: as above.
    let mut sr = unsafe { MmapSource::open_raw(&pr, layout.clone(), Some((25, 1))) }.unwrap();
    assert!(
        read_all(&mut sy).is_ok_and(|g| g == raw),
        "mapped y4m differs"
    );
    assert!(
        read_all(&mut sr).is_ok_and(|g| g == raw),
        "mapped raw differs"
    );
    // The same stream in memory: the same frames, each a view of the
    // buffer one frame and its FRAME line after the last, and a cut
    // stream ends with an error after its whole frames.
    let mut sm = MmapSource::y4m(memview_core::Shared::from(y4m.clone())).unwrap();
    assert!(
        read_all(&mut sm).is_ok_and(|g| g == raw),
        "in-memory y4m differs"
    );
    let mut sm = MmapSource::y4m(memview_core::Shared::from(y4m.clone())).unwrap();
    let mut pool = BufferPool::new(2, sm.frame_len()).unwrap();
    let a = sm.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    let b = sm.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    let pa = a.bytes().as_bytes().unwrap().as_ptr() as usize;
    let pb = b.bytes().as_bytes().unwrap().as_ptr() as usize;
    assert_eq!(pb - pa, layout.len() + b"FRAME\n".len());
    drop((a, b));
    let cut = y4m[..y4m.len() - 5].to_vec();
    let mut sc = MmapSource::y4m(memview_core::Shared::from(cut)).unwrap();
    let Err((got, err)) = read_all(&mut sc) else {
        panic!("a cut in-memory stream read cleanly")
    };
    assert_eq!(got.len(), 3 * layout.len());
    assert!(
        matches!(err, CaptureError::Truncated { index: 3, .. }),
        "{err}"
    );
    // Zero copy: consecutive frames are views one frame apart in the map.
    // SAFETY: as above.
    let mut s = unsafe { MmapSource::open_raw(&pr, layout.clone(), None) }.unwrap();
    let mut pool = BufferPool::new(2, s.frame_len()).unwrap();
    let a = s.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    let b = s.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    let pa = a.bytes().as_bytes().unwrap().as_ptr() as usize;
    let pb = b.bytes().as_bytes().unwrap().as_ptr() as usize;
    assert_eq!(pb - pa, layout.len());
    drop((a, b));
    // A Y4M file truncated while mapped, after its first frame was read:
    // the next frame is an error, not a SIGBUS, and the frame already read
    // (still within the file) stays readable.
    // SAFETY: as above; the truncation is what the length check is for.
    let mut st = unsafe { MmapSource::open_y4m(&py) }.unwrap();
    let mut pool = BufferPool::new(2, st.frame_len()).unwrap();
    let first = st.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    let header = y4m.iter().position(|&b| b == b'\n').unwrap() + 1;
    let keep = header + b"FRAME\n".len() + layout.len() + 100;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&py)
        .unwrap()
        .set_len(keep as u64)
        .unwrap();
    let err = st.next_frame(pool.try_acquire().unwrap()).unwrap_err();
    assert!(
        matches!(err, CaptureError::Truncated { index: 1, .. }),
        "{err}"
    );
    assert_eq!(first.bytes().as_bytes().unwrap(), &raw[..layout.len()]);
    drop(first);
    // Cut inside a FRAME line: an error too.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&py)
        .unwrap()
        .set_len((header + 3) as u64)
        .unwrap();
    assert!(st.next_frame(pool.try_acquire().unwrap()).is_err());
    // A frame still held when its file is cut under it: its pages that
    // are gone read as zeros (the SIGBUS guard), and the stream ends.
    std::fs::write(&py, &y4m).unwrap();
    // SAFETY: as above; the truncation is what the guard is for.
    let mut sg = unsafe { MmapSource::open_y4m(&py) }.unwrap();
    let held = sg.next_frame(pool.try_acquire().unwrap()).unwrap().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&py)
        .unwrap()
        .set_len(0)
        .unwrap();
    let seen = held.bytes().as_bytes().unwrap().to_vec();
    assert!(
        seen.iter().all(|&b| b == 0),
        "cut pages did not read as zeros"
    );
    let err = sg.next_frame(pool.try_acquire().unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::CutWhileMapped {
                index: 1,
                len: 0,
                zeroed: true
            }
        ),
        "{err}"
    );
    drop(held);
    // A truncated raw file: whole frames come out, then an error.
    std::fs::write(&pr, &raw[..raw.len() - 10]).unwrap();
    // SAFETY: as above.
    let mut t = unsafe { MmapSource::open_raw(&pr, layout.clone(), None) }.unwrap();
    let Err((got, err)) = read_all(&mut t) else {
        panic!("truncated file read cleanly")
    };
    assert_eq!(got.len(), 3 * layout.len());
    assert!(
        matches!(err, CaptureError::Truncated { index: 3, .. }),
        "{err}"
    );
    std::fs::remove_file(&py).unwrap();
    std::fs::remove_file(&pr).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn pipe_buffers_are_raised() {
    let (r, _w) = std::io::pipe().unwrap();
    let size = memview_capture::raise_pipe_buffer(&r).expect("F_SETPIPE_SZ on a pipe");
    assert!(size >= 1 << 20, "pipe buffer {size}");
    let f = std::fs::File::open("/dev/null").unwrap();
    assert_eq!(memview_capture::raise_pipe_buffer(&f), None, "not a pipe");
}

/// A file of bare frames is counted from its size; one whose frames carry
/// parameters, or that ends inside a frame, is left to the walk.
#[test]
fn frames_are_counted_from_the_size_only_when_that_is_sound() {
    let (w, h) = (16usize, 8usize);
    let frame = w * h * 3 / 2;
    let head = format!("YUV4MPEG2 W{w} H{h} F25:1 C420jpeg\n").into_bytes();
    let bare = |n: usize| {
        let mut v = head.clone();
        for i in 0..n {
            v.extend_from_slice(b"FRAME\n");
            v.extend(std::iter::repeat_n(i as u8, frame));
        }
        v
    };
    let count = |bytes: Vec<u8>| {
        memview_capture::MmapSource::y4m(memview_core::Shared::from(bytes))
            .unwrap()
            .frames_by_size()
    };
    assert_eq!(count(bare(0)), Some(0));
    assert_eq!(count(bare(7)), Some(7));
    // A frame with a parameter: the sizes no longer add up.
    let mut tagged = bare(3);
    let second = head.len() + 6 + frame;
    tagged.splice(second + 5..second + 5, b" Ixyz".iter().copied());
    assert_eq!(count(tagged.clone()), None);
    let mut walk = memview_capture::MmapSource::y4m(memview_core::Shared::from(tagged)).unwrap();
    let mut n = 0;
    while walk.skip().unwrap() {
        n += 1;
    }
    assert_eq!(n, 3);
    // Cut inside the last frame.
    let mut cut = bare(4);
    cut.truncate(cut.len() - 1);
    assert_eq!(count(cut), None);
}
