#!/usr/bin/env python3
"""Single-threaded onnxruntime latency, as one JSON line.

    python scripts/ort_bench.py MODEL.onnx [--runs N] [--warmup W]

Prints {"engine":"onnxruntime","threads":1,"median_ms":M,"runs":N}.
The input is a fixed deterministic pattern (same every run), so numbers are
comparable with the Rust engine's benchmark on the same machine.
"""

import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def fixed_input(shape):
    """Deterministic values in roughly [-1, 1): a ramp folded by a small modulus."""
    n = int(np.prod(shape))
    return (((np.arange(n, dtype=np.int64) * 7919) % 256).astype(np.float32) - 127.0) / 128.0


def main():
    ap = argparse.ArgumentParser(description="single-thread onnxruntime latency")
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    feed = {inp.name: fixed_input(shape).reshape(shape)}

    for _ in range(args.warmup):
        sess.run(None, feed)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000.0)
    print(json.dumps({"engine": "onnxruntime", "threads": 1,
                      "median_ms": round(statistics.median(times), 3), "runs": args.runs},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
