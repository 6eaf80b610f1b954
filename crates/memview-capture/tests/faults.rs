//! Issue 13: hostile headers, stalls, small pools and shutdown while
//! consumers hold every buffer: errors or the right answer, never a panic,
//! an abort or a hang.

use std::io::Write;
use std::time::{Duration, Instant};

use memview_capture::{
    BufferPool, Capture, CaptureError, CaptureOptions, FrameSource, Limits, Policy, RecvError,
    Synthetic, Y4mSource,
};
use memview_pixel::format::I420;

/// Runs `f` on a thread and fails if it does not finish within `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("memview-faults-{}-{name}", std::process::id()))
}

#[test]
fn hostile_headers_are_errors_with_offsets() {
    for (input, want, at) in [
        // A multi-byte character at the start of a token (once a panic).
        (
            &b"YUV4MPEG2 W64 H48 \xc3\xa9x\n"[..],
            "not printable ASCII",
            Some(18),
        ),
        (b"YUV4MPEG2 W64 H48 C420jpeg\r\n", "CR LF", Some(26)),
        (b"YUV4MPEG2 W64 H48 W32\n", "duplicate W tag", Some(18)),
        (
            b"YUV4MPEG2 W64 H48 C420jpeg C420\n",
            "duplicate C tag",
            Some(27),
        ),
        (
            b"YUV4MPEG2 W64 H48 Cfoo\n",
            "unsupported colour space Cfoo",
            Some(18),
        ),
        (b"YUV4MPEG2 W64 H48 \x01\n", "not printable ASCII", Some(18)),
        (b"YUV4MPEG2W64 H48\n", "space after YUV4MPEG2", Some(9)),
    ] {
        let err = Y4mSource::new(input).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(want),
            "{:?}: {text}",
            String::from_utf8_lossy(input)
        );
        if let (Some(at), CaptureError::Y4m { offset, .. }) = (at, &err) {
            assert_eq!(*offset, at, "{text}");
        }
    }
    // A CRLF FRAME header is named too.
    let mut s = b"YUV4MPEG2 W2 H2\nFRAME\r\n".to_vec();
    s.extend_from_slice(&[0; 6]);
    let mut src = Y4mSource::new(&s[..]).unwrap();
    let mut pool = BufferPool::new(1, src.frame_len()).unwrap();
    let err = src.next_frame(pool.try_acquire().unwrap()).unwrap_err();
    assert!(err.to_string().contains("CR LF"), "{err}");
}

/// A 30-byte header claiming 65536x65536 is refused from the header,
/// before any frame buffer is sized from it; within a smaller budget, so is
/// a modest one; and a pool over its budget is refused before allocating.
#[test]
fn oversize_headers_and_pools_are_refused_before_allocating() {
    let header = b"YUV4MPEG2 W65536 H65536 C420p10\n";
    let err = Y4mSource::new(&header[..]).unwrap_err().to_string();
    assert!(err.contains("over the frame budget"), "{err}");
    let small = Limits {
        max_frame_bytes: 1000,
        ..Limits::DEFAULT
    };
    let err = Y4mSource::with_limits(&b"YUV4MPEG2 W64 H48\n"[..], &small)
        .unwrap_err()
        .to_string();
    assert!(err.contains("4608 bytes") && err.contains("1000"), "{err}");
    let err = BufferPool::with_limits(5, 300 << 20, &Limits::DEFAULT).unwrap_err();
    assert!(matches!(err, CaptureError::OverBudget { .. }), "{err}");
    let err = BufferPool::with_limits(usize::MAX, 1 << 20, &Limits::DEFAULT).unwrap_err();
    assert!(matches!(err, CaptureError::OverBudget { .. }), "{err}");
    // The synthetic source's frames too.
    let s = Synthetic::new(&I420, 65536, 65536, 1).unwrap();
    let err = Capture::start(s, 3, 2, Policy::Block).unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    // And absurd box counts.
    let err = Synthetic::new(&I420, 64, 48, usize::MAX).unwrap_err();
    assert!(err.to_string().contains("boxes"), "{err}");
}

#[test]
fn directories_are_named_as_such() {
    let err = Y4mSource::open(std::env::temp_dir())
        .unwrap_err()
        .to_string();
    assert!(err.contains("directory"), "{err}");
    assert!(!err.contains("signature"), "{err}");
}

/// A FIFO whose writer sends nothing: the open does not block, and the
/// first read times out with a clear error.
#[test]
fn a_stalled_fifo_times_out() {
    let path = tmp("stall.fifo");
    let _ = std::fs::remove_file(&path);
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        memview_testkit::skip("mkfifo");
        return;
    }
    let limits = Limits::DEFAULT.with_read_timeout(Some(Duration::from_millis(300)));
    // No writer at all.
    let p = path.clone();
    let err = within(
        Duration::from_secs(10),
        "opening a FIFO with no writer",
        move || Y4mSource::open_with(&p, &limits).map(|_| ()),
    )
    .unwrap_err();
    assert!(matches!(err, CaptureError::Stalled { .. }), "{err}");
    assert!(err.to_string().contains("stalled"), "{err}");
    // A writer that sends a header and one frame, then stops.
    let p = path.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.write_all(b"YUV4MPEG2 W4 H2\nFRAME\n").unwrap();
        f.write_all(&[1; 12]).unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    let p = path.clone();
    let (frames, err) = within(
        Duration::from_secs(10),
        "reading a stalled FIFO",
        move || {
            let mut src = Y4mSource::open_with(&p, &limits).unwrap();
            let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
            let mut frames = 0;
            loop {
                match src.next_frame(pool.try_acquire().unwrap()) {
                    Ok(Some(_)) => frames += 1,
                    Ok(None) => return (frames, None),
                    Err(e) => return (frames, Some(e)),
                }
            }
        },
    );
    assert_eq!(frames, 1);
    let err = err.expect("a stall must be an error, not a clean end");
    assert!(matches!(err, CaptureError::Stalled { .. }), "{err}");
    writer.join().unwrap();
    let _ = std::fs::remove_file(&path);
}

/// Dropping a capture while the consumer holds every buffer returns
/// promptly (the producer, waiting for a buffer, is woken), for every
/// policy.
#[test]
fn dropping_a_capture_while_every_buffer_is_held_returns() {
    for policy in [Policy::Block, Policy::DropNewest, Policy::KeepLatest] {
        within(Duration::from_secs(5), "dropping the capture", move || {
            let src = Synthetic::new(&I420, 64, 48, 1).unwrap();
            let cap = Capture::with_options(
                src,
                CaptureOptions {
                    buffers: 3,
                    queue: 1,
                    policy,
                    consumer_holds: 1,
                    ..CaptureOptions::default()
                },
            )
            .unwrap();
            // Hold every buffer the consumer can get.
            let mut held = Vec::new();
            while held.len() < 3 {
                match cap.recv_timeout(Duration::from_millis(500)) {
                    Some(Ok(f)) => held.push(f),
                    Some(Err(RecvError::Timeout(_))) => break,
                    other => panic!("{policy:?}: {other:?}"),
                }
            }
            assert!(held.len() >= 2, "{policy:?}");
            let start = Instant::now();
            drop(cap);
            assert!(start.elapsed() < Duration::from_secs(1), "{policy:?}");
            drop(held);
        });
    }
}

/// A pool too small for its consumer is refused up front: one buffer with
/// a consumer that keeps the previous frame (a runner) used to deadlock,
/// and one buffer under KeepLatest delivered nothing.
#[test]
fn pools_too_small_for_their_consumers_are_refused() {
    for (buffers, policy, holds) in [
        (1, Policy::Block, 2),
        (2, Policy::KeepLatest, 1),
        (1, Policy::KeepLatest, 1),
        (3, Policy::KeepLatest, 2),
    ] {
        let src = Synthetic::new(&I420, 64, 48, 1).unwrap();
        let opts = CaptureOptions {
            buffers,
            queue: 2,
            policy,
            consumer_holds: holds,
            ..CaptureOptions::default()
        };
        let err = Capture::with_options(src, opts).unwrap_err();
        assert!(
            matches!(err, CaptureError::PoolTooSmall { needed, .. } if needed > buffers),
            "{err}"
        );
        assert!(err.to_string().contains("too small"), "{err}");
    }
    let src = Synthetic::new(&I420, 64, 48, 1).unwrap();
    assert!(Capture::start(src, 1, 1, Policy::KeepLatest).is_err());
}

/// KeepLatest with the fewest buffers it allows and a slow consumer:
/// every frame is delivered or dropped once, in order, and the last frame
/// of the stream is always delivered (it once dropped the waiting frame
/// before knowing a newer one existed).
#[test]
fn keep_latest_delivers_the_last_frame() {
    for holds in [1usize, 2] {
        let src = Synthetic::new(&I420, 64, 48, 1).unwrap().with_frames(20);
        let cap = Capture::with_options(
            src,
            CaptureOptions {
                buffers: Policy::KeepLatest.min_buffers(holds),
                queue: 4,
                policy: Policy::KeepLatest,
                consumer_holds: holds,
                ..CaptureOptions::default()
            },
        )
        .unwrap();
        let mut seen = Vec::new();
        let mut kept = std::collections::VecDeque::new();
        while let Some(f) = cap.recv() {
            let f = f.unwrap();
            seen.push(f.seq());
            std::thread::sleep(Duration::from_millis(3));
            kept.push_back(f);
            if kept.len() >= holds {
                kept.pop_front();
            }
        }
        let s = cap.stats();
        assert_eq!(seen.last(), Some(&19), "holds {holds}: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seen.len() as u64 + s.dropped, 20, "holds {holds}: {s:?}");
        assert!(s.dropped > 0, "a slow consumer drops frames");
    }
}

/// recv_timeout: a timeout while the stream goes on, then frames, then the
/// end.
#[test]
fn recv_timeout_tells_a_slow_source_from_the_end() {
    let src = Synthetic::new(&I420, 64, 48, 1)
        .unwrap()
        .realtime(1, 1)
        .with_frames(2);
    let cap = Capture::start(src, 3, 2, Policy::Block).unwrap();
    // Frame 0 comes at once, frame 1 a second later.
    assert!(matches!(
        cap.recv_timeout(Duration::from_secs(5)),
        Some(Ok(_))
    ));
    assert!(matches!(
        cap.recv_timeout(Duration::from_millis(50)),
        Some(Err(RecvError::Timeout(_)))
    ));
    assert!(matches!(
        cap.recv_timeout(Duration::from_secs(5)),
        Some(Ok(_))
    ));
    assert!(cap.recv_timeout(Duration::from_secs(5)).is_none());
}

/// The stopper ends the stream from another thread, at once.
#[test]
fn a_stopper_ends_the_stream() {
    let src = Synthetic::new(&I420, 64, 48, 1).unwrap().realtime(1000, 1);
    let cap = Capture::start(src, 3, 2, Policy::Block).unwrap();
    let stop = cap.stopper();
    assert!(cap.recv().is_some());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        stop.stop();
    });
    let n = within(Duration::from_secs(5), "a stopped stream", move || {
        let mut n = 0;
        while let Some(f) = cap.recv() {
            f.unwrap();
            n += 1;
        }
        n
    });
    assert!(n < 1000, "{n}");
}
