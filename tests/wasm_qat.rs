//! The QAT bindings of the wasm build (`quantscope::wasm::QatSession`,
//! `Model::withTunedWeights`) as the page's worker calls them: a run stepped a few mini-batches
//! per call, the fake-quantized accuracy on a test subset, and the integer variant of the
//! result answering the images; a model QAT cannot use, bad options and a fp32-only request as
//! `Error`s naming the problem, never a trap. wasm only (node and Chromium).
#![cfg(target_arch = "wasm32")]

use quantscope::train::export::{fashion_mnist_metadata, onnx_bytes};
use quantscope::train::{CnnWidths, Sequential};
use quantscope::wasm::{LabelledSet, Model, QatSession};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test as test;

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{idx_files, js_message};

const SIDE: usize = 28;
const COUNT: usize = 40;

fn set() -> LabelledSet {
    let (images, labels) = idx_files(COUNT, SIDE, 10);
    LabelledSet::new(&images, &labels, None).expect("the IDX files decode")
}

/// A small untrained Fashion-MNIST CNN as the page loads it (ONNX + metadata JSON).
fn small_cnn() -> (Vec<u8>, String) {
    let widths = CnnWidths {
        conv1: 4,
        conv2: 8,
        hidden: 16,
    };
    let onnx = onnx_bytes(&Sequential::fashion_mnist_cnn(widths, 3), "small").unwrap();
    let meta = serde_json::to_string(&fashion_mnist_metadata("test")).unwrap();
    (onnx, meta)
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap()
}

#[test]
fn a_run_in_slices_becomes_an_integer_variant() {
    let (onnx, meta) = small_cnn();
    let fp32 = Model::new(&onnx, &meta).unwrap();
    let data = set();
    let opts = options(r#"{"variant": "w4a4", "steps": 5, "batch": 8, "lr": 0.001, "seed": 2}"#);
    let mut run = QatSession::new(&fp32, &data, opts).unwrap();
    let first = run.step(2).unwrap();
    assert_eq!(get(&first, "step").as_f64(), Some(2.0));
    assert_eq!(js_sys::Array::from(&get(&first, "losses")).length(), 2);
    assert_eq!(get(&first, "done").as_bool(), Some(false));
    let acc = run.accuracy(&data, 16).unwrap();
    assert!((0.0..=1.0).contains(&acc), "{acc}");
    let last = run.step(10).unwrap();
    assert_eq!(get(&last, "step").as_f64(), Some(5.0));
    assert_eq!(js_sys::Array::from(&get(&last, "losses")).length(), 3);
    assert_eq!(get(&last, "done").as_bool(), Some(true));
    assert_eq!(run.done(), 5);

    let out = run.finish().unwrap();
    let bytes = js_sys::Uint8Array::new(&get(&out, "onnx")).to_vec();
    let ranges = get(&out, "ranges").as_string().unwrap();
    assert_eq!(get(&out, "variant").as_string().as_deref(), Some("w4a4"));
    let q = fp32.with_tuned_weights(&bytes, &ranges, "w4a4").unwrap();
    assert_eq!(q.variant(), "w4a4");
    assert_eq!(q.predict(&data, 0, COUNT).unwrap().len(), COUNT);
    let e = fp32
        .with_tuned_weights(&bytes, &ranges, "fp16")
        .err()
        .unwrap();
    assert!(js_message(e).contains("static variant"));
}

#[test]
fn what_qat_cannot_use_is_named() {
    let (onnx, meta) = small_cnn();
    let fp32 = Model::new(&onnx, &meta).unwrap();
    let data = set();
    let err = |m: &Model, json: &str| match QatSession::new(m, &data, options(json)) {
        Ok(_) => panic!("{json} was accepted"),
        Err(e) => js_message(e),
    };
    assert!(err(&fp32, r#"{"variant": "fp16"}"#).contains("static integer variant"));
    assert!(err(&fp32, r#"{"variant": "w9a9"}"#).contains("w9a9"));
    assert!(err(&fp32, r#"{"variant": "w4a4", "lr": 0}"#).contains("learning rate"));
    // Another normalisation than the trainer's: the message says what QAT expects.
    let other = meta.replace("72.94", "127.5");
    let m = Model::new(&onnx, &other).unwrap();
    assert!(err(&m, r#"{"variant": "w4a4"}"#).contains("normalised"));
}
