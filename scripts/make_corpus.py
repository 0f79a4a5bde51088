#!/usr/bin/env python3
"""Build a corpus of ONNX image classifiers from real exporters, with onnxruntime references.

    .venv/bin/python scripts/make_corpus.py --out .cache/corpus [--tiny] [--only NAME ...] [--force]

The corpus is what `tests/corpus.rs` checks quantscope's importer against. Weights are random
but seeded (`weights=None` / untrained torchvision modules), so nothing is downloaded but
packages. Three sources:

- keras: Keras applications through `tf2onnx.convert.from_keras` (tensorflow-cpu 2.19.1,
  tf2onnx 1.17.0 in `.venv-corpus`, made by `make corpus`). Some keep Keras' NHWC input
  (a leading `Transpose`), some use `inputs_as_nchw`, one has a dynamic batch dimension.
- torch: torchvision through `torch.onnx.export` (Debian's CPU python3-torch 1.13 and
  python3-torchvision 0.14, `apt-get download` + `dpkg -x` into CACHE/debs/torch-root, run by
  the system python3; PyPI's torch is a CUDA build that does not import here). Some with
  `dynamic_axes` on the batch.
- helper: "paddle-style" graphs written with onnx.helper the way Paddle2ONNX and older
  exporters write them: the flatten before the classifier is a shape subgraph (`Shape`,
  `Gather`, `Unsqueeze`, `Concat`, `Cast`, `Div`, `ConstantOfShape`, `Reshape`) over a
  symbolic batch, weights reach their nodes through `Identity`, BatchNorm stands alone.

Every model NAME gets, in OUT:
  NAME.onnx              the model
  NAME.json              metadata in the format of models/efficientnet-lite0.json (`layout`!)
  NAME.photo.input.bin   samples/coffee.png preprocessed as the metadata says (f32 LE, the
                         metadata's input shape and layout)
  NAME.photo.logits.bin  onnxruntime's float32 logits for it
  NAME.noise.input.bin   seeded uniform noise in the same value range, and
  NAME.noise.logits.bin  onnxruntime's logits for it
  NAME.corpus.json       exporter, source, op counts, input shape/layout, size, build time
and REPORT.md summarises them. A model whose files all exist is skipped (--force rebuilds).
`--tiny` builds the reduced-width variants committed under tests/fixtures/corpus/.
"""

import argparse
import ast
import collections
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = 12
PHOTO = REPO / "samples" / "coffee.png"
TORCH_PACKAGES = ["python3-torch", "python3-torchvision"]

TORCH_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
TORCH_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
# Keras MobileNetV2 / DenseNet-style "tf" scaling to [-1, 1]; the V3 and EfficientNet
# applications rescale inside the graph and take 0..255.
TF_MEAN, TF_STD = [127.5] * 3, [127.5] * 3
RAW_MEAN, RAW_STD = [0.0] * 3, [1.0] * 3


def spec(name, exporter, build, layout, hw, classes, mean, std, **kw):
    """One corpus entry: `build` names the exporter's constructor, `kw` its options."""
    return dict(name=name, exporter=exporter, build=build, layout=layout, hw=list(hw),
                classes=classes, mean=mean, std=std, options=kw)


# The full corpus (real widths, 1000 classes, 224x224 unless stated).
FULL = [
    spec("keras-mobilenetv2-nhwc", "keras", "MobileNetV2", "NHWC", (224, 224), 1000,
         TF_MEAN, TF_STD),
    spec("keras-mobilenetv3small-nchw", "keras", "MobileNetV3Small", "NCHW", (224, 224), 1000,
         RAW_MEAN, RAW_STD, nchw=True),
    spec("keras-efficientnetb0-nhwc-dynbatch", "keras", "EfficientNetB0", "NHWC", (224, 224),
         1000, RAW_MEAN, RAW_STD, dynamic_batch=True),
    spec("keras-densenet121-nchw", "keras", "DenseNet121", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD, nchw=True),
    spec("torch-mobilenet_v3_small", "torch", "mobilenet_v3_small", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD, dynamic_batch=True),
    spec("torch-mnasnet0_5", "torch", "mnasnet0_5", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD),
    spec("torch-shufflenet_v2_x0_5", "torch", "shufflenet_v2_x0_5", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD, dynamic_batch=True),
    spec("torch-resnet18", "torch", "resnet18", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD),
    spec("torch-squeezenet1_1", "torch", "squeezenet1_1", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD),
    spec("torch-mobilenet_v3_small-48x192", "torch", "mobilenet_v3_small", "NCHW", (48, 192),
         1000, TORCH_MEAN, TORCH_STD),
    spec("helper-paddle-style-cnn", "helper", "paddle_style", "NCHW", (224, 224), 1000,
         TORCH_MEAN, TORCH_STD, width=16),
]

# Reduced widths and inputs for the committed fixtures (a few hundred KB each).
TINY = [
    spec("keras-mobile-blocks-nhwc", "keras", "mobile_blocks", "NHWC", (48, 48), 10,
         RAW_MEAN, RAW_STD),
    spec("keras-mobile-blocks-nchw-dynbatch", "keras", "mobile_blocks", "NCHW", (40, 56), 10,
         RAW_MEAN, RAW_STD, nchw=True, dynamic_batch=True),
    spec("torch-mobilenet_v3_small-w025", "torch", "mobilenet_v3_small", "NCHW", (64, 64), 10,
         TORCH_MEAN, TORCH_STD, width_mult=0.25, tiny=True, dynamic_batch=True),
    spec("torch-shufflenet_v2-tiny", "torch", "shufflenet_v2", "NCHW", (64, 64), 10,
         TORCH_MEAN, TORCH_STD, tiny=True),
    spec("helper-paddle-style-cnn-tiny", "helper", "paddle_style", "NCHW", (48, 48), 10,
         TORCH_MEAN, TORCH_STD, width=8),
]


def log(msg):
    print(f"[make_corpus] {msg}", flush=True)


def run(cmd, env=None):
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, env=env)


def input_shape(s, batch=1):
    h, w = s["hw"]
    return [batch, 3, h, w] if s["layout"] == "NCHW" else [batch, h, w, 3]


# --------------------------------------------------------------------------------------
# Exporters, each run in its own interpreter (`export` subcommand): Keras in .venv-corpus,
# torch in the system python3 with the unpacked Debian packages.
# --------------------------------------------------------------------------------------

def export_keras(s, out):
    import numpy as np
    import tensorflow as tf
    import tf2onnx

    tf.keras.utils.set_random_seed(SEED)
    o = s["options"]
    h, w = s["hw"]
    if s["build"] == "mobile_blocks":
        model = keras_mobile_blocks(tf.keras, (h, w, 3), s["classes"])
    else:
        model = getattr(tf.keras.applications, s["build"])(
            weights=None, input_shape=(h, w, 3), classes=s["classes"])
    # Random BatchNorm statistics, so that folding them is actually tested.
    rng = np.random.default_rng(SEED)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            mean, var = layer.moving_mean, layer.moving_variance
            mean.assign(rng.normal(0, 0.1, mean.shape).astype("float32"))
            var.assign(rng.uniform(0.5, 1.5, var.shape).astype("float32"))
    batch = None if o.get("dynamic_batch") else 1
    sig = (tf.TensorSpec((batch, h, w, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=sig, opset=13, output_path=str(out),
                               inputs_as_nchw=["input"] if o.get("nchw") else None)


def keras_mobile_blocks(keras, shape, classes):
    """A few-KB Keras model made of the layers Keras applications use (Rescaling and
    Normalization inside the graph, ZeroPadding, DepthwiseConv2D, BatchNormalization,
    ReLU6, hard-swish, a sigmoid squeeze-excite, Dropout, Dense with softmax)."""
    L = keras.layers
    inp = keras.Input(shape)
    x = L.Rescaling(1 / 255)(inp)
    x = L.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.052, 0.05, 0.051])(x)
    x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = L.Conv2D(8, 3, strides=2, use_bias=False)(x)
    x = L.Activation("hard_swish")(L.BatchNormalization()(x))
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    se = L.GlobalAveragePooling2D(keepdims=True)(x)
    se = L.Conv2D(4, 1, activation="relu")(se)
    se = L.Conv2D(8, 1, activation="sigmoid")(se)
    x = L.Multiply()([x, se])
    x = L.Conv2D(16, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.2)(x)
    return keras.Model(inp, L.Dense(classes, activation="softmax")(x))


def torch_model(s):
    import torch
    import torchvision.models as tvm
    from torchvision.models import mnasnet, mobilenetv3, shufflenetv2

    o, classes = s["options"], s["classes"]
    if s["build"] == "mobilenet_v3_small" and "width_mult" in o:
        setting, last = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small",
                                                        width_mult=o["width_mult"])
        return mobilenetv3.MobileNetV3(setting, last, num_classes=classes)
    if s["build"] == "shufflenet_v2":
        return shufflenetv2.ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=classes)
    if s["build"] == "mnasnet":
        return mnasnet.MNASNet(o["alpha"], num_classes=classes)
    return getattr(tvm, s["build"])(weights=None, num_classes=classes)


def export_torch(s, out):
    import torch

    torch.manual_seed(SEED)
    model = torch_model(s)
    # Random BatchNorm statistics (torchvision initialises mean 0, var 1: folding would be
    # an identity and go untested).
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(*input_shape(s))
    dyn = {"input": {0: "batch"}, "logits": {0: "batch"}} if s["options"].get(
        "dynamic_batch") else None
    torch.onnx.export(model, x, str(out), input_names=["input"], output_names=["logits"],
                      opset_version=14, dynamic_axes=dyn, do_constant_folding=True)


# --------------------------------------------------------------------------------------
# The third source: paddle-style graphs written with onnx.helper.
# --------------------------------------------------------------------------------------

def build_paddle_style(s, out):
    """A small CNN with the constructs Paddle2ONNX-style exports use: symbolic batch,
    `Identity` in front of weights, a standalone BatchNormalization (not after a Conv),
    HardSwish / HardSigmoid squeeze-excite, and a Flatten written as a shape subgraph."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(SEED)
    c = s["options"]["width"]
    h, w = s["hw"]
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def weight(name, shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = scale or (2.0 / fan_in) ** 0.5
        const(name + "_raw", rng.normal(0, scale, shape).astype(np.float32))
        nodes.append(helper.make_node("Identity", [name + "_raw"], [name]))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def bn(x, ch, name):
        return node("BatchNormalization", [
            x, const(name + "_s", rng.uniform(0.5, 1.5, ch).astype(np.float32)),
            const(name + "_b", rng.normal(0, 0.1, ch).astype(np.float32)),
            const(name + "_m", rng.normal(0, 0.1, ch).astype(np.float32)),
            const(name + "_v", rng.uniform(0.5, 1.5, ch).astype(np.float32))], name, epsilon=1e-5)

    def conv(x, cin, cout, k, stride, name, group=1):
        y = node("Conv", [x, weight(name + "_w", [cout, cin // group, k, k])], name + "_conv",
                 kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group)
        return bn(y, cout, name + "_bn")

    # Normalisation inside the graph is left to the metadata; a standalone BN on the input.
    x = bn("input", 3, "input_bn")
    x = node("HardSwish", [conv(x, 3, c, 3, 2, "stem")], "stem_act")
    x = node("Relu", [conv(x, c, c, 3, 1, "dw1", group=c)], "dw1_act")
    x = node("LeakyRelu", [conv(x, c, 2 * c, 1, 1, "pw1")], "pw1_act", alpha=0.1)
    # Squeeze-excite gated by HardSigmoid.
    se = node("GlobalAveragePool", [x], "se_pool")
    se = node("Relu", [node("Conv", [se, weight("se1_w", [c // 2, 2 * c, 1, 1])], "se1")],
              "se1_act")
    se = node("Conv", [se, weight("se2_w", [2 * c, c // 2, 1, 1]),
                       const("se2_b", np.zeros(2 * c, np.float32))], "se2")
    se = node("HardSigmoid", [se], "se_gate", alpha=1 / 6, beta=0.5)
    x = node("Mul", [x, se], "se_mul")
    x = node("Relu", [conv(x, 2 * c, 4 * c, 3, 2, "conv2")], "conv2_act")
    x = node("GlobalAveragePool", [x], "pool")
    # Flatten as Paddle writes it: reshape to [batch, -1] with batch read from Shape.
    shp = node("Shape", [x], "flat_shape")
    batch = node("Gather", [shp, const("flat_axis0", np.array(0, np.int64))], "flat_batch",
                 axis=0)
    batch = node("Unsqueeze", [batch, const("flat_unsq_axes", np.array([0], np.int64))],
                 "flat_batch1")
    # -1 computed as ConstantOfShape([1]) of -2, cast to float, halved and cast back.
    neg = node("ConstantOfShape", [const("flat_one", np.array([1], np.int64))], "flat_neg2",
               value=numpy_helper.from_array(np.array([-2], np.int64)))
    negf = node("Cast", [neg], "flat_neg2f", to=TensorProto.FLOAT)
    negf = node("Div", [negf, const("flat_two", np.array([2.0], np.float32))], "flat_neg1f")
    neg1 = node("Cast", [negf], "flat_neg1", to=TensorProto.INT64)
    target = node("Concat", [batch, neg1], "flat_target", axis=0)
    x = node("Reshape", [x, target], "flatten")
    fc_w = weight("fc_w", [4 * c, s["classes"]], scale=(1.0 / (4 * c)) ** 0.5)
    x = node("MatMul", [x, fc_w], "fc_mm")
    nodes.append(helper.make_node("Add", [x, const("fc_b", rng.normal(
        0, 0.1, s["classes"]).astype(np.float32))], ["logits"], name="fc_add"))
    graph = helper.make_graph(
        nodes, "paddle_style_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 3, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size",
                                                                      s["classes"]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)],
                              producer_name="quantscope-corpus (paddle-style)")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out))


# --------------------------------------------------------------------------------------
# Environments of the exporters
# --------------------------------------------------------------------------------------

def torch_root(cache):
    """Debian's CPU torch + torchvision unpacked (not installed) under CACHE/debs/torch-root."""
    root = cache / "debs" / "torch-root"
    stamp = root / ".unpacked"
    if stamp.exists():
        return root
    debs = cache / "debs" / "torch"
    debs.mkdir(parents=True, exist_ok=True)
    sim = subprocess.run(["apt-get", "install", "--simulate", "--no-install-recommends"]
                         + TORCH_PACKAGES, check=True, capture_output=True, text=True).stdout
    names = [line.split()[1] for line in sim.splitlines() if line.startswith("Inst ")]
    log(f"apt-get download {len(names)} packages into {debs}")
    subprocess.run(["apt-get", "download"] + names, cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    stamp.touch()
    return root


def torch_env(root):
    env = dict(os.environ)
    libs = [root / "lib/x86_64-linux-gnu", root / "usr/lib", root / "usr/lib/x86_64-linux-gnu",
            root / "usr/lib/x86_64-linux-gnu/blas", root / "usr/lib/x86_64-linux-gnu/lapack"]
    env["PYTHONPATH"] = str(root / "usr/lib/python3/dist-packages")
    env["LD_LIBRARY_PATH"] = ":".join(str(p) for p in libs)
    return env


def imagenet_labels(cache, classes):
    """torchvision's 1000 ImageNet class names (from the unpacked Debian package), or
    `class N` for the reduced heads."""
    if classes != 1000:
        return [f"class {i}" for i in range(classes)]
    meta = glob.glob(str(cache / "debs" / "**" / "torchvision" / "models" / "_meta.py"),
                     recursive=True)
    if not meta:
        return [f"class {i}" for i in range(classes)]
    tree = ast.parse(Path(meta[0]).read_text())
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "_IMAGENET_CATEGORIES"
                                             for t in n.targets):
            return list(ast.literal_eval(n.value))
    raise SystemExit(f"no _IMAGENET_CATEGORIES in {meta[0]}")


# --------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------

def reference_inputs(s):
    """(photo, noise) float32 tensors in the metadata's shape and layout."""
    import numpy as np
    sys.path.insert(0, str(REPO / "scripts"))
    import preprocess

    h, w = s["hw"]
    rgb = preprocess.load_rgb(PHOTO)
    # Resize so the image covers h x w (aspect kept), then take the centre.
    ih, iw = rgb.shape[:2]
    scale = max(h / ih, w / iw) * 256 / 224
    x = preprocess.resize_bilinear(rgb, int(ih * scale), int(iw * scale))
    top, left = int(round((x.shape[0] - h) / 2.0)), int(round((x.shape[1] - w) / 2.0))
    x = x[top:top + h, left:left + w]
    mean, std = np.array(s["mean"], np.float32), np.array(s["std"], np.float32)
    photo = ((x - mean) / std).astype(np.float32)[None]
    rng = np.random.default_rng(SEED)
    noise = (rng.uniform(0, 255, photo.shape).astype(np.float32) - mean) / std
    if s["layout"] == "NCHW":
        photo, noise = photo.transpose(0, 3, 1, 2), noise.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(photo), np.ascontiguousarray(noise.astype(np.float32))


def write_references(s, out_dir, onnx_path):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    [inp] = sess.get_inputs()
    photo, noise = reference_inputs(s)
    for tag, x in (("photo", photo), ("noise", noise)):
        logits = sess.run(None, {inp.name: x})[0].astype("<f4")
        (out_dir / f"{s['name']}.{tag}.input.bin").write_bytes(x.astype("<f4").tobytes())
        (out_dir / f"{s['name']}.{tag}.logits.bin").write_bytes(logits.tobytes())
    return inp.name, inp.shape


def describe(onnx_path):
    import onnx
    m = onnx.load(str(onnx_path))
    ops = collections.Counter(n.op_type for n in m.graph.node)
    return dict(sorted(ops.items())), m.producer_name + " " + m.producer_version


def metadata(s, cache, input_name, source):
    h, w = s["hw"]
    return {
        "name": s["name"],
        "input": {"name": input_name, "shape": input_shape(s), "layout": s["layout"]},
        # The input shape gives the crop's height and width (non-square ones too).
        "preprocess": {"resize_shorter": round(min(h, w) * 256 / 224),
                       "mean": s["mean"], "std": s["std"]},
        "labels": imagenet_labels(cache, s["classes"]),
        "source": source,
        "license": "random weights (seed %d), no licence needed" % SEED,
    }


FILES = ["onnx", "json", "corpus.json", "photo.input.bin", "photo.logits.bin",
         "noise.input.bin", "noise.logits.bin"]


def build(s, out_dir, cache, force):
    name = s["name"]
    done = all((out_dir / f"{name}.{ext}").exists() for ext in FILES)
    if done and not force:
        log(f"{name}: present")
        return json.loads((out_dir / f"{name}.corpus.json").read_text())
    t0 = time.perf_counter()
    onnx_path = out_dir / f"{name}.onnx"
    spec_json = json.dumps(s)
    if s["exporter"] == "keras":
        python = REPO / ".venv-corpus" / "bin" / "python"
        run([python, __file__, "export", spec_json, onnx_path],
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES=""))
        source = "Keras applications %s (weights=None) via tf2onnx.convert.from_keras" % s[
            "build"]
    elif s["exporter"] == "torch":
        run(["/usr/bin/python3", __file__, "export", spec_json, onnx_path],
            env=torch_env(torch_root(cache)))
        source = "torchvision %s (untrained) via torch.onnx.export (Debian torch 1.13)" % s[
            "build"]
    else:
        build_paddle_style(s, onnx_path)
        source = "paddle-style CNN written with onnx.helper (scripts/make_corpus.py)"
    input_name, ort_shape = write_references(s, out_dir, onnx_path)
    meta = metadata(s, cache, input_name, source)
    (out_dir / f"{name}.json").write_text(json.dumps(meta))
    ops, producer = describe(onnx_path)
    info = {
        "name": name, "exporter": s["exporter"], "producer": producer.strip(),
        "ops": ops, "input_shape_in_file": [d if isinstance(d, int) else str(d)
                                            for d in ort_shape],
        "input_shape": meta["input"]["shape"], "layout": s["layout"],
        "bytes": onnx_path.stat().st_size,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / f"{name}.corpus.json").write_text(json.dumps(info, indent=1))
    log(f"{name}: built in {info['build_seconds']} s, {info['bytes']} bytes")
    return info


def report(infos, out_dir):
    lines = ["| model | exporter | size | input (file -> used) | layout | build s | ops |",
             "|---|---|---|---|---|---|---|"]
    for i in infos:
        ops = ", ".join(f"{k} {v}" for k, v in i["ops"].items())
        lines.append(f"| {i['name']} | {i['exporter']} | {i['bytes'] / 1e6:.2f} MB | "
                     f"{i['input_shape_in_file']} -> {i['input_shape']} | {i['layout']} | "
                     f"{i['build_seconds']} | {ops} |")
    text = "\n".join(lines) + "\n"
    (out_dir / "REPORT.md").write_text(text)
    print(text)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "export":
        s = json.loads(sys.argv[2])
        (export_keras if s["exporter"] == "keras" else export_torch)(s, Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / ".cache" / "corpus")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache")
    ap.add_argument("--tiny", action="store_true", help="the reduced fixtures instead")
    ap.add_argument("--only", nargs="*", help="build only these names")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    specs = [s for s in (TINY if args.tiny else FULL) if not args.only or s["name"] in args.only]
    infos, failed = [], []
    for s in specs:
        try:
            infos.append(build(s, args.out, args.cache, args.force))
        except subprocess.CalledProcessError as e:
            failed.append(f"{s['name']}: {e}")
            log(f"{s['name']}: FAILED ({e})")
    report(infos, args.out)
    if failed:
        raise SystemExit("failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
