//! Malformed inputs, each generated here (small, deterministic): every one must be an `Err`
//! whose message names the problem, never a panic. Models go through `Classifier::new`
//! (import, shape checks, executor), images through `image::decode`, metadata through
//! `ModelMetadata::from_json`. Native and wasm (node and Chromium) alike.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use prost::Message;
use quantscope::classifier::Classifier;
use quantscope::model::ModelMetadata;
use quantscope::onnx::proto::{data_type, GraphProto, ModelProto};
use quantscope::Error;

#[path = "common/fixtures.rs"]
mod fixtures;
use fixtures::{tiny_classifier, value_info};

const SIDE: i64 = 8;
const CLASSES: usize = 4;

/// A tiny valid classifier: x [1, 3, 8, 8] -> Conv 3x3 (4 filters) -> Relu ->
/// GlobalAveragePool -> Flatten -> logits [1, 4].
fn valid_model() -> ModelProto {
    tiny_classifier(3, SIDE as usize, CLASSES, |i| (i % 7) as f32 * 0.1 - 0.3)
}

fn metadata_json() -> String {
    format!(
        r#"{{"name": "tiny",
            "input": {{"name": "x", "shape": [1, 3, {SIDE}, {SIDE}], "layout": "NCHW"}},
            "preprocess": {{"resize_shorter": {SIDE}, "crop": {SIDE},
                            "mean": [127, 127, 127], "std": [128, 128, 128]}},
            "labels": ["a", "b", "c", "d"]}}"#
    )
}

fn metadata() -> ModelMetadata {
    ModelMetadata::from_json(&metadata_json()).expect("the test metadata is valid")
}

fn load(bytes: &[u8]) -> Result<Classifier, Error> {
    Classifier::new(bytes, metadata())
}

/// The error message of model bytes that must not load.
fn bytes_err(bytes: &[u8]) -> String {
    match load(bytes) {
        Ok(_) => panic!("the model loaded"),
        Err(e) => e.to_string(),
    }
}

/// Loads a changed copy of the valid model and returns its error message.
fn load_err(change: impl FnOnce(&mut GraphProto)) -> String {
    let mut model = valid_model();
    change(model.graph.as_mut().unwrap());
    bytes_err(&model.encode_to_vec())
}

fn assert_mentions(message: &str, words: &[&str]) {
    for w in words {
        assert!(message.contains(w), "{message:?} does not mention {w:?}");
    }
}

#[test]
fn the_valid_model_loads_and_classifies() {
    let c = load(&valid_model().encode_to_vec()).expect("valid model loads");
    let img = image::RgbImage::from_fn(20, 12, |x, y| image::Rgb([x as u8 * 9, y as u8 * 17, 80]));
    let logits = c.logits(&c.input_tensor(&img)).unwrap();
    assert_eq!(logits.len(), CLASSES);
}

#[test]
fn truncated_models_are_errors() {
    let bytes = valid_model().encode_to_vec();
    for len in 0..bytes.len() {
        if let Err(e) = load(&bytes[..len]) {
            assert!(!e.to_string().is_empty());
        }
    }
    assert_mentions(&bytes_err(&[]), &["empty"]);
    assert_mentions(&bytes_err(&bytes[..bytes.len() / 2]), &["ONNX"]);
}

#[test]
fn bit_flipped_models_never_panic() {
    let bytes = valid_model().encode_to_vec();
    let mut loaded = 0;
    for i in 0..bytes.len() {
        for bit in [0, 3, 7] {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << bit;
            loaded += usize::from(load(&flipped).is_ok());
        }
    }
    // Flips in weight bytes still load; flips in names and structure must not.
    assert!(loaded > 0 && loaded < bytes.len() * 3, "{loaded} loaded");
}

#[test]
fn wrong_dtypes_are_named() {
    let e = load_err(|g| g.input[0] = value_info("x", data_type::INT64, &[1, 3, SIDE, SIDE]));
    assert_mentions(&e, &["x"]);
    let e = load_err(|g| g.initializer[0].data_type = 8); // STRING
    assert_mentions(&e, &["w"]);
}

#[test]
fn huge_and_negative_dims_are_named() {
    let huge = 1 << 20; // 2^40 elements in a 2-d input
    let e = load_err(|g| g.input[0] = value_info("x", data_type::FLOAT, &[huge, huge, 1, 1]));
    assert_mentions(&e, &["x"]);
    let e = load_err(|g| g.initializer[0].dims = vec![huge, huge, 3, 3]);
    assert_mentions(&e, &["w"]);
    let e = load_err(|g| g.input[0] = value_info("x", data_type::FLOAT, &[1, -3, SIDE, SIDE]));
    assert_mentions(&e, &["x"]);
    let e = load_err(|g| g.initializer[0].dims = vec![CLASSES as i64, -3, 3, 3]);
    assert_mentions(&e, &["w", "-3"]);
}

#[test]
fn a_cycle_is_named() {
    // relu reads pool, which is computed from relu.
    let e = load_err(|g| g.node[1].input[0] = "pool".into());
    assert_mentions(&e, &["cycle"]);
}

#[test]
fn a_missing_input_and_an_undefined_value_are_named() {
    let e = load_err(|g| g.input.clear());
    assert_mentions(&e, &["x"]);
    let e = load_err(|g| g.node[2].input[0] = "nowhere".into());
    assert_mentions(&e, &["nowhere"]);
    let e = load_err(|g| g.output[0].name = "nothing".into());
    assert_mentions(&e, &["nothing"]);
}

/// A PNG claiming `w` x `h` with no pixel data: signature, IHDR, an empty IDAT, IEND.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", vec![]), (b"IEND", vec![])] {
        let mut chunk = kind.to_vec();
        chunk.extend(&data);
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A baseline JPEG claiming `w` x `h` with no scan data: SOI, SOF0, SOS, EOI.
fn jpeg_header(w: u16, h: u16) -> Vec<u8> {
    let mut jpg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    jpg.extend(h.to_be_bytes());
    jpg.extend(w.to_be_bytes());
    jpg.extend([3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpg.extend([0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]);
    jpg.extend([0xFF, 0xD9]);
    jpg
}

fn image_err(bytes: &[u8]) -> String {
    match quantscope::image::decode(bytes) {
        Ok(img) => panic!("decoded a {:?} image", img.dimensions()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn image_bombs_are_refused_from_the_header() {
    assert_mentions(
        &image_err(&png_header(10_000, 10_000)),
        &["10000x10000", "limit"],
    );
    assert_mentions(
        &image_err(&jpeg_header(10_000, 10_000)),
        &["10000x10000", "limit"],
    );
    // Within the limit but truncated: a decode error that names the size, not an allocation.
    assert_mentions(&image_err(&png_header(4_000, 4_000)), &["4000x4000"]);
}

#[test]
fn empty_and_non_image_files_are_named() {
    assert_mentions(&image_err(&[]), &["empty"]);
    assert_mentions(&image_err(b"just some text\n"), &["not a recognised image"]);
    assert_mentions(&image_err(&valid_model().encode_to_vec()), &["image"]);
}

#[test]
fn extreme_aspect_images_preprocess_within_bounds() {
    // 1 pixel high: resizing the whole strip to a shorter side of 256 would take ~4 GB.
    let strip = quantscope::image::from_rgba(2_000_000, 1, vec![200; 8_000_000]).unwrap();
    let p = metadata().preprocess;
    let t = quantscope::image::preprocess(&strip, &p, SIDE as u32, SIDE as u32, 3);
    assert_eq!(t.shape(), &[1, 3, SIDE as usize, SIDE as usize]);
}

fn metadata_err(json: &str) -> String {
    match ModelMetadata::from_json(json) {
        Ok(m) => panic!("accepted {m:?}"),
        Err(e) => e.to_string(),
    }
}

/// The valid metadata with `from` replaced by `to` (which must occur once).
fn metadata_with(from: &str, to: &str) -> String {
    let json = metadata_json();
    assert_eq!(json.matches(from).count(), 1, "{from}");
    json.replace(from, to)
}

#[test]
fn metadata_errors_name_the_field() {
    let cases = [
        (
            metadata_with(r#""mean": [127, 127, 127]"#, r#""mean": [127, 127]"#),
            "field `preprocess.mean`: expected 3 numbers, got 2",
        ),
        (
            metadata_with(r#""std": [128, 128, 128]"#, r#""std": [128, 0, 128]"#),
            "field `preprocess.std`",
        ),
        (
            metadata_with(r#""crop": 8"#, r#""crop": 9"#),
            "field `preprocess.crop`",
        ),
        (
            metadata_with(r#""resize_shorter": 8"#, r#""resize_shorter": 100000"#),
            "field `preprocess.resize_shorter`",
        ),
        (
            metadata_with(r#""crop": 8"#, r#""crop": "big""#),
            "field `preprocess.crop`: invalid type: string \"big\"",
        ),
        (
            metadata_with(r#""shape": [1, 3, 8, 8]"#, r#""shape": [1, -3, 8, 8]"#),
            "field `input.shape[1]`",
        ),
        (
            metadata_with(r#""shape": [1, 3, 8, 8]"#, r#""shape": [1, 3, 8]"#),
            "field `input.shape`",
        ),
        (
            metadata_with(r#""layout": "NCHW""#, r#""layout": "CHWN""#),
            "field `input.layout`",
        ),
        (
            metadata_with(r#""labels": ["a", "b", "c", "d"]"#, r#""labels": ["a", 2]"#),
            "field `labels[1]`",
        ),
        (
            metadata_with(r#""crop": 8"#, r#""crop": 8, "resize": "squash""#),
            "field `preprocess.resize`: unknown variant `squash`",
        ),
        (
            metadata_with(r#""crop": 8"#, r#""crop": 8, "channels": "RGBA""#),
            "field `preprocess.channels`: unknown variant `RGBA`",
        ),
        (
            metadata_with(r#""shape": [1, 3, 8, 8]"#, r#""shape": [1, 4, 8, 8]"#),
            "C = 1 or 3",
        ),
        (
            metadata_with(r#""crop": 8"#, r#""crop": 8, "meen": 1"#),
            "unknown field `meen`",
        ),
        (
            metadata_with(r#""name": "tiny""#, r#""name": "tiny", "lables": []"#),
            "unknown field `lables`",
        ),
        ("".to_string(), "not valid JSON"),
        ("[1, 2]".to_string(), "a JSON object"),
    ];
    for (json, expected) in cases {
        let e = metadata_err(&json);
        assert!(e.starts_with("model metadata: "), "{e}");
        assert!(e.contains(expected), "{e:?} does not contain {expected:?}");
    }
}

/// Errors only the model file can reveal: the metadata parses, the file contradicts it.
#[test]
fn metadata_that_contradicts_the_file_names_the_field() {
    let model = valid_model().encode_to_vec();
    let cases = [
        (
            metadata_with(
                r#""labels": ["a", "b", "c", "d"]"#,
                r#""labels": ["a", "b"]"#,
            ),
            "field `labels`: 2 labels, but the model's output gives 4 scores",
        ),
        (
            metadata_with(r#""name": "x""#, r#""name": "image""#),
            "field `input.name`: the model has no input 'image' (its inputs: 'x' [1, 3, 8, 8])",
        ),
        (
            metadata_with(r#""shape": [1, 3, 8, 8], "#, "").replace(r#""crop": 8"#, r#""crop": 6"#),
            "field `preprocess.crop`: 6 does not match the input's 8 x 8",
        ),
        (
            metadata_with(r#""shape": [1, 3, 8, 8]"#, r#""shape": [1, 8, 8, 3]"#)
                .replace(r#""layout": "NCHW""#, r#""layout": "NHWC""#),
            "a layout problem",
        ),
    ];
    for (json, expected) in cases {
        let meta = ModelMetadata::from_json(&json).expect("parses");
        match Classifier::new(&model, meta) {
            Ok(_) => panic!("accepted {json}"),
            Err(e) => assert!(
                e.to_string().contains(expected),
                "{e} does not contain {expected:?}"
            ),
        }
    }
}

/// A file alone is enough: every field of the metadata has a default from the file.
#[test]
fn empty_metadata_takes_its_defaults_from_the_file() {
    let model = valid_model().encode_to_vec();
    let c = Classifier::new(&model, ModelMetadata::from_json("{}").unwrap()).unwrap();
    let m = c.metadata();
    assert_eq!(m.input.name, "x");
    assert_eq!(m.input.shape, [1, 3, SIDE as usize, SIDE as usize]);
    assert_eq!(m.input.layout, "NCHW");
    assert_eq!(m.labels, ["class 0", "class 1", "class 2", "class 3"]);
    assert_eq!(m.preprocess.mean, quantscope::model::IMAGENET_MEAN);
    // 8 * 256 / 224 = 9.14
    assert_eq!(m.preprocess.resize_shorter, Some(9));
    assert!(!m.name.is_empty());
    // The resolved metadata is itself valid metadata, and loads to the same; its numbers read
    // as written.
    let again = serde_json::to_string(m).unwrap();
    assert!(again.contains("[123.675,116.28,103.53]"), "{again}");
    let c2 = Classifier::new(&model, ModelMetadata::from_json(&again).unwrap()).unwrap();
    assert_eq!(c2.metadata(), m);
    let img = quantscope::image::from_rgba(30, 20, vec![90; 30 * 20 * 4]).unwrap();
    assert_eq!(
        c.input_tensor(&img).shape(),
        &[1, 3, SIDE as usize, SIDE as usize]
    );
}
