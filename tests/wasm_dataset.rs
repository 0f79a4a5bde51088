//! The labelled-data bindings of the wasm build (`quantscope::wasm::{LabelledSet,
//! AccuracyTally}`, `Model::{predict, checkDataset}`, `CalibrationSet::addDataset`) as the
//! page's worker calls them, on IDX files and tiny models made here: answers, a tally whose
//! confusion matrix adds up to the images, and bad files or a model of the wrong input as
//! `Error`s naming the problem, never a trap. wasm only (node and Chromium).
#![cfg(target_arch = "wasm32")]

use prost::Message;
use quantscope::onnx::proto::{
    data_type, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use quantscope::wasm::{AccuracyTally, CalibrationSet, LabelledSet, Model};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test as test;

const CLASSES: usize = 10;
const SIDE: usize = 28;
const COUNT: usize = 12;

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(DimensionValue::DimValue(d)),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

fn node(op_type: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: format!("{op_type}_{output}"),
        op_type: op_type.into(),
        ..Default::default()
    }
}

/// x [1, channels, side, side] -> Conv 3x3 (10 filters) -> Relu -> GlobalAveragePool ->
/// Flatten -> logits [1, 10]; and its metadata.
fn model(channels: usize, side: usize) -> Model {
    let weights = (0..CLASSES * channels * 9)
        .map(|i| (i % 11) as f32 * 0.1 - 0.5)
        .collect();
    let proto = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![
                node("Conv", &["x", "w"], "conv"),
                node("Relu", &["conv"], "relu"),
                node("GlobalAveragePool", &["relu"], "pool"),
                node("Flatten", &["pool"], "logits"),
            ],
            name: "tiny".into(),
            initializer: vec![TensorProto {
                dims: vec![CLASSES as i64, channels as i64, 3, 3],
                data_type: data_type::FLOAT,
                float_data: weights,
                name: "w".into(),
                ..Default::default()
            }],
            input: vec![value_info(
                "x",
                &[1, channels as i64, side as i64, side as i64],
            )],
            output: vec![value_info("logits", &[1, CLASSES as i64])],
            value_info: vec![],
        }),
    };
    let meta = format!(
        r#"{{"input": {{"name": "x", "shape": [1, {channels}, {side}, {side}]}},
            "preprocess": {{"resize": "stretch", "mean": [72.94, 72.94, 72.94],
                            "std": [90.02, 90.02, 90.02]}}}}"#
    );
    Model::new(&proto.encode_to_vec(), &meta).expect("the test model loads")
}

/// IDX image and label files of `COUNT` 28x28 pictures (not gzipped; the reader takes both).
fn idx_files() -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0, 0, 8, 3];
    for d in [COUNT, SIDE, SIDE] {
        images.extend((d as u32).to_be_bytes());
    }
    images.extend((0..COUNT * SIDE * SIDE).map(|i| ((i * 37) % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend((COUNT as u32).to_be_bytes());
    labels.extend((0..COUNT).map(|i| (i % CLASSES) as u8));
    (images, labels)
}

fn message(e: JsError) -> String {
    JsValue::from(e)
        .dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}

fn set() -> LabelledSet {
    let (images, labels) = idx_files();
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
    let (images, labels) = idx_files();
    let e = message(
        LabelledSet::new(&images, &labels[..10], None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("label file"), "{e}");
    let e = message(
        LabelledSet::new(&images[..100], &labels, None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("image file"), "{e}");
    let e = message(LabelledSet::new(&labels, &images, None).err().unwrap());
    assert!(e.contains("file"), "{e}");
    let e = message(
        LabelledSet::new(b"\x1f\x8b not gzip", &labels, None)
            .err()
            .unwrap(),
    );
    assert!(e.contains("image file"), "{e}");

    let data = set();
    let e = message(data.image_rgba(COUNT).err().unwrap());
    assert!(e.contains(&format!("images {COUNT}..{}", COUNT + 1)), "{e}");
    let fp32 = model(1, SIDE);
    let e = message(fp32.predict(&data, 3, COUNT + 1).err().unwrap());
    assert!(e.contains("of a dataset of 12"), "{e}");
    let mut tally = AccuracyTally::new(&data);
    let e = message(tally.add(&data, 0, &[1, 2], Some(vec![1])).err().unwrap());
    assert!(e.contains("reference"), "{e}");
}

#[test]
fn a_model_of_another_input_is_named() {
    let data = set();
    let colour = model(3, 32);
    let e = message(colour.check_dataset(&data).err().unwrap());
    assert!(
        e.contains("3x32x32 (colour)") && e.contains("1x28x28 grey"),
        "{e}"
    );
    let e = message(colour.predict(&data, 0, 1).err().unwrap());
    assert!(e.contains("3x32x32"), "{e}");
}
