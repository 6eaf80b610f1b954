//! A live source reopened with backoff: frames keep their numbering, the
//! changes are announced, a source that comes back different ends the
//! stream, and a stop during the backoff ends it promptly.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memview_capture::{
    Backoff, Capture, CaptureError, FrameLease, FrameSource, Policy, Reconnecting, Slot,
    StreamChange, Synthetic,
};
use memview_pixel::format::I420;
use memview_pixel::FrameLayout;

/// A synthetic source that fails (or ends) after `frames` frames.
struct Flaky {
    inner: Synthetic,
    left: u32,
    fail: bool,
}

impl FrameSource for Flaky {
    fn layout(&self) -> &FrameLayout {
        self.inner.layout()
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        if self.left == 0 {
            return if self.fail {
                Err(CaptureError::Options("the camera went away".into()))
            } else {
                Ok(None)
            };
        }
        self.left -= 1;
        self.inner.next_frame(slot)
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        self.inner.skip()
    }
}

fn flaky(w: usize, frames: u32, fail: bool) -> Box<dyn FrameSource> {
    Box::new(Flaky {
        inner: Synthetic::new(&I420, w, 48, 1).unwrap(),
        left: frames,
        fail,
    })
}

const FAST: Backoff = Backoff {
    first: Duration::from_millis(10),
    max: Duration::from_millis(40),
};

#[test]
fn frames_go_on_after_each_reconnect() {
    let opens = Arc::new(AtomicU32::new(0));
    let o = opens.clone();
    // Every session gives 3 frames, then fails (odd sessions) or ends.
    let reopen = Box::new(move || {
        let n = o.fetch_add(1, Ordering::SeqCst);
        Ok(flaky(64, 3, n.is_multiple_of(2)))
    });
    let changes = Arc::new(Mutex::new(Vec::new()));
    let c = changes.clone();
    let src = Reconnecting::new(flaky(64, 3, true), reopen, FAST).on_change(Box::new(
        move |ch: &StreamChange<'_>| {
            c.lock().unwrap().push(match ch {
                StreamChange::Down { reason, frames } => format!("down {frames} {reason}"),
                StreamChange::Up { attempts, .. } => format!("up {attempts}"),
            })
        },
    ));
    let stats = src.stats();
    let cap = Capture::start(src, 4, 2, Policy::Block).unwrap();
    let mut seqs = Vec::new();
    let mut last_pts = None;
    for _ in 0..12 {
        let f = cap.recv().unwrap().unwrap();
        seqs.push(f.seq());
        if let Some(p) = last_pts {
            assert!(f.timestamp() > p, "{:?} after {p:?}", f.timestamp());
        }
        last_pts = Some(f.timestamp());
    }
    assert_eq!(seqs, (0..12).collect::<Vec<u64>>());
    drop(cap);
    assert!(stats.reconnects() >= 3, "{}", stats.reconnects());
    let changes = changes.lock().unwrap();
    assert_eq!(changes[0], "down 3 the camera went away");
    assert_eq!(changes[1], "up 1");
    assert_eq!(changes[2], "down 6 the camera went away");
    assert_eq!(changes[4], "down 9 the stream ended");
}

#[test]
fn failed_attempts_back_off_until_the_source_opens() {
    let opens = Arc::new(AtomicU32::new(0));
    let o = opens.clone();
    // The first three reopen attempts fail.
    let reopen = Box::new(move || {
        if o.fetch_add(1, Ordering::SeqCst) < 3 {
            Err(CaptureError::Options("connection refused".into()))
        } else {
            Ok(flaky(64, 100, true))
        }
    });
    let ups = Arc::new(Mutex::new(Vec::new()));
    let u = ups.clone();
    let src = Reconnecting::new(flaky(64, 1, true), reopen, FAST).on_change(Box::new(
        move |ch: &StreamChange<'_>| {
            if let StreamChange::Up { attempts, down_for } = ch {
                u.lock().unwrap().push((*attempts, *down_for));
            }
        },
    ));
    let cap = Capture::start(src, 4, 2, Policy::Block).unwrap();
    for want in 0..5u64 {
        assert_eq!(cap.recv().unwrap().unwrap().seq(), want);
    }
    let ups = ups.lock().unwrap();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].0, 4);
    // 10 + 20 + 40 + 40 ms of waits at least.
    assert!(ups[0].1 >= Duration::from_millis(110), "{:?}", ups[0].1);
}

#[test]
fn a_source_that_comes_back_different_ends_the_stream() {
    let reopen = Box::new(|| Ok(flaky(96, 5, true)));
    let src = Reconnecting::new(flaky(64, 2, true), reopen, FAST);
    let cap = Capture::start(src, 4, 2, Policy::Block).unwrap();
    for _ in 0..2 {
        cap.recv().unwrap().unwrap();
    }
    let err = cap.recv().unwrap().unwrap_err().to_string();
    assert!(
        err.contains("came back as 96x48 I420, not 64x48 I420"),
        "{err}"
    );
    assert!(cap.recv().is_none());
}

#[test]
fn a_stop_during_the_backoff_ends_the_capture_promptly() {
    let reopen = Box::new(|| Err(CaptureError::Options("no route to host".into())));
    let slow = Backoff {
        first: Duration::from_secs(30),
        max: Duration::from_secs(30),
    };
    let src = Reconnecting::new(flaky(64, 1, true), reopen, slow);
    let stats = src.stats();
    let cap = Capture::start(src, 4, 2, Policy::Block).unwrap();
    cap.recv().unwrap().unwrap();
    let t = Instant::now();
    while !stats.is_down() {
        assert!(t.elapsed() < Duration::from_secs(10), "never went down");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stopper = cap.stopper();
    let t = Instant::now();
    stopper.stop();
    drop(cap);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "stopping took {:?}",
        t.elapsed()
    );
    assert_eq!(stats.reconnects(), 0);
}
