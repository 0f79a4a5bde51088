#!/usr/bin/env python3
"""The table the course needs: Fashion-MNIST test accuracy of the float model, of PTQ and of
QAT at each width, written as bench/accuracy.md and bench/accuracy.json.

Runs the native CLI: `quantscope eval` (fp32 and PTQ, calibrated on 500 training images) and
`quantscope qat` per variant. Standard library only.
"""

import argparse
import json
import subprocess
import sys
import time

VARIANTS = ["w8a8", "w4a8", "w4a4", "w2a8", "w2a4"]


def run_json(cmd):
    """Runs a CLI command (progress on stderr passes through) and parses its JSON lines."""
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="target/release/quantscope")
    ap.add_argument("--model", default="models/fmnist-cnn.onnx")
    ap.add_argument("--data", default=".cache/fashion-mnist")
    ap.add_argument("--steps", type=int, default=1000, help="QAT steps per variant")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="bench/accuracy")
    args = ap.parse_args()
    variants = args.variants.split(",")

    common = ["--model", args.model, "--data", args.data]
    ptq = {
        r["variant"]: r
        for r in run_json([args.bin, "eval", *common, "--variants", "fp32," + ",".join(variants), "--json"])
    }
    qat = {}
    for v in variants:
        start = time.time()
        [r] = run_json([args.bin, "qat", *common, "--variant", v, "--steps", str(args.steps),
                        "--lr", str(args.lr), "--json"])
        r["wall_seconds"] = time.time() - start
        qat[v] = r

    fp32 = ptq["fp32"]["accuracy"]
    rows = []
    lines = [
        f"Fashion-MNIST test set (10,000 images), `{args.model}`. PTQ: static, MinMax ranges from "
        f"500 training images, per-channel weights (MSE clipping below 8 bits). QAT: {args.steps} "
        f"steps of 64 images from the float model, Adam lr {args.lr}, ranges frozen for the last "
        "quarter; the integer engine runs the result.",
        "",
        "| variant | float | PTQ | QAT | QAT - PTQ | QAT - float | QAT time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        p, q = ptq[v]["accuracy"], qat[v]["accuracy"]
        rows.append({"variant": v, "float": fp32, "ptq": p, "qat": q,
                     "qat_seconds": qat[v]["seconds"]})
        lines.append(
            f"| {v} | {100 * fp32:.2f}% | {100 * p:.2f}% | {100 * q:.2f}% | {100 * (q - p):+.2f} | "
            f"{100 * (q - fp32):+.2f} | {qat[v]['seconds']:.0f} s |"
        )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(args.out + ".json", "w") as f:
        json.dump({"rows": rows, "ptq": ptq, "qat": qat}, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
