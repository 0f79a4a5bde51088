#!/usr/bin/env python3
"""The first N images and labels of a Fashion-MNIST split as gzipped IDX files (the page's
training subset: the calibration and QAT images it fetches as static files).

    python3 scripts/fmnist_subset.py --images train-images-idx3-ubyte.gz \
        --labels train-labels-idx1-ubyte.gz --count 10000 --out-prefix www/public/data/train10k

writes OUT_PREFIX-images-idx3-ubyte.gz and OUT_PREFIX-labels-idx1-ubyte.gz. IDX: a big-endian
header (magic 0x00000803 / 0x00000801, then the dimensions as u32), then one byte per pixel or
label. The gzip carries no name or time, so the output is the same bytes on every run.
Standard library only.
"""
import argparse
import gzip
import struct
import sys


def read_idx(path, magic, dims):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    header = 4 + 4 * dims
    if len(data) < header:
        sys.exit(f"{path}: truncated IDX header")
    (got,) = struct.unpack(">I", data[:4])
    if got != magic:
        sys.exit(f"{path}: IDX magic {got:#010x}, expected {magic:#010x}")
    shape = struct.unpack(f">{dims}I", data[4:header])
    return shape, data[header:]


def write_idx(path, magic, shape, body):
    raw = struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape) + body
    with open(path, "wb") as f:
        # filename='' and mtime=0: reproducible bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--out-prefix", required=True)
    a = p.parse_args()
    (n, rows, cols), pixels = read_idx(a.images, 0x803, 3)
    (m,), labels = read_idx(a.labels, 0x801, 1)
    if n != m:
        sys.exit(f"{n} images but {m} labels")
    k = min(a.count, n)
    if len(pixels) < k * rows * cols or len(labels) < k:
        sys.exit("the files are shorter than their headers say")
    write_idx(f"{a.out_prefix}-images-idx3-ubyte.gz", 0x803, (k, rows, cols), pixels[: k * rows * cols])
    write_idx(f"{a.out_prefix}-labels-idx1-ubyte.gz", 0x801, (k,), labels[:k])
    print(f"{a.out_prefix}-*: {k} of {n} images, {rows}x{cols}")


if __name__ == "__main__":
    main()
