//! The tiny ONNX model the ONNX tests build with the `onnx` Python package
//! (conv, relu, global average pool, gemm; outputs `scores` and
//! `features`), and onnxruntime run on a batch: shared by the oracle test
//! and the allocation count.

use std::path::Path;

use memview_testkit::run_python;

/// Builds `tiny.onnx` (`build DIR`), or runs it with onnxruntime on
/// `batch.bin` (`run DIR N C H W`), writing each output as raw f32.
pub const TINY: &str = r#"
import sys
try:
    import numpy as np, onnx, onnxruntime as ort
    from onnx import helper, TensorProto, numpy_helper
except ImportError as e:
    print("NO-ORACLE", e)
    sys.exit(0)
cmd = sys.stdin.readline().split()
d = cmd[1]
if cmd[0] == "build":
    c, h, w = map(int, cmd[2:5])
    rng = np.random.default_rng(7)
    wconv = numpy_helper.from_array(rng.normal(0, 0.3, (4, c, 3, 3)).astype(np.float32), "wconv")
    bconv = numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "bconv")
    wfc = numpy_helper.from_array(rng.normal(0, 0.5, (5, 4)).astype(np.float32), "wfc")
    bfc = numpy_helper.from_array(rng.normal(0, 0.1, (5,)).astype(np.float32), "bfc")
    nodes = [
        helper.make_node("Conv", ["input", "wconv", "bconv"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["features"]),
        helper.make_node("Gemm", ["features", "wfc", "bfc"], ["scores"], transB=1),
    ]
    g = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 5]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
        [wconv, bconv, wfc, bfc])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, d + "/tiny.onnx")
    print("built")
else:
    n, c, h, w = map(int, cmd[2:6])
    x = np.fromfile(d + "/batch.bin", np.float32).reshape(n, c, h, w)
    s = ort.InferenceSession(d + "/tiny.onnx", providers=["CPUExecutionProvider"])
    scores, features = s.run(["scores", "features"], {"input": x})
    scores.astype(np.float32).tofile(d + "/scores.bin")
    features.astype(np.float32).tofile(d + "/features.bin")
    print("ran")
"#;

/// Makes the tiny model in `dir` for `c x h x w` inputs; false (after a
/// loud skip) without the oracle.
pub fn build_tiny(dir: &Path, c: usize, h: usize, w: usize) -> bool {
    let Some(out) = run_python(TINY, &format!("build {} {c} {h} {w}\n", dir.display())) else {
        return false;
    };
    if out.starts_with("NO-ORACLE") {
        memview_testkit::skip(&format!("onnx and onnxruntime ({})", out.trim()));
        return false;
    }
    assert_eq!(out.trim(), "built");
    true
}
