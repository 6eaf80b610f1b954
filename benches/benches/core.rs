//! `core/view`: making a 200x200 ROI view over a 1080p plane, beside a
//! copying baseline; `core/to_bytes`: gathering that ROI, beside a plain
//! row-by-row `copy_from_slice`; `core/rows`: row iteration.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memview_core::{MemOrder, Slice, View};
use std::hint::black_box;

const W: usize = 1920;
const H: usize = 1080;
const R: usize = 200;

fn plane() -> Vec<u8> {
    (0..W * H).map(|i| (i * 7 % 251) as u8).collect()
}

fn view(c: &mut Criterion) {
    let data = plane();
    let p = View::from_parts(&data, "B", 0, &[H, W], &[W as isize, 1]).unwrap();
    let mut g = c.benchmark_group("core/view");
    // Views (or copies) made per second.
    g.throughput(Throughput::Elements(1));
    g.bench_function("roi_200x200", |b| {
        b.iter(|| {
            let roi = black_box(&p)
                .slice(&[Slice::range(400, 600), Slice::range(800, 1000)])
                .unwrap();
            black_box(roi)
        })
    });
    g.bench_function("region_200x200", |b| {
        b.iter(|| black_box(black_box(&p).region(400..600, 800..1000).unwrap()))
    });
    g.bench_function("roi_200x200_copying_baseline", |b| {
        let mut out = vec![0u8; R * R];
        b.iter(|| {
            for (y, dst) in out.chunks_exact_mut(R).enumerate() {
                let s = (400 + y) * W + 800;
                dst.copy_from_slice(&data[s..s + R]);
            }
            black_box(&out);
        })
    });
    g.finish();
}

fn to_bytes(c: &mut Criterion) {
    let data = plane();
    let p = View::from_parts(&data, "B", 0, &[H, W], &[W as isize, 1]).unwrap();
    let roi = p
        .slice(&[Slice::range(400, 600), Slice::range(800, 1000)])
        .unwrap();
    let mut g = c.benchmark_group("core/to_bytes");
    g.throughput(Throughput::Bytes((R * R) as u64));
    let mut out = vec![0u8; R * R];
    g.bench_function("roi_200x200_copy_into", |b| {
        b.iter(|| roi.copy_into(black_box(&mut out), MemOrder::C).unwrap())
    });
    g.bench_function("row_copy_from_slice_baseline", |b| {
        b.iter(|| {
            for (y, dst) in black_box(&mut out).chunks_exact_mut(R).enumerate() {
                let s = (400 + y) * W + 800;
                dst.copy_from_slice(&data[s..s + R]);
            }
        })
    });
    g.finish();
}

fn rows(c: &mut Criterion) {
    let data = plane();
    let p = View::from_parts(&data, "B", 0, &[H, W], &[W as isize, 1]).unwrap();
    let roi = p
        .slice(&[Slice::range(0, H as isize), Slice::range(0, 1800)])
        .unwrap();
    let mut g = c.benchmark_group("core/rows");
    g.throughput(Throughput::Bytes((H * 1800) as u64));
    g.bench_function("sum_rows_1080x1800", |b| {
        b.iter(|| {
            roi.rows()
                .unwrap()
                .map(|r| r.iter().map(|&x| u32::from(x)).sum::<u32>())
                .sum::<u32>()
        })
    });
    g.finish();
}

criterion_group!(benches, view, to_bytes, rows);
criterion_main!(benches);
