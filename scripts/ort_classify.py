#!/usr/bin/env python3
"""Top-5 classes of image files with onnxruntime (a developer convenience).

    python scripts/ort_classify.py [--model models/efficientnet-lite0.onnx] IMAGE...

Uses scripts/preprocess.py (the same preprocessing as the make_models self-check)
and the labels from the model's .json next to it.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preprocess import preprocess_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description="top-5 with onnxruntime")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "efficientnet-lite0.onnx")
    ap.add_argument("images", nargs="+", type=Path)
    args = ap.parse_args()
    labels = json.loads(args.model.with_suffix(".json").read_text())["labels"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(args.model), opts, providers=["CPUExecutionProvider"])
    for path in args.images:
        (logits,) = sess.run(["logits"], {"input": preprocess_file(path)})
        z = logits[0]
        p = np.exp(z - z.max())
        p /= p.sum()
        top = np.argsort(-z)[:5]
        print(f"{path.name}: " + ", ".join(f"{i} {labels[i]} ({p[i]:.3f})" for i in top))


if __name__ == "__main__":
    main()
