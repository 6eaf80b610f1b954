//! `roi/analyzers`: mean, histogram and motion over ten 200x200 zones of a
//! 1080p I420 frame, beside the same work on zones copied out first;
//! `roi/pipeline`: an analyzer-bound runner (Sobel edges) on 1 and 2
//! threads, beside the copying runner doing the same; `roi/histogram`: the
//! histogram beside the one-store-per-pixel floor; `roi/run`: `memview
//! run`'s loop (synthetic 1080p source on its capture thread, ten zones, the
//! default analyzers, both cores) with and without results and events
//! written to files.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memview_benches::{default_analyzers, zones as zone_rects, CopyingRunner};
use memview_capture::{BufferPool, FrameLease, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_roi::analyzers::{Edges, Histogram, MeanVariance, Motion};
use memview_roi::{Analyzer, BoxedAnalyzer, RoiRunner, Zone};

fn zones() -> Vec<Zone> {
    zone_rects()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
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
    let default: Vec<BoxedAnalyzer> = vec![MeanVariance.into(), Histogram.into(), Motion.into()];
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
    // The copying baseline: the copying runner (benches/lib.rs) copies
    // every zone out, then runs the same analyzers over the copies.
    let mut copying = CopyingRunner::new(zone_rects(), default_analyzers(), 1);
    g.bench_function("copy_zones_then_analyze_baseline", |b| {
        b.iter(|| {
            i += 1;
            copying.process(leases[i % 2].frame()).len()
        })
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let (_pool, leases) = frames(2);
    let mut g = c.benchmark_group("roi/pipeline");
    g.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        let mut runner = RoiRunner::new(zones(), vec![Edges.into()], threads).unwrap();
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
        // The same work on zones copied out first.
        let mut copying = CopyingRunner::new(zone_rects(), vec![Edges.into()], threads);
        g.bench_with_input(
            BenchmarkId::new("edges_10x200x200_copying_baseline_threads", threads),
            &threads,
            |b, _| {
                b.iter(|| {
                    i += 1;
                    copying.process(leases[i % 2].frame()).len()
                })
            },
        );
    }
    g.finish();
}

/// `roi/histogram`: the histogram analyzer over the ten zones (of noise,
/// and of flat colour bars, where whole blocks of equal samples are
/// counted at once) beside the floor of any exact 256-bin histogram kept
/// in memory: one store per pixel to a counter picked by the pixel's
/// value (here a plain store of the pixel's position, with no load and no
/// add). The analyzer's time over the floor's is how much room a faster
/// histogram kernel could still find on one core.
fn histogram(c: &mut Criterion) {
    // Uniform noise, as the peers use: no runs of equal values.
    let (_pool, leases) = memview_benches::noise_leases(1);
    let frame = leases[0].frame();
    let luma = frame.plane(0).unwrap();
    let views: Vec<_> = zone_rects()
        .iter()
        .map(|r| luma.region(r.y..r.y + r.h, r.x..r.x + r.w).unwrap())
        .collect();
    let mut g = c.benchmark_group("roi/histogram");
    let pixels: usize = views.iter().map(|v| v.shape()[0] * v.shape()[1]).sum();
    g.throughput(Throughput::Elements(pixels as u64));
    let mut out = memview_roi::analyzers::HistogramOut::default();
    let info = memview_roi::FrameInfo::default();
    let zones = zones();
    // Flat areas: vertical bars 137 pixels wide, a new set of values
    // every 50 rows (as a test pattern or a black border gives).
    let layout = memview_pixel::FrameLayout::tight(&I420, 1920, 1080).unwrap();
    let bars: Vec<u8> = (0..layout.len())
        .map(|i| ((i % 1920) / 137 * 23 + (i / 1920) / 50 * 7) as u8)
        .collect();
    let flat = memview_pixel::Frame::from_bytes(&bars, &layout).unwrap();
    for (name, frame) in [
        ("histogram_10x200x200", frame),
        ("histogram_10x200x200_flat", &flat),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for z in &zones {
                    let input = memview_roi::ZoneInput {
                        roi: frame.roi_ref(z.rect).unwrap(),
                        previous: None,
                        zone: z,
                        frame: &info,
                    };
                    Histogram.analyze(std::hint::black_box(&input), &mut out);
                }
                std::hint::black_box(&out.bins);
            })
        });
    }
    g.bench_function("one_store_per_pixel_floor", |b| {
        b.iter(|| {
            let mut t = [[0u32; 256]; 4];
            let mut i = 0u32;
            for v in &views {
                for row in std::hint::black_box(v).rows().unwrap() {
                    for c in row.chunks_exact(4) {
                        i = i.wrapping_add(1);
                        for (k, &p) in c.iter().enumerate() {
                            t[k][usize::from(p)] = i;
                        }
                    }
                }
            }
            std::hint::black_box(&t);
        })
    });
    g.finish();
}

fn run(c: &mut Criterion) {
    let mut g = c.benchmark_group("roi/run");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    // At least 50 frames a sample (the capture's start-up spread over
    // them), scaled back to the frames asked for.
    let per = |iters: u64, sinks: bool| {
        let n = iters.max(50);
        memview_benches::run_frames(n, sinks).mul_f64(iters as f64 / n as f64)
    };
    g.bench_function("synthetic_1080p_10_zones", |b| {
        b.iter_custom(|iters| per(iters, false))
    });
    g.bench_function("synthetic_1080p_10_zones_results_and_events", |b| {
        b.iter_custom(|iters| per(iters, true))
    });
    g.finish();
}

/// `roi/dispatch`: what the type-erased analyzer call costs. Ten zones x
/// three analyzers whose work is one add, called through `BoxedAnalyzer`
/// (a virtual call, then the output downcast with a `TypeId` compare)
/// beside the same calls through the earlier design's `Box<dyn Trait>`
/// writing one fixed struct. The difference per call, times the calls per
/// frame, over `roi/analyzers`' frame time is the erasure's share.
fn dispatch(c: &mut Criterion) {
    use memview_roi::{Fields, FrameInfo, Output, ZoneInput};

    #[derive(Clone, Debug, Default)]
    struct Count(u64);
    impl Output for Count {
        fn fields(&self, out: &mut dyn Fields) {
            out.u64("count", self.0);
        }
        fn reset(&mut self) {
            self.0 = 0;
        }
    }
    struct Add;
    impl Analyzer for Add {
        type Output = Count;
        fn name(&self) -> &'static str {
            "add"
        }
        fn output(&self, _: &'static memview_pixel::PixelFormat) -> Count {
            Count(0)
        }
        fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut Count) {
            out.0 += zone.roi.width() as u64;
        }
    }
    /// The earlier design: one result struct for every analyzer.
    trait Fixed: Send + Sync {
        fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut [u64; 4]);
    }
    impl Fixed for Add {
        fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut [u64; 4]) {
            out[0] += zone.roi.width() as u64;
        }
    }
    let (_pool, leases) = frames(1);
    let frame = leases[0].frame();
    let info = FrameInfo::default();
    let zones = zones();
    let inputs: Vec<ZoneInput<'_, '_>> = zones
        .iter()
        .map(|z| ZoneInput {
            roi: frame.roi_ref(z.rect).unwrap(),
            previous: None,
            zone: z,
            frame: &info,
        })
        .collect();
    let erased: Vec<BoxedAnalyzer> = vec![Add.into(), Add.into(), Add.into()];
    let mut outs: Vec<Vec<Box<dyn memview_roi::AnyOutput>>> = zones
        .iter()
        .map(|_| erased.iter().map(|a| a.output(&I420)).collect())
        .collect();
    let fixed: Vec<Box<dyn Fixed>> = vec![Box::new(Add), Box::new(Add), Box::new(Add)];
    let mut fixed_outs = vec![[0u64; 4]; zones.len()];
    let mut g = c.benchmark_group("roi/dispatch");
    g.throughput(Throughput::Elements((zones.len() * 3) as u64));
    g.bench_function("boxed_analyzer_30_calls", |b| {
        b.iter(|| {
            for (input, out) in inputs.iter().zip(outs.iter_mut()) {
                for (a, o) in erased.iter().zip(out.iter_mut()) {
                    std::hint::black_box(a.analyze(std::hint::black_box(input), o.as_mut()));
                }
            }
        })
    });
    g.bench_function("fixed_struct_30_calls_baseline", |b| {
        b.iter(|| {
            for (input, out) in inputs.iter().zip(fixed_outs.iter_mut()) {
                for a in &fixed {
                    a.analyze(std::hint::black_box(input), out);
                }
                std::hint::black_box(&out);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, analyzers, pipeline, histogram, run, dispatch);
criterion_main!(benches);
