//! Per-channel scale and offset constants (`Mul` / `Add`, `Div` / `Sub` by a constant), as exporters leave
//! them from BatchNorm or rescaling layers, turned into what the integer engine runs:
//!
//! - folded into the `Conv` or `Gemm` that produces their input (weights and bias of output
//!   channel `c` times `s[c]`, bias plus `t[c]`), when nothing else reads that output and the
//!   producer has no activation: exact in real arithmetic, one node fewer;
//! - otherwise (`[N, C, H, W]` only) rewritten as a depthwise 1x1 `Conv` with weight `s[c]`
//!   (1 for an offset) and bias `t[c]` (0 for a scale), the same arithmetic, which has int8
//!   kernels; a following offset then folds into it.
//!
//! Runs before activation fusion, so a ReLU after a folded offset fuses into the convolution.

use super::ops::{Activation, Conv};
use super::{Graph, Op, Tensor, ValueId};
use ndarray::{Array4, ArrayD, IxDyn};
use std::collections::{HashMap, HashSet};

/// Scale (`Mul`) or offset (`Add`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Scale,
    Offset,
}

/// `k` as one value per channel of a `shape`-shaped tensor (channels on axis 1; a scalar
/// repeats), or `None` when it varies along any other axis.
fn per_channel(k: &Tensor, shape: &[usize]) -> Option<Vec<f32>> {
    let (rank, channels) = (shape.len(), *shape.get(1)?);
    if k.ndim() > rank {
        return None;
    }
    let pad = rank - k.ndim();
    let dim = |a: usize| if a < pad { 1 } else { k.shape()[a - pad] };
    if (0..rank).any(|a| a != 1 && dim(a) != 1) {
        return None;
    }
    let values: Vec<f32> = k.iter().copied().collect();
    match values.len() {
        1 => Some(vec![values[0]; channels]),
        n if n == channels && dim(1) == channels => Some(values),
        _ => None,
    }
}

/// Folds or rewrites every per-channel `Mul` / `Add` by a constant (module comment).
pub fn fold_affine(graph: &mut Graph) {
    let uses = graph.use_counts();
    let mut producer: HashMap<ValueId, usize> = HashMap::new();
    let mut removed = HashSet::new();
    for i in 0..graph.nodes.len() {
        if let Some((x, kind, k)) = affine_operands(graph, i) {
            let y = graph.nodes[i].outputs[0];
            let folded = uses[x] == 1
                && !graph.outputs.contains(&x)
                && producer
                    .get(&x)
                    .is_some_and(|&p| fold_into(&mut graph.nodes[p].op, kind, &k));
            if folded {
                // The producer now writes this node's output; its readers come later.
                let p = producer[&x];
                graph.nodes[p].outputs = vec![y];
                producer.insert(y, p);
                removed.insert(i);
                continue;
            }
            if graph.shape(x).len() == 4 {
                let (scale, bias) = match kind {
                    Kind::Scale => (k, vec![0.0; graph.shape(x)[1]]),
                    Kind::Offset => (vec![1.0; graph.shape(x)[1]], k),
                };
                let node = &mut graph.nodes[i];
                node.op = Op::Conv(depthwise_1x1(scale, bias));
                node.inputs = vec![x];
            }
        }
        for &o in &graph.nodes[i].outputs {
            producer.insert(o, i);
        }
    }
    super::passes::drop_nodes(graph, &removed);
    // Constants read by nothing any more (the folded ones).
    let read: HashSet<ValueId> = graph
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter().copied())
        .chain(graph.outputs.iter().copied())
        .collect();
    graph.constants.retain(|(v, _)| read.contains(v));
}

/// `(x, kind, per-channel values)` when node `i` is a `Mul` / `Add` of a value and a
/// per-channel constant.
fn affine_operands(graph: &Graph, i: usize) -> Option<(ValueId, Kind, Vec<f32>)> {
    let node = &graph.nodes[i];
    let &[a, b] = node.inputs.as_slice() else {
        return None;
    };
    let (x, k, constant_first) = match (graph.constant(a), graph.constant(b)) {
        (None, Some(k)) => (a, k, false),
        (Some(k), None) => (b, k, true),
        _ => return None,
    };
    // `x - k` is `x + (-k)`, `x / k` is `x * (1 / k)`; `k - x` and `k / x` are not affine.
    let (kind, map): (Kind, fn(f32) -> f32) = match (&node.op, constant_first) {
        (Op::Mul, _) => (Kind::Scale, |v| v),
        (Op::Add, _) => (Kind::Offset, |v| v),
        (Op::Sub, false) => (Kind::Offset, |v| -v),
        (Op::Div, false) => (Kind::Scale, |v| 1.0 / v),
        _ => return None,
    };
    // The output must keep x's shape (the constant broadcasts into it, not the reverse).
    if graph.shape(node.outputs[0]) != graph.shape(x) {
        return None;
    }
    let k = per_channel(k, graph.shape(x))?;
    Some((x, kind, k.into_iter().map(map).collect()))
}

/// Applies the scale or offset to the output channels of a Conv or Gemm without activation;
/// false (unchanged) for anything else.
fn fold_into(op: &mut Op, kind: Kind, k: &[f32]) -> bool {
    match op {
        Op::Conv(c) if c.activation.is_none() && c.out_channels() == k.len() => {
            for (ch, &v) in k.iter().enumerate() {
                match kind {
                    Kind::Scale => {
                        c.weight
                            .index_axis_mut(ndarray::Axis(0), ch)
                            .mapv_inplace(|w| w * v);
                        c.bias[ch] *= v;
                    }
                    Kind::Offset => c.bias[ch] += v,
                }
            }
            true
        }
        Op::Gemm(g) if g.activation.is_none() && g.weight.nrows() == k.len() => {
            let n = k.len();
            let bias = g.bias.get_or_insert_with(|| ArrayD::zeros(IxDyn(&[n])));
            // Only a bias with one value per output feature can take a per-feature change.
            if bias.len() != n || bias.shape().last() != Some(&n) {
                return false;
            }
            // Row-major with the features last: the i-th value is feature i.
            for ((ch, &v), b) in k.iter().enumerate().zip(bias.iter_mut()) {
                match kind {
                    Kind::Scale => {
                        g.weight.row_mut(ch).mapv_inplace(|w| w * v);
                        *b *= v;
                    }
                    Kind::Offset => *b += v,
                }
            }
            true
        }
        _ => false,
    }
}

/// `y[c] = scale[c] x[c] + bias[c]` as a depthwise 1x1 convolution.
fn depthwise_1x1(scale: Vec<f32>, bias: Vec<f32>) -> Conv {
    let channels = scale.len();
    Conv {
        weight: Array4::from_shape_vec((channels, 1, 1, 1), scale).expect("C x 1 x 1 x 1"),
        bias,
        strides: [1, 1],
        dilations: [1, 1],
        pads: [0; 4],
        group: channels,
        activation: Activation::NONE,
    }
}
