//! The graph: values (named, shaped), constants, and nodes in execution order.

use super::{Op, Tensor};
use crate::{Error, Result};

/// Index of a [`Value`] in [`Graph::values`].
pub type ValueId = usize;

/// A tensor flowing between nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// ONNX name of the value.
    pub name: String,
    /// Static shape.
    pub shape: Vec<usize>,
}

/// One operation: reads `inputs`, writes `outputs`.
#[derive(Clone, Debug)]
pub struct Node {
    /// ONNX node name (or `op_type#index` when the file gives none).
    pub name: String,
    /// What the node computes, with its attributes and weights.
    pub op: Op,
    /// Input values, in the op's order.
    pub inputs: Vec<ValueId>,
    /// Output values.
    pub outputs: Vec<ValueId>,
}

/// Axis order of the image input in the model file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Batch, channels, height, width.
    #[default]
    Nchw,
    /// Batch, height, width, channels (Keras/TensorFlow exports).
    Nhwc,
}

/// A model graph with static shapes, nodes in a valid execution order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every value: graph inputs, constants and node outputs.
    pub values: Vec<Value>,
    /// Constant tensors (initializers not absorbed into an op), by value.
    pub constants: Vec<(ValueId, Tensor)>,
    /// Nodes, topologically sorted.
    pub nodes: Vec<Node>,
    /// Graph inputs fed at run time.
    pub inputs: Vec<ValueId>,
    /// Graph outputs.
    pub outputs: Vec<ValueId>,
    /// Layout of the file's image input. The graph itself always takes NCHW: for an NHWC
    /// file the importer removes the leading `Transpose` to NCHW and records `Nhwc` here.
    pub input_layout: Layout,
}

impl Graph {
    /// Adds a value and returns its id.
    pub fn add_value(&mut self, name: impl Into<String>, shape: Vec<usize>) -> ValueId {
        self.values.push(Value {
            name: name.into(),
            shape,
        });
        self.values.len() - 1
    }

    /// Shape of a value.
    pub fn shape(&self, id: ValueId) -> &[usize] {
        &self.values[id].shape
    }

    /// The constant bound to `id`, if any.
    pub fn constant(&self, id: ValueId) -> Option<&Tensor> {
        self.constants
            .iter()
            .find(|(v, _)| *v == id)
            .map(|(_, t)| t)
    }

    /// Appends a node after checking its shape rule against the input shapes; the output
    /// values are created with the inferred shapes and their ids returned.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<ValueId>,
        output_names: &[String],
    ) -> Result<Vec<ValueId>> {
        let name = name.into();
        let in_shapes: Vec<&[usize]> = inputs.iter().map(|&i| self.shape(i)).collect();
        let out_shapes = op.output_shapes(&in_shapes).map_err(|what| Error::Shape {
            node: name.clone(),
            what,
        })?;
        if out_shapes.len() != output_names.len() {
            return Err(Error::Shape {
                node: name,
                what: format!(
                    "op gives {} outputs, node names {}",
                    out_shapes.len(),
                    output_names.len()
                ),
            });
        }
        let outputs = out_shapes
            .into_iter()
            .zip(output_names)
            .map(|(s, n)| self.add_value(n.clone(), s))
            .collect::<Vec<_>>();
        self.nodes.push(Node {
            name,
            op,
            inputs,
            outputs: outputs.clone(),
        });
        Ok(outputs)
    }

    /// Number of nodes reading each value (graph outputs count as one reader).
    pub fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.values.len()];
        for n in &self.nodes {
            for &i in &n.inputs {
                uses[i] += 1;
            }
        }
        for &o in &self.outputs {
            uses[o] += 1;
        }
        uses
    }

    /// Total learned parameters (op weights and constants).
    pub fn parameter_count(&self) -> usize {
        let ops: usize = self.nodes.iter().map(|n| n.op.parameter_count()).sum();
        ops + self.constants.iter().map(|(_, t)| t.len()).sum::<usize>()
    }
}
