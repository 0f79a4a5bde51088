#!/usr/bin/env python3
"""Checks a QDQ model written by `quantscope export` and runs it with onnxruntime (CPU).

    python scripts/check_qdq.py --model Q.onnx [--out-dir DIR] [--optimize] INPUT.bin...

First `onnx.checker.check_model(full_check=True)` (which also runs strict shape inference) on
the file; then one onnxruntime CPU session runs every INPUT.bin, a raw little-endian float32
tensor of the model's input shape (as scripts/ort_quantize.py writes them), and writes its
outputs as raw little-endian float32 to DIR/<input stem>.logits.bin (default DIR: beside each
input). Prints one JSON line per input {"input", "logits", "top1"} and a summary line
{"summary": true, "checked": true, "opset", "ir_version", "nodes", "initializers",
"int4_initializers"}.

By default graph optimizations are off, so QuantizeLinear / DequantizeLinear and the float
ops between them run as written: the exact quantization arithmetic (codes, scales, zero
points, int32 biases), the same on every CPU (see scripts/ort_quantize.py, `--int8-exec
simulated`). `--optimize` turns onnxruntime's default optimizations on (QDQ groups fused into
its integer kernels where it has them; the numbers then depend on the CPU).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.dont_write_bytecode = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out-dir")
    ap.add_argument("--optimize", action="store_true")
    ap.add_argument("inputs", nargs="*")
    args = ap.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    int4 = sum(1 for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT4)

    opts = ort.SessionOptions()
    opts.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if args.optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [int(d) for d in inp.shape]
    for path in map(Path, args.inputs):
        x = np.fromfile(path, dtype="<f4")
        if x.size != int(np.prod(shape)):
            sys.exit(f"{path}: {x.size} floats, the model's input {inp.name} takes {shape}")
        (y,) = sess.run(None, {inp.name: x.reshape(shape)})
        y = np.asarray(y, dtype="<f4").reshape(-1)
        out_dir = Path(args.out_dir) if args.out_dir else path.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"{path.stem.removesuffix('.input')}.logits.bin"
        y.tofile(out)
        print(json.dumps({"input": str(path), "logits": str(out), "top1": int(np.argmax(y))}))
    print(
        json.dumps(
            {
                "summary": True,
                "checked": True,
                "opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                "ir_version": model.ir_version,
                "nodes": len(model.graph.node),
                "initializers": len(model.graph.initializer),
                "int4_initializers": int4,
            }
        )
    )


if __name__ == "__main__":
    main()
