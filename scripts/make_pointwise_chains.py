#!/usr/bin/env python3
"""Chains of pointwise (1x1) convolutions at 112x112, as ONNX and TFLite, for bench/pointwise.mjs.

    python scripts/make_pointwise_chains.py --out models/chains samples/*.png samples/*.jpg

Each chain is the image classifier the bench pages expect (input [1, 3, 224, 224], the same
preprocessing and 1000 classes as EfficientNet-Lite0): a 3x3 stride-2 stem (3 -> 16 channels,
112x112), then N blocks, then global average pooling and a 16 -> 1000 Gemm. Every convolution
has a bias and ReLU6. The blocks are EfficientNet-Lite0's early pointwise shapes:

    pw16        conv 1x1 16 -> 16               (m = 16, k = 16, n = 12544), 4 and 20 blocks
    pw16x96     conv 1x1 16 -> 96, 96 -> 16      (Lite0's block 1 expand, and a project), 2 and 8

each at a short and a long length, so that the difference of their latencies is the blocks'
time alone (stem, pooling, classifier and the engine's per-run costs cancel). Weights are
seeded random (He-scaled): latency does not depend on their values.

Writes OUT/chains.json (each block's convolutions, multiply-adds and models) and
OUT/<chain>-n<N>.onnx, .json (the metadata quantscope loads), .tflite (fp32) and
-int8.tflite (TFLiteConverter full-integer int8, per-channel weights, representative dataset =
the images given, float32 input and output), and prints each model's top-1 on the first image
from onnxruntime and both .tflite files (agreement is not required: the weights are random).
Needs .venv-bench (scripts/requirements-bench.txt).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tflite import Builder, tflite_logits  # noqa: E402
from preprocess import CROP, MEAN, RESIZE_SHORTER, STD, preprocess_file  # noqa: E402

# Block name: the channel widths of its convolutions, and the chain's two lengths (about
# 1.2 and 3.5 ms of int8 blocks apart on one core).
BLOCKS = {"pw16": ([16, 16], (4, 20)), "pw16x96": ([16, 96, 16], (2, 8))}
SIDE = CROP


def chain_model(block, blocks, seed=7):
    """The ONNX model of `blocks` blocks of kind `block` (see the module docstring)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in (("zero", 0), ("six", 6))]
    nodes = []

    def conv(x, cin, cout, name, k=1, s=1, p=0):
        w = rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))
        b = rng.standard_normal(cout) * 0.1 + 0.1
        inits.append(numpy_helper.from_array(w.astype(np.float32), f"{name}.weight"))
        inits.append(numpy_helper.from_array(b.astype(np.float32), f"{name}.bias"))
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [f"{name}.conv"],
                                      name=name, kernel_shape=[k, k], strides=[s, s], pads=[p] * 4))
        nodes.append(helper.make_node("Clip", [f"{name}.conv", "zero", "six"], [f"{name}.out"],
                                      name=f"{name}.relu6"))
        return f"{name}.out"

    widths = BLOCKS[block][0]
    x = conv("input", 3, widths[0], "stem", k=3, s=2, p=1)
    for i in range(blocks):
        for j, (cin, cout) in enumerate(zip(widths, widths[1:])):
            x = conv(x, cin, cout, f"blocks.{i}.conv{j}")
    fc = rng.standard_normal((1000, widths[-1])) * 0.3
    inits.append(numpy_helper.from_array(fc.astype(np.float32), "fc.weight"))
    inits.append(numpy_helper.from_array(np.zeros(1000, np.float32), "fc.bias"))
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, f"{block}-n{blocks}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def metadata(name):
    """quantscope's model metadata: scripts/preprocess.py's steps (the ones the .tflite files were
    calibrated with, and EfficientNet-Lite0's), 1000 unnamed classes."""
    return {
        "name": name,
        "input": {"name": "input", "shape": [1, 3, SIDE, SIDE], "layout": "NCHW"},
        "preprocess": {"resize_shorter": RESIZE_SHORTER, "crop": CROP,
                       "mean": list(MEAN), "std": list(STD)},
        "labels": [f"class {i}" for i in range(1000)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("images", nargs="+", help="calibration images (the first is also classified)")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    import tensorflow as tf

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nchw = [preprocess_file(p) for p in args.images]
    nhwc = [np.ascontiguousarray(x.transpose(0, 2, 3, 1)) for x in nchw]
    manifest = []
    for block, (widths, lengths) in BLOCKS.items():
        pixels = (SIDE // 2) ** 2
        manifest.append({
            "block": block,
            "convs": [[cin, cout] for cin, cout in zip(widths, widths[1:])],
            "pixels": pixels,
            "macs_per_block": sum(cin * cout * pixels for cin, cout in zip(widths, widths[1:])),
            "models": {str(n): f"{block}-n{n}" for n in lengths},
        })
        for blocks in lengths:
            name = f"{block}-n{blocks}"
            model = chain_model(block, blocks)
            onnx.checker.check_model(model)
            onnx.save(model, out / f"{name}.onnx")
            (out / f"{name}.json").write_text(json.dumps(metadata(name)) + "\n")
            builder = Builder(model)
            fn = tf.function(lambda x, b=builder: b(tf, x),
                             input_signature=[tf.TensorSpec([1, SIDE, SIDE, 3], tf.float32)], autograph=False)
            concrete = fn.get_concrete_function()
            conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
            (out / f"{name}.tflite").write_bytes(conv.convert())
            conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([x] for x in nhwc)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            (out / f"{name}-int8.tflite").write_bytes(conv.convert())
            sess = ort.InferenceSession(str(out / f"{name}.onnx"), providers=["CPUExecutionProvider"])
            top = [int(sess.run(None, {"input": nchw[0]})[0].argmax())]
            top += [int(tflite_logits(out / f"{name}{s}.tflite", nhwc[:1]).argmax()) for s in ("", "-int8")]
            print(f"make_pointwise_chains: {name}: top-1 onnxruntime {top[0]}, fp32 .tflite {top[1]}, "
                  f"int8 .tflite {top[2]}", flush=True)
    (out / "chains.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"make_pointwise_chains: wrote {2 * len(BLOCKS)} chains and chains.json to {out}")


if __name__ == "__main__":
    main()
