//! `load_model`: bytes -> decoded ModelProto -> checked constants and inputs -> IR graph.

use super::node::NodeCtx;
use super::proto::{data_type, DimensionValue, GraphProto, ModelProto, NodeProto, ValueInfoProto};
use super::tensor::{self, ConstData, ConstTensor, MAX_ELEMENTS};
use crate::ir::{passes, Graph, Op, Tensor, ValueId};
use crate::{Error, Result};
use prost::Message;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Highest default-domain opset the importer accepts (none of the translated ops changed
/// semantics after their opset-22..25 versions, which only added data types).
pub const MAX_OPSET: i64 = 28;

/// Options of [`load_model`].
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Full shapes for graph inputs, by name; required for inputs with dynamic (symbolic or
    /// unknown) dimensions, and must agree with the file's fixed dimensions.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Graph inputs fixed to constant tensors, by name: they become graph constants.
    pub bind: Vec<(String, Tensor)>,
    /// Skip [`passes::remove_identities`], [`crate::ir::affine::fold_affine`] and
    /// [`passes::fuse_activations`] (for comparing the graph before and after them).
    /// BatchNorm folding is part of import and always runs.
    pub skip_passes: bool,
}

/// Decodes an ONNX model and translates it to an IR [`Graph`] with static shapes.
///
/// Errors: [`Error::MalformedModel`] for bytes that are not a well-formed model (bad
/// protobuf, dangling names, data shorter than its shape), [`Error::Unsupported`] for ops,
/// attributes and data types outside the supported subset (see [`crate::onnx`]),
/// [`Error::Shape`] when shapes do not fit and [`Error::Input`] for options naming unknown
/// inputs or contradicting the file.
pub fn load_model(bytes: &[u8], options: &ImportOptions) -> Result<Graph> {
    if bytes.is_empty() {
        return Err(Error::MalformedModel("empty file".into()));
    }
    let model = ModelProto::decode(bytes)
        .map_err(|e| Error::MalformedModel(format!("cannot decode ModelProto: {e}")))?;
    let opset = default_opset(&model)?;
    let proto = model
        .graph
        .ok_or_else(|| Error::MalformedModel("model has no graph".into()))?;
    check_op_types(&proto)?;
    let mut imp = Importer::new();
    imp.add_initializers(&proto)?;
    imp.add_inputs(&proto.input, options)?;
    for (index, node) in topo_order(&proto, &imp.available())? {
        imp.translate(&NodeCtx::new(node, index, opset))?;
    }
    imp.add_outputs(&proto.output)?;
    let mut graph = imp.graph;
    super::layout::nhwc_input_to_layout(&mut graph);
    if !options.skip_passes {
        passes::remove_identities(&mut graph);
        crate::ir::affine::fold_affine(&mut graph);
        passes::fuse_activations(&mut graph);
    }
    Ok(graph)
}

fn is_default_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// The default-domain opset version; other domains are only rejected if a node uses them.
fn default_opset(model: &ModelProto) -> Result<i64> {
    let v = model
        .opset_import
        .iter()
        .filter(|o| is_default_domain(&o.domain))
        .map(|o| o.version)
        .max()
        .ok_or_else(|| Error::MalformedModel("no opset_import for the default domain".into()))?;
    if !(1..=MAX_OPSET).contains(&v) {
        return Err(Error::Unsupported {
            node: "model".into(),
            op_type: "opset_import".into(),
            what: format!("default-domain opset {v} (supported: 1..={MAX_OPSET})"),
        });
    }
    Ok(v)
}

/// Rejects a model using op types outside the supported set, listing every such type with
/// its count and first node in one message (a user sees all the work at once).
fn check_op_types(g: &GraphProto) -> Result<()> {
    let mut found: Vec<(String, usize, String)> = Vec::new();
    for (i, n) in g.node.iter().enumerate() {
        let known =
            is_default_domain(&n.domain) && super::supported_ops().contains(&n.op_type.as_str());
        if known {
            continue;
        }
        let op = if is_default_domain(&n.domain) {
            n.op_type.clone()
        } else {
            format!("{}.{}", n.domain, n.op_type)
        };
        match found.iter_mut().find(|(o, _, _)| *o == op) {
            Some(entry) => entry.1 += 1,
            None => {
                let name = if n.name.is_empty() {
                    format!("{}#{i}", n.op_type)
                } else {
                    n.name.clone()
                };
                found.push((op, 1, name));
            }
        }
    }
    let Some((first_op, _, first_node)) = found.first().cloned() else {
        return Ok(());
    };
    let list: Vec<String> = found
        .iter()
        .map(|(op, n, first)| format!("{op} x{n} (first: {first})"))
        .collect();
    Err(Error::Unsupported {
        node: first_node,
        op_type: first_op,
        what: format!("unsupported operators: {}", list.join(", ")),
    })
}

/// Nodes in an executable order: file order where valid, else a stable topological sort.
/// A name that nothing defines, a name defined twice, or a cycle is `MalformedModel`.
fn topo_order<'a>(
    g: &'a GraphProto,
    available: &HashSet<String>,
) -> Result<Vec<(usize, &'a NodeProto)>> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if available.contains(o.as_str()) || producer.insert(o, i).is_some() {
                return Err(Error::MalformedModel(format!(
                    "value '{o}' is defined twice"
                )));
            }
        }
    }
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); g.node.len()];
    let mut pending = vec![0usize; g.node.len()];
    for (i, n) in g.node.iter().enumerate() {
        for name in n.input.iter().filter(|s| !s.is_empty()) {
            match producer.get(name.as_str()) {
                Some(&p) => {
                    consumers[p].push(i);
                    pending[i] += 1;
                }
                None if available.contains(name.as_str()) => {}
                None => {
                    return Err(Error::MalformedModel(format!(
                    "node '{}' ({}) reads '{name}', which no node, input or initializer defines",
                    if n.name.is_empty() {
                        format!("{}#{i}", n.op_type)
                    } else {
                        n.name.clone()
                    },
                    n.op_type
                )))
                }
            }
        }
    }
    for o in &g.output {
        if !producer.contains_key(o.name.as_str()) && !available.contains(&o.name) {
            return Err(Error::MalformedModel(format!(
                "graph output '{}' is not defined",
                o.name
            )));
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..g.node.len())
        .filter(|&i| pending[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(g.node.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push((i, &g.node[i]));
        for &c in &consumers[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() != g.node.len() {
        return Err(Error::MalformedModel("the graph has a cycle".into()));
    }
    Ok(order)
}

/// What an ONNX name refers to at a use.
enum Lookup {
    /// A runtime value (possibly a materialised constant).
    Value(ValueId),
    /// An integer constant, which cannot flow as f32 data.
    NotFloat(i32),
    /// Nothing.
    Missing,
}

/// Translation state: the graph being built and what each ONNX name refers to.
pub(crate) struct Importer {
    /// The IR graph under construction.
    pub graph: Graph,
    /// Names bound to runtime values (inputs, node outputs, materialised constants).
    values: HashMap<String, ValueId>,
    /// Names bound to constants not (yet) materialised as graph values.
    consts: HashMap<String, ConstTensor>,
    /// Node index in `graph.nodes` that writes each value.
    producer: HashMap<ValueId, usize>,
    /// How many node inputs and graph outputs read each ONNX name.
    uses: HashMap<String, usize>,
}

impl Importer {
    fn new() -> Self {
        Importer {
            graph: Graph::default(),
            values: HashMap::new(),
            consts: HashMap::new(),
            producer: HashMap::new(),
            uses: HashMap::new(),
        }
    }

    /// Names defined before any node runs.
    fn available(&self) -> HashSet<String> {
        self.values
            .keys()
            .chain(self.consts.keys())
            .cloned()
            .collect()
    }

    fn add_initializers(&mut self, g: &GraphProto) -> Result<()> {
        for t in &g.initializer {
            let c = tensor::from_proto(t)?;
            if self.consts.insert(t.name.clone(), c).is_some() {
                return Err(Error::MalformedModel(format!(
                    "initializer '{}' is defined twice",
                    t.name
                )));
            }
        }
        for n in &g.node {
            for i in n.input.iter().filter(|s| !s.is_empty()) {
                *self.uses.entry(i.clone()).or_default() += 1;
            }
        }
        for o in &g.output {
            *self.uses.entry(o.name.clone()).or_default() += 1;
        }
        Ok(())
    }

    fn add_inputs(&mut self, inputs: &[ValueInfoProto], options: &ImportOptions) -> Result<()> {
        let names: HashSet<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
        for n in options
            .input_shapes
            .iter()
            .map(|(n, _)| n)
            .chain(options.bind.iter().map(|(n, _)| n))
        {
            if !names.contains(n.as_str()) {
                return Err(Error::Input(format!("the model has no input named '{n}'")));
            }
        }
        for vi in inputs {
            if let Some((_, t)) = options.bind.iter().find(|(n, _)| *n == vi.name) {
                // Same checks as a shape override: the tensor must fit the declared shape.
                // A bound value replaces an initializer of the same name (its default).
                input_shape(vi, Some(t.shape()))?;
                let c = ConstTensor {
                    dims: t.shape().to_vec(),
                    data: ConstData::F32(t.iter().copied().collect()),
                    data_type: data_type::FLOAT,
                };
                self.consts.insert(vi.name.clone(), c);
                continue;
            }
            // Older files list initializers among the inputs: those are constants.
            if self.consts.contains_key(&vi.name) {
                continue;
            }
            if self.values.contains_key(&vi.name) {
                return Err(Error::MalformedModel(format!(
                    "graph input '{}' is listed twice",
                    vi.name
                )));
            }
            let over = options
                .input_shapes
                .iter()
                .find(|(n, _)| *n == vi.name)
                .map(|(_, s)| s.as_slice());
            let shape = input_shape(vi, over)?;
            let id = self.graph.add_value(vi.name.clone(), shape);
            self.graph.inputs.push(id);
            self.values.insert(vi.name.clone(), id);
        }
        Ok(())
    }

    fn add_outputs(&mut self, outputs: &[ValueInfoProto]) -> Result<()> {
        for o in outputs {
            let id = match self.lookup(&o.name) {
                Lookup::Value(id) => id,
                Lookup::Missing => {
                    return Err(Error::MalformedModel(format!(
                        "graph output '{}' is not defined",
                        o.name
                    )))
                }
                Lookup::NotFloat(t) => {
                    return Err(Error::Unsupported {
                        node: o.name.clone(),
                        op_type: "graph output".into(),
                        what: format!("{} constant output", data_type::name(t)),
                    })
                }
            };
            self.graph.outputs.push(id);
        }
        Ok(())
    }

    /// Translates one node (domain checked here, the op by its family module).
    fn translate(&mut self, ctx: &NodeCtx) -> Result<()> {
        if !is_default_domain(&ctx.proto.domain) {
            return Err(ctx.unsupported(format!("domain '{}'", ctx.proto.domain)));
        }
        if super::fold::try_fold(self, ctx)? {
            return Ok(());
        }
        super::ops::translate(self, ctx)
    }

    /// The constant bound to `name`, if it is one.
    pub fn constant(&self, name: &str) -> Option<&ConstTensor> {
        self.consts.get(name)
    }

    /// The float constant bound to input `i` of `ctx`, or Unsupported naming `label`.
    pub fn const_f32(&self, ctx: &NodeCtx, i: usize, label: &str) -> Result<Tensor> {
        let name = ctx.require_input(i, label)?;
        let c = self.constant(name).ok_or_else(|| {
            ctx.unsupported(format!("input '{label}' is not a constant initializer"))
        })?;
        c.to_f32().ok_or_else(|| {
            ctx.unsupported(format!(
                "input '{label}' has data type {}",
                data_type::name(c.data_type)
            ))
        })
    }

    /// The shape of input `i` of `ctx`: a constant's dims or a value's shape.
    pub fn input_dims(&self, ctx: &NodeCtx, i: usize, label: &str) -> Result<Vec<usize>> {
        let name = ctx.require_input(i, label)?;
        if let Some(&id) = self.values.get(name) {
            return Ok(self.graph.shape(id).to_vec());
        }
        self.consts
            .get(name)
            .map(|c| c.dims.clone())
            .ok_or_else(|| ctx.malformed(format!("input '{name}' is not defined")))
    }

    /// Applies a movement op (Reshape, Transpose, Slice, Gather, ...) to input 0 of `ctx`:
    /// folded into a new constant when that input is one, else appended as an IR node.
    pub fn emit_or_fold(&mut self, ctx: &NodeCtx, op: Op) -> Result<()> {
        let name = ctx.require_input(0, "data")?;
        if let Some(c) = self.consts.get(name) {
            let dims = op
                .output_shapes(&[&c.dims])
                .map_err(|what| Error::Shape {
                    node: ctx.name.clone(),
                    what,
                })?
                .remove(0);
            let source = crate::ir::ops::source_indices(&op, &c.dims)
                .ok_or_else(|| ctx.unsupported("cannot fold this op"))?;
            let folded = c.take(&source, dims);
            let out = ctx
                .output(0)
                .ok_or_else(|| ctx.malformed("has no output"))?;
            return self.define_const(ctx, out, folded);
        }
        let x = self.input_value(ctx, 0, "data")?;
        self.emit(ctx, op, vec![x])?;
        Ok(())
    }

    /// Number of readers of an ONNX name (graph outputs count).
    pub fn uses(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    /// The runtime value for `name`, materialising a float constant as a graph constant.
    fn lookup(&mut self, name: &str) -> Lookup {
        if let Some(&id) = self.values.get(name) {
            return Lookup::Value(id);
        }
        let Some(c) = self.consts.get(name) else {
            return Lookup::Missing;
        };
        let Some(t) = c.to_f32() else {
            return Lookup::NotFloat(c.data_type);
        };
        let id = self.graph.add_value(name, t.shape().to_vec());
        self.graph.constants.push((id, t));
        self.values.insert(name.to_string(), id);
        Lookup::Value(id)
    }

    /// The runtime value read by input `i` of `ctx` (a float constant is materialised).
    pub fn input_value(&mut self, ctx: &NodeCtx, i: usize, label: &str) -> Result<ValueId> {
        let name = ctx.require_input(i, label)?;
        match self.lookup(name) {
            Lookup::Value(id) => Ok(id),
            Lookup::Missing => Err(ctx.malformed(format!("input '{name}' is not defined"))),
            Lookup::NotFloat(t) => Err(ctx.unsupported(format!(
                "input '{label}' is a {} constant used as data",
                data_type::name(t)
            ))),
        }
    }

    /// The node index that writes `id`, if a node does.
    pub fn producer(&self, id: ValueId) -> Option<usize> {
        self.producer.get(&id).copied()
    }

    /// Binds an ONNX output name to an existing value (aliasing, e.g. Identity or a folded BN).
    pub fn alias(&mut self, ctx: &NodeCtx, name: &str, id: ValueId) -> Result<()> {
        if self.values.insert(name.to_string(), id).is_some() || self.consts.contains_key(name) {
            return Err(ctx.malformed(format!("value '{name}' is defined twice")));
        }
        Ok(())
    }

    /// Appends an IR node writing one value named `out`; returns the value.
    pub fn add(
        &mut self,
        ctx: &NodeCtx,
        name: String,
        op: Op,
        inputs: Vec<ValueId>,
        out: &str,
    ) -> Result<ValueId> {
        let ids = self.graph.add_node(name, op, inputs, &[out.to_string()])?;
        let id = ids[0];
        let count = self
            .graph
            .shape(id)
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        if count.is_none_or(|c| c > MAX_ELEMENTS) {
            return Err(Error::Shape {
                node: ctx.name.clone(),
                what: format!(
                    "output shape {:?} has more than {MAX_ELEMENTS} elements",
                    self.graph.shape(id)
                ),
            });
        }
        self.producer.insert(id, self.graph.nodes.len() - 1);
        Ok(id)
    }

    /// [`Importer::add`] for the node's own op: named after the node, writing its first output.
    pub fn emit(&mut self, ctx: &NodeCtx, op: Op, inputs: Vec<ValueId>) -> Result<ValueId> {
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.malformed("has no output"))?;
        let id = self.add(ctx, ctx.name.clone(), op, inputs, out)?;
        self.values.insert(out.to_string(), id);
        Ok(id)
    }

    /// Adds an f32 graph constant as a new value (e.g. BatchNorm's per-channel scale).
    pub fn add_constant(&mut self, name: String, t: Tensor) -> ValueId {
        let id = self.graph.add_value(name, t.shape().to_vec());
        self.graph.constants.push((id, t));
        id
    }

    /// Registers a constant produced by a node (`Constant`).
    pub fn define_const(&mut self, ctx: &NodeCtx, name: &str, c: ConstTensor) -> Result<()> {
        if self.values.contains_key(name) || self.consts.insert(name.to_string(), c).is_some() {
            return Err(ctx.malformed(format!("value '{name}' is defined twice")));
        }
        Ok(())
    }

    /// Rejects a use of optional output `i` (e.g. Dropout's mask) that is not translated.
    pub fn unused_output(&self, ctx: &NodeCtx, i: usize, label: &str) -> Result<()> {
        match ctx.output(i) {
            Some(o) if self.uses(o) > 0 => {
                Err(ctx.unsupported(format!("output '{label}' is used")))
            }
            _ => Ok(()),
        }
    }
}

/// The static shape of a graph input: the override if given (checked against the file's
/// fixed dims), else the file's shape, which must then be fully static.
fn input_shape(vi: &ValueInfoProto, over: Option<&[usize]>) -> Result<Vec<usize>> {
    let unsupported = |what: String| Error::Unsupported {
        node: vi.name.clone(),
        op_type: "graph input".into(),
        what,
    };
    let tt = vi
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| unsupported("not a tensor".into()))?;
    if tt.elem_type != data_type::FLOAT {
        return Err(unsupported(format!(
            "element type {} ({})",
            data_type::name(tt.elem_type),
            tt.elem_type
        )));
    }
    let dims = tt.shape.as_ref().map(|s| s.dim.as_slice());
    let shape = match (over, dims) {
        (Some(o), Some(d)) => {
            let agrees = o.len() == d.len()
                && o.iter().zip(d).all(|(&x, dim)| match dim.value {
                    Some(DimensionValue::DimValue(v)) => usize::try_from(v) == Ok(x),
                    _ => true,
                });
            if !agrees {
                // The same fixed sizes in another order: channels first against channels last.
                let fixed: Vec<usize> = d
                    .iter()
                    .filter_map(|dim| match dim.value {
                        Some(DimensionValue::DimValue(v)) => usize::try_from(v).ok(),
                        _ => None,
                    })
                    .collect();
                let permuted = o.len() == d.len() && fixed.iter().all(|f| o.contains(f));
                return Err(Error::Input(format!(
                    "input shape {} for '{}' contradicts the model's {}{}",
                    crate::error::shape_text(o),
                    vi.name,
                    dims_text(d),
                    if permuted {
                        ": the same sizes in another order, a layout problem (channels first, \
                         NCHW, against channels last, NHWC)"
                    } else {
                        ""
                    }
                )));
            }
            o.to_vec()
        }
        (Some(o), None) => o.to_vec(),
        (None, None) => {
            return Err(unsupported(
                "unknown rank: give its shape in ImportOptions::input_shapes".into(),
            ))
        }
        (None, Some(d)) => {
            // A dynamic batch (symbolic, unknown or -1) is bound to 1: one image per run. A 0 stays
            // 0: it is a legal static size (empty tensors), as in the ONNX backend tests.
            let dims: Vec<Option<usize>> = d
                .iter()
                .enumerate()
                .map(|(i, dim)| match &dim.value {
                    Some(DimensionValue::DimValue(v)) if i == 0 && *v < 0 => Ok(Some(1)),
                    Some(DimensionValue::DimValue(v)) => {
                        usize::try_from(*v).map(Some).map_err(|_| {
                            Error::MalformedModel(format!("input '{}' has dimension {v}", vi.name))
                        })
                    }
                    _ if i == 0 => Ok(Some(1)),
                    _ => Ok(None),
                })
                .collect::<Result<_>>()?;
            if dims.iter().any(Option::is_none) {
                let text: Vec<String> = dims
                    .iter()
                    .map(|d| d.map_or("?".into(), |v| v.to_string()))
                    .collect();
                return Err(unsupported(format!(
                    "shape [{}] has dynamic dimensions: give the full shape in ImportOptions::input_shapes (metadata: input.shape)",
                    text.join(", ")
                )));
            }
            dims.into_iter().flatten().collect()
        }
    };
    let dims_i64: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    tensor::checked_dims(&dims_i64, &format!("input '{}'", vi.name))?;
    Ok(shape)
}

fn dims_text(d: &[super::proto::Dimension]) -> String {
    crate::error::partial_shape_text(d.iter().map(|dim| match &dim.value {
        Some(DimensionValue::DimValue(v)) => Some(*v),
        _ => None,
    }))
}
