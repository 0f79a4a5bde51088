#!/usr/bin/env python3
"""Seed corpora for the cargo-fuzz targets in fuzz/ (written to fuzz/corpus/, not committed).

    python scripts/fuzz_seeds.py --meta models/efficientnet-lite0.json --out fuzz/corpus

- onnx_import: the ONNX backend node test models (small single-op graphs) under 4 KB,
- image_decode: each sample photo shrunk to 40x30 and saved as PNG, JPEG, GIF, BMP and WebP,
- metadata: the model's metadata with a few labels, plus variants with fields dropped.
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import onnx
from PIL import Image

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent
MAX_MODEL_BYTES = 4096


def onnx_seeds(out):
    node_dir = Path(onnx.__file__).parent / "backend/test/data/node"
    for case in sorted(node_dir.iterdir()):
        model = case / "model.onnx"
        if model.is_file() and model.stat().st_size <= MAX_MODEL_BYTES:
            shutil.copyfile(model, out / f"{case.name}.onnx")


def image_seeds(out):
    for photo in sorted((ROOT / "samples").glob("*.[pj][np]g")):
        with Image.open(photo) as im:
            small = im.convert("RGB").resize((40, 30))
        for fmt, ext in [("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("BMP", "bmp"),
                         ("WEBP", "webp")]:
            small.save(out / f"{photo.stem}.{ext}", fmt)


def metadata_seeds(meta_path, out):
    meta = json.loads(Path(meta_path).read_text())
    meta["labels"] = meta["labels"][:4]
    (out / "full.json").write_text(json.dumps(meta))
    for field in ["source", "license", "name"]:
        cut = {k: v for k, v in meta.items() if k != field}
        (out / f"no-{field}.json").write_text(json.dumps(cut))
    meta["preprocess"]["mean"] = [0.485 * 255, 0.456 * 255, 0.406 * 255]
    (out / "imagenet-mean.json").write_text(json.dumps(meta, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    for target in ["onnx_import", "image_decode", "metadata"]:
        os.makedirs(out / target, exist_ok=True)
    onnx_seeds(out / "onnx_import")
    image_seeds(out / "image_decode")
    metadata_seeds(args.meta, out / "metadata")


if __name__ == "__main__":
    main()
