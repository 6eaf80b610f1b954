//! Tensor preprocessing allocates nothing once the zones' shapes have been
//! seen, counted process-wide (rayon's workers included): a test binary of
//! its own, so no other test allocates meanwhile.

#![allow(clippy::unwrap_used)]

use memview_pixel::format::{I420, NV12, RGB24, YUYV};
use memview_pixel::tensor::{Affine, Fit, Normalize, Preprocessor, TensorLayout, TensorSpec};
use memview_pixel::{Frame, FrameLayout, PixelFormat, Rect};
use memview_testkit::{process_allocations, thread_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn frame_bytes(f: &'static PixelFormat) -> (Vec<u8>, FrameLayout) {
    let l = FrameLayout::tight(f, 640, 360).unwrap();
    ((0..l.len()).map(|i| (i * 7 % 251) as u8).collect(), l)
}

/// Inside a pool, as a stream runs it (work injected into rayon from
/// outside its pool makes rayon's queue allocate now and then).
#[test]
fn preprocessing_allocates_nothing_once_warm() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(batches);
}

fn batches() {
    let zones = [
        Rect::new(0, 0, 200, 200),
        Rect::new(301, 17, 99, 150),
        Rect::new(10, 200, 333, 101),
        Rect::new(600, 300, 40, 60),
    ];
    for (format, fit, layout) in [
        (&I420, Fit::Stretch, TensorLayout::Nchw),
        (
            &NV12,
            Fit::Letterbox { fill: [1, 2, 3] },
            TensorLayout::Nhwc,
        ),
        (&YUYV, Fit::Yolo { fill: [114; 3] }, TensorLayout::Nchw),
        (&RGB24, Fit::CenterCrop, TensorLayout::Nchw),
    ] {
        let (bytes, l) = frame_bytes(format);
        let frame = Frame::from_bytes(&bytes, &l).unwrap();
        let mut spec = TensorSpec::new(112, 96);
        spec.fit = fit;
        spec.layout = layout;
        spec.normalize = Normalize::MeanStd {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        };
        let mut pre = Preprocessor::new(spec).unwrap();
        let mut out = vec![0f32; zones.len() * pre.slot_len()];
        let mut maps = vec![Affine::default(); zones.len()];
        // Every rayon worker runs once, and the batches warm whichever
        // worker steals what (a worker's deque grows the first time it
        // holds many jobs: timing decides which, so warm up generously).
        rayon::broadcast(|_| ());
        for _ in 0..16 {
            pre.run(&frame, &zones, &mut out, &mut maps).unwrap();
        }
        let (n, ()) = process_allocations(|| {
            for _ in 0..20 {
                pre.run(&frame, &zones, &mut out, &mut maps).unwrap();
            }
        });
        assert_eq!(n, 0, "{}: allocations in 20 warm batches", format.name);
        let mut one = vec![0f32; pre.slot_len()];
        pre.run_one(&frame, zones[1], &mut one).unwrap();
        let (n, _) = thread_allocations(|| pre.run_one(&frame, zones[1], &mut one).unwrap());
        assert_eq!(n, 0, "{}: allocations of a warm zone", format.name);
    }
}
