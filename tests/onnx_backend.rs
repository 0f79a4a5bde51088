//! The ONNX backend node tests shipped inside the `onnx` wheel
//! (`onnx/backend/test/data/node/*`), run for every case whose ops quantscope supports.
//!
//! Each case is `model.onnx` plus `test_data_set_*/input_*.pb` and `output_*.pb`. The first graph
//! input is fed at run time; the others (weights, second operands, Clip bounds, pads) are bound
//! as constants, as they would be initializers in a deployed model. A case is skipped only when
//! it uses an op outside the supported list, a non-float tensor, or the importer reports it as
//! unsupported (with its reason); every other case must match within onnx's backend tolerance.
#![cfg(not(target_arch = "wasm32"))]

use prost::Message;
use quantscope::exec::FloatExecutor;
use quantscope::ir::Tensor;
use quantscope::onnx::proto::{ModelProto, TensorProto};
use quantscope::onnx::{load_model, read_tensor, ImportOptions};
use quantscope::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

enum Outcome {
    Passed,
    Skipped(String),
    Failed(String),
}

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("ONNX_BACKEND_DATA").map(PathBuf::from).expect(
        "ONNX_BACKEND_DATA must name onnx/backend/test/data/node of the onnx wheel (`make test` sets it)",
    );
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    dir
}

/// The first `limit` tensors `{prefix}_{i}.pb` of a data set, as f32.
fn read_pb_tensors(dir: &Path, prefix: &str, limit: usize) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for i in 0..limit {
        let p = dir.join(format!("{prefix}_{i}.pb"));
        if !p.exists() {
            break;
        }
        match read_tensor(&std::fs::read(&p).unwrap()) {
            Ok((_, t)) => out.push(t),
            Err(e) => return Err(format!("{prefix}_{i}: {e}")),
        }
    }
    Ok(out)
}

fn close(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.shape() != want.shape() {
        return Err(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            want.shape()
        ));
    }
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        // numpy.testing.assert_allclose(rtol=1e-3, atol=1e-7), the backend runner's default.
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-7 + 1e-3 * w.abs();
        if !ok {
            return Err(format!("element {i}: got {g}, expected {w}"));
        }
    }
    Ok(())
}

fn run_case(case: &Path) -> Outcome {
    let bytes = std::fs::read(case.join("model.onnx")).unwrap();
    let model_proto = match ModelProto::decode(bytes.as_slice()) {
        Ok(m) if m.graph.is_some() => m,
        Ok(_) => return Outcome::Failed("model.onnx has no graph".into()),
        Err(e) => return Outcome::Failed(format!("cannot decode model.onnx: {e}")),
    };
    let graph = model_proto.graph.clone().unwrap_or_default();
    let supported = quantscope::onnx::supported_ops();
    if let Some(n) = graph
        .node
        .iter()
        .find(|n| !supported.contains(&n.op_type.as_str()))
    {
        return Outcome::Skipped(format!("op {}", n.op_type));
    }
    let initialized: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let input_names: Vec<String> = graph
        .input
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| !initialized.contains(&n.as_str()))
        .collect();
    let mut sets: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("test_data_set_")
        })
        .collect();
    sets.sort();
    if sets.is_empty() {
        return Outcome::Skipped("no test data".into());
    }
    for set in sets {
        // The first input is fed at run time; the others become initializers of the model.
        let mut deployed = model_proto.clone();
        let g = deployed.graph.as_mut().expect("checked above");
        for (i, name) in input_names.iter().enumerate().skip(1) {
            let path = set.join(format!("input_{i}.pb"));
            let Ok(pb) = std::fs::read(&path) else {
                return Outcome::Skipped(format!("no data for input {name}"));
            };
            match TensorProto::decode(pb.as_slice()) {
                Ok(mut t) => {
                    t.name = name.clone();
                    g.initializer.push(t);
                }
                Err(e) => return Outcome::Skipped(format!("input {name} is not a tensor: {e}")),
            }
        }
        let (inputs, expected) = match (
            read_pb_tensors(&set, "input", 1),
            read_pb_tensors(&set, "output", usize::MAX),
        ) {
            (Ok(i), Ok(o)) => (i, o),
            (Err(e), _) | (_, Err(e)) => return Outcome::Skipped(format!("tensor type: {e}")),
        };
        if inputs.is_empty() {
            return Outcome::Skipped("no inputs".into());
        }
        let graph = match load_model(&deployed.encode_to_vec(), &ImportOptions::default()) {
            Ok(g) => g,
            Err(Error::Unsupported { what, .. }) => return Outcome::Skipped(what),
            Err(e) => return Outcome::Failed(format!("import: {e}")),
        };
        let outputs = match FloatExecutor::new(graph).and_then(|x| x.run(&inputs[..1])) {
            Ok(o) => o,
            Err(Error::Unsupported { what, .. }) => return Outcome::Skipped(what),
            Err(e) => return Outcome::Failed(format!("run: {e}")),
        };
        if outputs.len() != expected.len() {
            return Outcome::Failed(format!(
                "{} outputs, expected {}",
                outputs.len(),
                expected.len()
            ));
        }
        for (k, (g, w)) in outputs.iter().zip(&expected).enumerate() {
            if let Err(e) = close(g, w) {
                return Outcome::Failed(format!("output {k}: {e}"));
            }
        }
    }
    Outcome::Passed
}

#[test]
fn onnx_backend_node_tests_pass_for_supported_ops() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        // A panic is a failure with its message, not an abort of the whole suite.
        match std::panic::catch_unwind(|| run_case(case)) {
            Ok(Outcome::Passed) => passed.push(name),
            Ok(Outcome::Skipped(why)) => skipped.entry(why).or_default().push(name),
            Ok(Outcome::Failed(why)) => failed.push(format!("{name}: {why}")),
            Err(_) => failed.push(format!("{name}: panicked")),
        }
    }
    let n_skipped: usize = skipped.values().map(Vec::len).sum();
    let supported_skips: Vec<String> = skipped
        .iter()
        .filter(|(why, _)| !why.starts_with("op "))
        .map(|(why, names)| format!("  {why}: {}", names.join(", ")))
        .collect();
    println!(
        "ONNX backend node tests: {} cases, {} ran: {} passed, {} failed; {} skipped ({} for unsupported op types)",
        cases.len(),
        passed.len() + failed.len(),
        passed.len(),
        failed.len(),
        n_skipped,
        skipped.iter().filter(|(w, _)| w.starts_with("op ")).map(|(_, v)| v.len()).sum::<usize>()
    );
    println!("ONNX backend passed: {}", passed.join(", "));
    println!(
        "ONNX backend skipped among supported op types (reason: cases):\n{}",
        supported_skips.join("\n")
    );
    for f in &failed {
        println!("ONNX backend FAILED {f}");
    }
    assert!(
        failed.is_empty(),
        "{} backend cases failed (listed above)",
        failed.len()
    );
    assert!(
        passed.len() >= 100,
        "only {} backend cases passed",
        passed.len()
    );
}
