//! Workloads shared by the criterion suites and `memview-peers` (the
//! memview side of `cargo xtask bench --peers`): the ten zones, frames of
//! noise, and the copying runner that the zero-copy runner is compared
//! with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The repository README's Rust examples, compiled and run as doc tests
/// (`cargo test --doc -p memview-benches`, part of `cargo test
/// --workspace`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

use memview_capture::{BufferPool, FrameLease, Synthetic};
use memview_pixel::format::I420;
use memview_pixel::{Frame, FrameLayout, Rect};
use memview_roi::analyzers::{Histogram, MeanVariance, Motion};
use memview_roi::{AnyOutput, BoxedAnalyzer, FrameInfo, RoiRunner, Zone, ZoneInput};
use rayon::prelude::*;

/// Frame width of every 1080p workload.
pub const W: usize = 1920;
/// Frame height.
pub const H: usize = 1080;

/// The ten 200x200 zones (faces, plates) every multi-zone workload uses,
/// here and in `peers.py`: zone `i` at `(100 + 170 i, 80 + 80 i)`.
pub fn zones() -> Vec<Rect> {
    (0..10)
        .map(|i| Rect::new(100 + 170 * i, 80 + 80 * i, 200, 200))
        .collect()
}

/// `n` zones of 128x128 on a grid over a 1080p frame (up to 120), for the
/// scaling curves.
pub fn grid_zones(n: usize) -> Vec<Rect> {
    let cols = W / 128;
    (0..n)
        .map(|i| Rect::new((i % cols) * 128, (i / cols) * 128 % (H - 128), 128, 128))
        .collect()
}

/// `len` bytes of uniform noise (deterministic per seed).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = memview_testkit::Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The 1080p I420 layout.
pub fn layout() -> FrameLayout {
    FrameLayout::tight(&I420, W, H).unwrap()
}

/// `n` pooled 1080p I420 frames of noise, as the capture crate hands them
/// to the runner.
pub fn noise_leases(n: usize) -> (BufferPool, Vec<FrameLease>) {
    let l = layout();
    let mut pool = BufferPool::new(n, l.len()).unwrap();
    let leases = (0..n)
        .map(|i| {
            let mut slot = pool.try_acquire().unwrap();
            slot.bytes_mut()
                .unwrap()
                .copy_from_slice(&noise(l.len(), i as u64 + 1));
            slot.publish(l.clone(), i as u64, std::time::Duration::ZERO)
                .unwrap()
        })
        .collect();
    (pool, leases)
}

/// Mean/variance, histogram and motion: `memview run`'s default analyzers.
pub fn default_analyzers() -> Vec<BoxedAnalyzer> {
    vec![MeanVariance.into(), Histogram.into(), Motion.into()]
}

/// The copying runner, built from the same parts as `RoiRunner`: per
/// frame it copies every zone out into a new tight buffer (what a pipeline
/// does when a frame cannot be shared), keeps that copy for the next
/// frame's motion, and runs the same analyzers over the copies, zones in
/// parallel on its own rayon pool.
#[allow(missing_debug_implementations)]
pub struct CopyingRunner {
    zones: Vec<Zone>,
    analyzers: Vec<BoxedAnalyzer>,
    previous: Vec<Option<Vec<u8>>>,
    results: Vec<Vec<Box<dyn AnyOutput>>>,
    pool: std::sync::Arc<rayon::ThreadPool>,
}

impl CopyingRunner {
    /// A runner on `threads` threads.
    pub fn new(zones: Vec<Rect>, analyzers: Vec<BoxedAnalyzer>, threads: usize) -> Self {
        let n = zones.len();
        // The same fused passes as `RoiRunner`: only the copies differ.
        let analyzers = memview_roi::fuse(analyzers);
        CopyingRunner {
            zones: zones
                .into_iter()
                .enumerate()
                .map(|(i, r)| Zone::new(format!("z{i}"), r))
                .collect(),
            results: (0..n)
                .map(|_| analyzers.iter().map(|a| a.output(&I420)).collect())
                .collect(),
            analyzers,
            previous: vec![None; n],
            pool: std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap(),
            ),
        }
    }

    /// Runs `body` on the runner's own pool, as `RoiRunner::run` does, so
    /// frames processed inside it inject no job from outside.
    pub fn run<T: Send>(&mut self, body: impl FnOnce(&mut CopyingRunner) -> T + Send) -> T {
        let pool = self.pool.clone();
        pool.install(|| body(self))
    }

    /// Copies every zone of `frame` out and analyses the copies.
    pub fn process(&mut self, frame: &Frame<'_>) -> &[Vec<Box<dyn AnyOutput>>] {
        let info = FrameInfo {
            width: frame.width(),
            height: frame.height(),
            format: frame.format(),
            ..FrameInfo::default()
        };
        let info = &info;
        let analyzers = &self.analyzers;
        let zones = &self.zones;
        let previous = &mut self.previous;
        let results = &mut self.results;
        self.pool.install(|| {
            results
                .par_iter_mut()
                .zip(previous.par_iter_mut())
                .zip(zones.par_iter())
                .for_each(|((out, prev), zone)| {
                    let roi = frame.roi(zone.rect).unwrap();
                    let copy = roi.to_vec();
                    let l = FrameLayout::tight(&I420, roi.width(), roi.height()).unwrap();
                    {
                        let cur = Frame::from_bytes(&copy, &l).unwrap();
                        let old = prev.as_deref().map(|p| Frame::from_bytes(p, &l).unwrap());
                        let whole = Rect::new(0, 0, roi.width(), roi.height());
                        let input = ZoneInput {
                            roi: cur.roi_ref(whole).unwrap(),
                            previous: old.as_ref().map(|f| f.roi_ref(whole).unwrap()),
                            zone,
                            frame: info,
                        };
                        for (a, o) in analyzers.iter().zip(out.iter_mut()) {
                            a.analyze(&input, o.as_mut());
                        }
                    }
                    *prev = Some(copy);
                });
        });
        &self.results
    }
}

/// `memview run`'s loop over `frames` frames, with or without JSON Lines
/// results and events written to files by the writer thread; the records
/// wait for the writer (`SinkPolicy::Block`), so every line is formatted
/// and written inside the time measured.
pub fn run_frames(frames: u64, sinks: bool) -> std::time::Duration {
    use memview_capture::{Capture, CaptureOptions, Policy};
    use memview_roi::events::{MotionEvents, MotionOptions};
    use memview_roi::pipeline::{self, Pipeline, ZoneFeed};
    use memview_roi::sink::{EventLines, JsonLines, ResultWriter, Sink, SinkPolicy, WriterOptions};
    let src = Synthetic::new(&I420, 1920, 1080, 10)
        .unwrap()
        .with_frames(frames);
    let tracker = src.clone();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("zone{i}"), r))
        .collect();
    let mut runner = RoiRunner::new(zones, default_analyzers(), 0).unwrap();
    let capture = Capture::with_options(
        src,
        CaptureOptions {
            buffers: Policy::Block.streaming_buffers(memview_roi::FRAMES_HELD, 2),
            queue: 2,
            policy: Policy::Block,
            consumer_holds: memview_roi::FRAMES_HELD,
            limits: memview_capture::Limits::default(),
        },
    )
    .unwrap();
    let dir = std::env::temp_dir();
    let file = |name: &str| {
        let path = dir.join(format!("memview-bench-{}-{name}", std::process::id()));
        std::io::BufWriter::new(std::fs::File::create(path).unwrap())
    };
    let (writer, events) = if sinks {
        let list: Vec<Box<dyn Sink>> = vec![
            Box::new(JsonLines::new(file("results.jsonl"))),
            Box::new(EventLines::new(file("events.jsonl"))),
        ];
        let options = WriterOptions {
            policy: SinkPolicy::Block,
            ..WriterOptions::default()
        };
        (
            Some(ResultWriter::start(list, options).unwrap()),
            Some(MotionEvents::new(MotionOptions::default()).unwrap()),
        )
    } else {
        (None, None)
    };
    let t = std::time::Instant::now();
    let report = pipeline::run(
        &capture,
        &mut runner,
        Pipeline {
            zones: ZoneFeed::Synthetic(tracker, 10),
            writer,
            events,
            ..Pipeline::default()
        },
    );
    let elapsed = t.elapsed();
    assert_eq!(report.frames, frames);
    assert!(report.error.is_none() && report.sink_error.is_none());
    assert_eq!(
        report.result_records_written,
        if sinks { frames } else { 0 }
    );
    elapsed
}

/// The Rust peers' workloads, one function per library and job, shared
/// by the criterion suite `rust_peers` and `memview-peers rust`.
pub mod rust_peers {
    use std::hint::black_box;

    use memview_capture::{BufferPool, FrameSource, Y4mSource};
    use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
    use memview_pixel::format::RGB24;
    use memview_pixel::{Frame, FrameLayout, FrameMut, Rect};

    use super::{H, W};

    /// The ten zones' three plane views, memview's way (`RoiRef`).
    pub fn memview_rois(frame: &Frame<'_>, zones: &[Rect]) {
        for &z in zones {
            let r = frame.roi_ref(z).unwrap();
            for p in 0..3 {
                black_box(r.plane(p));
            }
        }
    }

    /// The same with ndarray: each plane an `ArrayView2`, sliced per zone.
    pub fn ndarray_rois(planes: &[ndarray::ArrayView2<'_, u8>; 3], zones: &[Rect]) {
        for z in zones {
            let (x, y, w, h) = (z.x, z.y, z.w, z.h);
            black_box(planes[0].slice(ndarray::s![y..y + h, x..x + w]));
            for p in &planes[1..] {
                black_box(p.slice(ndarray::s![y / 2..(y + h) / 2, x / 2..(x + w) / 2]));
            }
        }
    }

    /// The planes of a tight 1080p I420 frame as ndarray views.
    pub fn ndarray_planes(bytes: &[u8]) -> [ndarray::ArrayView2<'_, u8>; 3] {
        let (y, uv) = bytes.split_at(W * H);
        let (u, v) = uv.split_at(W * H / 4);
        let view = |b, h, w| ndarray::ArrayView2::from_shape((h, w), b).unwrap();
        [
            view(y, H, W),
            view(u, H / 2, W / 2),
            view(&v[..W * H / 4], H / 2, W / 2),
        ]
    }

    /// 1080p I420 (BT.709, limited range) to RGB24, memview, one thread.
    pub fn memview_rgb(frame: &Frame<'_>, rgb: &mut [u8]) {
        let l = FrameLayout::tight(&RGB24, W, H).unwrap();
        let mut dst = FrameMut::from_bytes(rgb, &l).unwrap();
        yuv_to_rgb(frame, &mut dst, Matrix::Bt709, Range::Limited).unwrap();
    }

    /// The same with the `yuv` crate (yuvutils-rs).
    pub fn yuv_rgb(bytes: &[u8], rgb: &mut [u8]) {
        let (y, uv) = bytes.split_at(W * H);
        let (u, v) = uv.split_at(W * H / 4);
        let img = yuv::YuvPlanarImage {
            y_plane: y,
            y_stride: W as u32,
            u_plane: u,
            u_stride: (W / 2) as u32,
            v_plane: &v[..W * H / 4],
            v_stride: (W / 2) as u32,
            width: W as u32,
            height: H as u32,
        };
        yuv::yuv420_to_rgb(
            &img,
            rgb,
            (W * 3) as u32,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt709,
        )
        .unwrap();
    }

    /// The same with `dcv-color-primitives`.
    pub fn dcv_rgb(bytes: &[u8], rgb: &mut [u8]) {
        use dcv_color_primitives as dcp;
        let (y, uv) = bytes.split_at(W * H);
        let (u, v) = uv.split_at(W * H / 4);
        let src = dcp::ImageFormat {
            pixel_format: dcp::PixelFormat::I420,
            color_space: dcp::ColorSpace::Bt709,
            num_planes: 3,
        };
        let dst = dcp::ImageFormat {
            pixel_format: dcp::PixelFormat::Rgb,
            color_space: dcp::ColorSpace::Rgb,
            num_planes: 1,
        };
        dcp::convert_image(
            W as u32,
            H as u32,
            &src,
            None,
            &[y, u, &v[..W * H / 4]],
            &dst,
            None,
            &mut [rgb],
        )
        .unwrap();
    }

    /// A Y4M stream of `frames` 1080p I420 frames of `frame`'s bytes.
    pub fn y4m_stream(frame: &[u8], frames: usize) -> Vec<u8> {
        let mut s = format!("YUV4MPEG2 W{W} H{H} F30:1 Ip A1:1 C420jpeg\n").into_bytes();
        for _ in 0..frames {
            s.extend_from_slice(b"FRAME\n");
            s.extend_from_slice(frame);
        }
        s
    }

    /// Every frame of a Y4M stream read into a pool of one buffer (the
    /// frame is let go before the next, as the `y4m` crate's decoder
    /// reuses its one), memview's way; the frames counted.
    pub fn memview_y4m(stream: &[u8]) -> usize {
        let mut src = Y4mSource::new(stream).unwrap();
        let mut pool = BufferPool::new(1, src.frame_len()).unwrap();
        let mut n = 0;
        while let Some(lease) = src.next_frame(pool.try_acquire().unwrap()).unwrap() {
            black_box(lease.seq());
            n += 1;
        }
        n
    }

    /// The same stream as zero-copy views: memview's Y4M source over a
    /// byte view of the stream in memory (each frame a view of it, as
    /// from a mapped file); the frames counted.
    pub fn memview_y4m_views(stream: &memview_core::View<'static>) -> usize {
        let mut src = memview_capture::MmapSource::y4m_view(stream.clone()).unwrap();
        let mut pool = BufferPool::new(1, src.frame_len()).unwrap();
        let mut n = 0;
        while let Some(lease) = src.next_frame(pool.try_acquire().unwrap()).unwrap() {
            black_box(lease.frame().plane(0).map(|p| p.len()));
            n += 1;
        }
        n
    }

    /// The same with the `y4m` crate's decoder.
    pub fn y4m_crate(stream: &[u8]) -> usize {
        let mut d = y4m::decode(stream).unwrap();
        let mut n = 0;
        while let Ok(f) = d.read_frame() {
            black_box(f.get_y_plane().len());
            n += 1;
        }
        n
    }
}

/// Zones into model inputs: the workloads of memview-pixel's tensor
/// preprocessing, shared by the criterion group and `memview-peers`.
pub mod tensor {
    use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
    use memview_pixel::format::RGB24;
    use memview_pixel::resize::{Interpolation, Resizer};
    use memview_pixel::tensor::{Affine, ChannelOrder, Fit, Normalize, Preprocessor, TensorSpec};
    use memview_pixel::{Frame, FrameLayout, FrameMut, Rect};

    use super::{H, W};

    /// The classifier input: 112x112, RGB planes, `(x - 127.5) / 128`
    /// (OpenCV's `(x - mean) * scale`).
    pub fn classifier() -> Preprocessor {
        let mut spec = TensorSpec::new(112, 112);
        spec.normalize = Normalize::MeanScale {
            mean: [127.5; 3],
            scale: [1.0 / 128.0; 3],
        };
        spec.order = ChannelOrder::Rgb;
        Preprocessor::new(spec).unwrap()
    }

    /// The YOLO input: the whole frame letterboxed into 640x640 (OpenCV's
    /// `DNN_PMODE_LETTERBOX`), `x / 255`.
    pub fn yolo() -> Preprocessor {
        let mut spec = TensorSpec::new(640, 640);
        spec.fit = Fit::Letterbox { fill: [0; 3] };
        spec.normalize = Normalize::MeanScale {
            mean: [0.0; 3],
            scale: [1.0 / 255.0; 3],
        };
        Preprocessor::new(spec).unwrap()
    }

    /// The ten zones of `frame` into `out` (10x3x112x112).
    pub fn zones_to_tensor(
        pre: &mut Preprocessor,
        frame: &Frame<'_>,
        zones: &[Rect],
        out: &mut [f32],
        maps: &mut [Affine],
    ) {
        pre.run(frame, zones, out, maps).unwrap();
    }

    /// The whole frame letterboxed into `out` (1x3x640x640).
    pub fn frame_to_yolo(pre: &mut Preprocessor, frame: &Frame<'_>, out: &mut [f32]) {
        let mut maps = [Affine::default()];
        pre.run(frame, &[Rect::new(0, 0, W, H)], out, &mut maps)
            .unwrap();
    }

    /// The ten zones' RGB (each 200x200, tight), converted once: the
    /// input of the resize-only workload.
    pub fn zone_rgbs(frame: &Frame<'_>, zones: &[Rect]) -> Vec<Vec<u8>> {
        let l = FrameLayout::tight(&RGB24, W, H).unwrap();
        let mut rgb = vec![0u8; l.len()];
        yuv_to_rgb(
            frame,
            &mut FrameMut::from_bytes(&mut rgb, &l).unwrap(),
            Matrix::Bt601,
            Range::Limited,
        )
        .unwrap();
        zones
            .iter()
            .map(|z| {
                let mut v = Vec::with_capacity(z.w * z.h * 3);
                for y in z.y..z.y + z.h {
                    v.extend_from_slice(&rgb[(y * W + z.x) * 3..(y * W + z.x + z.w) * 3]);
                }
                v
            })
            .collect()
    }

    /// Each RGB zone resized to 112x112 (`INTER_LINEAR`), on this thread.
    pub fn resize_zones(resizer: &mut Resizer, rgbs: &[Vec<u8>], zones: &[Rect], out: &mut [u8]) {
        resize_zones_with(resizer, rgbs, zones, out, Interpolation::Linear)
    }

    /// Each RGB zone resized to 112x112 with `interp`, on this thread.
    pub fn resize_zones_with(
        resizer: &mut Resizer,
        rgbs: &[Vec<u8>],
        zones: &[Rect],
        out: &mut [u8],
        interp: Interpolation,
    ) {
        let ld = FrameLayout::tight(&RGB24, 112, 112).unwrap();
        for ((src, z), o) in rgbs.iter().zip(zones).zip(out.chunks_exact_mut(ld.len())) {
            let ls = FrameLayout::tight(&RGB24, z.w, z.h).unwrap();
            resizer
                .resize(
                    &Frame::from_bytes(src, &ls).unwrap(),
                    &mut FrameMut::from_bytes(o, &ld).unwrap(),
                    interp,
                )
                .unwrap();
        }
    }

    /// The same with `fast_image_resize` (`Interpolation(Bilinear)` is its
    /// OpenCV-like fixed kernel, `Convolution(Bilinear)` its antialiased
    /// one).
    pub fn fir_resize_zones(
        resizer: &mut fast_image_resize::Resizer,
        rgbs: &[Vec<u8>],
        zones: &[Rect],
        out: &mut [u8],
        alg: fast_image_resize::ResizeAlg,
    ) {
        use fast_image_resize::images::{Image, ImageRef};
        use fast_image_resize::{PixelType, ResizeOptions};
        let options = ResizeOptions::new().resize_alg(alg);
        for ((src, z), o) in rgbs
            .iter()
            .zip(zones)
            .zip(out.chunks_exact_mut(112 * 112 * 3))
        {
            let src = ImageRef::new(z.w as u32, z.h as u32, src, PixelType::U8x3).unwrap();
            let mut dst = Image::from_slice_u8(112, 112, o, PixelType::U8x3).unwrap();
            resizer.resize(&src, &mut dst, &options).unwrap();
        }
    }
}
