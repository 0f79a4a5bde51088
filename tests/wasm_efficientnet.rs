//! EfficientNet-Lite0 in wasm (SIMD128) against the native build: same image, same
//! preprocessing, logits within 1e-4 of the native ones, top-1 espresso (967).
//!
//! samples/coffee.png is embedded by a relative path; the generated files come from absolute
//! paths in these environment variables, read at compile time (the Makefile sets them; they
//! are needed only when this test is built for wasm32):
//!
//! - `QUANTSCOPE_WASM_MODEL`: models/efficientnet-lite0.onnx
//! - `QUANTSCOPE_WASM_META`: models/efficientnet-lite0.json
//! - `QUANTSCOPE_WASM_NATIVE_LOGITS`: the native logits of that image, written by
//!   `quantscope logits --model M samples/coffee.png --out FILE` (little-endian f32)
//! - `QUANTSCOPE_WASM_RANGES`: activation ranges from a native calibration
//!   (`quantscope quantize --model M --calib samples --ranges-out FILE`)
//! - `QUANTSCOPE_WASM_NATIVE_INT8_LOGITS`: the native static int8 logits of the image with those
//!   ranges (`quantscope logits --variant int8 --ranges FILE ...`): wasm must match bit for bit
//!
//! Runs in node and, with `WASM_BINDGEN_USE_BROWSER=1`, in headless Chromium.
//! Natively this file compiles to an empty test crate.
#![cfg(target_arch = "wasm32")]

use quantscope::classifier::Classifier;
use quantscope::model::ModelMetadata;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

static MODEL: &[u8] = include_bytes!(env!(
    "QUANTSCOPE_WASM_MODEL",
    "set QUANTSCOPE_WASM_MODEL to the absolute path of the ONNX model (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
));
static META: &str = include_str!(env!(
    "QUANTSCOPE_WASM_META",
    "set QUANTSCOPE_WASM_META to the absolute path of the metadata JSON (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
));
static IMAGE: &[u8] = include_bytes!("../samples/coffee.png");
static NATIVE_LOGITS: &[u8] = include_bytes!(env!(
    "QUANTSCOPE_WASM_NATIVE_LOGITS",
    "set QUANTSCOPE_WASM_NATIVE_LOGITS to the absolute path of the native logits file (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
));

static RANGES: &str = include_str!(env!(
    "QUANTSCOPE_WASM_RANGES",
    "set QUANTSCOPE_WASM_RANGES to the absolute path of a ranges JSON (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
));
static NATIVE_INT8_LOGITS: &[u8] = include_bytes!(env!(
    "QUANTSCOPE_WASM_NATIVE_INT8_LOGITS",
    "set QUANTSCOPE_WASM_NATIVE_INT8_LOGITS to the absolute path of the native int8 logits (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
));

fn f32s(bytes: &[u8]) -> Vec<f32> {
    assert_eq!(bytes.len() % 4, 0, "logits file is not f32");
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// ImageNet class 967, "espresso".
const ESPRESSO: usize = 967;
const TOLERANCE: f32 = 1e-4;

#[wasm_bindgen_test]
fn efficientnet_logits_match_native() {
    let meta = ModelMetadata::from_json(META).expect("metadata JSON");
    let classifier = Classifier::new(MODEL, meta).expect("model imports");
    let img = quantscope::image::decode(IMAGE).expect("sample decodes");
    let logits = classifier
        .logits(&classifier.input_tensor(&img))
        .expect("model runs");

    let native = f32s(NATIVE_LOGITS);
    assert_eq!(logits.len(), native.len(), "number of logits");

    let (worst, max_diff) = logits
        .iter()
        .zip(&native)
        .map(|(w, n)| (w - n).abs())
        .enumerate()
        .fold(
            (0, 0.0f32),
            |acc, (i, d)| if d > acc.1 { (i, d) } else { acc },
        );
    console_log!(
        "wasm vs native EfficientNet-Lite0 logits: max |diff| = {max_diff:.3e} (class {worst}, \
         wasm {}, native {})",
        logits[worst],
        native[worst]
    );
    assert!(
        logits.iter().all(|v| v.is_finite()),
        "non-finite logits in wasm"
    );
    assert!(
        max_diff <= TOLERANCE,
        "max |wasm - native| = {max_diff:e} at class {worst} exceeds {TOLERANCE:e}"
    );

    let top5 = classifier.predictions(&logits, 5);
    console_log!(
        "wasm top-1: {} {} ({:.4})",
        top5[0].index,
        top5[0].label,
        top5[0].prob
    );
    assert_eq!(top5[0].index, ESPRESSO, "top-5 in wasm: {top5:?}");
}

/// Integer arithmetic has no rounding freedom: with the same ranges, the int8 model computes the
/// same codes in wasm (SIMD128 kernels) as natively (scalar kernels), so the dequantized logits
/// are equal bit for bit.
#[wasm_bindgen_test]
fn efficientnet_int8_bit_identical_to_native() {
    let meta = ModelMetadata::from_json(META).expect("metadata JSON");
    let float = Classifier::new(MODEL, meta).expect("model imports");
    let ranges = serde_json::from_str(RANGES).expect("ranges JSON");
    let int8 = float.with_ranges(&ranges, true).expect("int8 model builds");
    let img = quantscope::image::decode(IMAGE).expect("sample decodes");
    let logits = int8
        .logits(&int8.input_tensor(&img))
        .expect("int8 model runs");
    let native = f32s(NATIVE_INT8_LOGITS);
    assert_eq!(logits.len(), native.len(), "number of logits");
    let differing: Vec<usize> = (0..logits.len())
        .filter(|&i| logits[i].to_bits() != native[i].to_bits())
        .collect();
    console_log!(
        "wasm vs native int8 logits: {} of {} differ",
        differing.len(),
        logits.len()
    );
    assert!(
        differing.is_empty(),
        "int8 logits differ at {} classes, first {:?}: wasm {} native {}",
        differing.len(),
        differing.first(),
        logits[differing[0]],
        native[differing[0]]
    );
    let top5 = int8.predictions(&logits, 5);
    assert_eq!(top5[0].index, ESPRESSO, "int8 top-5 in wasm: {top5:?}");
}
