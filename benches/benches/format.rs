//! `format/parse`: parsing plus layout of representative format strings.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memview_format::{Dialect, Format};
use std::hint::black_box;

/// What real exporters hand out: array.array, ctypes, NumPy, video planes.
const FORMATS: &[(&str, Dialect)] = &[
    ("B", Dialect::Struct),
    ("<HHI", Dialect::Struct),
    ("@iqd", Dialect::Struct),
    ("=4sHHIQ2x", Dialect::Struct),
    ("T{<i:x:<d:y:<c:c:}", Dialect::Pep3118),
    ("(3,2)<i", Dialect::Pep3118),
];

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("format/parse");
    for &(f, d) in FORMATS {
        g.throughput(Throughput::Bytes(f.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(f), f, |b, f| {
            b.iter(|| {
                let fmt = Format::parse(black_box(f), d).map(|f| f.layout());
                black_box(fmt)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
