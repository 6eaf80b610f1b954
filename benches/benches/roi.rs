//! `roi/analyzers`: mean, histogram and motion over ten 200x200 zones of a
//! 1080p I420 frame, beside the same work on zones copied out first;
//! `roi/pipeline`: an analyzer-bound runner (Sobel edges) on 1 and 2
//! threads.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memview_capture::{BufferPool, FrameLease, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_pixel::Rect;
use memview_roi::analyzers::{Edges, Histogram, MeanVariance, Motion};
use memview_roi::{Analyzer, RoiRunner, Zone};

fn zones() -> Vec<Zone> {
    (0..10)
        .map(|i| {
            Zone::new(
                format!("z{i}"),
                Rect::new(100 + 170 * i, 80 + 80 * i, 200, 200),
            )
        })
        .collect()
}

fn frames(n: usize) -> (BufferPool, Vec<FrameLease>) {
    let mut src = Synthetic::new(&I420, 1920, 1080, 10).unwrap();
    let mut pool = BufferPool::new(n, src.frame_len()).unwrap();
    let leases = (0..n)
        .map(|_| {
            src.next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap()
        })
        .collect();
    (pool, leases)
}

fn analyzers(c: &mut Criterion) {
    let (_pool, leases) = frames(2);
    let default: Vec<Box<dyn Analyzer>> = vec![
        Box::new(MeanVariance),
        Box::new(Histogram),
        Box::new(Motion),
    ];
    let mut runner = RoiRunner::new(zones(), default, 1).unwrap();
    let mut g = c.benchmark_group("roi/analyzers");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    // On the runner's own pool (`RoiRunner::run`), as `memview run` drives
    // it: no frame pays a cross-thread wake-up.
    g.bench_function("mean_hist_motion_10x200x200_1thread", |b| {
        b.iter_custom(|iters| {
            runner.run(|r| {
                let t = std::time::Instant::now();
                for _ in 0..iters {
                    i += 1;
                    std::hint::black_box(r.process(leases[i % 2].clone()).len());
                }
                t.elapsed()
            })
        })
    });
    // The copying baseline: copy each zone's luma out, then the same
    // analyzers over the copies.
    let zs = zones();
    let mut bufs: Vec<Vec<u8>> = zs.iter().map(|_| vec![0u8; 200 * 200]).collect();
    let mut prev: Vec<Vec<u8>> = bufs.clone();
    g.bench_function("copy_zones_then_analyze_baseline", |b| {
        b.iter(|| {
            i += 1;
            let f = leases[i % 2].frame();
            let mut acc = 0u64;
            for (z, (buf, pb)) in zs.iter().zip(bufs.iter_mut().zip(prev.iter_mut())) {
                let roi = f.roi(z.rect).unwrap();
                roi.plane(0)
                    .unwrap()
                    .copy_into(buf, memview_core::MemOrder::C)
                    .unwrap();
                let mut hist = [0u32; 256];
                let (mut s, mut q) = (0u64, 0u64);
                for &v in buf.iter() {
                    s += u64::from(v);
                    q += u64::from(v) * u64::from(v);
                    hist[usize::from(v)] += 1;
                }
                let sad: u64 = buf
                    .iter()
                    .zip(pb.iter())
                    .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                    .sum();
                std::mem::swap(buf, pb);
                acc += s + q + sad + u64::from(hist[0]);
            }
            acc
        })
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let (_pool, leases) = frames(2);
    let mut g = c.benchmark_group("roi/pipeline");
    g.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        let mut runner = RoiRunner::new(zones(), vec![Box::new(Edges)], threads).unwrap();
        let mut i = 0;
        g.bench_with_input(
            BenchmarkId::new("edges_10x200x200_threads", threads),
            &threads,
            |b, _| {
                b.iter(|| {
                    i += 1;
                    runner.process(leases[i % 2].clone()).len()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, analyzers, pipeline);
criterion_main!(benches);
