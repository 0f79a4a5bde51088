//! A trainable [`Sequential`] from an imported model: any chain of the layers the training
//! engine has (convolution, ReLU, 2x2 max pool, flatten, dense), so QAT can fine-tune
//! `models/fmnist-cnn.onnx` or a visitor's file of the same form.

use super::layers::{Conv2d, Dense, Flatten, Layer, MaxPool2d, Relu};
use super::net::Sequential;
use super::rng::SplitMix64;
use super::tensor::Shape;
use crate::ir::{Activation, Graph, Op};
use crate::{Error, Result};

/// Why a graph is not a chain the training engine can run.
fn unsupported(what: String) -> Error {
    Error::Input(format!(
        "QAT fine-tunes a chain of Conv (square kernel, one group), Relu, MaxPool 2x2, Flatten \
         and Gemm layers: {what}"
    ))
}

/// The layers after a fused activation: ReLU, or nothing.
fn activation_layer(activation: Activation, node: &str) -> Result<Option<Layer>> {
    if activation.is_none() {
        Ok(None)
    } else if activation == Activation::RELU {
        Ok(Some(Layer::Relu(Relu::new())))
    } else {
        Err(unsupported(format!(
            "node '{node}' clamps to [{}, {}]",
            activation.min, activation.max
        )))
    }
}

impl Sequential {
    /// The network `graph` computes, layer for layer (fused ReLUs split out again). The
    /// graph must be one chain from its `[1, C, H, W]` input to its one output.
    pub fn from_graph(graph: &Graph) -> Result<Sequential> {
        let (&[input], &[output]) = (graph.inputs.as_slice(), graph.outputs.as_slice()) else {
            return Err(unsupported(format!(
                "the model has {} inputs and {} outputs",
                graph.inputs.len(),
                graph.outputs.len()
            )));
        };
        let &[1, c, h, w] = graph.shape(input) else {
            return Err(unsupported(format!(
                "the input is {:?}, not [1, C, H, W]",
                graph.shape(input)
            )));
        };
        // The weights are overwritten; the generator only satisfies the constructors.
        let mut rng = SplitMix64::new(0);
        let mut layers = Vec::new();
        let mut current = input;
        for node in &graph.nodes {
            if node.inputs.first() != Some(&current) || node.outputs.len() != 1 {
                return Err(unsupported(format!(
                    "node '{}' ({}) does not continue the chain",
                    node.name,
                    node.op.kind()
                )));
            }
            let name = node.name.as_str();
            match &node.op {
                Op::Conv(conv) => {
                    let [o, ci, kh, kw] = *conv.weight.shape() else {
                        unreachable!("Conv weights are 4-D")
                    };
                    let [s0, s1] = conv.strides;
                    let square =
                        kh == kw && s0 == s1 && conv.pads.iter().all(|&p| p == conv.pads[0]);
                    if conv.group != 1 || !square || conv.dilations != [1, 1] {
                        return Err(unsupported(format!(
                            "Conv '{name}' has group {}, kernel {kh}x{kw}, strides {:?}, pads \
                             {:?}, dilations {:?}",
                            conv.group, conv.strides, conv.pads, conv.dilations
                        )));
                    }
                    let mut layer = Conv2d::new(name, (ci, o), (kh, s0, conv.pads[0]), &mut rng);
                    layer.weight.value = conv.weight.iter().copied().collect();
                    layer.bias.value = conv.bias.clone();
                    layers.push(Layer::Conv2d(layer));
                    layers.extend(activation_layer(conv.activation, name)?);
                }
                Op::Gemm(gemm) => {
                    let (outputs, inputs) = gemm.weight.dim();
                    if gemm.trans_a {
                        return Err(unsupported(format!("Gemm '{name}' transposes its input")));
                    }
                    let mut layer = Dense::new(name, inputs, outputs, &mut rng);
                    layer.weight.value = gemm.weight.iter().copied().collect();
                    layer.bias.value = match &gemm.bias {
                        None => vec![0.0; outputs],
                        Some(b) if b.len() == outputs => b.iter().copied().collect(),
                        Some(b) => {
                            return Err(unsupported(format!(
                                "Gemm '{name}' has a bias of shape {:?}",
                                b.shape()
                            )))
                        }
                    };
                    layers.push(Layer::Dense(layer));
                    layers.extend(activation_layer(gemm.activation, name)?);
                }
                Op::Relu => layers.push(Layer::Relu(Relu::new())),
                Op::MaxPool(p)
                    if p.kernel == [2, 2]
                        && p.strides == [2, 2]
                        && p.pads == [0; 4]
                        && p.dilations == [1, 1]
                        && !p.ceil_mode =>
                {
                    layers.push(Layer::MaxPool2d(MaxPool2d::new()))
                }
                Op::Flatten(f) if f.axis == 1 => layers.push(Layer::Flatten(Flatten::new())),
                Op::Identity => {}
                op => {
                    return Err(unsupported(format!(
                        "node '{name}' is a {} with these attributes",
                        op.kind()
                    )))
                }
            }
            current = node.outputs[0];
        }
        if current != output {
            return Err(unsupported("the chain does not end at the output".into()));
        }
        let net = Sequential {
            input: Shape::new(c, 1, h, w),
            layers,
        };
        net.output_shape(net.input)?;
        Ok(net)
    }
}
