//! EfficientNet-Lite0 float logits against onnxruntime, from the identical preprocessed tensor.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use quantscope::classifier::Classifier;
use quantscope::model::ModelMetadata;
use std::process::Command;

fn classifier() -> Classifier {
    let model = common::model_path();
    let meta = std::fs::read_to_string(model.with_extension("json"))
        .expect("metadata JSON beside the model");
    Classifier::new(
        &std::fs::read(&model).unwrap(),
        ModelMetadata::from_json(&meta).unwrap(),
    )
    .unwrap()
}

/// onnxruntime's logits for a raw little-endian f32 input, via scripts/ort_reference.py.
fn ort_logits(input: &[f32]) -> Vec<f32> {
    let dir = std::env::temp_dir().join(format!("quantscope-ort-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (inp, out) = (dir.join("in.bin"), dir.join("out.bin"));
    std::fs::write(
        &inp,
        input
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let status = Command::new(common::python())
        .arg(common::root().join("scripts/ort_reference.py"))
        .arg(common::model_path())
        .arg(&inp)
        .arg(&out)
        .status()
        .expect("python runs");
    assert!(status.success(), "ort_reference.py failed");
    let bytes = std::fs::read(&out).unwrap();
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn logits_match_onnxruntime_on_every_sample() {
    let c = classifier();
    let samples = common::samples();
    assert!(
        samples.len() >= 7,
        "expected the 7 sample photos, found {samples:?}"
    );
    for path in samples {
        let img = quantscope::image::decode(&std::fs::read(&path).unwrap()).unwrap();
        let input = c.input_tensor(&img);
        let ours = c.logits(&input).unwrap();
        let theirs = ort_logits(input.as_slice().unwrap());
        assert_eq!(ours.len(), 1000);
        assert_eq!(theirs.len(), 1000);
        let max_diff = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let top = |l: &[f32]| c.predictions(l, 1)[0].clone();
        println!(
            "EfficientNet-Lite0 {}: max |ours - onnxruntime| = {max_diff:.2e}; top-1 {} ({}) vs {}",
            path.file_name().unwrap().to_string_lossy(),
            top(&ours).index,
            top(&ours).label,
            top(&theirs).index
        );
        assert!(
            max_diff <= 1e-3,
            "{}: logits differ by {max_diff}",
            path.display()
        );
    }
}

#[test]
fn coffee_is_espresso() {
    let c = classifier();
    let img = quantscope::image::decode(
        &std::fs::read(common::root().join("samples/coffee.png")).unwrap(),
    )
    .unwrap();
    let top5 = c.classify(&img, 5).unwrap();
    assert_eq!(top5[0].index, 967, "top-5: {top5:?}");
    assert_eq!(top5[0].label, "espresso");
}
