#!/usr/bin/env python3
"""Makes a tiny ONNX model to try `memview run --model` with, no download:
a 3x3 convolution to 8 channels, ReLU, global average pooling and a fully
connected layer to 5 scores (random weights, seeded), with a dynamic batch.

    python3 scripts/make-tiny-onnx.py tiny.onnx --size 112x112

Outputs: `scores` (N x 5) and `features` (N x 8). Needs the `onnx` and
`numpy` packages (pip install onnx numpy).
"""

import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="where to write the .onnx file")
    p.add_argument("--size", default="112x112", help="input WxH (default 112x112)")
    p.add_argument("--nhwc", action="store_true", help="take N x H x W x 3 inputs")
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    w, h = map(int, a.size.split("x"))
    rng = np.random.default_rng(a.seed)
    init = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "wconv"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "bconv"),
        numpy_helper.from_array(rng.normal(0, 0.5, (5, 8)).astype(np.float32), "wfc"),
        numpy_helper.from_array(rng.normal(0, 0.1, (5,)).astype(np.float32), "bfc"),
    ]
    nodes = []
    first = "input"
    if a.nhwc:
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]))
        first = "nchw"
    nodes += [
        helper.make_node("Conv", [first, "wconv", "bconv"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["features"]),
        helper.make_node("Gemm", ["features", "wfc", "bfc"], ["scores"], transB=1),
    ]
    shape = ["N", h, w, 3] if a.nhwc else ["N", 3, h, w]
    graph = helper.make_graph(
        nodes,
        "memview-tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 5]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 8]),
        ],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    print(f"{a.out}: input {'x'.join(map(str, shape))}, outputs scores (N x 5), features (N x 8)")


if __name__ == "__main__":
    main()
