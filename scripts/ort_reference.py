#!/usr/bin/env python3
"""Reference logits from onnxruntime, for the Rust tests.

    python scripts/ort_reference.py MODEL.onnx IN.bin OUT.bin

IN.bin:  raw little-endian float32, shape 1x3x224x224 (NCHW), 602112 bytes.
OUT.bin: receives the raw little-endian float32 logits, 1000 values.
Runs on the CPU provider with a single intra-op thread.
"""

import sys

import numpy as np
import onnxruntime as ort

INPUT_SHAPE = (1, 3, 224, 224)


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__.strip())
    model, in_path, out_path = argv[1:]
    x = np.fromfile(in_path, dtype="<f4")
    if x.size != np.prod(INPUT_SHAPE):
        sys.exit(f"{in_path}: expected {np.prod(INPUT_SHAPE)} float32 values, got {x.size}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    (logits,) = sess.run(None, {name: x.reshape(INPUT_SHAPE).astype(np.float32)})
    np.ascontiguousarray(logits, dtype="<f4").tofile(out_path)


if __name__ == "__main__":
    main(sys.argv)
