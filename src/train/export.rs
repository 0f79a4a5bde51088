//! The trained network as an ONNX model (batch norms folded) and its metadata JSON: loaded by
//! [`crate::classifier::Classifier::new`] like any visitor's file, and by onnxruntime.
//!
//! Layers map one to one: convolution to `Conv` (with bias), ReLU to `Relu`, the 2x2 pool to
//! `MaxPool`, flatten to `Flatten`, dense to `Gemm` (`transB = 1`: the `[out, in]` weights as
//! they are). Input `image` `[batch, 1, 28, 28]` (batch symbolic), output `logits`
//! `[batch, classes]`.

use super::layers::Layer;
use super::net::Sequential;
use super::{FASHION_MNIST_MEAN, FASHION_MNIST_STD};
use crate::data::FASHION_MNIST_CLASSES;
use crate::export::build::{attr_int, attr_usizes, node, tensor_f32};
use crate::export::{IR_VERSION, OPSET};
use crate::model::{InputSpec, ModelMetadata, Preprocess, Resize};
use crate::onnx::proto::{
    data_type, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use crate::{Error, Result};

/// The input's name in the ONNX file and the metadata.
pub const INPUT_NAME: &str = "image";
/// The output's name in the ONNX file.
pub const OUTPUT_NAME: &str = "logits";

/// The name of layer `i`'s output value (of `kind`, out of layers `0..=last`) in the exported
/// model: the output's name for the last, `<kind>_<i>` for the others. QAT names its
/// activation ranges with it.
pub fn value_name(kind: &str, i: usize, last: usize) -> String {
    if i == last {
        OUTPUT_NAME.to_string()
    } else {
        format!("{kind}_{i}")
    }
}

/// A float tensor value whose first dimension is the symbolic `batch`.
fn batched_value(name: &str, rest: &[usize]) -> ValueInfoProto {
    let dim = |value| Dimension { value: Some(value) };
    let dims = std::iter::once(dim(DimensionValue::DimParam("batch".into())))
        .chain(
            rest.iter()
                .map(|&d| dim(DimensionValue::DimValue(d as i64))),
        )
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim: dims }),
            }),
        }),
    }
}

/// The ONNX model of `net` in evaluation mode, batch norms folded (`name` is the graph's).
pub fn onnx_model(net: &Sequential, name: &str) -> Result<ModelProto> {
    let folded = net.fold_batchnorm()?;
    let mut nodes: Vec<NodeProto> = Vec::new();
    let mut inits: Vec<TensorProto> = Vec::new();
    let mut current = INPUT_NAME.to_string();
    let last = folded.layers.len().saturating_sub(1);
    for (i, layer) in folded.layers.iter().enumerate() {
        let out = value_name(layer.kind(), i, last);
        let node_name = format!("{}_{i}", layer.kind());
        let inputs = |extra: &[&str]| {
            std::iter::once(current.clone())
                .chain(extra.iter().map(|s| s.to_string()))
                .collect()
        };
        let n = match layer {
            Layer::Conv2d(c) => {
                let k = c.kernel;
                let w = c.effective_weight();
                inits.push(tensor_f32(
                    &c.weight.name,
                    &[c.out_channels, c.in_channels, k, k],
                    w,
                ));
                inits.push(tensor_f32(&c.bias.name, &[c.out_channels], &c.bias.value));
                let attrs = vec![
                    attr_usizes("kernel_shape", &[k, k]),
                    attr_usizes("strides", &[c.stride, c.stride]),
                    attr_usizes("pads", &[c.pad; 4]),
                ];
                let ins = inputs(&[&c.weight.name, &c.bias.name]);
                node("Conv", node_name, ins, vec![out.clone()], attrs)
            }
            Layer::Dense(d) => {
                let w = d.effective_weight();
                inits.push(tensor_f32(&d.weight.name, &[d.outputs, d.inputs], w));
                inits.push(tensor_f32(&d.bias.name, &[d.outputs], &d.bias.value));
                let ins = inputs(&[&d.weight.name, &d.bias.name]);
                node(
                    "Gemm",
                    node_name,
                    ins,
                    vec![out.clone()],
                    vec![attr_int("transB", 1)],
                )
            }
            Layer::Relu(_) => node("Relu", node_name, inputs(&[]), vec![out.clone()], vec![]),
            Layer::MaxPool2d(_) => {
                let attrs = vec![
                    attr_usizes("kernel_shape", &[2, 2]),
                    attr_usizes("strides", &[2, 2]),
                ];
                node("MaxPool", node_name, inputs(&[]), vec![out.clone()], attrs)
            }
            Layer::Flatten(_) => node(
                "Flatten",
                node_name,
                inputs(&[]),
                vec![out.clone()],
                vec![attr_int("axis", 1)],
            ),
            Layer::BatchNorm2d(_) => unreachable!("fold_batchnorm removed every batch norm"),
            Layer::ActQuant(_) => {
                return Err(Error::Input(
                    "fake quantization is not exported: export qat::float_network(net) with \
                     its ranges"
                        .into(),
                ))
            }
        };
        nodes.push(n);
        current = out;
    }
    let input = folded.input;
    let output = folded.output_shape(input)?;
    if output.plane() != 1 {
        return Err(Error::Input(format!(
            "the network's output {output} is not one score vector per image"
        )));
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: name.into(),
            initializer: inits,
            input: vec![batched_value(INPUT_NAME, &[input.c, input.h, input.w])],
            output: vec![batched_value(OUTPUT_NAME, &[output.c])],
            value_info: vec![],
        }),
    })
}

/// The ONNX bytes of `net` (see [`onnx_model`]).
pub fn onnx_bytes(net: &Sequential, name: &str) -> Result<Vec<u8>> {
    Ok(prost::Message::encode_to_vec(&onnx_model(net, name)?))
}

/// The metadata of the Fashion-MNIST CNN: the input, the training's normalisation (one grey
/// channel: its mean and std written three times), stretch to 28x28, the ten class names.
pub fn fashion_mnist_metadata(source: &str) -> ModelMetadata {
    ModelMetadata {
        name: "Fashion-MNIST CNN (trained by quantscope)".into(),
        input: InputSpec {
            name: INPUT_NAME.into(),
            shape: vec![1, 1, 28, 28],
            layout: "NCHW".into(),
        },
        preprocess: Preprocess {
            resize: Resize::Stretch,
            mean: [FASHION_MNIST_MEAN; 3],
            std: [FASHION_MNIST_STD; 3],
            ..Preprocess::default()
        },
        labels: FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        source: source.into(),
        license: "MIT (Fashion-MNIST data)".into(),
    }
}
