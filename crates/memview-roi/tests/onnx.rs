//! ONNX through tract against onnxruntime: a tiny model the test builds
//! itself with the `onnx` Python package (conv, relu, global average pool,
//! gemm, two outputs), run by memview's runner on memview-prepared
//! tensors, equals onnxruntime's outputs on the same tensors (rtol 1e-4).

use std::path::Path;

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_pixel::format::I420;
use memview_pixel::tensor::{Fit, Normalize, TensorSpec};
use memview_roi::model::{ModelOut, Tensor, TensorOut};
use memview_roi::onnx::OnnxModel;
use memview_roi::{RoiRunner, Zone};
use memview_testkit::{fresh_dir, run_python};

use crate::tiny_onnx::{build_tiny, TINY};

fn floats(p: &Path) -> Vec<f32> {
    std::fs::read(p)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn tract_on_memview_tensors_equals_onnxruntime() {
    let dir = fresh_dir("roi-onnx", "tiny");
    let (h, w) = (24, 32);
    if !build_tiny(&dir, 3, h, w) {
        return;
    }
    let mut spec = TensorSpec::new(w, h);
    spec.fit = Fit::Letterbox { fill: [0; 3] };
    spec.normalize = Normalize::MeanScale {
        mean: [127.5; 3],
        scale: [1.0 / 128.0; 3],
    };
    let model = OnnxModel::load(&dir.join("tiny.onnx"), &spec).unwrap();
    let mut src = Synthetic::new(&I420, 320, 240, 4).unwrap();
    let zones: Vec<Zone> = src
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let n = zones.len();
    let mut runner = RoiRunner::new(zones, vec![Tensor::new(spec).unwrap().into()], 2).unwrap();
    runner.set_model(Box::new(model)).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    // Two frames: the second runs the plan made for the first.
    for _ in 0..2 {
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let results = runner.process(lease);
        assert_eq!(results.errors(), 0);
        let mut batch = Vec::new();
        let (mut scores, mut features) = (Vec::new(), Vec::new());
        for z in results.iter() {
            batch.extend_from_slice(&z.get::<TensorOut>().unwrap().data);
            let m = z.get::<ModelOut>().unwrap();
            scores.extend_from_slice(m.values("scores"));
            features.extend_from_slice(m.values("features"));
        }
        assert_eq!((scores.len(), features.len()), (5 * n, 4 * n));
        let bytes: Vec<u8> = batch.iter().flat_map(|x| x.to_ne_bytes()).collect();
        std::fs::write(dir.join("batch.bin"), bytes).unwrap();
        let out = run_python(TINY, &format!("run {} {n} 3 {h} {w}\n", dir.display())).unwrap();
        assert_eq!(out.trim(), "ran");
        for (name, ours, theirs) in [
            ("scores", &scores, floats(&dir.join("scores.bin"))),
            ("features", &features, floats(&dir.join("features.bin"))),
        ] {
            assert_eq!(ours.len(), theirs.len(), "{name}");
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs() + 1e-6,
                    "{name}[{i}]: tract {a}, onnxruntime {b}"
                );
            }
        }
    }
}
