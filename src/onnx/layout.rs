//! An NHWC image input as a layout fact rather than a copy per run.
//!
//! Keras models converted by tf2onnx take `[1, H, W, C]` and transpose to NCHW before the
//! first Conv, often after per-channel rescaling (`x * scale + offset`, Keras'
//! Rescaling/Normalization layers) applied in NHWC. When the input reaches a Transpose with
//! perm `[0, 3, 1, 2]` through nothing but such single-reader per-channel Mul/Add/Sub/Div
//! with constants, the input becomes NCHW, those constants `[C, 1, 1]`, the Transpose is
//! removed and the graph records [`Layout::Nhwc`]. Any other NHWC input keeps its
//! Transpose, which runs as an op.

use crate::ir::{Graph, Layout, Op, Tensor, ValueId};

/// True for a constant that broadcasts per channel along the last axis of a rank-4 value.
fn per_last_axis(shape: &[usize]) -> bool {
    shape.len() <= 4 && shape.iter().rev().skip(1).all(|&d| d == 1)
}

/// NHWC shape to NCHW.
fn to_nchw(s: &[usize]) -> Vec<usize> {
    vec![s[0], s[3], s[1], s[2]]
}

/// The chain from the graph input to its Transpose: `(elementwise node indices, transpose
/// node index)`, or `None` when the input is not such an NHWC input.
fn chain(graph: &Graph, input: ValueId) -> Option<(Vec<usize>, usize)> {
    let shape = graph.shape(input);
    if shape.len() != 4 || !matches!(shape[3], 1 | 3) {
        return None;
    }
    let uses = graph.use_counts();
    let mut cur = input;
    let mut steps = Vec::new();
    loop {
        if uses[cur] != 1 {
            return None;
        }
        let at = graph.nodes.iter().position(|n| n.inputs.contains(&cur))?;
        let node = &graph.nodes[at];
        match &node.op {
            Op::Transpose(t) if t.perm == [0, 3, 1, 2] => {
                return (!graph.outputs.contains(&node.outputs[0])).then_some((steps, at));
            }
            Op::Add | Op::Mul | Op::Sub | Op::Div => {
                let other = node.inputs.iter().copied().find(|&v| v != cur)?;
                let fits = graph.constant(other).is_some()
                    && per_last_axis(graph.shape(other))
                    && graph.shape(node.outputs[0]) == graph.shape(cur);
                if !fits {
                    return None;
                }
                steps.push(at);
                cur = node.outputs[0];
            }
            _ => return None,
        }
    }
}

/// Rewrites an NHWC input followed by per-channel scaling and a Transpose to NCHW (see the
/// module comment); leaves every other graph unchanged.
pub(super) fn nhwc_input_to_layout(graph: &mut Graph) {
    let &[input] = graph.inputs.as_slice() else {
        return;
    };
    let Some((steps, transpose)) = chain(graph, input) else {
        return;
    };
    let nhwc = graph.shape(input).to_vec();
    graph.values[input].shape = to_nchw(&nhwc);
    let mut last = input;
    for &at in &steps {
        let node = graph.nodes[at].clone();
        for (k, &v) in node.inputs.iter().enumerate() {
            if v == last {
                continue;
            }
            let Some(c) = graph.constant(v) else { continue };
            // [.., C] becomes [C, 1, 1]: the same values, broadcast along NCHW's channels.
            let data: Vec<f32> = c.iter().copied().collect();
            let channels = data.len();
            let Ok(t) = Tensor::from_shape_vec(ndarray::IxDyn(&[channels, 1, 1]), data) else {
                return;
            };
            let name = format!("{}/nchw", graph.values[v].name);
            let id = graph.add_value(name, vec![channels, 1, 1]);
            graph.constants.push((id, t));
            graph.nodes[at].inputs[k] = id;
        }
        let out = node.outputs[0];
        graph.values[out].shape = to_nchw(&graph.values[out].shape.clone());
        last = out;
    }
    let out = graph.nodes[transpose].outputs[0];
    graph.nodes.remove(transpose);
    for n in &mut graph.nodes {
        for v in n.inputs.iter_mut().filter(|v| **v == out) {
            *v = last;
        }
    }
    graph.input_layout = Layout::Nhwc;
}
