//! `capture/synthetic`: 1080p I420 frames from the synthetic source through
//! a 3-buffer pool; `capture/y4m`: 1080p Y4M through a pipe from `cat`,
//! beside reading the same pipe into a buffer and dropping it (what
//! `cat FILE | pv -q >/dev/null` measures).

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memview_capture::{raise_pipe_buffer, BufferPool, FrameSource, Synthetic, Y4mSource};
use memview_pixel::format::I420;

const W: usize = 1920;
const H: usize = 1080;
const FRAMES: usize = 30;

fn synthetic(c: &mut Criterion) {
    let mut src = Synthetic::new(&I420, W, H, 10).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let mut g = c.benchmark_group("capture/synthetic");
    g.throughput(Throughput::Elements(1));
    g.bench_function("i420_1080p_10_boxes_3_buffers", |b| {
        b.iter(|| {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            std::hint::black_box(lease.seq())
        })
    });
    g.finish();
}

fn y4m_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("memview-bench-{}.y4m", std::process::id()));
    let frame = W * H * 3 / 2;
    let mut data = format!("YUV4MPEG2 W{W} H{H} F60:1 Ip A1:1 C420jpeg\n").into_bytes();
    for i in 0..FRAMES {
        data.extend_from_slice(b"FRAME\n");
        data.extend(std::iter::repeat_n(i as u8, frame));
    }
    std::fs::write(&path, data).unwrap();
    path
}

fn cat(path: &std::path::Path) -> std::process::Child {
    Command::new("cat")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn y4m(c: &mut Criterion) {
    let path = y4m_file();
    let mut g = c.benchmark_group("capture/y4m");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.sample_size(20);
    g.bench_function("pipe_1080p_frames", |b| {
        let mut pool = BufferPool::new(3, W * H * 3 / 2).unwrap();
        b.iter(|| {
            let mut child = cat(&path);
            let out = child.stdout.take().unwrap();
            raise_pipe_buffer(&out);
            let mut src = Y4mSource::new(out).unwrap();
            let mut n = 0;
            while let Some(f) = src.next_frame(pool.try_acquire().unwrap()).unwrap() {
                n += f.layout().len();
            }
            child.wait().unwrap();
            n
        })
    });
    g.bench_function("pipe_read_and_drop_baseline", |b| {
        let mut buf = vec![0u8; 1 << 20];
        b.iter(|| {
            let mut child = cat(&path);
            let mut out = child.stdout.take().unwrap();
            raise_pipe_buffer(&out);
            let mut n = 0;
            loop {
                let k = out.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            child.wait().unwrap();
            n
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, synthetic, y4m);
criterion_main!(benches);
