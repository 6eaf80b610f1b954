//! The V4L2 backend against a real driver: the kernel's `vivid` virtual
//! camera, in the qemu VM of `shared/vivid-vm`. `cargo xtask vivid` runs
//! this binary there twice: with vivid's single-planar device, and with
//! `multiplanar=2` and `MEMVIEW_VIVID_MPLANE=1`. Outside the VM (no
//! `VIVID_VM` in the environment) every test says it skipped.

#![cfg(all(feature = "v4l2", target_os = "linux"))]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use memview_capture::v4l2::{FrameSize, V4l2Device, V4l2Source, V4l2Stream, MIN_QUEUED};
use memview_capture::{Capture, Policy};
use memview_pixel::Rect;
use memview_testkit::{thread_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const DEV: &str = "/dev/video0";
const YUYV: [u8; 4] = *b"YUYV";
const NV12: [u8; 4] = *b"NV12";
const T: Duration = Duration::from_secs(5);

/// Whether this runs inside the vivid VM; says so loudly when not.
fn in_vm(test: &str) -> bool {
    if std::env::var_os("VIVID_VM").is_some() {
        return true;
    }
    eprintln!("*** SKIPPING {test}: not inside the vivid VM (run `cargo xtask vivid`) ***");
    false
}

fn mplane_expected() -> bool {
    std::env::var_os("MEMVIEW_VIVID_MPLANE").is_some()
}

/// A stream of `fourcc` at 320x180, 60 fps (vivid's fastest size).
fn stream(fourcc: [u8; 4], buffers: u32) -> (memview_capture::v4l2::Negotiated, V4l2Stream) {
    let mut dev = V4l2Device::open(DEV).unwrap();
    let got = dev.set_format(fourcc, 320, 180).unwrap();
    assert_eq!(dev.set_frame_rate(60, 1).unwrap(), Some((60, 1)));
    (got, dev.stream(buffers).unwrap())
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn device_is_queried_and_negotiated() {
    if !in_vm("device_is_queried_and_negotiated") {
        return;
    }
    let mut dev = V4l2Device::open(DEV).unwrap();
    assert_eq!(dev.names().0, "vivid");
    assert_eq!(dev.is_multiplanar(), mplane_expected());
    let formats = dev.formats().unwrap();
    let ccs: Vec<[u8; 4]> = formats.iter().map(|f| f.fourcc).collect();
    assert!(ccs.contains(&YUYV) && ccs.contains(&NV12), "{formats:?}");
    assert!(formats.iter().all(|f| !f.description.is_empty()));
    let sizes = dev.frame_sizes(YUYV).unwrap();
    assert!(sizes.contains(&FrameSize::Discrete(320, 180)), "{sizes:?}");
    let rates = dev.frame_rates(YUYV, 320, 180).unwrap();
    assert!(rates.contains(&(60, 1)), "{rates:?}");
    let got = dev.set_format(YUYV, 320, 180).unwrap();
    assert_eq!(
        (got.width, got.height, got.multiplanar),
        (320, 180, mplane_expected())
    );
    let (bpl, size) = got.planes[0];
    assert!(bpl >= 640 && size >= bpl * 180, "{got:?}");
    let layout = got.layout().unwrap();
    assert_eq!(layout.plane(0).unwrap().stride, bpl as usize);
    assert_eq!(dev.format().unwrap(), got);
    assert_eq!(dev.set_frame_rate(25, 1).unwrap(), Some((25, 1)));
    // A format the device lacks is refused by name, not substituted.
    let err = dev.set_format(*b"ZZZZ", 320, 180).unwrap_err();
    assert!(err.to_string().contains("ZZZZ"), "{err}");
}

#[test]
fn yuyv_frames_stream_zero_copy_through_the_capture_pool() {
    if !in_vm("yuyv_frames_stream_zero_copy_through_the_capture_pool") {
        return;
    }
    let source = V4l2Source::open(DEV, YUYV, 320, 180, Some((60, 1)), 5).unwrap();
    let pool = source.max_pool();
    assert_eq!(pool, 3);
    let counters = source.counters();
    let capture = Capture::start(source, pool, 2, Policy::Block).unwrap();
    let mut last = None;
    let mut sums = Vec::new();
    for _ in 0..30 {
        let lease = capture.recv().unwrap().unwrap();
        if let Some(prev) = last {
            assert!(lease.seq() > prev, "sequence goes up");
        }
        last = Some(lease.seq());
        let frame = lease.frame();
        let plane = frame.plane(0).unwrap();
        assert_eq!(plane.shape()[0], 180);
        let rows: Vec<&[u8]> = frame.rows(0).unwrap().collect();
        assert_eq!(rows.len(), 180);
        assert!(rows.iter().all(|r| r.len() == 640));
        // vivid's colour bars are limited-range video: luma in 16..=235.
        let luma = rows.iter().flat_map(|r| r.iter().step_by(2));
        let (inside, all) = luma.fold((0usize, 0usize), |(i, a), &y| {
            (i + usize::from((16..=235).contains(&y)), a + 1)
        });
        assert!(
            inside * 100 >= all * 99,
            "{inside} of {all} luma samples in range"
        );
        // A zone of the frame is a view into the driver's buffer: its rows
        // are the frame's rows, sliced.
        let roi = frame.roi(Rect::new(32, 20, 64, 40)).unwrap();
        for (i, r) in roi.rows(0).unwrap().enumerate() {
            assert_eq!(r.as_ptr(), rows[20 + i][64..].as_ptr());
            assert_eq!(r.len(), 128);
        }
        sums.push(rows.iter().fold(0u64, |h, r| h ^ fnv(r)));
    }
    sums.sort_unstable();
    sums.dedup();
    // The picture moves (under emulation a frame can repeat now and then).
    assert!(
        sums.len() >= 10,
        "frames differ: {} distinct of 30",
        sums.len()
    );
    drop(capture);
    let st = counters.get();
    assert!(st.delivered >= 30, "{st:?}");
}

#[test]
fn the_last_lease_dropped_requeues_its_buffer_and_two_stay_queued() {
    if !in_vm("the_last_lease_dropped_requeues_its_buffer_and_two_stay_queued") {
        return;
    }
    let (_, mut s) = stream(YUYV, 4);
    assert_eq!(s.buffers(), 4);
    assert_eq!(s.queued(), 4);
    let a = s.next(T).unwrap().unwrap();
    assert_eq!(s.queued(), 3);
    let b = a.clone();
    drop(a);
    assert_eq!(s.queued(), 3, "a clone still holds the buffer");
    drop(b);
    assert_eq!(s.queued(), 4, "requeued the moment the last lease went");
    // Keep every frame we get: the stream still leaves two with the driver.
    let mut kept = Vec::new();
    while kept.len() < 2 {
        kept.push(s.next(T).unwrap().unwrap());
        assert!(s.queued() >= MIN_QUEUED);
    }
    // Every frame that arrives now is given straight back: nothing is
    // delivered, and the driver keeps its two.
    for _ in 0..3 {
        assert!(s.next(Duration::from_millis(200)).unwrap().is_none());
        assert!(s.queued() >= MIN_QUEUED);
    }
    drop(kept);
    assert_eq!(s.queued(), 4);
    assert!(s.stats().held_back >= 1, "{:?}", s.stats());
}

#[test]
fn a_slow_consumer_counts_the_drivers_drops_and_the_pools() {
    if !in_vm("a_slow_consumer_counts_the_drivers_drops_and_the_pools") {
        return;
    }
    // Nobody dequeues for 0.5 s of a 60 fps stream: the driver fills its
    // buffers and loses the rest, which show as sequence gaps.
    let (_, mut s) = stream(YUYV, 4);
    std::thread::sleep(Duration::from_millis(500));
    let mut seqs = Vec::new();
    for _ in 0..6 {
        seqs.push(s.next(T).unwrap().unwrap().seq());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // About 26 frames were lost; emulation timing is loose.
    assert!(s.stats().gaps >= 5, "{:?} {seqs:?}", s.stats());
    drop(s);
    // Through the pool with a dropping policy and a slow analyzer: drops
    // are counted, memory stays the pool's.
    let source = V4l2Source::open(DEV, YUYV, 320, 180, Some((60, 1)), 5).unwrap();
    let capture = Capture::start(source, 2, 1, Policy::DropNewest).unwrap();
    for _ in 0..8 {
        let lease = capture.recv().unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(60));
        drop(lease);
    }
    let st = capture.stats();
    assert!(st.dropped > 0, "{st:?}");
    assert!(st.delivered >= 8, "{st:?}");
}

#[test]
fn streamoff_with_leases_alive_keeps_their_frames() {
    if !in_vm("streamoff_with_leases_alive_keeps_their_frames") {
        return;
    }
    let (_, mut s) = stream(YUYV, 4);
    let a = s.next(T).unwrap().unwrap();
    let copy_a = a.bytes(0).unwrap().to_vec();
    // The next frame that differs from `a` (under emulation two frames in
    // a row can be the same picture).
    let b = (0..10)
        .map(|_| s.next(T).unwrap().unwrap())
        .find(|b| b.bytes(0).unwrap() != &copy_a[..])
        .expect("vivid's picture moves");
    let copy_b = b.bytes(0).unwrap().to_vec();
    s.stop().unwrap();
    assert!(!s.is_streaming());
    assert_eq!(s.queued(), 0);
    assert!(s.next(T).is_err(), "a stopped stream says so");
    drop(s);
    std::thread::sleep(Duration::from_millis(100));
    // The driver can no longer write them: the bytes are what they were.
    assert_eq!(a.bytes(0).unwrap(), &copy_a[..]);
    drop(a);
    assert_eq!(b.bytes(0).unwrap(), &copy_b[..]);
    drop(b);
    // The device is free again once the last lease went.
    let (_, mut again) = stream(YUYV, 4);
    assert!(again.next(T).unwrap().is_some());
}

#[test]
fn nv12_frames_have_the_drivers_layout() {
    if !in_vm("nv12_frames_have_the_drivers_layout") {
        return;
    }
    let (got, mut s) = stream(NV12, 4);
    let layout = got.layout().unwrap();
    let bpl = got.planes[0].0 as usize;
    let planes = layout.planes();
    assert_eq!((planes[0].stride, planes[0].rows), (bpl, 180));
    assert_eq!(
        (planes[1].offset, planes[1].stride, planes[1].rows),
        (bpl * 180, bpl, 90)
    );
    let buf = s.next(T).unwrap().unwrap();
    assert!(buf.bytes_used(0).unwrap() >= layout.len());
    let frame = memview_pixel::Frame::new(buf.view(0).unwrap(), &layout).unwrap();
    assert_eq!(frame.plane(0).unwrap().shape(), &[180, 320]);
    let chroma: Vec<u8> = frame.rows(1).unwrap().flatten().copied().collect();
    assert_eq!(chroma.len(), 90 * 320);
    assert!(chroma.iter().any(|&c| c != 128), "colour bars have colour");
}

#[test]
fn steady_state_streaming_allocates_nothing() {
    if !in_vm("steady_state_streaming_allocates_nothing") {
        return;
    }
    let (_, mut s) = stream(YUYV, 4);
    for _ in 0..3 {
        drop(s.next(T).unwrap().unwrap());
    }
    let (allocs, n) = thread_allocations(|| {
        let mut n = 0;
        for _ in 0..20 {
            let b = s.next(T).unwrap().unwrap();
            n += b.bytes(0).unwrap().len();
        }
        n
    });
    assert!(n > 0);
    assert_eq!(allocs, 0, "allocations in 20 frames");
}

#[test]
fn multiplanar_buffers_of_two_memory_planes_stream() {
    if !in_vm("multiplanar_buffers_of_two_memory_planes_stream") {
        return;
    }
    const NV12M: [u8; 4] = *b"NM12";
    let mut dev = V4l2Device::open(DEV).unwrap();
    let offered = dev.formats().unwrap().iter().any(|f| f.fourcc == NV12M);
    // vivid offers the two-buffer NV12M only on its multi-planar device.
    assert_eq!(offered, mplane_expected());
    if !offered {
        return;
    }
    let got = dev.set_format(NV12M, 320, 180).unwrap();
    assert!(got.multiplanar);
    assert_eq!(got.planes.len(), 2, "{got:?}");
    let err = got.layout().unwrap_err();
    assert!(err.to_string().contains("NM12"), "{err}");
    assert_eq!(dev.set_frame_rate(60, 1).unwrap(), Some((60, 1)));
    let mut s = dev.stream(4).unwrap();
    // vivid's pattern moves, but under emulation two frames in a row can
    // come out the same: ask for a moving picture, not a new one each time.
    let mut sums = Vec::new();
    for _ in 0..10 {
        let b = s.next(T).unwrap().unwrap();
        assert_eq!(b.planes(), 2);
        let (luma, chroma) = (b.bytes(0).unwrap(), b.bytes(1).unwrap());
        assert!(luma.len() >= 320 * 180 && chroma.len() >= 320 * 90);
        assert!(chroma.iter().any(|&c| c != 128));
        sums.push(fnv(luma) ^ fnv(chroma));
    }
    sums.sort_unstable();
    sums.dedup();
    assert!(sums.len() >= 5, "{} distinct frames of 10", sums.len());
}

#[test]
fn consumers_hoarding_frames_from_an_oversized_pool_get_a_clear_error() {
    if !in_vm("consumers_hoarding_frames_from_an_oversized_pool_get_a_clear_error") {
        return;
    }
    // Four driver buffers leave two for consumers; a pool of four lets
    // them try to keep more, and the stream gives those frames back.
    let source = V4l2Source::open(DEV, YUYV, 320, 180, Some((60, 1)), 4)
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    assert_eq!(source.max_pool(), 2);
    let capture = Capture::start(source, 4, 4, Policy::Block).unwrap();
    let mut kept = Vec::new();
    let err = loop {
        match capture.recv() {
            Some(Ok(lease)) => kept.push(lease),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without an error"),
        }
    };
    assert_eq!(kept.len(), 2);
    assert!(
        err.to_string().contains("consumers hold every frame"),
        "{err}"
    );
    // The frames kept are still intact.
    assert!(kept.iter().all(|l| l.frame().plane(0).is_some()));
}

/// vivid's error-injection "Disconnect" button (`VIVID_CID_VIVID_BASE +
/// 65`, the id v4l2-compliance and v4l2-ctl use).
const VIVID_CID_DISCONNECT: u32 = 0x00f0_f000 + 65;

/// A camera that drops out is reopened: vivid's "Disconnect" control
/// unregisters the device as a pulled USB camera would (its queue fails,
/// its node refuses opens), and vivid registers it again once the last
/// file of it is closed. A reconnecting source (what `memview run` makes
/// of `v4l2:`) announces the stream down and then up, counts one
/// reconnect, and delivers frames again, numbered on from the first
/// session's.
#[test]
fn a_disconnected_camera_is_reopened() {
    use memview_capture::spec::{open_reconnecting, SourceOptions, SourceSpec};
    use memview_capture::{Backoff, StreamChange};
    use std::sync::{Arc, Mutex};
    if !in_vm("a_disconnected_camera_is_reopened") {
        return;
    }
    let spec = SourceSpec::V4l2(DEV.into());
    let o = SourceOptions {
        size: Some((320, 180)),
        fps: Some(60),
        pixel_format: Some("YUYV".into()),
        ..SourceOptions::default()
    };
    let changes = Arc::new(Mutex::new(Vec::new()));
    let log = changes.clone();
    let backoff = Backoff {
        first: Duration::from_millis(100),
        max: Duration::from_millis(400),
    };
    let opened = open_reconnecting(
        &spec,
        &o,
        backoff,
        Some(Box::new(move |c: &StreamChange<'_>| {
            log.lock().unwrap().push(match c {
                StreamChange::Down { .. } => "down",
                StreamChange::Up { .. } => "up",
            })
        })),
    )
    .unwrap();
    let stats = opened.reconnects.clone().unwrap();
    let capture = Capture::start(opened.source, 3, 2, Policy::Block).unwrap();
    // Each lease is dropped at once: a lease keeps its driver buffer, and
    // so the old session's file, alive.
    let next = || match capture.recv_timeout(T) {
        Some(Ok(lease)) => lease.seq(),
        other => panic!(
            "no frame: {:?}; changes {:?}, {:?}",
            other.map(|r| r.map(|l| l.seq())),
            changes.lock().unwrap(),
            stats
        ),
    };
    let before: Vec<u64> = (0..10).map(|_| next()).collect();
    assert!(changes.lock().unwrap().is_empty());
    let mut ctl = V4l2Device::open(DEV).unwrap();
    ctl.set_control(VIVID_CID_DISCONNECT, 1).unwrap();
    drop(ctl);
    // Frames the driver finished before the disconnect may still come;
    // then the stream is down until vivid is back and reopened.
    let mut after = Vec::new();
    while after.len() < 10 {
        let seq = next();
        if stats.reconnects() == 1 {
            after.push(seq);
        }
    }
    assert_eq!(*changes.lock().unwrap(), ["down", "up"]);
    assert_eq!(stats.reconnects(), 1);
    assert!(!stats.is_down());
    let last = *before.last().unwrap();
    assert!(after[0] > last, "numbers go on: {before:?} then {after:?}");
    assert!(after.windows(2).all(|w| w[1] > w[0]), "{after:?}");
    // The device that came back is the same camera (a reopened stream
    // of another layout would have ended the stream instead).
    let dev = V4l2Device::open(DEV).unwrap();
    assert_eq!(dev.names().0, "vivid");
    drop(capture);
}
