//! `rust_peers`: memview beside the Rust crates a user would otherwise
//! pick, in the same process on the same inputs (`memview_benches::
//! rust_peers`): ten I420 ROIs' plane views against `ndarray` slicing,
//! 1080p I420 -> RGB24 against `yuv` and `dcv-color-primitives` (one
//! thread each), Y4M ingest against the `y4m` crate, and ten zones' RGB
//! resized to 112x112 against `fast_image_resize` (its fixed-kernel
//! bilinear beside memview's `INTER_LINEAR`, its antialiased one beside
//! memview's Pillow `BILINEAR`).

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memview_benches::rust_peers::*;
use memview_benches::{layout, noise, zones, H, W};
use memview_pixel::Frame;

fn peers(c: &mut Criterion) {
    let l = layout();
    let bytes = noise(l.len(), 7);
    let frame = Frame::from_bytes(&bytes, &l).unwrap();
    let zones = zones();
    let planes = ndarray_planes(&bytes);
    let mut g = c.benchmark_group("rust_peers/rois");
    g.throughput(Throughput::Elements(zones.len() as u64));
    g.bench_function("memview", |b| b.iter(|| memview_rois(&frame, &zones)));
    g.bench_function("ndarray", |b| b.iter(|| ndarray_rois(&planes, &zones)));
    g.finish();

    let mut rgb = vec![0u8; W * H * 3];
    let mut g = c.benchmark_group("rust_peers/yuv_to_rgb");
    g.throughput(Throughput::Elements((W * H) as u64));
    g.bench_function("memview", |b| b.iter(|| memview_rgb(&frame, &mut rgb)));
    g.bench_function("yuv", |b| b.iter(|| yuv_rgb(&bytes, &mut rgb)));
    g.bench_function("dcv-color-primitives", |b| {
        b.iter(|| dcv_rgb(&bytes, &mut rgb))
    });
    g.finish();

    {
        use fast_image_resize::{FilterType, ResizeAlg};
        use memview_benches::tensor::{fir_resize_zones, resize_zones_with, zone_rgbs};
        use memview_pixel::resize::{Interpolation, Resizer};
        let rgbs = zone_rgbs(&frame, &zones);
        let mut out = vec![0u8; zones.len() * 112 * 112 * 3];
        let (mut ours, mut fir) = (Resizer::new(), fast_image_resize::Resizer::new());
        let mut g = c.benchmark_group("rust_peers/resize");
        g.throughput(Throughput::Elements(zones.len() as u64));
        for (name, interp, alg) in [
            (
                "bilinear",
                Interpolation::Linear,
                ResizeAlg::Interpolation(FilterType::Bilinear),
            ),
            (
                "antialiased",
                Interpolation::Antialias,
                ResizeAlg::Convolution(FilterType::Bilinear),
            ),
        ] {
            g.bench_function(format!("memview/{name}"), |b| {
                b.iter(|| resize_zones_with(&mut ours, &rgbs, &zones, &mut out, interp))
            });
            g.bench_function(format!("fast_image_resize/{name}"), |b| {
                b.iter(|| fir_resize_zones(&mut fir, &rgbs, &zones, &mut out, alg))
            });
        }
        g.finish();
    }

    let stream = y4m_stream(&bytes, 20);
    let mut g = c.benchmark_group("rust_peers/y4m_ingest");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("memview", |b| b.iter(|| memview_y4m(&stream)));
    let views = memview_core::Shared::from(stream.clone())
        .export_shared()
        .unwrap();
    g.bench_function("memview_views", |b| b.iter(|| memview_y4m_views(&views)));
    g.bench_function("y4m", |b| b.iter(|| y4m_crate(&stream)));
    g.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
