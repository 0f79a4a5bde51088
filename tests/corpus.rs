//! The corpus check: every ONNX classifier in `QUANTSCOPE_CORPUS` (built by
//! `scripts/make_corpus.py`: Keras through tf2onnx, torchvision through torch.onnx, paddle-style
//! graphs; `make corpus` for the full one, tests/fixtures/corpus for the tiny one) imports with
//! the metadata's input shape and gives onnxruntime's float logits on a photo and on noise
//! (max |ours - onnxruntime| / max |onnxruntime| <= 1e-4), and classifies a photo through
//! `Classifier` with its metadata and with none (every field at its default). Static int8 is
//! tried on each model that imports: its top-1 agreement with float, the nodes it leaves in
//! float and its ONNX QDQ export run by onnxruntime are reported, not asserted.
//!
//! Without `QUANTSCOPE_CORPUS` the test says so and passes (the corpus is built on demand);
//! with it set, an empty directory, a model that does not import or does not match fails,
//! after every model has been tried and reported.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use quantscope::classifier::Classifier;
use quantscope::exec::{calibrate, FloatExecutor, Int8Executor};
use quantscope::ir::{Layout, Tensor};
use quantscope::model::ModelMetadata;
use quantscope::onnx::{load_model, ImportOptions};
use quantscope::quant::lower::quantize_static;
use quantscope::quant::{LayerSchemes, ObserverKind, Scheme};
use std::path::{Path, PathBuf};

/// Largest accepted max |ours - onnxruntime| relative to max |onnxruntime|.
const TOLERANCE: f32 = 1e-4;
/// The reference inputs every corpus model has.
const INPUTS: [&str; 2] = ["photo", "noise"];

/// One model's float result and its int8 column.
struct Outcome {
    float: Result<f32, String>,
    int8: String,
}

/// A reference input and onnxruntime's logits for it.
struct Reference {
    tag: &'static str,
    input: Tensor,
    logits: Vec<f32>,
}

/// The `.onnx` files of the corpus, sorted by name.
fn corpus_models(dir: &Path) -> Vec<PathBuf> {
    let mut models: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("QUANTSCOPE_CORPUS={}: {e}", dir.display()))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    models.sort();
    models
}

/// `NAME.SUFFIX` beside `model` (NAME.onnx).
fn sibling(model: &Path, suffix: &str) -> PathBuf {
    let stem = model.file_stem().unwrap_or_default().to_string_lossy();
    model.with_file_name(format!("{stem}.{suffix}"))
}

/// Exporter and op summary from NAME.corpus.json (written by make_corpus.py).
fn provenance(model: &Path) -> (String, String) {
    let Ok(text) = std::fs::read_to_string(sibling(model, "corpus.json")) else {
        return ("?".into(), "?".into());
    };
    let info: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let exporter = info["exporter"].as_str().unwrap_or("?").to_string();
    let ops = info["ops"].as_object().map_or("?".into(), |ops| {
        let nodes: u64 = ops.values().filter_map(|v| v.as_u64()).sum();
        format!("{nodes} nodes, {} op types", ops.len())
    });
    (exporter, ops)
}

/// The little-endian f32 file `NAME.SUFFIX`, or an error naming it.
fn read_f32(model: &Path, suffix: &str) -> Result<Vec<f32>, String> {
    let path = sibling(model, suffix);
    if !path.exists() {
        return Err(format!("{} is missing", path.display()));
    }
    Ok(common::read_f32(&path))
}

fn references(model: &Path, shape: &[usize]) -> Result<Vec<Reference>, String> {
    INPUTS
        .iter()
        .map(|&tag| {
            let data = read_f32(model, &format!("{tag}.input.bin"))?;
            let input = Tensor::from_shape_vec(shape, data)
                .map_err(|e| format!("{tag} input does not have the shape {shape:?}: {e}"))?;
            let logits = read_f32(model, &format!("{tag}.logits.bin"))?;
            Ok(Reference { tag, input, logits })
        })
        .collect()
}

/// Max |ours - theirs| relative to max |theirs|.
fn relative_diff(ours: &[f32], theirs: &[f32]) -> f32 {
    let scale = theirs
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

fn top1(logits: &[f32]) -> Option<usize> {
    (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
}

/// Static int8 (w8a8, MinMax ranges calibrated on the reference inputs): how many inputs
/// keep float's top-1, or the error that stopped it.
fn int8_agreement(name: &str, float: &FloatExecutor, refs: &[Reference]) -> String {
    let run = || -> quantscope::Result<String> {
        let inputs = refs.iter().map(|r| r.input.clone());
        let ranges = calibrate(float, ObserverKind::MinMax, inputs, &mut |_, _| {})?;
        let q = quantize_static(
            float.graph(),
            &ranges.ranges,
            &LayerSchemes::uniform(Scheme::W8A8),
        )?;
        let islands = q.float_nodes();
        let exported = quantscope::export::export_qdq(&q);
        let step = q.params[q.graph.outputs[0]].map(|p| p.scale);
        let int8 = Int8Executor::new(q)?;
        let mut agree = 0;
        let mut int8_logits = Vec::new();
        for r in refs {
            let f = float.run(std::slice::from_ref(&r.input))?;
            let i = int8.run(std::slice::from_ref(&r.input))?;
            let flat = |t: &[Tensor]| t.first().map(|t| t.iter().copied().collect::<Vec<f32>>());
            let i = flat(&i).unwrap_or_default();
            agree += usize::from(top1(&flat(&f).unwrap_or_default()) == top1(&i));
            int8_logits.push(i);
        }
        let export = match exported {
            Ok(bytes) => qdq_agreement(name, &bytes, refs, &int8_logits, step),
            Err(e) => format!("not exported: {e}"),
        };
        // Nodes left in float, counted by op: `0`, or e.g. `5 (Pad 4, Softmax 1)`.
        let mut ops = std::collections::BTreeMap::<&str, usize>::new();
        for n in &islands {
            *ops.entry(n.op).or_default() += 1;
        }
        let ops: Vec<String> = ops.iter().map(|(op, n)| format!("{op} {n}")).collect();
        let float_nodes = match islands.len() {
            0 => "0".to_string(),
            n => format!("{n} ({})", ops.join(", ")),
        };
        Ok(format!(
            "top-1 {agree}/{} | {float_nodes} | {export}",
            refs.len()
        ))
    };
    run().unwrap_or_else(|e| format!("error: {e} | - | -"))
}

fn model_name(model: &Path) -> String {
    model
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The int8 variant's ONNX QDQ export run by onnxruntime (scripts/check_qdq.py, graph
/// optimizations off) on the reference inputs, against quantscope's int8 logits: top-1
/// agreement and the largest difference in output steps (or relative to the logit range when
/// the output is float, after a final Softmax).
fn qdq_agreement(
    name: &str,
    bytes: &[u8],
    refs: &[Reference],
    ours: &[Vec<f32>],
    step: Option<f32>,
) -> String {
    let dir = std::env::temp_dir().join(format!("quantscope-corpus-{}-{name}", std::process::id()));
    let run = || -> Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let model = dir.join("w8a8.onnx");
        std::fs::write(&model, bytes).map_err(|e| e.to_string())?;
        let mut inputs = Vec::new();
        for r in refs {
            let path = dir.join(format!("{}.input.bin", r.tag));
            let raw: Vec<u8> = r.input.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(&path, raw).map_err(|e| e.to_string())?;
            inputs.push(path);
        }
        let out = std::process::Command::new(common::python())
            .arg(common::root().join("scripts/check_qdq.py"))
            .arg("--model")
            .arg(&model)
            .args(&inputs)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "onnxruntime: {}",
                err.trim().lines().last().unwrap_or("")
            ));
        }
        let (mut same, mut worst) = (0, 0f32);
        for (r, ours) in refs.iter().zip(ours) {
            let theirs = read_f32(&dir.join(r.tag), "logits.bin")?;
            same += usize::from(top1(&theirs) == top1(ours));
            let range = ours.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
                - ours.iter().fold(f32::INFINITY, |m, &v| m.min(v));
            let diff = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            worst = worst.max(diff / step.unwrap_or(range.max(f32::MIN_POSITIVE)));
        }
        let unit = if step.is_some() {
            "steps"
        } else {
            "of the range"
        };
        Ok(format!(
            "top-1 {same}/{}, max diff {worst:.3} {unit}",
            refs.len()
        ))
    };
    let result = run().unwrap_or_else(|e| format!("error: {e}"));
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// Imports one model as its metadata says and compares both reference inputs.
fn check(model: &Path) -> Outcome {
    let float = || -> Result<(FloatExecutor, Vec<Reference>, f32), String> {
        let meta_path = sibling(model, "json");
        let meta = std::fs::read_to_string(&meta_path)
            .map_err(|e| format!("{}: {e}", meta_path.display()))?;
        let meta = ModelMetadata::from_json(&meta).map_err(|e| format!("metadata: {e}"))?;
        let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
        let options = ImportOptions {
            input_shapes: vec![(meta.input.name.clone(), meta.input.shape.clone())],
            ..Default::default()
        };
        let graph = load_model(&bytes, &options).map_err(|e| format!("import: {e}"))?;
        // An NHWC file whose leading Transpose the importer removed reads NCHW now: the
        // reference tensors (in the file's layout) are permuted the same way.
        let to_nchw = graph.input_layout == Layout::Nhwc;
        let exec = FloatExecutor::new(graph).map_err(|e| format!("plan: {e}"))?;
        let mut refs = references(model, &meta.input.shape)?;
        if to_nchw {
            for r in &mut refs {
                r.input = r
                    .input
                    .view()
                    .permuted_axes(ndarray::IxDyn(&[0, 3, 1, 2]))
                    .as_standard_layout()
                    .into_owned();
            }
        }
        let mut worst = 0f32;
        for r in &refs {
            let out = exec
                .run(std::slice::from_ref(&r.input))
                .map_err(|e| format!("run on {}: {e}", r.tag))?;
            let ours: Vec<f32> = out.first().map_or(vec![], |t| t.iter().copied().collect());
            if ours.len() != r.logits.len() {
                return Err(format!(
                    "{}: {} outputs, onnxruntime gives {}",
                    r.tag,
                    ours.len(),
                    r.logits.len()
                ));
            }
            let diff = relative_diff(&ours, &r.logits);
            if diff.is_nan() || diff > TOLERANCE {
                return Err(format!(
                    "{}: logits differ from onnxruntime by {diff:.2e} of max |logit| (limit {TOLERANCE:.0e})",
                    r.tag
                ));
            }
            worst = worst.max(diff);
        }
        Ok((exec, refs, worst))
    };
    match float().and_then(|ok| classify_photo(model).map(|()| ok)) {
        Ok((exec, refs, diff)) => Outcome {
            float: Ok(diff),
            int8: int8_agreement(&model_name(model), &exec, &refs),
        },
        Err(e) => Outcome {
            float: Err(e),
            int8: "- | - | -".into(),
        },
    }
}

/// The classifier path a visitor takes: a photo preprocessed as the metadata says (non-square
/// inputs, NHWC, BGR...) gives one probability per class; and the file alone, with every
/// metadata field at its default, loads and classifies too.
fn classify_photo(model: &Path) -> Result<(), String> {
    let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png"))
        .map_err(|e| format!("samples/coffee.png: {e}"))?;
    let photo = quantscope::image::decode(&photo).map_err(|e| e.to_string())?;
    let meta = std::fs::read_to_string(sibling(model, "json")).map_err(|e| e.to_string())?;
    for (what, meta) in [("its metadata", meta.as_str()), ("no metadata", "{}")] {
        let meta = ModelMetadata::from_json(meta).map_err(|e| format!("{what}: {e}"))?;
        let c =
            Classifier::new(&bytes, meta).map_err(|e| format!("classifier with {what}: {e}"))?;
        // The graph's input: the metadata's shape, or its NCHW form when the importer turned
        // an NHWC input into a layout fact.
        let input = c.input_tensor(&photo);
        let graph = c.graph();
        if input.shape() != graph.shape(graph.inputs[0]) {
            return Err(format!(
                "with {what}: the photo became {:?}, the input is {:?}",
                input.shape(),
                graph.shape(graph.inputs[0])
            ));
        }
        let top = c
            .classify(&photo, 1)
            .map_err(|e| format!("classify with {what}: {e}"))?;
        if top.len() != 1 || !top[0].prob.is_finite() {
            return Err(format!("classify with {what}: {top:?}"));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_model_imports_and_matches_onnxruntime() {
    let Some(dir) = std::env::var_os("QUANTSCOPE_CORPUS").map(PathBuf::from) else {
        println!("QUANTSCOPE_CORPUS is not set: corpus check skipped (`make test-corpus`)");
        return;
    };
    let models = corpus_models(&dir);
    assert!(
        !models.is_empty(),
        "QUANTSCOPE_CORPUS={} holds no .onnx model: run `make corpus`",
        dir.display()
    );
    println!(
        "| model | exporter | ops | float rel. diff | int8 vs float | nodes in float (int8) | \
         int8 QDQ export under onnxruntime |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for model in &models {
        let name = model.file_stem().unwrap_or_default().to_string_lossy();
        let (exporter, ops) = provenance(model);
        let outcome = check(model);
        let float = match &outcome.float {
            Ok(diff) => format!("{diff:.2e}"),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                format!("FAIL: {e}")
            }
        };
        println!(
            "| {name} | {exporter} | {ops} | {float} | {} |",
            outcome.int8
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus models fail:\n{}",
        failures.len(),
        models.len(),
        failures.join("\n")
    );
}
