//! The pool: no buffer is filled while viewed; policies; counters.

use std::time::Duration;

use memview_capture::{BufferPool, Capture, FrameSource, Policy, Synthetic};
use memview_pixel::format::{I420, NV12, P010LE, RGB24, YUYV};

/// The next frame of `src` in a free buffer of `pool` (both must have one).
fn next(src: &mut Synthetic, pool: &mut BufferPool) -> memview_capture::FrameLease {
    src.next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap()
}

#[test]
fn a_viewed_buffer_is_never_refilled() {
    let mut src = Synthetic::new(&I420, 64, 48, 2).unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    assert_eq!(pool.count(), 2);
    assert_eq!(
        pool.try_acquire().unwrap().bytes_mut().unwrap().as_ptr() as usize % 64,
        0,
        "64-byte aligned"
    );
    let a = next(&mut src, &mut pool);
    let b = next(&mut src, &mut pool);
    assert!(pool.try_acquire().is_none(), "both buffers are leased");
    // A clone of a lease keeps the buffer out of the pool (views borrow a
    // lease, so they cannot outlive it).
    let a2 = a.clone();
    drop(a);
    assert!(pool.try_acquire().is_none(), "frame 0 is still leased");
    assert!(pool.acquire(Some(Duration::from_millis(20))).is_none());
    drop(a2);
    let c = next(&mut src, &mut pool);
    assert_eq!((b.seq(), c.seq()), (1, 2));
    let s = pool.stats();
    assert_eq!((s.captured, s.recycled), (3, 1));
}

#[test]
fn synthetic_frames_move_in_every_format() {
    for f in [&I420, &NV12, &YUYV, &RGB24, &P010LE] {
        let mut src = Synthetic::new(f, 160, 120, 3).unwrap().with_frames(3);
        let zones = src.boxes();
        let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
        let a = next(&mut src, &mut pool);
        let b = next(&mut src, &mut pool);
        let fa = a.frame();
        // Inside a box the first component differs from the background.
        let z = zones[0];
        let inside = fa.sample(f.components[0].name, z.x + 1, z.y + 1).unwrap();
        assert!(inside > 0);
        // Consecutive frames differ (boxes move), and the stream ends.
        assert_ne!(
            a.bytes().as_bytes().unwrap(),
            b.bytes().as_bytes().unwrap(),
            "{}",
            f.name
        );
        let _c = next(&mut src, &mut pool);
        drop((a, b));
        assert!(src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .is_none());
    }
}

#[test]
fn recycled_synthetic_frames_equal_fresh_ones() {
    // Redrawing only what moved must give the same frame as drawing all.
    let mut small = Synthetic::new(&I420, 96, 64, 4).unwrap();
    let mut big = Synthetic::new(&I420, 96, 64, 4).unwrap();
    let mut p1 = BufferPool::new(1, small.frame_len()).unwrap();
    let mut p2 = BufferPool::new(40, big.frame_len()).unwrap();
    let mut keep = Vec::new();
    for _ in 0..30 {
        let a = small
            .next_frame(p1.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let b = big.next_frame(p2.try_acquire().unwrap()).unwrap().unwrap();
        assert_eq!(
            a.bytes().as_bytes().unwrap(),
            b.bytes().as_bytes().unwrap(),
            "frame {}",
            a.seq()
        );
        keep.push(b);
    }
}

#[test]
fn policies_bound_memory_and_count_drops() {
    for policy in [Policy::Block, Policy::DropNewest, Policy::KeepLatest] {
        let src = Synthetic::new(&I420, 64, 48, 2).unwrap().with_frames(200);
        let cap = Capture::start(src, 4, 2, policy).unwrap();
        let mut seen = Vec::new();
        while let Some(f) = cap.recv() {
            let f = f.unwrap();
            // A slow consumer.
            std::thread::sleep(Duration::from_micros(300));
            seen.push(f.seq());
        }
        let s = cap.stats();
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{policy:?}: frames in order"
        );
        match policy {
            Policy::Block => assert_eq!((seen.len(), s.dropped), (200, 0)),
            _ => {
                assert_eq!(
                    seen.len() as u64 + s.dropped,
                    200,
                    "{policy:?}: every frame delivered or dropped"
                );
                assert!(s.dropped > 0, "{policy:?}: a slow consumer drops frames");
            }
        }
        assert_eq!(s.delivered, seen.len() as u64);
    }
}

#[test]
fn a_slot_tells_which_other_buffers_are_released() {
    let mut src = Synthetic::new(&I420, 64, 48, 2).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let a = next(&mut src, &mut pool);
    let b = next(&mut src, &mut pool);
    let view = b.frame().roi(memview_pixel::Rect::new(0, 0, 8, 8)).unwrap();
    drop(view);
    drop(b);
    // Buffer 1 came back: it is handed out again, and the slot sees that
    // buffer 0 is still leased and buffer 2 was never used.
    let slot = pool.try_acquire().unwrap();
    assert_eq!(slot.index(), 1);
    assert!(!slot.is_released(0));
    assert!(!slot.is_released(1), "not the slot itself");
    assert!(slot.is_released(2));
    assert!(!slot.is_released(3), "past the pool");
    drop(a);
    assert!(slot.is_released(0));
}

/// Frames captured while the consumer holds two and takes no more, on a
/// pool of `buffers` with a queue of two: polled until `want` or a second.
fn captured_ahead(buffers: usize, want: u64) -> u64 {
    let src = Synthetic::new(&I420, 64, 48, 2).unwrap();
    let capture = Capture::with_options(
        src,
        memview_capture::CaptureOptions {
            buffers,
            queue: 2,
            policy: Policy::Block,
            consumer_holds: 2,
            ..memview_capture::CaptureOptions::default()
        },
    )
    .unwrap();
    let held = [
        capture.recv().unwrap().unwrap(),
        capture.recv().unwrap().unwrap(),
    ];
    for _ in 0..100 {
        if capture.stats().captured >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let captured = capture.stats().captured;
    drop(held);
    captured
}

/// `streaming_buffers` leaves room for the queue: the producer fills both
/// queue places while the consumer holds its two frames. With only the
/// three buffers a motion consumer needs, it never gets past one queued
/// frame (a second spent waiting for more).
#[test]
fn streaming_buffers_let_the_queue_fill() {
    let n = Policy::Block.streaming_buffers(2, 2);
    assert_eq!(n, 5);
    assert!(Policy::KeepLatest.streaming_buffers(2, 0) >= Policy::KeepLatest.min_buffers(2));
    assert!(captured_ahead(n, 4) >= 4, "two held and two queued");
    assert_eq!(captured_ahead(3, 4), 3, "two held and one queued");
}

/// `held` counts buffers out of the pool: a frame is held from its publish
/// until its last lease drops, however many clones there were.
#[test]
fn held_counts_buffers_until_their_last_lease_drops() {
    let mut src = Synthetic::new(&I420, 64, 48, 2).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    assert_eq!(pool.stats().held, 0);
    let a = next(&mut src, &mut pool);
    let b = next(&mut src, &mut pool);
    assert_eq!(pool.stats().held, 2);
    let (a2, a3) = (a.clone(), a.clone());
    drop(a);
    drop(a2);
    assert_eq!(pool.stats().held, 2, "a clone of the first frame lives");
    let lasts: Vec<_> = (0..8).map(|_| a3.clone()).collect();
    drop(a3);
    std::thread::scope(|s| {
        for l in lasts {
            s.spawn(move || drop(l));
        }
    });
    assert_eq!(pool.stats().held, 1, "the first frame's last lease dropped");
    let c = next(&mut src, &mut pool);
    assert_eq!(pool.stats().held, 2);
    drop((b, c));
    assert_eq!(pool.stats().held, 0);
}

/// A frame shown from someone else's memory keeps a view of it in the
/// pool after its lease is gone (until the slot is filled again);
/// `release_external` gives those views up, so a dropped source's memory
/// (a camera's mapped buffers, which keep its device open) is let go
/// before the source is reopened. A frame still leased keeps its view.
#[test]
fn release_external_lets_a_dropped_sources_memory_go() {
    let mut stream = b"YUV4MPEG2 W2 H2 F25:1 C420jpeg\n".to_vec();
    for i in 0..2u8 {
        stream.extend_from_slice(b"FRAME\n");
        stream.extend_from_slice(&[i; 6]);
    }
    let shared = memview_core::Shared::from(stream);
    let mut src = memview_capture::MmapSource::y4m_view(shared.export_shared().unwrap()).unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    let first = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    let second = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    drop(first);
    drop(src);
    // Two frames' views (a frame and its planes each): the dropped one's
    // kept by the pool, the leased one's.
    let both = shared.exports();
    pool.release_external();
    let one = shared.exports();
    assert!(one > 0 && both == 2 * one, "{both} then {one}");
    assert_eq!(second.frame().to_vec(), [1; 6]);
    drop(second);
    pool.release_external();
    assert_eq!(shared.exports(), 0);
}
