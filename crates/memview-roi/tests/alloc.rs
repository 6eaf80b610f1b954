//! Zero heap allocations per frame in steady state, counted process-wide
//! (rayon's workers allocate on their own threads). A test binary of its
//! own, so no other test allocates meanwhile.

#![allow(clippy::unwrap_used)]

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_roi::analyzers::{Edges, Histogram, MeanVariance, Motion};
use memview_roi::{RoiRunner, Zone};
use memview_testkit::{process_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_allocates_nothing_per_frame() {
    let mut src = Synthetic::new(&I420, 640, 360, 10).unwrap();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let mut runner = RoiRunner::new(
        zones,
        vec![
            Box::new(MeanVariance),
            Box::new(Histogram),
            Box::new(Motion),
            Box::new(Edges),
        ],
        2,
    )
    .unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let n = runner.run(|runner| {
        for _ in 0..20 {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            runner.process(lease);
        }
        process_allocations(|| {
            for _ in 0..200 {
                let lease = src
                    .next_frame(pool.try_acquire().unwrap())
                    .unwrap()
                    .unwrap();
                runner.process(lease);
            }
        })
        .0
    });
    assert_eq!(n, 0, "allocations in 200 steady-state frames");
    assert_eq!(
        process_allocations(|| drop(std::hint::black_box(vec![0u8; 8]))).0,
        1,
        "the counter counts"
    );
}
