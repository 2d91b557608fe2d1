#!/usr/bin/python3
"""Dynamic int8 quantisation of the weight matrices of an ONNX model.

Dev-time only, for benchmarks: it writes the `onnx/*_quantized.onnx` files that
Transformers.js loads for `dtype: 'q8'` next to the fp32 ones of a model folder.

Every MatMul whose second input is a constant 2-D float initializer W [K, N]
(and every Gemm with a constant B, rewritten as a MatMul) becomes

    DynamicQuantizeLinear(A)                 -> A_q (uint8), A_scale, A_zp
    MatMulInteger(A_q, W_q, A_zp, W_zp)      -> int32
    Cast(to float)
    Mul(., Mul(A_scale, W_scale))            -> float, the original output

W is quantised once, per output column (W_scale has shape [N]): symmetric int8
with zero point 0 (default), or asymmetric uint8 with a zero point per column.
A is quantised per tensor at run time, so batched activations [B, S, K] work as
MatMulInteger broadcasts like MatMul. Everything else (Conv, Gather, attention's
activation-by-activation MatMuls, LayerNorm, ...) stays float.

The op chain is the one ONNX Runtime's graph optimiser fuses into its
MatMulIntegerToFloat / DynamicQuantizeMatMul kernels, so the int8 GEMM is not
followed by separate Cast and Mul passes over the output.

Usage:
    /usr/bin/python3 scripts/quantize_dynamic_int8.py MODEL_DIR
        quantises MODEL_DIR/onnx/{text,vision}_model.onnx -> *_quantized.onnx
    /usr/bin/python3 scripts/quantize_dynamic_int8.py --input IN.onnx --output OUT.onnx

Needs only onnx and numpy (Debian: python3-onnx).
"""

import argparse
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    sys.exit("quantize_dynamic_int8.py needs onnx and numpy: apt-get install python3-onnx, "
             "then run it with /usr/bin/python3")

TOWERS = ("text_model", "vision_model")
# Transformers.js maps dtype 'q8' to this file-name suffix (src/utils/dtypes.js).
Q8_SUFFIX = "_quantized"


def quantize_columns(w, weight_type, reduce_range):
    """Per-column quantisation of a float [K, N] matrix.

    Returns (w_q, scale[N] float32, zero_point) where zero_point is a scalar
    for symmetric int8 (always 0) and an [N] uint8 vector for asymmetric uint8.
    """
    w = w.astype(np.float32)
    if weight_type == "int8":
        # 7-bit weights leave headroom for CPUs whose u8×s8 dot product
        # saturates a 16-bit intermediate sum (x86 AVX2 without VNNI).
        qmax = 63 if reduce_range else 127
        absmax = np.abs(w).max(axis=0)
        scale = np.where(absmax > 0, absmax / qmax, 1.0).astype(np.float32)
        w_q = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int8)
        return w_q, scale, np.array(0, dtype=np.int8)
    qmax = 127 if reduce_range else 255
    # The range must contain 0 so that a zero weight is exactly representable.
    lo = np.minimum(w.min(axis=0), 0.0)
    hi = np.maximum(w.max(axis=0), 0.0)
    span = hi - lo
    scale = np.where(span > 0, span / qmax, 1.0).astype(np.float32)
    zero_point = np.clip(np.rint(-lo / scale), 0, qmax).astype(np.uint8)
    w_q = np.clip(np.rint(w / scale) + zero_point, 0, qmax).astype(np.uint8)
    return w_q, scale, zero_point


class Quantizer:
    def __init__(self, model, weight_type, reduce_range):
        self.model = model
        self.weight_type = weight_type
        self.reduce_range = reduce_range
        graph = model.graph
        graph_inputs = {i.name for i in graph.input}
        # An initializer that is also a graph input can be overridden at run time: not a constant.
        self.constants = {i.name: i for i in graph.initializer if i.name not in graph_inputs}
        self.new_initializers = []
        self.quantized_weights = {}  # (weight name, transposed, alpha) -> names of W_q, W_scale, W_zp
        self.quantized_activations = {}  # activation name -> names of A_q, A_scale, A_zp
        self.used_names = {n.name for n in graph.node} | {i.name for i in graph.initializer}
        self.count = {"MatMul": 0, "Gemm": 0, "skipped_MatMul": 0, "skipped_Gemm": 0}

    def unique(self, base):
        name, k = base, 1
        while name in self.used_names:
            name, k = f"{base}_{k}", k + 1
        self.used_names.add(name)
        return name

    def float_weight(self, name):
        init = self.constants.get(name)
        if init is None or init.data_type != TensorProto.FLOAT or len(init.dims) != 2:
            return None
        return numpy_helper.to_array(init)

    def weight(self, name, transposed=False, alpha=1.0):
        """Quantised initializers for a weight, made once however many nodes use it."""
        key = (name, transposed, alpha)
        if key in self.quantized_weights:
            return self.quantized_weights[key]
        w = self.float_weight(name)
        if transposed:
            w = w.T
        if alpha != 1.0:
            w = w * np.float32(alpha)
        w_q, scale, zero_point = quantize_columns(np.ascontiguousarray(w), self.weight_type, self.reduce_range)
        base = name.replace("::", "_").replace("/", "_").strip("_")
        names = (self.unique(base + "_quantized"), self.unique(base + "_scale"), self.unique(base + "_zero_point"))
        for array, n in zip((w_q, scale, zero_point), names):
            self.new_initializers.append(numpy_helper.from_array(array, n))
        self.quantized_weights[key] = names
        return names

    def activation(self, name, out_nodes):
        """DynamicQuantizeLinear of an activation, shared by the MatMuls that read it (e.g. q, k, v)."""
        if name in self.quantized_activations:
            return self.quantized_activations[name]
        base = name.replace("::", "_").replace("/", "_").strip("_")
        outputs = (self.unique(base + "_quantized"), self.unique(base + "_scale"), self.unique(base + "_zero_point"))
        out_nodes.append(helper.make_node("DynamicQuantizeLinear", [name], list(outputs), name=self.unique(base + "_DynamicQuantizeLinear")))
        self.quantized_activations[name] = outputs
        return outputs

    def integer_matmul(self, node_name, a, weight_names, output, out_nodes):
        """A_q × W_q in int32, back to float with the product of the two scales."""
        a_q, a_scale, a_zp = self.activation(a, out_nodes)
        w_q, w_scale, w_zp = weight_names
        base = node_name.replace("/", "_").strip("_") or "MatMul"
        int_out = self.unique(base + "_int32")
        float_out = self.unique(base + "_float")
        scale = self.unique(base + "_scale")
        out_nodes.append(helper.make_node("MatMulInteger", [a_q, w_q, a_zp, w_zp], [int_out], name=self.unique(base + "_MatMulInteger")))
        out_nodes.append(helper.make_node("Cast", [int_out], [float_out], to=TensorProto.FLOAT, name=self.unique(base + "_Cast")))
        out_nodes.append(helper.make_node("Mul", [a_scale, w_scale], [scale], name=self.unique(base + "_scale_Mul")))
        out_nodes.append(helper.make_node("Mul", [float_out, scale], [output], name=self.unique(base + "_output_Mul")))

    def rewrite(self):
        graph = self.model.graph
        out_nodes = []
        for node in graph.node:
            if node.op_type == "MatMul" and self.float_weight(node.input[1]) is not None:
                self.integer_matmul(node.name, node.input[0], self.weight(node.input[1]), node.output[0], out_nodes)
                self.count["MatMul"] += 1
            elif node.op_type == "Gemm" and self.rewrite_gemm(node, out_nodes):
                self.count["Gemm"] += 1
            else:
                if node.op_type in ("MatMul", "Gemm"):
                    self.count["skipped_" + node.op_type] += 1
                out_nodes.append(node)
        del graph.node[:]
        graph.node.extend(out_nodes)
        graph.initializer.extend(self.new_initializers)
        self.drop_unused_initializers()

    def rewrite_gemm(self, node, out_nodes):
        """Gemm(A, B, C) = alpha·A·op(B) + beta·C with a constant B: MatMul part in int8, bias Add in float."""
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0) or self.float_weight(node.input[1]) is None:
            return False
        alpha = float(attrs.get("alpha", 1.0))
        beta = float(attrs.get("beta", 1.0))
        weight_names = self.weight(node.input[1], transposed=bool(attrs.get("transB", 0)), alpha=alpha)
        has_bias = len(node.input) > 2 and node.input[2] != ""
        base = node.name.replace("/", "_").strip("_") or "Gemm"
        product = self.unique(base + "_product") if has_bias else node.output[0]
        self.integer_matmul(node.name, node.input[0], weight_names, product, out_nodes)
        if has_bias:
            bias = node.input[2]
            if beta != 1.0:
                scaled = self.unique(base + "_beta_bias")
                beta_name = self.unique(base + "_beta")
                self.new_initializers.append(numpy_helper.from_array(np.array(beta, dtype=np.float32), beta_name))
                out_nodes.append(helper.make_node("Mul", [bias, beta_name], [scaled], name=self.unique(base + "_beta_Mul")))
                bias = scaled
            out_nodes.append(helper.make_node("Add", [product, bias], [node.output[0]], name=self.unique(base + "_bias_Add")))
        return True

    def drop_unused_initializers(self):
        graph = self.model.graph
        used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        # Subgraphs (If/Loop bodies) may read outer initializers too.
        for node in graph.node:
            for attr in node.attribute:
                for sub in list(attr.g.node if attr.HasField("g") else []) + [n for g in attr.graphs for n in g.node]:
                    used.update(sub.input)
        keep = [i for i in graph.initializer if i.name in used]
        del graph.initializer[:]
        graph.initializer.extend(keep)


def ensure_opset(model, minimum=11):
    """DynamicQuantizeLinear exists from opset 11; MatMulInteger from 10."""
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            if opset.version < minimum:
                raise SystemExit(f"model has opset {opset.version}; DynamicQuantizeLinear needs opset >= {minimum}")
            return


def quantize_file(src, dst, weight_type="int8", reduce_range=False):
    model = onnx.load(src)
    ensure_opset(model)
    quantizer = Quantizer(model, weight_type, reduce_range)
    quantizer.rewrite()
    model.producer_name = "zeroshot quantize_dynamic_int8.py"
    helper.set_model_props(model, {
        **{p.key: p.value for p in model.metadata_props},
        "zeroshot_quantization": f"dynamic, activations uint8 per tensor, weights {weight_type} per column"
        + (", reduce_range" if reduce_range else ""),
    })
    onnx.checker.check_model(model)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, dst)  # never leave a half-written model under the name Transformers.js loads
    c = quantizer.count
    print(f"{os.path.getsize(src):>11d} -> {os.path.getsize(dst):>11d} bytes  {dst}  "
          f"({c['MatMul']} MatMul, {c['Gemm']} Gemm quantised; {c['skipped_MatMul']} MatMul, "
          f"{c['skipped_Gemm']} Gemm left float)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", help="model folder: quantises onnx/{text,vision}_model.onnx")
    ap.add_argument("--input", help="one .onnx file (with --output) instead of a model folder")
    ap.add_argument("--output")
    ap.add_argument("--weight-type", choices=("int8", "uint8"), default="int8",
                    help="int8: symmetric, zero point 0 (default); uint8: asymmetric, zero point per column")
    ap.add_argument("--reduce-range", action="store_true",
                    help="7-bit weights, for x86 CPUs without VNNI (avoids int16 saturation in u8×s8 kernels)")
    args = ap.parse_args(argv)

    if args.input:
        if not args.output or args.model_dir:
            ap.error("--input needs --output and no MODEL_DIR")
        jobs = [(args.input, args.output)]
    elif args.model_dir:
        onnx_dir = os.path.join(args.model_dir, "onnx")
        jobs = [(os.path.join(onnx_dir, f"{t}.onnx"), os.path.join(onnx_dir, f"{t}{Q8_SUFFIX}.onnx")) for t in TOWERS]
        missing = [src for src, _ in jobs if not os.path.isfile(src)]
        if missing:
            ap.error("missing " + ", ".join(missing))
    else:
        ap.error("give a MODEL_DIR or --input/--output")
    for src, dst in jobs:
        quantize_file(src, dst, args.weight_type, args.reduce_range)
    return 0


if __name__ == "__main__":
    sys.exit(main())
