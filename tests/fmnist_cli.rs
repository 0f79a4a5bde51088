//! `train`, `eval` and `qat` end to end on real Fashion-MNIST (`QUANTSCOPE_FMNIST`: the folder
//! of `make fashion-mnist`), each step small: a model trained on 512 images, a few QAT steps.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the CLI; stdout on success, else the test fails with stderr.
fn quantscope(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_quantscope"))
        .args(args)
        .output()
        .expect("the CLI runs");
    assert!(
        out.status.success(),
        "quantscope {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn data_dir() -> Option<PathBuf> {
    match std::env::var("QUANTSCOPE_FMNIST") {
        Ok(d) => Some(PathBuf::from(d)),
        Err(_) => {
            eprintln!("QUANTSCOPE_FMNIST is not set (make test sets it): skipped");
            None
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_eval_qat_and_reuse_the_qat_result() {
    let Some(data) = data_dir() else { return };
    let dir = std::env::temp_dir().join(format!("quantscope-fmnist-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, tuned) = (dir.join("m.onnx"), dir.join("q.onnx"));
    let data = s(&data);

    let out = quantscope(&[
        "train",
        "--data",
        data,
        "--epochs",
        "1",
        "--train-limit",
        "512",
        "--out",
        s(&model),
    ]);
    assert!(out.contains("float test accuracy"), "{out}");
    assert!(model.with_extension("json").exists());

    let lines = json_lines(&quantscope(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        data,
        "--variants",
        "fp32,w8a8,w4a4",
        "--limit",
        "300",
        "--calib-count",
        "100",
        "--json",
    ]));
    assert_eq!(lines.len(), 3);
    for (line, name) in lines.iter().zip(["fp32", "w8a8", "w4a4"]) {
        assert_eq!(line["variant"], name);
        let a = line["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a));
        assert_eq!(line["per_class"].as_array().unwrap().len(), 10);
        let cells: u64 = line["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()))
            .sum();
        assert_eq!(
            cells, 300,
            "{name}: the confusion matrix counts every image once"
        );
        let diagonal: u64 = (0..10)
            .map(|i| line["confusion"][i][i].as_u64().unwrap())
            .sum();
        assert!((a - diagonal as f64 / 300.0).abs() < 1e-12);
    }
    assert_eq!(lines[0]["agreement"], 1.0);

    let qat = json_lines(&quantscope(&[
        "qat",
        "--model",
        s(&model),
        "--data",
        data,
        "--variant",
        "w4a4",
        "--steps",
        "6",
        "--batch",
        "16",
        "--test-limit",
        "300",
        "--out",
        s(&tuned),
        "--json",
    ]));
    assert_eq!(qat.len(), 1);
    assert_eq!(qat[0]["variant"], "w4a4");
    assert_eq!(qat[0]["method"], "qat");
    let qat_accuracy = qat[0]["accuracy"].as_f64().unwrap();
    let ranges = tuned.with_extension("ranges.json");
    assert!(ranges.exists() && tuned.with_extension("json").exists());

    // The saved result is the same integer variant for eval and export.
    let again = json_lines(&quantscope(&[
        "eval",
        "--model",
        s(&tuned),
        "--ranges",
        s(&ranges),
        "--data",
        data,
        "--variants",
        "w4a4",
        "--limit",
        "300",
        "--json",
    ]));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["variant"], "w4a4");
    assert_eq!(again[0]["accuracy"].as_f64().unwrap(), qat_accuracy);
    let qdq = dir.join("q-qdq.onnx");
    quantscope(&[
        "export",
        "--model",
        s(&tuned),
        "--ranges",
        s(&ranges),
        "--variant",
        "w4a4",
        "--out",
        s(&qdq),
    ]);
    assert!(std::fs::metadata(&qdq).unwrap().len() > 1000);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn qat_and_eval_name_what_does_not_fit() {
    let Some(data) = data_dir() else { return };
    let data = s(&data);
    let photo_model = std::env::var("QUANTSCOPE_MODEL").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/efficientnet-lite0.onnx"
        )
        .into()
    });
    for args in [
        vec![
            "eval",
            "--model",
            &photo_model,
            "--data",
            data,
            "--limit",
            "10",
        ],
        vec![
            "qat",
            "--model",
            &photo_model,
            "--data",
            data,
            "--variant",
            "w4a4",
        ],
        vec![
            "qat",
            "--model",
            &photo_model,
            "--data",
            data,
            "--variant",
            "fp16",
        ],
        vec![
            "eval",
            "--model",
            &photo_model,
            "--data",
            "/nonexistent",
            "--limit",
            "10",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_quantscope"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            err.contains("classes") || err.contains("static") || err.contains("nonexistent"),
            "{args:?}: {err}"
        );
    }
}
