#!/usr/bin/env python3
"""EfficientNet-Lite0 as TFLite, fp32 and full-integer int8, from the project's ONNX model.

    python scripts/make_tflite.py --model models/efficientnet-lite0.onnx \
        --out models/efficientnet-lite0 samples/*.png samples/*.jpg

writes OUT.tflite (fp32) and OUT-int8.tflite (TFLiteConverter full-integer int8, per-channel
weights, representative dataset = the images given, float32 input and output so LiteRT.js can feed
it a Float32Array), and OUT-tflite-check.json (the agreement figures below).

The graph is rebuilt op by op as a tf.function from the ONNX initializers (no onnx2tf): NHWC
activations, NCHW weights transposed, BatchNormalization folded into the convolution before it
(as the converter would), ONNX pads mapped to 'SAME' where they are TF's, an explicit PAD
otherwise. Unknown ops fail the script: it only needs what models/efficientnet-lite0.onnx holds.

Checks, on every image (preprocessed by scripts/preprocess.py, the tensor the browser bench feeds
onnxruntime-web): the TF graph and the fp32 .tflite (ai-edge-litert's interpreter) against
onnxruntime, max |logit difference| <= 1e-3, and top-1 agreement of fp32 and int8 .tflite with
onnxruntime. Any disagreement exits non-zero. Needs .venv-bench (scripts/requirements-bench.txt).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preprocess import preprocess_file  # noqa: E402

FP32_TOL = 1e-3


def attrs(node):
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def same_pads(size, k, s, d):
    """TF 'SAME' (before, after) padding of one spatial axis."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


class Builder:
    """ONNX graph -> NHWC TF ops, evaluated in node order inside a tf.function."""

    def __init__(self, model):
        from onnx import numpy_helper

        self.graph = model.graph
        self.consts = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        consumers = {}
        for n in self.graph.node:
            for i in n.input:
                consumers.setdefault(i, []).append(n)
        self.consumers = consumers
        self.folded = set()  # BatchNormalization nodes merged into their convolution

    def bn_after(self, conv):
        users = self.consumers.get(conv.output[0], [])
        if len(users) == 1 and users[0].op_type == "BatchNormalization":
            return users[0]
        return None

    def conv_weights(self, node):
        """(kernel in ONNX layout, bias) with a following BatchNormalization folded in."""
        w = self.consts[node.input[1]].astype(np.float64)
        b = self.consts[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros(w.shape[0])
        bn = self.bn_after(node)
        if bn is not None:
            gamma, beta, mean, var = (self.consts[i].astype(np.float64) for i in bn.input[1:5])
            scale = gamma / np.sqrt(var + attrs(bn).get("epsilon", 1e-5))
            w = w * scale[:, None, None, None]
            b = (b - mean) * scale + beta
            self.folded.add(bn.name or bn.output[0])
            return w, b, bn.output[0]
        return w, b, node.output[0]

    def conv(self, tf, x, node):
        a = attrs(node)
        w, b, out_name = self.conv_weights(node)
        m, cg, kh, kw = w.shape
        c = x.shape[-1]
        group = a.get("group", 1)
        strides = a.get("strides", [1, 1])
        dil = a.get("dilations", [1, 1])
        pads = a.get("pads", [0, 0, 0, 0])
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
            raise SystemExit(f"{node.name}: auto_pad {a['auto_pad']} not handled")
        size = x.shape[1:3]
        same = [same_pads(size[i], (kh, kw)[i], strides[i], dil[i]) for i in range(2)]
        given = [(pads[0], pads[2]), (pads[1], pads[3])]
        if given == same:
            padding = "SAME"
        else:
            if any(p for p in pads):
                x = tf.pad(x, [[0, 0], list(given[0]), list(given[1]), [0, 0]])
            padding = "VALID"
        if group == 1:
            k = tf.constant(w.transpose(2, 3, 1, 0).astype(np.float32))  # -> HWIO
            y = tf.nn.conv2d(x, k, strides=strides, padding=padding, dilations=dil)
        elif group == c and cg == 1:
            mult = m // c
            k = w.reshape(c, mult, kh, kw).transpose(2, 3, 0, 1)  # -> H W C multiplier
            y = tf.nn.depthwise_conv2d(x, tf.constant(k.astype(np.float32)), strides=[1, *strides, 1],
                                       padding=padding, dilations=dil)
        else:
            raise SystemExit(f"{node.name}: grouped convolution (group {group}, {c} channels) not handled")
        return out_name, tf.nn.bias_add(y, tf.constant(b.astype(np.float32)))

    def const_or_attr(self, node, idx, name, default):
        if len(node.input) > idx and node.input[idx]:
            return float(self.consts[node.input[idx]].reshape(-1)[0])
        return float(attrs(node).get(name, default))

    def __call__(self, tf, x_nhwc):
        env = {self.graph.input[0].name: x_nhwc}
        for node in self.graph.node:
            op, ins = node.op_type, node.input
            if op == "Conv":
                name, y = self.conv(tf, env[ins[0]], node)
                env[name] = y
                continue
            if op == "BatchNormalization":
                if (node.name or node.output[0]) in self.folded:
                    continue
                gamma, beta, mean, var = (self.consts[i] for i in ins[1:5])
                scale = gamma / np.sqrt(var + attrs(node).get("epsilon", 1e-5))
                y = env[ins[0]] * scale.astype(np.float32) + (beta - mean * scale).astype(np.float32)
            elif op == "Clip":
                lo = self.const_or_attr(node, 1, "min", -np.inf)
                hi = self.const_or_attr(node, 2, "max", np.inf)
                # relu6 / relu become TFLite's fused activations.
                if (lo, hi) == (0.0, 6.0):
                    y = tf.nn.relu6(env[ins[0]])
                elif lo == 0.0 and hi == np.inf:
                    y = tf.nn.relu(env[ins[0]])
                else:
                    y = tf.clip_by_value(env[ins[0]], lo, hi)
            elif op == "Relu":
                y = tf.nn.relu(env[ins[0]])
            elif op == "Add":
                y = env[ins[0]] + env[ins[1]]
            elif op == "GlobalAveragePool":
                y = tf.reduce_mean(env[ins[0]], axis=[1, 2], keepdims=True)
            elif op in ("Flatten", "Reshape"):
                x = env[ins[0]]
                # NHWC and NCHW flatten alike only when the spatial size is 1x1.
                if len(x.shape) == 4 and tuple(x.shape[1:3]) != (1, 1):
                    raise SystemExit(f"{node.name}: {op} of a {x.shape} tensor not handled")
                y = tf.reshape(x, [x.shape[0], -1])
            elif op in ("Gemm", "MatMul"):
                a = attrs(node)
                if a.get("transA", 0):
                    raise SystemExit(f"{node.name}: transA not handled")
                w = self.consts[ins[1]]
                if a.get("transB", 0):
                    w = w.T
                y = tf.matmul(env[ins[0]], tf.constant((w * a.get("alpha", 1.0)).astype(np.float32)))
                if len(ins) > 2 and ins[2]:
                    y = y + tf.constant((self.consts[ins[2]] * a.get("beta", 1.0)).astype(np.float32))
            else:
                raise SystemExit(f"op {op} ({node.name}) not handled by make_tflite.py")
            env[node.output[0]] = y
        return env[self.graph.output[0].name]


def tflite_logits(path, nhwc_inputs):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    if inp["dtype"] != np.float32 or out["dtype"] != np.float32:
        raise SystemExit(f"{path}: input/output are {inp['dtype']}/{out['dtype']}, expected float32")
    logits = []
    for x in nhwc_inputs:
        it.set_tensor(inp["index"], x)
        it.invoke()
        logits.append(it.get_tensor(out["index"]).copy())
    return np.concatenate(logits)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True, help="output prefix: OUT.tflite, OUT-int8.tflite")
    ap.add_argument("images", nargs="+", help="calibration and check images")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    import tensorflow as tf

    model = onnx.load(args.model)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    n, c, h, w = shape
    builder = Builder(model)
    fn = tf.function(lambda x: builder(tf, x), input_signature=[tf.TensorSpec([n, h, w, c], tf.float32)],
                     autograph=False)  # plain Python over the ONNX nodes
    concrete = fn.get_concrete_function()

    nchw = [preprocess_file(p) for p in args.images]
    nhwc = [np.ascontiguousarray(x.transpose(0, 2, 3, 1)) for x in nchw]
    sess = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    ref = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x})[0] for x in nchw])
    tf_logits = np.concatenate([fn(x).numpy() for x in nhwc])

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fp32_path = out.with_name(out.name + ".tflite")
    int8_path = out.with_name(out.name + "-int8.tflite")

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
    fp32_path.write_bytes(conv.convert())

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x] for x in nhwc)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # inference_input_type / output_type left float32: QUANTIZE / DEQUANTIZE at the ends.
    int8_path.write_bytes(conv.convert())

    fp32 = tflite_logits(fp32_path, nhwc)
    int8 = tflite_logits(int8_path, nhwc)
    top = lambda z: z.argmax(axis=1)  # noqa: E731
    report = {
        "model": args.model,
        "images": [Path(p).name for p in args.images],
        "tensorflow": tf.__version__,
        "onnxruntime_top1": top(ref).tolist(),
        "tf_graph_max_abs_diff": float(np.abs(tf_logits - ref).max()),
        "fp32_tflite_max_abs_diff": float(np.abs(fp32 - ref).max()),
        "fp32_tflite_top1": top(fp32).tolist(),
        "fp32_top1_agree": int((top(fp32) == top(ref)).sum()),
        "int8_tflite_top1": top(int8).tolist(),
        "int8_top1_agree": int((top(int8) == top(ref)).sum()),
        "int8_max_abs_diff": float(np.abs(int8 - ref).max()),
        "count": len(args.images),
        "bytes": {"fp32": fp32_path.stat().st_size, "int8": int8_path.stat().st_size},
    }
    check = out.with_name(out.name + "-tflite-check.json")
    check.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    failures = []
    if report["tf_graph_max_abs_diff"] > FP32_TOL or report["fp32_tflite_max_abs_diff"] > FP32_TOL:
        failures.append(f"fp32 logits differ from onnxruntime by more than {FP32_TOL}")
    for name in ("fp32", "int8"):
        if report[f"{name}_top1_agree"] != report["count"]:
            failures.append(f"{name} .tflite top-1 agrees with onnxruntime on only "
                            f"{report[f'{name}_top1_agree']} of {report['count']} images")
    if failures:
        for f in failures:
            print(f"make_tflite: FAIL: {f}", file=sys.stderr)
        for p in (fp32_path, int8_path):
            p.unlink()  # no stale model for the bench to pick up
        sys.exit(1)
    print(f"make_tflite: wrote {fp32_path}, {int8_path}, {check}")


if __name__ == "__main__":
    main()
