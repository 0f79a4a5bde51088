//! The native CLI, run as a user would.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::{Command, Output};

fn quantscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quantscope"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

#[test]
fn classify_json_prints_one_line_per_image() {
    let model = common::model_path();
    let (coffee, chelsea) = (
        common::root().join("samples/coffee.png"),
        common::root().join("samples/chelsea.png"),
    );
    let out = quantscope(&[
        "classify",
        "--model",
        model.to_str().unwrap(),
        "--json",
        coffee.to_str().unwrap(),
        chelsea.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    assert_eq!(first["image"], coffee.to_str().unwrap());
    assert_eq!(first["variant"], "fp32");
    assert!(first["ms"].as_f64().unwrap() > 0.0);
    let top5 = first["top5"].as_array().unwrap();
    assert_eq!(top5.len(), 5);
    assert_eq!(top5[0]["index"], 967);
    assert_eq!(top5[0]["label"], "espresso");
    let probs: Vec<f64> = top5.iter().map(|p| p["prob"].as_f64().unwrap()).collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "sorted: {probs:?}");
}

#[test]
fn classify_reports_a_bad_image_and_goes_on() {
    let dir = std::env::temp_dir().join(format!("quantscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.jpg");
    std::fs::write(&bad, b"\xff\xd8\xff\xe0 this is not really a jpeg").unwrap();
    let coffee = common::root().join("samples/coffee.png");
    let model = common::model_path();
    let out = quantscope(&[
        "classify",
        "--model",
        model.to_str().unwrap(),
        bad.to_str().unwrap(),
        coffee.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.jpg") && stderr.contains("Jpeg"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("espresso"));
}

#[test]
fn inspect_lists_layers_and_totals() {
    let model = common::model_path();
    let out = quantscope(&["inspect", model.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Conv dw 5x5"), "{text}");
    assert!(text.contains("[1, 3, 224, 224]") && text.contains("[1, 1000]"));
    let total = text.lines().last().unwrap();
    // EfficientNet-Lite0: 4.65 M parameters after BatchNorm folding.
    let params: usize = total.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!((4_600_000..4_700_000).contains(&params), "{total}");
}

#[test]
fn a_missing_model_is_named() {
    let out = quantscope(&["inspect", "/nonexistent/model.onnx"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model.onnx"));
}

#[test]
fn classify_into_a_pipe_closed_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let model = common::model_path();
    let coffee = common::root().join("samples/coffee.png");
    let coffee = coffee.to_str().unwrap();
    // Enough images that the CLI is still writing when the reader goes away (`| head -1`).
    let mut args = vec!["classify", "--model", model.to_str().unwrap()];
    args.extend(std::iter::repeat_n(coffee, 8));
    let mut child = Command::new(env!("CARGO_BIN_EXE_quantscope"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("coffee.png"), "{first}");
    // The reader (and with it the pipe) is dropped here.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_model_without_metadata_classifies_with_the_defaults() {
    // A torchvision export on its own: input, size, normalisation and labels come from the
    // file and the defaults (`class 0` .. `class 9`).
    let dir = std::env::temp_dir().join(format!("quantscope-cli-bare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("mobilenet.onnx");
    std::fs::copy(
        common::root().join("tests/fixtures/corpus/torch-mobilenet_v3_small-w025.onnx"),
        &model,
    )
    .unwrap();
    let coffee = common::root().join("samples/coffee.png");
    let out = quantscope(&[
        "classify",
        "--model",
        model.to_str().unwrap(),
        coffee.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("class "), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}
