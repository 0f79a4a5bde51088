#!/usr/bin/env python3
"""The table the course needs: Fashion-MNIST test accuracy of the float model, of PTQ and of
QAT at each width, written as bench/accuracy.md and bench/accuracy.json, and the page's copy
(www/src/accuracy-table.json, committed: the QAT panel shows it).

Runs the native CLI: `quantscope eval` (fp32 and PTQ, calibrated on --calib-count training
images) and `quantscope qat` per variant. `--from-json bench/accuracy.json` skips the runs and
writes the three files again from the results of an earlier run. Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
import time

VARIANTS = ["w8a8", "w4a8", "w4a4", "w2a8", "w2a4"]


def run_json(cmd):
    """Runs a CLI command (progress on stderr passes through) and parses its JSON lines."""
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def recipe_of(args):
    """How the numbers are made: the arguments the runs get (and the CLI's fixed choices)."""
    return {
        "model": args.model,
        "ptq": {
            "calibration_images": args.calib_count,
            "ranges": "static MinMax",
            "weights": "per-channel",
            "clipping": "MSE below 8 bits",
        },
        "qat": {
            "steps": args.steps,
            "batch": args.batch,
            "optimizer": "Adam",
            "lr": args.lr,
            "freeze_at": args.freeze_at,
            "start": "the float model",
        },
    }


def measure(args, variants):
    """The runs: `{date, machine, recipe, ptq: {variant: eval report}, qat: {variant: qat
    report}}`."""
    date = time.strftime("%Y-%m-%d", time.gmtime())
    common = ["--model", args.model, "--data", args.data]
    ptq = {
        r["variant"]: r
        for r in run_json([args.bin, "eval", *common, "--variants", "fp32," + ",".join(variants),
                           "--calib-count", str(args.calib_count), "--json"])
    }
    qat = {}
    for v in variants:
        start = time.time()
        [r] = run_json([args.bin, "qat", *common, "--variant", v, "--steps", str(args.steps),
                        "--batch", str(args.batch), "--lr", str(args.lr),
                        "--freeze-at", str(args.freeze_at), "--json"])
        r["wall_seconds"] = time.time() - start
        qat[v] = r
    return {"date": date, "machine": {"cpus": os.cpu_count()}, "recipe": recipe_of(args),
            "ptq": ptq, "qat": qat}


def table(results, variants):
    """The rows (one per variant, accuracies 0..1) and the markdown of `results`."""
    ptq, qat, recipe = results["ptq"], results["qat"], results["recipe"]
    p, q = recipe["ptq"], recipe["qat"]
    fp32 = ptq["fp32"]["accuracy"]
    images = ptq["fp32"].get("images", 10000)
    rows = []
    lines = [
        f"Fashion-MNIST test set ({images:,} images), `{recipe['model']}`, measured "
        f"{results['date']}. PTQ: static, MinMax ranges from {p['calibration_images']} training "
        f"images, per-channel weights (MSE clipping below 8 bits). QAT: {q['steps']} steps of "
        f"{q['batch']} images from the float model, Adam lr {q['lr']:g}, ranges frozen for the "
        f"last {1 - q['freeze_at']:.0%} of the steps; the integer engine runs the result."
        + (f" QAT time: the native CLI with threads on {results['machine']['cpus']} CPUs."
           if results.get("machine") else ""),
        "",
        "| variant | float | PTQ | QAT | QAT - PTQ | QAT - float | QAT time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        a, b = ptq[v]["accuracy"], qat[v]["accuracy"]
        rows.append({"variant": v, "float": fp32, "ptq": a, "qat": b,
                     "qat_seconds": qat[v]["seconds"]})
        lines.append(
            f"| {v} | {100 * fp32:.2f}% | {100 * a:.2f}% | {100 * b:.2f}% | {100 * (b - a):+.2f} | "
            f"{100 * (b - fp32):+.2f} | {qat[v]['seconds']:.0f} s |"
        )
    return rows, images, lines


def write(results, variants, out, page_out):
    """bench/accuracy.{md,json} (everything) and the page's copy (the table and the recipe)."""
    rows, images, lines = table(results, variants)
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(out + ".json", "w") as f:
        json.dump({"rows": rows, **results}, f, indent=1)
    if page_out:
        page = {
            "source": "make accuracy (scripts/accuracy_table.py), natively on the full test set",
            "date": results["date"],
            "machine": results.get("machine"),
            "test_images": images,
            "recipe": results["recipe"],
            "rows": rows,
        }
        with open(page_out, "w") as f:
            json.dump(page, f, indent=1)
            f.write("\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="target/release/quantscope")
    ap.add_argument("--model", default="models/fmnist-cnn.onnx")
    ap.add_argument("--data", default=".cache/fashion-mnist")
    ap.add_argument("--steps", type=int, default=1000, help="QAT steps per variant")
    ap.add_argument("--batch", type=int, default=64, help="QAT images per step")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--freeze-at", type=float, default=0.75,
                    help="share of the QAT steps after which the activation ranges stop moving")
    ap.add_argument("--calib-count", type=int, default=500, help="PTQ calibration images")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="bench/accuracy")
    ap.add_argument("--page-out", default="www/src/accuracy-table.json",
                    help="the page's copy (empty: none)")
    ap.add_argument("--from-json", metavar="FILE",
                    help="no runs: the results of an earlier run (its --out .json)")
    args = ap.parse_args()
    variants = args.variants.split(",")
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
        results.pop("rows", None)
        results.setdefault("recipe", recipe_of(args))
        results.setdefault("date", "unknown")
    else:
        results = measure(args, variants)
    write(results, variants, args.out, args.page_out)


if __name__ == "__main__":
    main()
