//! Zero heap allocations per frame with the tensor analyzer and a model
//! hook, counted process-wide: a test binary of its own, as `alloc`.

#![allow(clippy::unwrap_used)]

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_roi::analyzers::Motion;
use memview_roi::sink::{JsonLines, Sink};
use memview_roi::{RoiRunner, Zone};
use memview_testkit::{process_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A model that allocates nothing: each zone's tensor mean and maximum.
struct Stats;

impl memview_roi::model::Model for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }
    fn outputs(&self) -> &[(&'static str, usize)] {
        &[("tensor_mean", 1), ("tensor_max", 1)]
    }
    fn run(
        &mut self,
        batch: &[f32],
        zones: &[std::sync::Arc<str>],
        out: &mut [f32],
    ) -> Result<(), String> {
        let per = batch.len() / zones.len();
        for (o, t) in out.chunks_exact_mut(2).zip(batch.chunks_exact(per)) {
            o[0] = t.iter().sum::<f32>() / per as f32;
            o[1] = t.iter().copied().fold(f32::MIN, f32::max);
        }
        Ok(())
    }
}

/// The tensor analyzer (letterboxed, normalised zones) and a model hook on
/// its batch, results written as JSON Lines: nothing allocates once warm.
#[test]
fn tensors_and_the_model_hook_allocate_nothing_per_frame() {
    use memview_pixel::tensor::{Fit, Normalize, TensorSpec};
    use memview_roi::model::{ModelOut, Tensor};

    let mut src = Synthetic::new(&I420, 640, 360, 10).unwrap();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let mut spec = TensorSpec::new(64, 48);
    spec.fit = Fit::Letterbox { fill: [0; 3] };
    spec.normalize = Normalize::MeanScale {
        mean: [127.5; 3],
        scale: [1.0 / 128.0; 3],
    };
    let mut runner = RoiRunner::new(
        zones,
        vec![Tensor::new(spec).unwrap().into(), Motion.into()],
        2,
    )
    .unwrap();
    runner.set_model(Box::new(Stats)).unwrap();
    let mut sink = JsonLines::new(std::io::sink());
    let mut rec = memview_roi::record::FrameRecord::default();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let (n, scored) = runner.run(|runner| {
        let mut frame = |runner: &mut RoiRunner| {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            let results = runner.process(lease);
            let scored = results
                .iter()
                .filter(|z| {
                    z.get::<ModelOut>()
                        .is_some_and(|m| m.values("tensor_max").len() == 1)
                })
                .count();
            rec.fill(&results);
            sink.frame(&rec).unwrap();
            scored
        };
        for _ in 0..20 {
            frame(runner);
        }
        process_allocations(|| (0..200).map(|_| frame(runner)).min().unwrap_or(0))
    });
    assert_eq!(n, 0, "allocations in 200 steady-state frames");
    assert_eq!(scored, 10, "every zone has its model outputs");
}

#[cfg(feature = "onnx")]
mod tiny_onnx;

/// A model that counts the allocations (process-wide) while the wrapped
/// one runs.
#[cfg(feature = "onnx")]
struct Counted<M>(M, std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(feature = "onnx")]
impl<M: memview_roi::model::Model> memview_roi::model::Model for Counted<M> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn outputs(&self) -> &[(&'static str, usize)] {
        self.0.outputs()
    }
    fn input_len(&self) -> Option<usize> {
        self.0.input_len()
    }
    fn run(
        &mut self,
        batch: &[f32],
        zones: &[std::sync::Arc<str>],
        out: &mut [f32],
    ) -> Result<(), String> {
        let (n, r) = process_allocations(|| self.0.run(batch, zones, out));
        self.1.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        r
    }
}

/// With an ONNX model through tract: memview's side still allocates
/// nothing per frame; tract's own allocations are counted and reported.
#[cfg(feature = "onnx")]
#[test]
fn onnx_allocations_are_tracts_own() {
    use memview_pixel::tensor::TensorSpec;
    use memview_roi::model::Tensor;
    use memview_roi::onnx::OnnxModel;

    let dir = memview_testkit::fresh_dir("roi-alloc", "onnx");
    let (h, w) = (24, 32);
    if !tiny_onnx::build_tiny(&dir, 3, h, w) {
        return;
    }
    let spec = TensorSpec::new(w, h);
    let tract = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let model = Counted(
        OnnxModel::load(&dir.join("tiny.onnx"), &spec).unwrap(),
        tract.clone(),
    );
    let mut src = Synthetic::new(&I420, 320, 240, 4).unwrap();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let mut runner = RoiRunner::new(zones, vec![Tensor::new(spec).unwrap().into()], 2).unwrap();
    runner.set_model(Box::new(model)).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let (total, ()) = runner.run(|runner| {
        let mut frame = |runner: &mut RoiRunner| {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(runner.process(lease).errors(), 0);
        };
        for _ in 0..10 {
            frame(runner);
        }
        tract.store(0, std::sync::atomic::Ordering::Relaxed);
        process_allocations(|| {
            for _ in 0..50 {
                frame(runner);
            }
        })
    });
    let tract = tract.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "onnx: tract allocated {} times a frame; memview {} times in 50 frames",
        tract / 50,
        total - tract
    );
    assert_eq!(total - tract, 0, "memview's own allocations in 50 frames");
    assert!(tract > 0, "tract's allocations were not counted");
}
