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
//! Also: the dynamic-range int8 variant stays close to float in wasm.
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
static NATIVE_LOWBIT_LOGITS: &[u8] = include_bytes!(env!(
    "QUANTSCOPE_WASM_NATIVE_LOWBIT_LOGITS",
    "set QUANTSCOPE_WASM_NATIVE_LOWBIT_LOGITS to the native w4a8-kmeans then w2a8 logits (see tests/wasm_efficientnet.rs; make test-wasm sets it)"
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
    let logits = assert_static_variant_bit_identical("w8a8", &f32s(NATIVE_INT8_LOGITS));
    let top1 = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
    assert_eq!(top1, Some(ESPRESSO), "int8 top-1 in wasm");
}

/// Packed 4-bit k-means codes (table lookups by swizzle) and 2-bit uniform codes, decoded a
/// panel at a time by the SIMD128 kernels: the same logits as natively (scalar decode), bit for
/// bit. The native file holds the two variants' logits one after the other.
#[wasm_bindgen_test]
fn efficientnet_low_bit_bit_identical_to_native() {
    let native = f32s(NATIVE_LOWBIT_LOGITS);
    let (kmeans, two) = native.split_at(native.len() / 2);
    assert_static_variant_bit_identical("w4a8-kmeans", kmeans);
    assert_static_variant_bit_identical("w2a8", two);
}

/// The static variant `spec` built from the native calibration ranges gives `native`'s logits
/// (returned).
fn assert_static_variant_bit_identical(spec: &str, native: &[f32]) -> Vec<f32> {
    let meta = ModelMetadata::from_json(META).expect("metadata JSON");
    let float = Classifier::new(MODEL, meta).expect("model imports");
    let ranges = serde_json::from_str(RANGES).expect("ranges JSON");
    let quantscope::quant::VariantSpec::Static(scheme) =
        quantscope::quant::VariantSpec::parse(spec).expect("spec")
    else {
        panic!("{spec} is not static")
    };
    let int8 = float
        .with_ranges(&ranges, &scheme.into())
        .expect("variant builds");
    let img = quantscope::image::decode(IMAGE).expect("sample decodes");
    let logits = int8.logits(&int8.input_tensor(&img)).expect("variant runs");
    assert_eq!(logits.len(), native.len(), "number of logits");
    let differing: Vec<usize> = (0..logits.len())
        .filter(|&i| logits[i].to_bits() != native[i].to_bits())
        .collect();
    console_log!(
        "wasm vs native {spec} logits: {} of {} differ",
        differing.len(),
        logits.len()
    );
    assert!(
        differing.is_empty(),
        "{spec} logits differ at {} classes, first {:?}: wasm {} native {}",
        differing.len(),
        differing.first(),
        logits[differing[0]],
        native[differing[0]]
    );
    logits
}

fn get(v: &wasm_bindgen::JsValue, key: &str) -> wasm_bindgen::JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or_else(|_| panic!("no field {key}"))
}

fn num(v: &wasm_bindgen::JsValue, key: &str) -> f64 {
    get(v, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

/// The teaching page's calls through the JavaScript API of the wasm build: layers, a layer's
/// view at 4 bits, the staircase with a bucket, the bit-depth series with its pixels, and the
/// probabilities classify returns. Bad arguments are errors, not traps.
#[wasm_bindgen_test]
fn teaching_api_through_the_bindings() {
    use js_sys::{Array, Uint8ClampedArray};
    use quantscope::wasm::Model;

    let model = Model::new(MODEL, META).expect("model loads");
    let layers = Array::from(&model.layers().expect("layers"));
    assert_eq!(
        layers.length(),
        50,
        "Conv/Gemm layers of EfficientNet-Lite0"
    );
    let name = |i: u32| get(&layers.get(i), "name").as_string().unwrap();
    let depthwise = (0..layers.length())
        .find(|&i| {
            get(&layers.get(i), "depthwise").as_bool() == Some(true) && name(i).contains('7')
        })
        .map(name)
        .expect("a depthwise layer in block 7");

    let per_channel = model
        .layer_view(&depthwise, "w4a8-minmax", 32)
        .expect("view");
    let per_tensor = model
        .layer_view(&depthwise, "w4a8-minmax-tensor", 32)
        .expect("view");
    assert_eq!(
        Array::from(&get(&per_tensor, "levels")).length(),
        15,
        "2^4 - 1 levels"
    );
    assert!(
        get(&per_tensor, "simulated").is_undefined(),
        "4 bits run in the engine"
    );
    let kmeans = model
        .layer_view(&depthwise, "w4a8-kmeans", 32)
        .expect("view");
    assert_eq!(
        get(&kmeans, "levels_kind").as_string().as_deref(),
        Some("kmeans")
    );
    assert!(Array::from(&get(&kmeans, "centroids")).length() <= 16);
    assert!(num(&kmeans, "clustering_sqnr_db") > 0.0);
    assert!(
        num(&per_channel, "sqnr_db") > num(&per_tensor, "sqnr_db") + 10.0,
        "per channel should beat per tensor by far on a depthwise layer"
    );

    let stairs = model
        .staircase(&depthwise, "w3a8", 64, Some(0.1))
        .expect("staircase");
    assert_eq!(Array::from(&get(&stairs, "x")).length(), 64);
    let bucket = get(&stairs, "bucket");
    let error = num(&bucket, "value") - num(&bucket, "dequantized");
    assert!((num(&bucket, "error") - error).abs() < 1e-6);

    let series = model.bit_depth_encoded(IMAGE, Some(64)).expect("bit depth");
    let (w, h) = (num(&series, "width"), num(&series, "height"));
    assert_eq!(w.max(h), 64.0);
    let entries = Array::from(&get(&series, "entries"));
    assert_eq!(entries.length(), 9);
    for e in entries.iter() {
        let pixels = Uint8ClampedArray::from(get(&e, "pixels"));
        assert_eq!(pixels.length() as f64, w * h * 4.0);
        assert!(get(&get(&e, "top1"), "label").is_string());
    }

    let result = model.classify_encoded(IMAGE).expect("classify");
    let probs = Array::from(&get(&result, "probs"));
    assert_eq!(probs.length(), 1000);
    let sum: f64 = probs.iter().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");

    for bad in [
        model.layer_view("no-such-layer", "w8a8", 16).err(),
        model.layer_view(&depthwise, "w9a8", 16).err(),
        model.layer_view(&depthwise, "fp16", 16).err(),
        model.staircase(&depthwise, "w8a8", 1, None).err(),
        model.bit_depth_encoded(b"not an image", None).err(),
        model.bit_depth_encoded(IMAGE, Some(4)).err(),
    ] {
        assert!(bad.is_some(), "a bad argument must be an error");
    }
}

/// Dynamic-range int8 in wasm (SIMD128 range scan and conversion of every layer's input): stays
/// close to the float logits and keeps espresso, as natively (`tests/int8.rs`).
#[wasm_bindgen_test]
fn efficientnet_int8_dynamic_close_to_float() {
    use quantscope::classifier::{QuantizeOptions, Variant};
    let meta = ModelMetadata::from_json(META).expect("metadata JSON");
    let float = Classifier::new(MODEL, meta).expect("model imports");
    let options = QuantizeOptions {
        variant: Variant::INT8_DYNAMIC,
        ..Default::default()
    };
    let dynamic = float
        .quantize(&options, &[], &mut |_, _| {})
        .expect("dynamic variant builds");
    let img = quantscope::image::decode(IMAGE).expect("sample decodes");
    let x = float.input_tensor(&img);
    let (f, d) = (
        float.logits(&x).expect("float runs"),
        dynamic.logits(&x).expect("dynamic runs"),
    );
    let signal: f64 = f.iter().map(|&v| f64::from(v).powi(2)).sum();
    let noise: f64 = f
        .iter()
        .zip(&d)
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum();
    let sqnr = 10.0 * (signal / noise).log10();
    console_log!("wasm int8-dynamic logits vs float: {sqnr:.2} dB");
    assert!(sqnr > 10.0, "int8-dynamic SQNR {sqnr:.2} dB <= 10");
    let top5 = dynamic.predictions(&d, 5);
    assert_eq!(
        top5[0].index, ESPRESSO,
        "int8-dynamic top-5 in wasm: {top5:?}"
    );
}
