//! The labelled-data bindings of the wasm build (`quantscope::wasm::{LabelledSet,
//! AccuracyTally}`, `Model::{predict, checkDataset}`, `CalibrationSet::addDataset`) as the
//! page's worker calls them, on IDX files and tiny models made here: answers, a tally whose
//! confusion matrix adds up to the images, and bad files or a model of the wrong input as
//! `Error`s naming the problem, never a trap. wasm only (node and Chromium).
#![cfg(target_arch = "wasm32")]

use prost::Message;
use quantscope::wasm::{AccuracyTally, CalibrationSet, LabelledSet, Model};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test as test;

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{idx_files, js_message, tiny_classifier};

const CLASSES: usize = 10;
const SIDE: usize = 28;
const COUNT: usize = 12;

/// x [1, channels, side, side] -> Conv 3x3 (10 filters) -> Relu -> GlobalAveragePool ->
/// Flatten -> logits [1, 10]; and its metadata.
fn model(channels: usize, side: usize) -> Model {
    let proto = tiny_classifier(channels, side, CLASSES, |i| (i % 11) as f32 * 0.1 - 0.5);
    let meta = format!(
        r#"{{"input": {{"name": "x", "shape": [1, {channels}, {side}, {side}]}},
            "preprocess": {{"resize": "stretch", "mean": [72.94, 72.94, 72.94],
                            "std": [90.02, 90.02, 90.02]}}}}"#
    );
    Model::new(&proto.encode_to_vec(), &meta).expect("the test model loads")
}

fn set() -> LabelledSet {
    let (images, labels) = idx_files(COUNT, SIDE, CLASSES);
    LabelledSet::new(&images, &labels, None).expect("the IDX files decode")
}

#[test]
fn a_run_in_chunks_counts_every_image() {
    let data = set();
    assert_eq!(data.length(), COUNT);
    assert_eq!(data.labels(0, 3).unwrap(), vec![0, 1, 2]);
    let rgba = data.image_rgba(5).unwrap();
    assert_eq!(rgba.len(), SIDE * SIDE * 4);
    assert!(rgba
        .chunks(4)
        .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));

    let fp32 = model(1, SIDE);
    fp32.check_dataset(&data).unwrap();
    let mut tally = AccuracyTally::new(&data);
    let mut answers = Vec::new();
    for start in (0..COUNT).step_by(5) {
        let end = (start + 5).min(COUNT);
        let chunk = fp32.predict(&data, start, end).unwrap();
        assert_eq!(chunk.len(), end - start);
        assert!(chunk.iter().all(|&a| (a as usize) < CLASSES));
        tally
            .add(&data, start, &chunk, Some(chunk.clone()))
            .unwrap();
        answers.extend(chunk);
    }
    assert_eq!(tally.images(), COUNT);
    // The same answers in one go.
    assert_eq!(fp32.predict(&data, 0, COUNT).unwrap(), answers);
    assert!(tally.report("fp32").is_ok());

    // A static variant calibrated on pictures of the set.
    let mut calibration = CalibrationSet::new();
    calibration.add_dataset(&fp32, &data, 0, 8).unwrap();
    assert_eq!(calibration.length(), 8);
    let w8a8 = fp32
        .quantize(JsValue::UNDEFINED, &calibration, None)
        .unwrap();
    assert_eq!(w8a8.variant(), "w8a8");
    assert_eq!(w8a8.predict(&data, 0, COUNT).unwrap().len(), COUNT);
}

#[test]
fn bad_files_and_ranges_are_named() {
    let (images, labels) = idx_files(COUNT, SIDE, CLASSES);
    let e = js_message(
        LabelledSet::new(&images, &labels[..10], None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("label file"), "{e}");
    let e = js_message(
        LabelledSet::new(&images[..100], &labels, None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("image file"), "{e}");
    let e = js_message(LabelledSet::new(&labels, &images, None).err().unwrap());
    assert!(e.contains("file"), "{e}");
    let e = js_message(
        LabelledSet::new(b"\x1f\x8b not gzip", &labels, None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("image file"), "{e}");

    let data = set();
    let e = js_message(data.image_rgba(COUNT).err().unwrap());
    assert!(e.contains(&format!("images {COUNT}..{}", COUNT + 1)), "{e}");
    let fp32 = model(1, SIDE);
    let e = js_message(fp32.predict(&data, 3, COUNT + 1).err().unwrap());
    assert!(e.contains("of a dataset of 12"), "{e}");
    let mut tally = AccuracyTally::new(&data);
    let e = js_message(tally.add(&data, 0, &[1, 2], Some(vec![1])).err().unwrap());
    assert!(e.contains("reference"), "{e}");
}

#[test]
fn a_model_of_another_input_is_named() {
    let data = set();
    let colour = model(3, 32);
    let e = js_message(colour.check_dataset(&data).err().unwrap());
    assert!(
        e.contains("3x32x32 (colour)") && e.contains("1x28x28 grey"),
        "{e}"
    );
    let e = js_message(colour.predict(&data, 0, 1).err().unwrap());
    assert!(e.contains("3x32x32"), "{e}");
}
