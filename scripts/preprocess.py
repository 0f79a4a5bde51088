"""ImageNet preprocessing for EfficientNet-Lite0, in numpy: close to quantscope's, not identical.

The steps follow the `preprocess` block of models/efficientnet-lite0.json:

1. decode to RGB uint8 (Pillow is used only for decoding PNG/JPEG),
2. resize so the shorter side is 256 (bilinear, see `resize_bilinear`),
3. centre-crop 224x224,
4. (x - 127) / 128 per channel,
5. HWC -> NCHW float32 with a batch dimension of 1.

The resize is a plain bilinear interpolation with half-pixel centres
(`align_corners=False`, the convention of ONNX Resize / OpenCV / PyTorch) and
no anti-aliasing, so that it is easy to reproduce exactly in other languages.

It is NOT the tensor the quantscope CLI computes: quantscope (src/image/preprocess.rs)
resizes with image-rs's Triangle filter, antialiased when shrinking, rounds the resized size
and keeps a u8 intermediate, and cuts images longer than 8:1 to their centre first. Pixels
differ most where a large photo is shrunk (antialiasing), and logits differ with them. Where a test
needs both sides to see the same numbers, it writes this tensor to a file and feeds it to both
(see scripts/ort_quantize.py `--logits-out`); never compare against quantscope's image path.
"""

import numpy as np

RESIZE_SHORTER = 256
CROP = 224
MEAN = (127.0, 127.0, 127.0)
STD = (128.0, 128.0, 128.0)


def load_rgb(path):
    """Decode an image file to an HxWx3 uint8 RGB array (grey images are replicated)."""
    from PIL import Image  # imported lazily: only needed when decoding files

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def resized_size(h, w, shorter=RESIZE_SHORTER):
    """Output (h, w) with the shorter side == `shorter`; the longer side is truncated
    like torchvision's Resize(int) does: int(shorter * long / short)."""
    if h <= w:
        return shorter, int(shorter * w / h)
    return int(shorter * h / w), shorter


def _axis_weights(n_in, n_out):
    """Source indices (i0, i1) and weight of i1 for each output position on one axis."""
    scale = n_in / n_out
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def resize_bilinear(img, out_h, out_w):
    """Bilinear resize of an HxWxC array (half-pixel centres, edge clamp, no antialias)."""
    x = img.astype(np.float32)
    y0, y1, wy = _axis_weights(x.shape[0], out_h)
    x0, x1, wx = _axis_weights(x.shape[1], out_w)
    rows = x[y0] * (1.0 - wy)[:, None, None] + x[y1] * wy[:, None, None]
    return rows[:, x0] * (1.0 - wx)[None, :, None] + rows[:, x1] * wx[None, :, None]


def center_crop(img, size=CROP):
    """Centre crop of an HxWxC array; offsets rounded like torchvision's CenterCrop."""
    h, w = img.shape[:2]
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img[top:top + size, left:left + size]


def preprocess_rgb(rgb):
    """HxWx3 uint8 RGB -> 1x3x224x224 float32 NCHW, normalised."""
    h, w = resized_size(*rgb.shape[:2])
    x = center_crop(resize_bilinear(rgb, h, w))
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def preprocess_file(path):
    """Image file -> 1x3x224x224 float32 NCHW tensor ready for the model."""
    return preprocess_rgb(load_rgb(path))
