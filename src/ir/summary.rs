//! A model's layer table: what `quantscope inspect` prints and `model.info()` returns.

use super::{Graph, Op};
use serde::Serialize;

/// One node of the graph as a reader sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerSummary {
    /// Node name.
    pub name: String,
    /// Op, with kernel size for convolutions (`Conv 3x3/2`, `Conv dw 5x5`).
    pub op: String,
    /// Shape of the first input.
    pub input: Vec<usize>,
    /// Shape of the output.
    pub output: Vec<usize>,
    /// Learned parameters.
    pub parameters: usize,
    /// Bytes of those parameters as f32.
    pub bytes: usize,
}

/// Every layer and the totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSummary {
    /// Layers in execution order.
    pub layers: Vec<LayerSummary>,
    /// Input shape of the first graph input.
    pub input: Vec<usize>,
    /// Shape of the first graph output.
    pub output: Vec<usize>,
    /// Learned parameters, ops and constants.
    pub parameters: usize,
    /// Bytes of those parameters as f32.
    pub bytes: usize,
}

/// Describes the op of a node in a few characters.
fn describe(op: &Op) -> String {
    match op {
        Op::Conv(c) if c.is_depthwise() => format!(
            "Conv dw {}x{}/{}",
            c.kernel()[0],
            c.kernel()[1],
            c.strides[0]
        ),
        Op::Conv(c) => format!("Conv {}x{}/{}", c.kernel()[0], c.kernel()[1], c.strides[0]),
        op => op.kind().to_string(),
    }
}

/// The layer table of a graph.
pub fn summarize(graph: &Graph) -> ModelSummary {
    let first = |ids: &[usize]| {
        ids.first()
            .map_or_else(Vec::new, |&i| graph.shape(i).to_vec())
    };
    let layers = graph
        .nodes
        .iter()
        .map(|n| LayerSummary {
            name: n.name.clone(),
            op: describe(&n.op),
            input: first(&n.inputs),
            output: first(&n.outputs),
            parameters: n.op.parameter_count(),
            bytes: n.op.parameter_count() * 4,
        })
        .collect();
    let parameters = graph.parameter_count();
    ModelSummary {
        layers,
        input: first(&graph.inputs),
        output: first(&graph.outputs),
        parameters,
        bytes: parameters * 4,
    }
}
