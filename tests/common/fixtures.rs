//! Small deterministic inputs shared by the native and the wasm tests (included by path, so a
//! wasm test takes only this file): a tiny valid classifier as ONNX, IDX image and label files,
//! and the message of a wasm `JsError`.
#![allow(dead_code)]

use quantscope::onnx::proto::{
    data_type, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};

/// A tensor value info of `elem_type` with fixed `dims`.
pub fn value_info(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
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
                elem_type,
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

/// A tiny valid classifier: x [1, channels, side, side] -> Conv 3x3 (`classes` filters,
/// weights `weight(i)`) -> Relu -> GlobalAveragePool -> Flatten -> logits [1, classes].
pub fn tiny_classifier(
    channels: usize,
    side: usize,
    classes: usize,
    weight: impl Fn(usize) -> f32,
) -> ModelProto {
    let dims = |d: &[usize]| d.iter().map(|&d| d as i64).collect::<Vec<_>>();
    ModelProto {
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
                dims: dims(&[classes, channels, 3, 3]),
                data_type: data_type::FLOAT,
                float_data: (0..classes * channels * 9).map(weight).collect(),
                name: "w".into(),
                ..Default::default()
            }],
            input: vec![value_info(
                "x",
                data_type::FLOAT,
                &dims(&[1, channels, side, side]),
            )],
            output: vec![value_info("logits", data_type::FLOAT, &dims(&[1, classes]))],
            value_info: vec![],
        }),
    }
}

/// IDX image and label files (not gzipped; the reader takes both) of `count` pictures of
/// `side` x `side` pixels, labelled `i % classes`.
pub fn idx_files(count: usize, side: usize, classes: usize) -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0, 0, 8, 3];
    for d in [count, side, side] {
        images.extend((d as u32).to_be_bytes());
    }
    images.extend((0..count * side * side).map(|i| ((i * 37) % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend((count as u32).to_be_bytes());
    labels.extend((0..count).map(|i| (i % classes) as u8));
    (images, labels)
}

/// The message of an error a wasm binding returned.
#[cfg(target_arch = "wasm32")]
pub fn js_message(e: wasm_bindgen::JsError) -> String {
    use wasm_bindgen::JsCast;
    wasm_bindgen::JsValue::from(e)
        .dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}
