//! Graph rewrites run after import: activation fusion and Identity removal.
//!
//! Both keep `nodes` in a valid execution order and leave dead values in `values` (value ids
//! are indices, so removing values would renumber everything).

use super::{Graph, Op, ValueId};
use std::collections::{HashMap, HashSet};

/// Folds a `Relu` or `Clip` into the `Conv` or `Gemm` producing its input, when that
/// input is read by nothing else (not even a graph output); the activation node is removed
/// and the producer writes the activation's output value directly.
pub fn fuse_activations(graph: &mut Graph) {
    let uses = graph.use_counts();
    let mut producer: HashMap<ValueId, usize> = HashMap::new();
    let mut removed = HashSet::new();
    for i in 0..graph.nodes.len() {
        let node = &graph.nodes[i];
        let clamp = match &node.op {
            Op::Relu => Some((0.0, f32::INFINITY)),
            Op::Clip(c) => Some((c.min, c.max)),
            _ => None,
        };
        let fusable = match (clamp, node.inputs.as_slice(), node.outputs.as_slice()) {
            (Some(clamp), &[x], &[y]) if uses[x] == 1 => {
                producer.get(&x).map(|&p| (p, clamp, x, y))
            }
            _ => None,
        };
        if let Some((p, (min, max), x, y)) = fusable {
            let prod = &mut graph.nodes[p];
            if let (true, Some(act)) = (prod.outputs == [x], prod.op.activation_mut()) {
                *act = act.then_clamp(min, max);
                // The producer now writes the activation's output; readers of y are later.
                prod.outputs = vec![y];
                producer.insert(y, p);
                removed.insert(i);
                continue;
            }
        }
        for &o in &graph.nodes[i].outputs {
            producer.insert(o, i);
        }
    }
    drop_nodes(graph, &removed);
}

/// Removes `Identity` nodes, rewiring their readers to the Identity's input. An Identity
/// whose output is a graph output gives that name to its input value when the input is
/// an ordinary node output (not a graph input, constant or another output); otherwise it
/// stays, so graph inputs and outputs remain distinct values.
pub fn remove_identities(graph: &mut Graph) {
    let mut replace: HashMap<ValueId, ValueId> = HashMap::new();
    let mut removed = HashSet::new();
    let produced: HashSet<ValueId> = graph
        .nodes
        .iter()
        .flat_map(|n| n.outputs.iter().copied())
        .collect();
    for i in 0..graph.nodes.len() {
        // Inputs first: an earlier removal may have renamed what this node reads.
        for v in graph.nodes[i].inputs.iter_mut() {
            if let Some(&r) = replace.get(v) {
                *v = r;
            }
        }
        let node = &graph.nodes[i];
        let (&[x], &[y]) = (node.inputs.as_slice(), node.outputs.as_slice()) else {
            continue;
        };
        if !matches!(node.op, Op::Identity) {
            continue;
        }
        if graph.outputs.contains(&y) {
            let movable = produced.contains(&x)
                && !graph.outputs.contains(&x)
                && graph.constant(x).is_none()
                && !graph.inputs.contains(&x);
            if !movable {
                continue;
            }
            for o in graph.outputs.iter_mut().filter(|o| **o == y) {
                *o = x;
            }
            graph.values[x].name = graph.values[y].name.clone();
        }
        replace.insert(y, x);
        removed.insert(i);
    }
    drop_nodes(graph, &removed);
}

/// Removes the nodes at the given indices, keeping the order of the rest.
pub(crate) fn drop_nodes(graph: &mut Graph, removed: &HashSet<usize>) {
    let mut index = 0;
    graph.nodes.retain(|_| {
        index += 1;
        !removed.contains(&(index - 1))
    });
}
