//! Zero heap allocations per frame in steady state, for every source.

use memview_capture::{BufferPool, FrameSource, MmapSource, Synthetic, Y4mSource};
use memview_pixel::format::I420;
use memview_testkit::{thread_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by 100 frames after `warmup` frames.
fn steady_allocations(src: &mut dyn FrameSource, buffers: usize) -> usize {
    let mut pool = BufferPool::new(buffers, src.frame_len()).unwrap();
    let mut held = std::collections::VecDeque::with_capacity(buffers);
    let mut step = |pool: &mut BufferPool, held: &mut std::collections::VecDeque<_>| {
        if held.len() == buffers - 1 {
            held.pop_front();
        }
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let roi = lease
            .frame()
            .roi(memview_pixel::Rect::new(8, 8, 32, 32))
            .unwrap();
        assert!(roi.plane(0).unwrap().rows().unwrap().count() > 0);
        held.push_back(lease);
    };
    for _ in 0..2 * buffers {
        step(&mut pool, &mut held);
    }
    thread_allocations(|| {
        for _ in 0..100 {
            step(&mut pool, &mut held);
        }
    })
    .0
}

#[test]
fn synthetic_allocates_nothing_per_frame() {
    let mut src = Synthetic::new(&I420, 320, 240, 10).unwrap();
    assert_eq!(steady_allocations(&mut src, 3), 0);
    // The counter does count.
    assert_eq!(
        thread_allocations(|| drop(std::hint::black_box(vec![0u8; 16]))).0,
        1
    );
}

#[test]
fn y4m_allocates_nothing_per_frame() {
    // 130 frames of a tiny Y4M stream, built by hand.
    let (w, h) = (64usize, 48usize);
    let mut data = format!("YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n").into_bytes();
    for i in 0..130u8 {
        data.extend_from_slice(b"FRAME\n");
        data.extend(std::iter::repeat_n(i, w * h * 3 / 2));
    }
    let mut src = Y4mSource::new(std::io::Cursor::new(data.clone())).unwrap();
    assert_eq!(steady_allocations(&mut src, 3), 0);
    // The same stream as views of memory, and of a mapped file.
    let mut src = MmapSource::y4m(memview_core::Shared::from(data.clone())).unwrap();
    assert_eq!(steady_allocations(&mut src, 3), 0, "in memory");
    let path = std::env::temp_dir().join(format!("memview-alloc-{}.y4m", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    // SAFETY: the file is this test's own; nothing changes it while mapped.
    let mut src = unsafe { MmapSource::open_y4m(&path) }.unwrap();
    assert_eq!(steady_allocations(&mut src, 3), 0, "mapped");
    let _ = std::fs::remove_file(&path);
}
