#!/usr/bin/env python3
"""onnxruntime static int8 quantization of EfficientNet-Lite0: the oracle for quantscope's int8.

    python scripts/ort_quantize.py quantize [--model M.onnx] [--out OUT.onnx] [--per-tensor]
                                            [--no-pre-process] CALIB...
    python scripts/ort_quantize.py compare [--model M.onnx] [--int8 Q.onnx] [--logits-out DIR]
                                           [--int8-exec simulated|kernels] [--threads N] IMAGE...

`quantize` runs onnxruntime.quantization.quantize_static with the settings quantscope uses:
QDQ format, MinMax calibration, int8 activations (asymmetric, one scale/zero point per tensor),
int8 weights (symmetric, per output channel; `--per-tensor` for one scale per tensor), int32
biases. The calibration images (files, or folders of .png/.jpg/.jpeg/.webp/.bmp) are
preprocessed by scripts/preprocess.py (shorter side 256, centre crop 224, (x - 127) / 128:
quantscope's steps, but a plain bilinear resize, so not bit-identical to quantscope's tensor). Before quantizing, the float model goes through
`quant_pre_process` (onnx shape inference and onnxruntime's graph optimizations, which fold
BatchNormalization into the convolutions) unless `--no-pre-process`.
Default output: models/efficientnet-lite0-int8-qdq.onnx (per channel) or
models/efficientnet-lite0-int8-qdq-per-tensor.onnx (with --per-tensor).

`compare` runs the float and the int8 model with onnxruntime (CPU) on each image and prints
one JSON line per image:
    {"image", "float_top1", "int8_top1", "float_margin", "sqnr_db", "kl", "top5_overlap"}
where float_margin = p1 - p2 of the float softmax, sqnr_db = 10 log10(sum f^2 / sum (f - q)^2)
of the int8 logits q against the float logits f, kl = KL(softmax f || softmax q) in nats, and
top5_overlap = |top5(f) & top5(q)| (0..5); then a summary line
    {"summary": true, "images", "mean_sqnr_db", "mean_kl", "mean_top5_overlap", "top1_agreement"}.
`--int8-exec` chooses how onnxruntime runs the int8 model:
* `simulated` (default): graph optimizations off, so QuantizeLinear / DequantizeLinear and the
  float Conv/Gemm/Add run as written: the exact quantization arithmetic (int8 values, scales,
  zero points, int32 biases), the same on every CPU. This is the oracle for quantscope.
* `kernels`: onnxruntime's default optimizations, which fuse the QDQ groups into its integer
  kernels (QLinearConv, ...). On x86 CPUs without AVX-VNNI those use VPMADDUBSW, whose int16
  pair sums saturate with 8-bit weights (onnxruntime documents this; `quantize --reduce-range`,
  7-bit weights, avoids it), so the numbers depend on the CPU.
`--logits-out DIR` also writes the raw logits as little-endian float32 (1000 values) to
DIR/<image stem>.float.bin and DIR/<image stem>.int8.bin, and the input tensor both models got
(1x3x224x224 float32 NCHW) to DIR/<image stem>.input.bin, so that a Rust test can run
quantscope on exactly that tensor and compute the same metrics on its logits (`metrics()`
below is the reference). Feed it the tensor, not the image: quantscope's own image
preprocessing (src/image/preprocess.rs: antialiased Triangle filter, rounded sizes, u8
intermediate) is not bit-identical to scripts/preprocess.py.
"""

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preprocess import preprocess_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FLOAT_MODEL = REPO / "models" / "efficientnet-lite0.onnx"
INT8_MODEL = REPO / "models" / "efficientnet-lite0-int8-qdq.onnx"
INT8_MODEL_PER_TENSOR = REPO / "models" / "efficientnet-lite0-int8-qdq-per-tensor.onnx"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def image_paths(args):
    """Files as given; folders expanded to their image files (sorted). Fails on nothing found."""
    out = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if not found:
                sys.exit(f"{p}: no images (.png .jpg .jpeg .webp .bmp) in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            sys.exit(f"{p}: no such file or folder")
    if not out:
        sys.exit("no images given")
    return out


def session(model, threads, optimize=True):
    opts = ort.SessionOptions()
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


# ---- quantize ------------------------------------------------------------------------------

class ImageReader:
    """CalibrationDataReader over preprocessed images (preprocessed lazily, with progress)."""

    def __init__(self, input_name, paths):
        self.input_name = input_name
        self.paths = paths
        self.i = 0

    def get_next(self):
        if self.i >= len(self.paths):
            return None
        path = self.paths[self.i]
        self.i += 1
        log(f"calibration image {self.i}/{len(self.paths)}: {path}")
        return {self.input_name: preprocess_file(path)}

    def rewind(self):
        self.i = 0


def cmd_quantize(args):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    paths = image_paths(args.calib)
    out = args.out or (INT8_MODEL_PER_TENSOR if args.per_tensor else INT8_MODEL)
    out.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    input_name = session(args.model, 1).get_inputs()[0].name
    with tempfile.TemporaryDirectory(prefix="ort_quantize_") as tmp:
        source = args.model
        if not args.no_pre_process:
            source = Path(tmp) / "pre.onnx"
            log(f"pre-processing {args.model} (shape inference, graph optimization)")
            # The shapes are static: onnx shape inference suffices (symbolic inference needs sympy).
            quant_pre_process(str(args.model), str(source), skip_symbolic_shape=True)
        log(f"quantizing: QDQ, MinMax, activations QInt8 per tensor (asymmetric), weights QInt8 "
            f"{'per tensor' if args.per_tensor else 'per channel'} (symmetric"
            f"{', 7-bit' if args.reduce_range else ''}), "
            f"{len(paths)} calibration images")
        quantize_static(
            str(source),
            str(out),
            ImageReader(input_name, paths),
            quant_format=QuantFormat.QDQ,
            per_channel=not args.per_tensor,
            reduce_range=args.reduce_range,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    seconds = time.perf_counter() - t_start
    print(json.dumps({"quantized": str(out), "per_channel": not args.per_tensor,
                      "reduce_range": args.reduce_range,
                      "calibration_images": len(paths), "pre_process": not args.no_pre_process,
                      "bytes": out.stat().st_size, "seconds": round(seconds, 2)}), flush=True)


# ---- compare -------------------------------------------------------------------------------

def log_softmax(z):
    z = z.astype(np.float64)
    m = z.max()
    return z - m - math.log(np.exp(z - m).sum())


def metrics(f, q):
    """Metrics of int8 logits q against float logits f (1-D arrays). The reference for tests."""
    f = f.astype(np.float64)
    q = q.astype(np.float64)
    lp, lq = log_softmax(f), log_softmax(q)
    p = np.exp(lp)
    p_sorted = np.sort(p)[::-1]
    noise = float(((f - q) ** 2).sum())
    signal = float((f ** 2).sum())
    sqnr = math.inf if noise == 0.0 else 10.0 * math.log10(signal / noise)
    top5_f = set(np.argsort(-f, kind="stable")[:5].tolist())
    top5_q = set(np.argsort(-q, kind="stable")[:5].tolist())
    return {
        "float_top1": int(np.argmax(f)),
        "int8_top1": int(np.argmax(q)),
        "float_margin": float(p_sorted[0] - p_sorted[1]),
        "sqnr_db": sqnr,
        "kl": float((p * (lp - lq)).sum()),
        "top5_overlap": len(top5_f & top5_q),
    }


def cmd_compare(args):
    paths = image_paths(args.images)
    if not args.int8.is_file():
        sys.exit(f"{args.int8}: not found (run `{Path(__file__).name} quantize` first)")
    fs = session(args.model, args.threads)
    qs = session(args.int8, args.threads, optimize=args.int8_exec == "kernels")
    fin, qin = fs.get_inputs()[0].name, qs.get_inputs()[0].name
    if args.logits_out:
        args.logits_out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        x = preprocess_file(path)
        f = fs.run(None, {fin: x})[0].reshape(-1)
        q = qs.run(None, {qin: x})[0].reshape(-1)
        if args.logits_out:
            np.ascontiguousarray(x, dtype="<f4").tofile(args.logits_out / f"{path.stem}.input.bin")
            np.ascontiguousarray(f, dtype="<f4").tofile(args.logits_out / f"{path.stem}.float.bin")
            np.ascontiguousarray(q, dtype="<f4").tofile(args.logits_out / f"{path.stem}.int8.bin")
        m = metrics(f, q)
        rows.append(m)
        print(json.dumps({"image": str(path), **{k: round(v, 6) if isinstance(v, float) else v
                                                   for k, v in m.items()}}), flush=True)
    n = len(rows)
    print(json.dumps({
        "summary": True,
        "images": n,
        "float_model": str(args.model),
        "int8_model": str(args.int8),
        "int8_exec": args.int8_exec,
        "mean_sqnr_db": round(sum(r["sqnr_db"] for r in rows) / n, 4),
        "mean_kl": round(sum(r["kl"] for r in rows) / n, 6),
        "mean_top5_overlap": round(sum(r["top5_overlap"] for r in rows) / n, 4),
        "top1_agreement": round(sum(r["float_top1"] == r["int8_top1"] for r in rows) / n, 4),
    }), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    q = sub.add_parser("quantize", help="static int8 QDQ quantization with onnxruntime")
    q.add_argument("--model", type=Path, default=FLOAT_MODEL, help="float model (%(default)s)")
    q.add_argument("--out", type=Path, default=None,
                   help=f"output model (default {INT8_MODEL.relative_to(REPO)}, or "
                        f"{INT8_MODEL_PER_TENSOR.relative_to(REPO)} with --per-tensor)")
    q.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor")
    q.add_argument("--reduce-range", action="store_true",
                   help="7-bit weights (avoids int16 saturation in onnxruntime's x86 kernels)")
    q.add_argument("--no-pre-process", action="store_true", help="skip quant_pre_process")
    q.add_argument("calib", nargs="+", help="calibration images: files or folders")
    q.set_defaults(fn=cmd_quantize)

    c = sub.add_parser("compare", help="float vs int8 logits metrics, one JSON line per image")
    c.add_argument("--model", type=Path, default=FLOAT_MODEL, help="float model (%(default)s)")
    c.add_argument("--int8", type=Path, default=INT8_MODEL, help="int8 model (%(default)s)")
    c.add_argument("--logits-out", type=Path, default=None,
                   help="write DIR/<stem>.float.bin, .int8.bin (f32 LE logits) and .input.bin (the input)")
    c.add_argument("--int8-exec", choices=["simulated", "kernels"], default="simulated",
                   help="simulated: exact QDQ arithmetic, graph optimizations off (default); "
                        "kernels: onnxruntime's fused integer kernels (CPU-dependent)")
    c.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (1)")
    c.add_argument("images", nargs="+", help="images: files or folders")
    c.set_defaults(fn=cmd_compare)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
