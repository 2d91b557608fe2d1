#!/usr/bin/python3
"""A one-MatMul ONNX model, for the benchmark's fp32 compute probe.

ViT-B/32's vision tower is almost all [tokens, 768] x [768, 3072]-like
matrix products, so the GFLOP/s ONNX Runtime reaches on this one product
bounds the img/s of the whole tower on a given machine.

Usage: /usr/bin/python3 scripts/build_matmul_probe.py OUT.onnx
Needs onnx and numpy (Debian: python3-onnx).
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K, N = 768, 3072


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    weights = numpy_helper.from_array((np.random.default_rng(0).standard_normal((K, N)) * 0.02).astype(np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "matmul_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", N])],
        [weights],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])


if __name__ == "__main__":
    main()
