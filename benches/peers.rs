//! `memview-peers`: memview's side of `cargo xtask bench --peers`.
//!
//! It reads one workload name per line on stdin and answers one line on
//! stdout: the median nanoseconds per iteration (or, for `memory` and
//! `scaling`, one JSON object). `benches/peers.py` answers the same names
//! for CPython, NumPy and OpenCV, and xtask alternates between the two so
//! both run under the same conditions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plot;

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::Instant;

use memview_benches::{
    default_analyzers, grid_zones, layout, noise, noise_leases, tensor, zones, CopyingRunner, H, W,
};
use memview_core::View;
use memview_format::{Dialect, Format};
use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
use memview_pixel::format::RGB24;
use memview_pixel::{Frame, FrameLayout, FrameMut, Rect};
use memview_roi::{RoiRunner, Zone};
use memview_testkit::{heap_peak, process_counts, reset_heap_peak, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The formats `parse` compiles per iteration (as `peers.py` does with
/// `struct.Struct`).
const FORMATS: [&str; 4] = ["<HHI", "@iqd", "=4s2h", ">bhlqf"];

/// Median nanoseconds per call of `f`: calibrated to batches of at least
/// 20 ms, seven batches.
fn measure(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed().as_secs_f64() >= 0.02 || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[3]
}

/// Nanoseconds per frame of `runner` alternating over `leases`, on its own
/// pool as `memview run` drives it, so no frame pays a cross-thread
/// wake-up.
fn analyze(runner: &mut RoiRunner, leases: &[memview_capture::FrameLease]) -> f64 {
    let mut i = 0;
    runner.run(|r| {
        measure(|| {
            i += 1;
            black_box(r.process(leases[i % 2].clone()).len());
        })
    })
}

fn zone_list(rects: &[Rect]) -> Vec<Zone> {
    rects
        .iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), *r))
        .collect()
}

/// Frames per second of `frames` frames through the zero-copy runner and
/// through the copying one.
fn throughput(rects: &[Rect], threads: usize) -> (f64, f64) {
    let (_pool, leases) = noise_leases(2);
    let mut zero = RoiRunner::new(zone_list(rects), default_analyzers(), threads).unwrap();
    let mut copying = CopyingRunner::new(rects.to_vec(), default_analyzers(), threads);
    // Frames per second over at least 150 ms.
    let fps = |f: &mut dyn FnMut(usize)| {
        for i in 0..5 {
            f(i);
        }
        let (t, mut n) = (Instant::now(), 0);
        while t.elapsed().as_secs_f64() < 0.15 {
            f(n);
            n += 1;
        }
        n as f64 / t.elapsed().as_secs_f64()
    };
    // Five rounds, the two runners alternating, each stream on its
    // runner's own pool (as `memview run` drives it); the median of each.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let leases = &leases;
    for _ in 0..5 {
        a.push(zero.run(|r| {
            fps(&mut |i| {
                black_box(r.process(leases[i % 2].clone()).len());
            })
        }));
        zero.release_previous();
        b.push(copying.run(|r| {
            fps(&mut |i| {
                black_box(r.process(leases[i % 2].frame()).len());
            })
        }));
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    (a[2], b[2])
}

/// Reads a Y4M stream on stdin into a three-frame pool, dropping every
/// frame: the ingest half of `cat FILE | memview-peers ingest`.
fn ingest() -> String {
    use memview_capture::{BufferPool, FrameSource, Y4mSource};
    let mut src = Y4mSource::stdin().unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let mut frames = 0u64;
    while let Some(lease) = src.next_frame(pool.try_acquire().unwrap()).unwrap() {
        black_box(lease.seq());
        frames += 1;
    }
    frames.to_string()
}

/// Allocations and bytes per frame after warm-up, and the heap peak, for
/// 120 frames of ten zones through each runner (the frames themselves are
/// the capture pool's three buffers, counted in both peaks).
fn memory() -> String {
    let rects = zones();
    let frames = 120u64;
    let mut out = Vec::new();
    for copying in [false, true] {
        let (_pool, leases) = noise_leases(3);
        let mut zero = RoiRunner::new(zone_list(&rects), default_analyzers(), 2).unwrap();
        let mut copy = CopyingRunner::new(rects.clone(), default_analyzers(), 2);
        // The peak from here: the three pooled frames, the runner, and
        // whatever the pipeline allocates.
        reset_heap_peak();
        // Each stream runs on its runner's own pool (`RoiRunner::run`, as
        // `memview run` does), so no job is injected from outside per frame.
        let ((a0, b0), (a1, b1)) = if copying {
            let mut step = |i: u64| black_box(copy.process(leases[(i % 3) as usize].frame()).len());
            for i in 0..10 {
                step(i);
            }
            let before = process_counts();
            for i in 0..frames {
                step(i);
            }
            (before, process_counts())
        } else {
            zero.run(|r| {
                let mut step =
                    |i: u64| black_box(r.process(leases[(i % 3) as usize].clone()).len());
                for i in 0..10 {
                    step(i);
                }
                let before = process_counts();
                for i in 0..frames {
                    step(i);
                }
                (before, process_counts())
            })
        };
        let name = if copying { "copying" } else { "zero_copy" };
        out.push(format!(
            "\"{name}\":{{\"allocations_per_frame\":{},\"bytes_per_frame\":{},\"heap_peak_bytes\":{}}}",
            (a1 - a0) as f64 / frames as f64,
            (b1 - b0) as f64 / frames as f64,
            heap_peak()
        ));
    }
    format!("{{{}}}", out.join(","))
}

fn scaling() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut zones_rows = Vec::new();
    for n in [1usize, 2, 4, 8, 16, 32, 64] {
        let (a, b) = throughput(&grid_zones(n), cores);
        zones_rows.push(format!("[{n},{a:.1},{b:.1}]"));
    }
    let mut thread_rows = Vec::new();
    for t in 1..=cores {
        let (a, b) = throughput(&zones(), t);
        thread_rows.push(format!("[{t},{a:.1},{b:.1}]"));
    }
    format!(
        "{{\"cores\":{cores},\"zones\":[{}],\"threads\":[{}]}}",
        zones_rows.join(","),
        thread_rows.join(",")
    )
}

/// `memview run`'s loop (synthetic 1080p, ten zones, the default
/// analyzers, every core) without and with JSON Lines results and events
/// written to files, 1000 frames a run, seven rounds alternating: frames
/// per second of each, and the median of the per-round ratios.
fn results() -> String {
    let fps = |sinks: bool| 2000.0 / memview_benches::run_frames(2000, sinks).as_secs_f64();
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..11 {
        // Alternating which goes first.
        let (x, y) = if round % 2 == 0 {
            let x = fps(false);
            (x, fps(true))
        } else {
            let y = fps(true);
            (fps(false), y)
        };
        a.push(x);
        b.push(y);
        r.push(y / x);
    }
    for v in [&mut a, &mut b, &mut r] {
        v.sort_by(f64::total_cmp);
    }
    format!(
        "{{\"without\":{:.1},\"with\":{:.1},\"ratio\":{:.4}}}",
        a[5], b[5], r[5]
    )
}

/// One Rust-peer job: its name, the peer's, and each side's measurement.
type Job<'a> = (
    &'static str,
    &'static str,
    Box<dyn FnMut() -> f64 + 'a>,
    Box<dyn FnMut() -> f64 + 'a>,
);

/// `rust`: memview beside the Rust peers, in this one process: for each
/// job, five rounds alternating memview and each peer (each a
/// [`measure`]), medians in nanoseconds, and for the colour conversion the
/// largest difference of a peer's RGB from memview's.
fn rust_peers() -> String {
    use memview_benches::rust_peers::*;
    let l = layout();
    let bytes = noise(l.len(), 7);
    let frame = Frame::from_bytes(&bytes, &l).unwrap();
    let zones = zones();
    let planes = ndarray_planes(&bytes);
    let stream = y4m_stream(&bytes, 20);
    let (mut a, mut b) = (vec![0u8; W * H * 3], vec![0u8; W * H * 3]);
    memview_rgb(&frame, &mut a);
    let mut diff = |f: fn(&[u8], &mut [u8])| {
        f(&bytes, &mut b);
        a.iter()
            .zip(&b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    };
    let (dy, dd) = (diff(yuv_rgb), diff(dcv_rgb));
    assert_eq!(
        memview_y4m(&stream),
        y4m_crate(&stream),
        "both read every frame"
    );
    // Resizing the ten zones' RGB to 112x112: OpenCV's INTER_LINEAR and
    // the antialiased bilinear, against fast_image_resize's counterparts.
    use fast_image_resize::{FilterType, ResizeAlg};
    use memview_pixel::resize::Interpolation;
    let rgbs = memview_benches::tensor::zone_rgbs(&frame, &zones);
    let ours_out = std::cell::RefCell::new((
        memview_pixel::resize::Resizer::new(),
        vec![0u8; zones.len() * 112 * 112 * 3],
    ));
    let fir_out = std::cell::RefCell::new((
        fast_image_resize::Resizer::new(),
        vec![0u8; zones.len() * 112 * 112 * 3],
    ));
    let mut rgb = vec![0u8; W * H * 3];
    let views = memview_core::Shared::from(stream.clone())
        .export_shared()
        .unwrap();
    assert_eq!(
        memview_y4m_views(&views),
        y4m_crate(&stream),
        "both read every frame"
    );
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.push((
        "ten I420 ROIs' plane views (1080p)",
        "ndarray slicing (3 ArrayView2 per ROI)",
        Box::new(|| measure(|| memview_rois(&frame, &zones))),
        Box::new(|| measure(|| ndarray_rois(&planes, &zones))),
    ));
    let rgb_cell = std::cell::RefCell::new(&mut rgb);
    jobs.push((
        "1080p I420 -> RGB24 (BT.709), 1 thread",
        "yuv (yuvutils-rs)",
        Box::new(|| measure(|| memview_rgb(&frame, &mut rgb_cell.borrow_mut()))),
        Box::new(|| measure(|| yuv_rgb(&bytes, &mut rgb_cell.borrow_mut()))),
    ));
    jobs.push((
        "the same with memview's AVX2 kernel (AVX-512 off: what CPUs without it run)",
        "yuv (yuvutils-rs)",
        Box::new(|| {
            memview_pixel::convert::use_avx512(false);
            let t = measure(|| memview_rgb(&frame, &mut rgb_cell.borrow_mut()));
            memview_pixel::convert::use_avx512(std::env::var_os("MEMVIEW_NO_AVX512").is_none());
            t
        }),
        Box::new(|| measure(|| yuv_rgb(&bytes, &mut rgb_cell.borrow_mut()))),
    ));
    jobs.push((
        "1080p I420 -> RGB24 (BT.709), 1 thread",
        "dcv-color-primitives",
        Box::new(|| measure(|| memview_rgb(&frame, &mut rgb_cell.borrow_mut()))),
        Box::new(|| measure(|| dcv_rgb(&bytes, &mut rgb_cell.borrow_mut()))),
    ));
    jobs.push((
        "Y4M ingest (20 frames 1080p in memory), frames as zero-copy views",
        "y4m crate decoder (copies each frame)",
        Box::new(|| {
            measure(|| {
                black_box(memview_y4m_views(&views));
            })
        }),
        Box::new(|| {
            measure(|| {
                black_box(y4m_crate(&stream));
            })
        }),
    ));
    jobs.push((
        "Y4M ingest (20 frames 1080p in memory) through a reader, copied into the pool",
        "y4m crate decoder",
        Box::new(|| {
            measure(|| {
                black_box(memview_y4m(&stream));
            })
        }),
        Box::new(|| {
            measure(|| {
                black_box(y4m_crate(&stream));
            })
        }),
    ));
    for (job, interp, alg) in [
        (
            "ten 200x200 RGB zones -> 112x112, bilinear (OpenCV INTER_LINEAR)",
            Interpolation::Linear,
            ResizeAlg::Interpolation(FilterType::Bilinear),
        ),
        (
            "ten 200x200 RGB zones -> 112x112, antialiased bilinear (Pillow)",
            Interpolation::Antialias,
            ResizeAlg::Convolution(FilterType::Bilinear),
        ),
    ] {
        let (rgbs, zones, ours_out, fir_out) = (&rgbs, &zones, &ours_out, &fir_out);
        jobs.push((
            job,
            "fast_image_resize",
            Box::new(move || {
                let (r, o) = &mut *ours_out.borrow_mut();
                measure(|| memview_benches::tensor::resize_zones_with(r, rgbs, zones, o, interp))
            }),
            Box::new(move || {
                let (r, o) = &mut *fir_out.borrow_mut();
                measure(|| memview_benches::tensor::fir_resize_zones(r, rgbs, zones, o, alg))
            }),
        ));
    }
    let mut rows = Vec::new();
    for (job, peer, mut ours, mut theirs) in jobs {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for round in 0..5 {
            if round % 2 == 0 {
                x.push(ours());
                y.push(theirs());
            } else {
                y.push(theirs());
                x.push(ours());
            }
        }
        x.sort_by(f64::total_cmp);
        y.sort_by(f64::total_cmp);
        rows.push(
            serde_json::json!({"job": job, "peer": peer, "memview_ns": x[2], "peer_ns": y[2]}),
        );
    }
    serde_json::json!({"rows": rows, "rgb_max_diff": {"yuv": dy, "dcv-color-primitives": dd}})
        .to_string()
}

/// `plots DIR`: the scaling figures (the JSON `scaling` printed) on stdin,
/// drawn as `DIR/zones.svg` and `DIR/threads.svg`.
fn plots() -> Result<(), String> {
    use std::io::Read;
    let dir = std::path::PathBuf::from(std::env::args().nth(2).ok_or("plots needs a folder")?);
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let rows = |key: &str| -> Vec<(f64, f64, f64)> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let f = |i: usize| r[i].as_f64().unwrap_or(0.0);
                (f(0), f(1), f(2))
            })
            .collect()
    };
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    plot::plot(
        &dir.join("zones.svg"),
        "Throughput against zones (128x128 each)",
        "zones",
        &rows("zones"),
        true,
    )?;
    plot::plot(
        &dir.join("threads.svg"),
        "Throughput against threads (ten 200x200 zones)",
        "threads",
        &rows("threads"),
        false,
    )
}

fn main() {
    // `MEMVIEW_NO_AVX512=1` measures the AVX2 kernels on an AVX-512
    // machine (what a CPU without AVX-512 runs).
    if std::env::var_os("MEMVIEW_NO_AVX512").is_some() {
        memview_pixel::convert::use_avx512(false);
    }
    // `memview-peers memory` (or `scaling`) runs one measurement in a
    // fresh process, so nothing else is on the heap.
    if let Some(cmd) = std::env::args().nth(1) {
        match cmd.as_str() {
            "memory" => println!("{}", memory()),
            "scaling" => println!("{}", scaling()),
            "ingest" => println!("{}", ingest()),
            "results" => println!("{}", results()),
            "rust" => println!("{}", rust_peers()),
            "plots" => {
                if let Err(e) = plots() {
                    eprintln!("memview-peers plots: {e}");
                    std::process::exit(1);
                }
            }
            other => {
                eprintln!(
                    "memview-peers: unknown command {other:?} (memory, scaling, ingest, results, rust, plots DIR)"
                );
                std::process::exit(2);
            }
        }
        return;
    }
    let l = layout();
    let data = noise(l.len(), 1);
    let frame = Frame::from_bytes(&data, &l).unwrap();
    let luma = frame.plane(0).unwrap().clone();
    let rects = zones();
    let (_pool, leases) = noise_leases(2);
    let mut runner = RoiRunner::new(zone_list(&rects), default_analyzers(), 1).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runner_all = RoiRunner::new(zone_list(&rects), default_analyzers(), cores).unwrap();
    let lo = FrameLayout::tight(&RGB24, W, H).unwrap();
    let mut rgb = vec![0u8; lo.len()];
    let mut copies: Vec<Vec<u8>> = rects
        .iter()
        .map(|r| vec![0u8; frame.roi(*r).unwrap().tight_len()])
        .collect();

    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut classifier = tensor::classifier();
    let mut yolo = tensor::yolo();
    let mut batch = vec![0f32; rects.len() * classifier.slot_len()];
    let mut maps = vec![Default::default(); rects.len()];
    let mut yolo_out = vec![0f32; yolo.slot_len()];
    let zone_rgbs = tensor::zone_rgbs(&frame, &rects);
    let mut resizer = memview_pixel::resize::Resizer::new();
    let mut resized = vec![0u8; rects.len() * 112 * 112 * 3];

    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let answer = match line.trim() {
            "parse" => measure(|| {
                for f in FORMATS {
                    black_box(Format::parse(black_box(f), Dialect::Struct).unwrap());
                }
            })
            .to_string(),
            // One 200x200 zone of the luma plane as a 2-D view.
            "view_1" => measure(|| {
                let v: &View<'_> = black_box(&luma);
                black_box(v.region(400..600, 800..1000).unwrap());
            })
            .to_string(),
            // Ten zones of the I420 frame: three plane views each, borrowed
            // from the frame (`Frame::roi_ref`, the per-frame fast path).
            "view_10" => measure(|| {
                for r in &rects {
                    let z = black_box(&frame).roi_ref(*r).unwrap();
                    black_box([z.plane(0), z.plane(1), z.plane(2)]);
                }
            })
            .to_string(),
            // Ten zones copied out tight (three planes each).
            "copy_10" => measure(|| {
                for (r, out) in rects.iter().zip(copies.iter_mut()) {
                    frame.roi(*r).unwrap().copy_to(out).unwrap();
                }
                black_box(&copies);
            })
            .to_string(),
            // Mean/variance, histogram and motion over the ten zones, on
            // one thread.
            // On one thread, then on every core.
            "analyzers" => analyze(&mut runner, &leases).to_string(),
            "analyzers_all_cores" => analyze(&mut runner_all, &leases).to_string(),
            "convert" => {
                let mut dst = FrameMut::from_bytes(&mut rgb, &lo).unwrap();
                measure(|| yuv_to_rgb(&frame, &mut dst, Matrix::Bt601, Range::Limited).unwrap())
                    .to_string()
            }
            // Ten 200x200 zones of the I420 frame into a 10x3x112x112 f32
            // tensor, one thread.
            "tensor_10" => one
                .install(|| {
                    measure(|| {
                        tensor::zones_to_tensor(
                            &mut classifier,
                            &frame,
                            &rects,
                            &mut batch,
                            &mut maps,
                        )
                    })
                })
                .to_string(),
            // The whole frame letterboxed into 1x3x640x640, one thread.
            "letterbox_640" => one
                .install(|| measure(|| tensor::frame_to_yolo(&mut yolo, &frame, &mut yolo_out)))
                .to_string(),
            // The ten zones' RGB resized to 112x112 (resize alone).
            "resize_10" => {
                measure(|| tensor::resize_zones(&mut resizer, &zone_rgbs, &rects, &mut resized))
                    .to_string()
            }
            "quit" | "" => break,
            other => format!("error unknown workload {other:?}"),
        };
        writeln!(stdout, "{answer}").unwrap();
        stdout.flush().unwrap();
    }
}
