#!/usr/bin/env python3
"""Runs an ONNX model on one raw float32 tensor with onnxruntime, for the Rust tests.

    python scripts/ort_run_tensor.py MODEL.onnx IN.bin N,C,H,W OUT.bin

IN.bin:  raw little-endian float32 input of the given shape (the model's first input).
OUT.bin: receives the model's first output as raw little-endian float32.
Runs on the CPU provider with a single intra-op thread.
"""

import sys

import numpy as np
import onnxruntime as ort


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__.strip())
    model, in_path, shape_text, out_path = argv[1:]
    shape = tuple(int(d) for d in shape_text.split(","))
    x = np.fromfile(in_path, dtype="<f4")
    if x.size != np.prod(shape):
        sys.exit(f"{in_path}: expected {np.prod(shape)} float32 values for {shape}, got {x.size}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    (y,) = sess.run(None, {name: x.reshape(shape).astype(np.float32)})
    np.ascontiguousarray(y, dtype="<f4").tofile(out_path)


if __name__ == "__main__":
    main(sys.argv)
