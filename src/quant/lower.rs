//! Static (full-integer) quantization of a float graph: every value that flows between nodes
//! gets int8 parameters from its calibrated range, every Conv/Gemm gets int8 weights, an int32
//! bias and fixed-point multipliers. The result, [`QuantizedGraph`], is what the int8 executor
//! runs; nothing here knows about kernels.
//!
//! Per op (`x` input, `y` output, `w` weights, all `r = S (q - Z)`):
//!
//! ```text
//! Conv, Gemm   q_y = Z_y + M[c] * (b_q[c] + sum w_q (q_x - Z_x))   M[c] = S_x S_w[c] / S_y
//!              b_q[c] = round(b[c] / (S_x S_w[c]))  (S_b = S_x S_w, Z_b = 0)
//!              a fused ReLU/ReLU6 is the clamp [q(0), q(6)] on q_y
//! Add          both inputs are brought to a common scale 2 max(S_a, S_b) with 20 bits of
//!              headroom (TFLite's scheme), added in int32, then requantized to S_y
//! Average      q_y = Z_y + (S_x / (S_y n)) * sum (q_x - Z_x)   (GlobalAveragePool, AveragePool)
//! MaxPool, Flatten, Reshape, Identity, Relu, Clip: S_y = S_x, Z_y = Z_x (max and clamps
//!              commute with a monotonic affine map)
//! Concat       each input requantized to S_y: q_y = Z_y + (S_i / S_y)(q_i - Z_i)
//! Softmax      only as the last node: the executor dequantizes its input and runs it in f32
//! ```

use super::scheme::{LayerSchemes, Scheme};
use super::weights::QuantizedWeights;
use super::{Multiplier, QuantParams};
use crate::ir::ops::PadMode;
use crate::ir::{Activation, Graph, Node, Op, ValueId};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Fractional bits of headroom when adding two int8 values at a common scale (TFLite).
pub const ADD_LEFT_SHIFT: u32 = 20;

/// A Conv or Gemm in integers.
#[derive(Clone, Debug)]
pub struct QLinear {
    /// Weights `[out_channels, in_channels / group * kh * kw]` (Gemm: `[N, K]`).
    pub weights: QuantizedWeights,
    /// Bias per output channel, in units of `S_x S_w[c]`.
    pub bias: Vec<i32>,
    /// `S_x S_w[c] / S_y` per output channel.
    pub multipliers: Vec<Multiplier>,
    /// Output clamp in codes (the type's range, tightened by a fused activation).
    pub min: i8,
    /// Upper clamp.
    pub max: i8,
}

/// How one node computes in integers.
#[derive(Clone, Debug)]
pub enum QLayer {
    /// Conv or Gemm.
    Linear(QLinear),
    /// Rescaled sum: input multipliers to the common scale, then the output multiplier.
    Add {
        /// `S_a / (2 max(S_a, S_b))`.
        a: Multiplier,
        /// `S_b / (2 max(S_a, S_b))`.
        b: Multiplier,
        /// `2 max(S_a, S_b) / (2^20 S_y)`.
        out: Multiplier,
    },
    /// Elementwise product, one operand broadcast per block ([`Op::broadcast_block`]).
    Mul {
        /// `S_a S_b / S_y`.
        out: Multiplier,
    },
    /// GlobalAveragePool / AveragePool: `S_x / S_y`, divided by the tap count at run time.
    Average {
        /// `S_x / S_y`.
        ratio: f64,
    },
    /// Concat: per input, the multiplier to the output scale (`None`: same parameters, copy).
    Concat(Vec<Option<Multiplier>>),
    /// Relu / Clip alone: a clamp in codes.
    Clamp {
        /// Lower code.
        min: i8,
        /// Upper code.
        max: i8,
    },
    /// Pad: codes moved, the new places filled with `fill` (the pad value's code; the
    /// reflect and edge modes never read it).
    Pad {
        /// The code of the constant pad value.
        fill: i8,
    },
    /// MaxPool, Flatten, Reshape, Identity, Transpose, Slice, Gather: codes unchanged (moved
    /// or selected, never computed).
    Same,
    /// A unary elementwise op (Sigmoid, ...): a 256-entry table from input to output codes,
    /// which the int8 executor computes with the op's own f32 code (exact for int8 input).
    Lookup,
    /// A node without an int8 form, run in f32 on its dequantized inputs (a "float island");
    /// its output is quantized with its calibrated range, unless it is a graph output nothing
    /// else reads (a final Softmax), which stays f32.
    Float {
        /// Why the node has no int8 form.
        reason: String,
    },
}

/// A graph with everything the int8 executor needs.
#[derive(Clone, Debug)]
pub struct QuantizedGraph {
    /// The float graph (structure, shapes, names).
    pub graph: Graph,
    /// Parameters of every value computed in int8 (by value id); `None` for float values.
    pub params: Vec<Option<QuantParams>>,
    /// One entry per node of `graph`, in order.
    pub layers: Vec<QLayer>,
    /// The scheme of every layer.
    pub schemes: LayerSchemes,
}

/// A node that runs in f32 in an int8 variant, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FloatNode {
    /// Node name.
    pub name: String,
    /// Op kind, as in ONNX.
    pub op: &'static str,
    /// Why it has no int8 form.
    pub reason: String,
}

impl QuantizedGraph {
    /// The nodes that run in f32 (float islands), in execution order.
    pub fn float_nodes(&self) -> Vec<FloatNode> {
        self.graph
            .nodes
            .iter()
            .zip(&self.layers)
            .filter_map(|(n, layer)| match layer {
                QLayer::Float { reason } => Some(FloatNode {
                    name: n.name.clone(),
                    op: n.op.kind(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

/// The activation parameters of today's int8 for a calibrated range: asymmetric, full 8-bit
/// range ([`Scheme::act_params`] of [`Scheme::W8A8`]).
pub fn activation_params(min: f32, max: f32) -> QuantParams {
    Scheme::W8A8.act_params(min, max)
}

fn unsupported(node: &Node, what: impl Into<String>) -> Error {
    Error::Unsupported {
        node: node.name.clone(),
        op_type: node.op.kind().into(),
        what: what.into(),
    }
}

fn multiplier(node: &Node, m: f64) -> Result<Multiplier> {
    Multiplier::from_f64(m).ok_or_else(|| {
        unsupported(
            node,
            format!("int8 rescale factor {m:e} is outside what an int32 pipeline represents"),
        )
    })
}

/// `[lo, hi]` codes of a fused activation under `p` (the range's codes without one).
fn clamp_codes(act: Activation, p: &QuantParams) -> (i8, i8) {
    let lo = if act.min.is_finite() {
        p.quantize(act.min)
    } else {
        p.range.qmin() as i8
    };
    let hi = if act.max.is_finite() {
        p.quantize(act.max)
    } else {
        p.range.qmax() as i8
    };
    (lo, hi.max(lo))
}

/// Quantizes `graph` for integer execution with activation ranges by value name (from
/// calibration) and a scheme per layer (a node's scheme also sets its output's activation
/// grid, at 8 bits for a model output ([`Scheme::output_grid`]); the graph input takes the
/// default scheme's).
pub fn quantize_static(
    graph: &Graph,
    ranges: &BTreeMap<String, (f32, f32)>,
    schemes: &LayerSchemes,
) -> Result<QuantizedGraph> {
    let mut params: Vec<Option<QuantParams>> = vec![None; graph.values.len()];
    let calibrated_as = |v: ValueId, scheme: &Scheme| -> Result<QuantParams> {
        let name = &graph.values[v].name;
        ranges
            .get(name)
            .map(|&(lo, hi)| scheme.act_params(lo, hi))
            .ok_or_else(|| {
                Error::Input(format!(
                    "calibration has no range for value '{name}': calibrate this model first"
                ))
            })
    };
    for &i in &graph.inputs {
        params[i] = Some(calibrated_as(i, &schemes.default)?);
    }
    let uses = graph.use_counts();
    let mut layers = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let scheme = schemes.for_layer(&node.name);
        let output_scheme = scheme.output_grid();
        let calibrated = |v: ValueId| {
            let grid = if graph.outputs.contains(&v) {
                &output_scheme
            } else {
                scheme
            };
            calibrated_as(v, grid)
        };
        let input = |j: usize| -> Result<QuantParams> {
            let v = node.inputs[j];
            params[v].ok_or_else(|| {
                unsupported(
                    node,
                    format!(
                        "input '{}' is not an int8 value (a constant or a float result)",
                        graph.values[v].name
                    ),
                )
            })
        };
        let out = node.outputs[0];
        let lowered = (|| -> Result<(QLayer, Option<QuantParams>)> {
            Ok(match &node.op {
                Op::Conv(c) => {
                    let w: Vec<f32> = c.weight.iter().copied().collect();
                    let y = calibrated(out)?;
                    let lin = linear(node, &w, &c.bias, c.activation, input(0)?, y, scheme)?;
                    (QLayer::Linear(lin), Some(y))
                }
                Op::Gemm(g) => {
                    if g.trans_a {
                        return Err(unsupported(node, "transA = 1 has no int8 kernel"));
                    }
                    let n = g.weight.nrows();
                    let bias = match &g.bias {
                        None => vec![0.0; n],
                        Some(b) if b.len() == n => b.iter().copied().collect(),
                        Some(b) => {
                            return Err(unsupported(
                                node,
                                format!(
                                    "bias {} is not one value per output feature",
                                    crate::error::shape_text(b.shape())
                                ),
                            ))
                        }
                    };
                    let w: Vec<f32> = g.weight.iter().copied().collect();
                    let y = calibrated(out)?;
                    let lin = linear(node, &w, &bias, g.activation, input(0)?, y, scheme)?;
                    (QLayer::Linear(lin), Some(y))
                }
                Op::Add => {
                    let (a, b, y) = (input(0)?, input(1)?, calibrated(out)?);
                    if graph.shape(node.inputs[0]) != graph.shape(node.inputs[1]) {
                        return Err(unsupported(node, "int8 Add needs operands of one shape"));
                    }
                    let twice_max = 2.0 * (a.scale.max(b.scale) as f64);
                    let layer = QLayer::Add {
                        a: multiplier(node, a.scale as f64 / twice_max)?,
                        b: multiplier(node, b.scale as f64 / twice_max)?,
                        out: multiplier(
                            node,
                            twice_max / ((1u64 << ADD_LEFT_SHIFT) as f64 * y.scale as f64),
                        )?,
                    };
                    (layer, Some(y))
                }
                Op::Mul => {
                    let (a, b, y) = (input(0)?, input(1)?, calibrated(out)?);
                    let (sa, sb) = (graph.shape(node.inputs[0]), graph.shape(node.inputs[1]));
                    if Op::broadcast_block(sa, sb).is_none()
                        && Op::broadcast_block(sb, sa).is_none()
                    {
                        return Err(unsupported(
                            node,
                            "int8 Mul broadcasts one operand per block only (a [N, C, 1, 1] gate)",
                        ));
                    }
                    let m = a.scale as f64 * b.scale as f64 / y.scale as f64;
                    (
                        QLayer::Mul {
                            out: multiplier(node, m)?,
                        },
                        Some(y),
                    )
                }
                Op::GlobalAveragePool | Op::AveragePool(_) => {
                    let (x, y) = (input(0)?, calibrated(out)?);
                    let ratio = x.scale as f64 / y.scale as f64;
                    (QLayer::Average { ratio }, Some(y))
                }
                Op::MaxPool(_)
                | Op::Flatten(_)
                | Op::Reshape(_)
                | Op::Identity
                | Op::Transpose(_)
                | Op::Slice(_)
                | Op::Gather(_) => (QLayer::Same, Some(input(0)?)),
                Op::Relu | Op::Clip(_) => {
                    let x = input(0)?;
                    let act = match &node.op {
                        Op::Clip(c) => Activation {
                            min: c.min,
                            max: c.max,
                        },
                        _ => Activation::RELU,
                    };
                    let (min, max) = clamp_codes(act, &x);
                    (QLayer::Clamp { min, max }, Some(x))
                }
                Op::Concat(_) => {
                    let y = calibrated(out)?;
                    let mut ms = Vec::with_capacity(node.inputs.len());
                    for j in 0..node.inputs.len() {
                        let x = input(j)?;
                        ms.push(if x == y {
                            None
                        } else {
                            Some(multiplier(node, x.scale as f64 / y.scale as f64)?)
                        });
                    }
                    (QLayer::Concat(ms), Some(y))
                }
                Op::Pad(p) => {
                    let x = input(0)?;
                    let fill = match p.mode {
                        PadMode::Constant(v) => x.quantize(v),
                        _ => x.zero_point as i8,
                    };
                    // The fill must be a code: quantizing it would change what the float
                    // model pads with.
                    if matches!(p.mode, PadMode::Constant(v) if x.dequantize(fill) != v) {
                        return Err(unsupported(
                            node,
                            "the pad value is not on the input's int8 grid",
                        ));
                    }
                    (QLayer::Pad { fill }, Some(x))
                }
                op if op.is_unary_elementwise() => {
                    input(0)?;
                    (QLayer::Lookup, Some(calibrated(out)?))
                }
                _ => {
                    return Err(unsupported(
                        node,
                        "this op has no int8 kernel in quantscope",
                    ))
                }
            })
        })();
        let (layer, out_params) = match lowered {
            Ok(lowered) => lowered,
            Err(Error::Unsupported { what, .. }) => {
                // A float island: its inputs are int8 values or constants, its output is
                // quantized for whatever reads it.
                for &v in &node.inputs {
                    if params[v].is_none() && graph.constant(v).is_none() {
                        return Err(unsupported(
                            node,
                            format!(
                                "input '{}' is neither int8 nor a constant",
                                graph.values[v].name
                            ),
                        ));
                    }
                }
                let read_later = uses[out] > usize::from(graph.outputs.contains(&out));
                let y = if read_later || !graph.outputs.contains(&out) {
                    Some(calibrated(out)?)
                } else {
                    None
                };
                (QLayer::Float { reason: what }, y)
            }
            Err(e) => return Err(e),
        };
        params[out] = out_params;
        layers.push(layer);
    }
    Ok(QuantizedGraph {
        graph: graph.clone(),
        params,
        layers,
        schemes: schemes.clone(),
    })
}

fn linear(
    node: &Node,
    w: &[f32],
    bias: &[f32],
    act: Activation,
    x: QuantParams,
    y: QuantParams,
    scheme: &Scheme,
) -> Result<QLinear> {
    let rows = bias.len();
    // Keep the int32 bias within 2^24 (far from overflow once products are added) and every
    // multiplier at least 2^-30 (representable): only near-zero channels are affected.
    let min_scale: Vec<f32> = bias
        .iter()
        .map(|&b| {
            let for_bias = b.abs() as f64 / (x.scale as f64 * (1u64 << 24) as f64);
            let for_multiplier = y.scale as f64 / x.scale as f64 * 2f64.powi(-30);
            for_bias.max(for_multiplier) as f32
        })
        .collect();
    let weights = QuantizedWeights::quantize_scheme(w, rows, scheme, &min_scale);
    let mut qbias = Vec::with_capacity(rows);
    let mut multipliers = Vec::with_capacity(rows);
    for (c, &b) in bias.iter().enumerate() {
        let s_acc = x.scale as f64 * weights.scale(c) as f64;
        let q = (b as f64 / s_acc).round();
        // An int32 bias that would not fit means a scale so small the layer is meaningless.
        if q.abs() > (1i64 << 30) as f64 {
            return Err(unsupported(
                node,
                format!("bias {b} of channel {c} overflows int32 at scale {s_acc:e}"),
            ));
        }
        qbias.push(q as i32);
        multipliers.push(multiplier(node, s_acc / y.scale as f64)?);
    }
    let (min, max) = clamp_codes(act, &y);
    Ok(QLinear {
        weights,
        bias: qbias,
        multipliers,
        min,
        max,
    })
}
