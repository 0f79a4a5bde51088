#!/usr/bin/env python3
"""Preprocess one image to the model's input tensor, as raw little-endian float32.

    python scripts/preprocess_tensor.py IMAGE OUT.bin

OUT.bin receives 1x3x224x224 float32 NCHW (602112 bytes), preprocessed by scripts/preprocess.py
(shorter side 256, centre crop 224, (x - 127) / 128): the input the browser benchmark feeds
to onnxruntime-web. It is close to, not identical with, what quantscope computes from the
image (see scripts/preprocess.py).
"""

import sys
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preprocess import preprocess_file  # noqa: E402


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip())
    out = Path(argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(preprocess_file(argv[1]), dtype="<f4").tofile(out)


if __name__ == "__main__":
    main(sys.argv)
