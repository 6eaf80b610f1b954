//! `pixel/roi`: the plane views of a 1080p I420 ROI, and ten ROIs copied
//! out beside plain row copies; `pixel/convert`: 1080p I420 -> RGB24 on one
//! thread and on rayon; `pixel/tensor`: ten zones into a 10x3x112x112
//! tensor and the whole frame letterboxed into 1x3x640x640 (one thread),
//! and the ten zones' RGB resized to 112x112 (OpenCV's bilinear and
//! Pillow's antialiased one).

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memview_pixel::convert::{yuv_to_rgb, yuv_to_rgb_par, Matrix, Range};
use memview_pixel::format::{I420, RGB24};
use memview_pixel::{Frame, FrameLayout, FrameMut, Rect};
use std::hint::black_box;

const W: usize = 1920;
const H: usize = 1080;

/// Ten 200x200 zones spread over the frame.
fn zones() -> Vec<Rect> {
    (0..10)
        .map(|i| Rect::new(100 + 170 * i, 80 + 80 * i, 200, 200))
        .collect()
}

fn roi(c: &mut Criterion) {
    let l = FrameLayout::tight(&I420, W, H).unwrap();
    let data: Vec<u8> = (0..l.len()).map(|i| (i * 7 % 251) as u8).collect();
    let f = Frame::from_bytes(&data, &l).unwrap();
    let mut g = c.benchmark_group("pixel/roi");
    // ROIs (three plane views each) made per second.
    g.throughput(Throughput::Elements(1));
    // The fast path: the ROI borrowed from the frame and its three plane
    // views (`ViewRef`s) made.
    g.bench_function("i420_1080p_roi_views", |b| {
        b.iter(|| {
            let r = black_box(&f)
                .roi_ref(Rect::new(800, 400, 200, 200))
                .unwrap();
            black_box(&[r.plane(0), r.plane(1), r.plane(2)]);
        })
    });
    // The same ROI as three full `View`s (the `Roi` a frame of its own is).
    g.bench_function("i420_1080p_roi_owned_views", |b| {
        b.iter(|| black_box(black_box(&f).roi(Rect::new(800, 400, 200, 200)).unwrap()))
    });
    let zs = zones();
    let total: usize = zs.iter().map(|z| z.w * z.h * 3 / 2).sum();
    g.throughput(Throughput::Bytes(total as u64));
    let mut out = vec![0u8; 200 * 200 * 3 / 2];
    g.bench_function("ten_rois_copy_out", |b| {
        b.iter(|| {
            for z in &zs {
                f.roi(*z).unwrap().copy_to(&mut out).unwrap();
            }
            black_box(&out);
        })
    });
    g.bench_function("ten_rois_row_copy_baseline", |b| {
        let planes = l.planes().to_vec();
        b.iter(|| {
            for z in &zs {
                let mut at = 0;
                for (p, pl) in planes.iter().enumerate() {
                    let s = usize::from(p > 0);
                    let (x, y, w, h) = (z.x >> s, z.y >> s, z.w >> s, z.h >> s);
                    for row in y..y + h {
                        let src = pl.offset + row * pl.stride + x;
                        out[at..at + w].copy_from_slice(&data[src..src + w]);
                        at += w;
                    }
                }
            }
            black_box(&out);
        })
    });
    g.finish();
}

fn convert(c: &mut Criterion) {
    let li = FrameLayout::tight(&I420, W, H).unwrap();
    let lo = FrameLayout::tight(&RGB24, W, H).unwrap();
    let data: Vec<u8> = (0..li.len()).map(|i| (i * 7 % 251) as u8).collect();
    let src = Frame::from_bytes(&data, &li).unwrap();
    let mut out = vec![0u8; lo.len()];
    let mut g = c.benchmark_group("pixel/convert");
    g.throughput(Throughput::Elements(1));
    g.bench_function("i420_to_rgb24_1080p_1thread", |b| {
        let mut dst = FrameMut::from_bytes(&mut out, &lo).unwrap();
        b.iter(|| yuv_to_rgb(&src, &mut dst, Matrix::Bt709, Range::Limited).unwrap())
    });
    g.bench_function("i420_to_rgb24_1080p_rayon", |b| {
        let mut dst = FrameMut::from_bytes(&mut out, &lo).unwrap();
        b.iter(|| yuv_to_rgb_par(&src, &mut dst, Matrix::Bt709, Range::Limited).unwrap())
    });
    g.finish();
}

fn tensor(c: &mut Criterion) {
    use memview_benches::tensor::*;
    use memview_pixel::resize::{Interpolation, Resizer};
    let l = FrameLayout::tight(&I420, W, H).unwrap();
    let data: Vec<u8> = (0..l.len()).map(|i| (i * 7 % 251) as u8).collect();
    let frame = Frame::from_bytes(&data, &l).unwrap();
    let rects = zones();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("pixel/tensor");
    g.throughput(Throughput::Elements(rects.len() as u64));
    let mut pre = classifier();
    let mut batch = vec![0f32; rects.len() * pre.slot_len()];
    let mut maps = vec![Default::default(); rects.len()];
    g.bench_function("ten_zones_112x112_1thread", |b| {
        one.install(|| b.iter(|| zones_to_tensor(&mut pre, &frame, &rects, &mut batch, &mut maps)))
    });
    let mut yolo = yolo();
    let mut out = vec![0f32; yolo.slot_len()];
    g.throughput(Throughput::Elements(1));
    g.bench_function("letterbox_1080p_640x640_1thread", |b| {
        one.install(|| b.iter(|| frame_to_yolo(&mut yolo, &frame, &mut out)))
    });
    let rgbs = zone_rgbs(&frame, &rects);
    let mut resizer = Resizer::new();
    let mut resized = vec![0u8; rects.len() * 112 * 112 * 3];
    g.throughput(Throughput::Elements(rects.len() as u64));
    for (name, interp) in [
        ("resize_ten_zones_linear", Interpolation::Linear),
        ("resize_ten_zones_antialias", Interpolation::Antialias),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| resize_zones_with(&mut resizer, &rgbs, &rects, &mut resized, interp))
        });
    }
    g.finish();
}

criterion_group!(benches, roi, convert, tensor);
criterion_main!(benches);
