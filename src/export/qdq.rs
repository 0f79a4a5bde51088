//! The QDQ writer (see the [module docs](super)).

use super::build::{
    attr_float, attr_int, attr_str, attr_usizes, float_value, node, tensor_f32, tensor_i32,
    tensor_i4, tensor_i64, tensor_i8,
};
use crate::ir::ops::{PadMode, Slice};
use crate::ir::{Activation, Node, Op, ValueId};
use crate::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
};
use crate::quant::lower::{QLayer, QLinear, QuantizedGraph};
use crate::quant::weights::QuantizedWeights;
use crate::quant::{Levels, QuantParams, VariantSpec};
use crate::{Error, Result};
use prost::Message;
use std::collections::HashSet;

/// The ONNX opset written (DequantizeLinear of INT4 needs 21).
pub const OPSET: i64 = 21;
/// The IR (file format) version written (INT4 needs 10).
pub const IR_VERSION: i64 = 10;

/// The QDQ ONNX model of a static variant, encoded.
pub fn export_qdq(q: &QuantizedGraph) -> Result<Vec<u8>> {
    Ok(qdq_model(q)?.encode_to_vec())
}

/// The QDQ ONNX model of a static variant.
pub fn qdq_model(q: &QuantizedGraph) -> Result<ModelProto> {
    let g = &q.graph;
    if q.layers.len() != g.nodes.len() || q.params.len() != g.values.len() {
        return Err(Error::MalformedModel(
            "the quantized graph's layers or parameters do not match its nodes or values".into(),
        ));
    }
    if let Some((v, _)) = g.constants.first() {
        return Err(Error::Input(format!(
            "cannot export constant '{}' outside an op: quantized graphs take weights inside \
             Conv/Gemm only",
            g.values[*v].name
        )));
    }
    let mut b = Builder {
        q,
        nodes: Vec::new(),
        inits: Vec::new(),
        taken: g.values.iter().map(|v| v.name.clone()).collect(),
        names: vec![None; g.values.len()],
    };
    for &i in &g.inputs {
        let name = g.values[i].name.clone();
        let out = b.fresh(&format!("{name}_dequantized"));
        b.qdq(i, name, out)?;
    }
    for (n, layer) in g.nodes.iter().zip(&q.layers) {
        b.node(n, layer)?;
    }
    let outputs = g
        .outputs
        .iter()
        .map(|&o| {
            let v = &g.values[o];
            match b.names[o].as_deref() {
                Some(name) if name == v.name => Ok(float_value(name, &v.shape)),
                _ => Err(Error::MalformedModel(format!(
                    "graph output '{}' is not computed by a node",
                    v.name
                ))),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut name = format!("quantscope {}", VariantSpec::Static(q.schemes.default));
    if !q.schemes.overrides.is_empty() {
        name.push_str(&format!(" ({} layer overrides)", q.schemes.overrides.len()));
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        graph: Some(GraphProto {
            node: b.nodes,
            name,
            initializer: b.inits,
            input: g
                .inputs
                .iter()
                .map(|&i| float_value(&g.values[i].name, &g.values[i].shape))
                .collect(),
            output: outputs,
            value_info: vec![],
        }),
    })
}

struct Builder<'a> {
    q: &'a QuantizedGraph,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    /// Every tensor and node name used so far (the graph's value names reserved up front).
    taken: HashSet<String>,
    /// The tensor that consumers of each value read (the end of its QDQ chain).
    names: Vec<Option<String>>,
}

impl Builder<'_> {
    /// `base`, or `base_2`, `base_3`, ... if taken; reserved.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Adds an initializer named after `base`; returns its name.
    fn init(&mut self, base: &str, make: impl FnOnce(&str) -> TensorProto) -> String {
        let name = self.fresh(base);
        self.inits.push(make(&name));
        name
    }

    /// Adds a node writing `output`.
    fn emit(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        output: String,
        attrs: Vec<AttributeProto>,
    ) -> String {
        let name = self.fresh(&format!("{output}_{op}"));
        self.nodes
            .push(node(op, name, inputs, vec![output.clone()], attrs));
        output
    }

    /// Adds a node writing a fresh tensor named after `base`.
    fn emit_new(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        base: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(base);
        self.emit(op, inputs, out, attrs)
    }

    fn params(&self, v: ValueId) -> Result<QuantParams> {
        self.q.params[v].ok_or_else(|| {
            Error::MalformedModel(format!(
                "value '{}' has no integer parameters",
                self.q.graph.values[v].name
            ))
        })
    }

    fn input(&self, v: ValueId) -> Result<String> {
        self.names[v].clone().ok_or_else(|| {
            Error::MalformedModel(format!(
                "value '{}' read before it is computed",
                self.q.graph.values[v].name
            ))
        })
    }

    /// `raw` (float) -> Q -> DQ [-> Clip to the grid's real range] -> `out`, for value `v`.
    fn qdq(&mut self, v: ValueId, raw: String, out: String) -> Result<()> {
        let p = self.params(v)?;
        let base = self.q.graph.values[v].name.clone();
        let (qmin, qmax) = (p.range.qmin(), p.range.qmax());
        let z = i8::try_from(p.zero_point).map_err(|_| {
            Error::MalformedModel(format!(
                "zero point {} of '{base}' is not int8",
                p.zero_point
            ))
        })?;
        let scale = self.init(&format!("{base}_scale"), |n| tensor_f32(n, &[], &[p.scale]));
        let zp = self.init(&format!("{base}_zero_point"), |n| tensor_i8(n, &[], &[z]));
        let qn = self.emit_new(
            "QuantizeLinear",
            vec![raw, scale.clone(), zp.clone()],
            &format!("{base}_quantized"),
            vec![],
        );
        if qmin == i8::MIN as i32 && qmax == i8::MAX as i32 {
            self.emit("DequantizeLinear", vec![qn, scale, zp], out.clone(), vec![]);
        } else {
            // The grid is narrower than int8: clip to its codes' real values, computed as the
            // DequantizeLinear computes them, so that the bounds are grid values exactly.
            let dq = self.emit_new(
                "DequantizeLinear",
                vec![qn, scale, zp],
                &format!("{base}_dequantized"),
                vec![],
            );
            let lo = p.scale * (qmin - p.zero_point) as f32;
            let hi = p.scale * (qmax - p.zero_point) as f32;
            let lo = self.init(&format!("{base}_grid_min"), |n| tensor_f32(n, &[], &[lo]));
            let hi = self.init(&format!("{base}_grid_max"), |n| tensor_f32(n, &[], &[hi]));
            self.emit("Clip", vec![dq, lo, hi], out.clone(), vec![]);
        }
        self.names[v] = Some(out);
        Ok(())
    }

    /// A fused activation after `x` (nothing for none; Relu for `[0, inf)`; else Clip).
    fn activation(&mut self, act: Activation, x: String, base: &str) -> String {
        if act.is_none() {
            return x;
        }
        if act == Activation::RELU {
            return self.emit_new("Relu", vec![x], &format!("{base}_relu"), vec![]);
        }
        let mut inputs = vec![x];
        for (bound, what) in [(act.min, "min"), (act.max, "max")] {
            inputs.push(if bound.is_finite() {
                self.init(&format!("{base}_clip_{what}"), |n| {
                    tensor_f32(n, &[], &[bound])
                })
            } else {
                String::new()
            });
        }
        while inputs.last().is_some_and(String::is_empty) {
            inputs.pop();
        }
        self.emit_new("Clip", inputs, &format!("{base}_clip"), vec![])
    }

    /// DequantizeLinear of a layer's weights of shape `dims` (rows first); returns its output.
    fn weights(&mut self, w: &QuantizedWeights, dims: &[usize], base: &str) -> Result<String> {
        let per_tensor = w.scales.len() == 1;
        let sdims: &[usize] = if per_tensor { &[] } else { &[w.rows] };
        let scale = self.init(&format!("{base}_scale"), |n| {
            tensor_f32(n, sdims, &w.scales)
        });
        let int4 = w.scheme.levels == Levels::Uniform && w.scheme.weight_bits <= 4;
        let (data, zp) = if int4 {
            // Codes q = e + Z_w of the group's zero point.
            let cols = w.cols().max(1);
            let zero = |r: usize| w.zero_points[if per_tensor { 0 } else { r }];
            let codes = w
                .data
                .iter()
                .enumerate()
                .map(|(i, &e)| e as i32 + zero(i / cols))
                .map(|q| i8::try_from(q).ok().filter(|q| (-8..=7).contains(q)))
                .collect::<Option<Vec<i8>>>()
                .ok_or_else(|| {
                    Error::MalformedModel(format!("{base}: a 4-bit weight code is outside INT4"))
                })?;
            let zps: Vec<i8> = w.zero_points.iter().map(|&z| z as i8).collect();
            let data = self.init(&format!("{base}_quantized"), |n| tensor_i4(n, dims, &codes));
            let zp = self.init(&format!("{base}_zero_point"), |n| tensor_i4(n, sdims, &zps));
            (data, zp)
        } else {
            let data = self.init(&format!("{base}_quantized"), |n| {
                tensor_i8(n, dims, &w.data)
            });
            let zeros = vec![0i8; w.scales.len()];
            let zp = self.init(&format!("{base}_zero_point"), |n| {
                tensor_i8(n, sdims, &zeros)
            });
            (data, zp)
        };
        let axis = if per_tensor {
            vec![]
        } else {
            vec![attr_int("axis", 0)]
        };
        Ok(self.emit_new("DequantizeLinear", vec![data, scale, zp], base, axis))
    }

    /// DequantizeLinear of the int32 bias at `S_x S_w[c]`; returns its output.
    fn bias(&mut self, lin: &QLinear, x_scale: f32, base: &str) -> String {
        let n = lin.bias.len();
        let scales: Vec<f32> = (0..n)
            .map(|c| (x_scale as f64 * lin.weights.scale(c) as f64) as f32)
            .collect();
        let data = self.init(&format!("{base}_quantized"), |nm| {
            tensor_i32(nm, &[n], &lin.bias)
        });
        let scale = self.init(&format!("{base}_scale"), |nm| tensor_f32(nm, &[n], &scales));
        self.emit_new(
            "DequantizeLinear",
            vec![data, scale],
            base,
            vec![attr_int("axis", 0)],
        )
    }

    /// The `starts`, `ends`, `axes`, `steps` initializers of a resolved Slice. A backward
    /// walk that ends past index 0 needs an end below -1 (ONNX reads -1 as the last index).
    fn slice_inputs(&mut self, sl: &Slice, base: &str) -> Vec<String> {
        let rank = sl.lens.len();
        let starts: Vec<i64> = sl.starts.iter().map(|&s| s as i64).collect();
        let ends: Vec<i64> = (0..rank)
            .map(|a| {
                let (s, st, n) = (starts[a], sl.steps[a] as i64, sl.lens[a] as i64);
                match n {
                    0 => s,
                    _ if st > 0 => s + st * (n - 1) + 1,
                    _ => match s + st * (n - 1) - 1 {
                        -1 => i64::MIN,
                        e => e,
                    },
                }
            })
            .collect();
        let axes: Vec<i64> = (0..rank as i64).collect();
        let steps: Vec<i64> = sl.steps.iter().map(|&s| s as i64).collect();
        [
            ("starts", starts),
            ("ends", ends),
            ("axes", axes),
            ("steps", steps),
        ]
        .into_iter()
        .map(|(what, v)| self.init(&format!("{base}_{what}"), |nm| tensor_i64(nm, &[rank], &v)))
        .collect()
    }

    fn node(&mut self, n: &Node, layer: &QLayer) -> Result<()> {
        let g = &self.q.graph;
        let out = n.outputs[0];
        let out_name = g.values[out].name.clone();
        let raw_base = format!("{out_name}_float");
        let ins = n
            .inputs
            .iter()
            .map(|&v| self.input(v))
            .collect::<Result<Vec<_>>>()?;
        let linear = || match layer {
            QLayer::Linear(lin) => Ok(lin),
            other => Err(Error::MalformedModel(format!(
                "node '{}' ({}) has the layer {other:?}",
                n.name,
                n.op.kind()
            ))),
        };
        let raw = match &n.op {
            Op::Conv(c) => {
                let lin = linear()?;
                let x_scale = self.params(n.inputs[0])?.scale;
                let w = self.weights(
                    &lin.weights,
                    c.weight.shape(),
                    &format!("{}.weight", n.name),
                )?;
                let b = self.bias(lin, x_scale, &format!("{}.bias", n.name));
                let attrs = vec![
                    attr_usizes("kernel_shape", &c.kernel()),
                    attr_usizes("strides", &c.strides),
                    attr_usizes("pads", &c.pads),
                    attr_usizes("dilations", &c.dilations),
                    attr_int("group", c.group as i64),
                ];
                let y = self.emit_new("Conv", vec![ins[0].clone(), w, b], &raw_base, attrs);
                self.activation(c.activation, y, &out_name)
            }
            Op::Gemm(gm) => {
                let lin = linear()?;
                if gm.trans_a {
                    return Err(Error::Input(format!("node '{}': Gemm with transA", n.name)));
                }
                let x_scale = self.params(n.inputs[0])?.scale;
                let dims = [gm.weight.nrows(), gm.weight.ncols()];
                let w = self.weights(&lin.weights, &dims, &format!("{}.weight", n.name))?;
                let b = self.bias(lin, x_scale, &format!("{}.bias", n.name));
                let attrs = vec![attr_int("transB", 1)];
                let y = self.emit_new("Gemm", vec![ins[0].clone(), w, b], &raw_base, attrs);
                self.activation(gm.activation, y, &out_name)
            }
            Op::Add => self.emit_new("Add", ins, &raw_base, vec![]),
            Op::GlobalAveragePool => self.emit_new("GlobalAveragePool", ins, &raw_base, vec![]),
            Op::AveragePool(p) | Op::MaxPool(p) => {
                let max = matches!(n.op, Op::MaxPool(_));
                let mut attrs = vec![
                    attr_usizes("kernel_shape", &p.kernel),
                    attr_usizes("strides", &p.strides),
                    attr_usizes("pads", &p.pads),
                    attr_int("ceil_mode", p.ceil_mode as i64),
                ];
                if max || p.dilations != [1, 1] {
                    attrs.push(attr_usizes("dilations", &p.dilations));
                }
                if !max {
                    attrs.push(attr_int("count_include_pad", p.count_include_pad as i64));
                }
                let op = if max { "MaxPool" } else { "AveragePool" };
                self.emit_new(op, ins, &raw_base, attrs)
            }
            Op::Flatten(f) => {
                let attrs = vec![attr_int("axis", f.axis as i64)];
                self.emit_new("Flatten", ins, &raw_base, attrs)
            }
            Op::Reshape(r) => {
                let shape: Vec<i64> = r.shape.iter().map(|&d| d as i64).collect();
                let s = self.init(&format!("{out_name}_shape"), |nm| {
                    tensor_i64(nm, &[shape.len()], &shape)
                });
                self.emit_new("Reshape", vec![ins[0].clone(), s], &raw_base, vec![])
            }
            Op::Identity => self.emit_new("Identity", ins, &raw_base, vec![]),
            Op::Relu => self.activation(Activation::RELU, ins[0].clone(), &raw_base),
            Op::Clip(c) => {
                let act = Activation {
                    min: c.min,
                    max: c.max,
                };
                if act.is_none() {
                    self.emit_new("Identity", ins, &raw_base, vec![])
                } else {
                    self.activation(act, ins[0].clone(), &raw_base)
                }
            }
            Op::Concat(c) => {
                let attrs = vec![attr_int("axis", c.axis as i64)];
                self.emit_new("Concat", ins, &raw_base, attrs)
            }
            Op::Softmax(s) => {
                // Float output: no Q/DQ after it.
                let shape = g.shape(n.inputs[0]).to_vec();
                if s.coerce_2d && s.axis + 1 != shape.len() {
                    // Opset < 13 semantics: softmax over the flattened trailing axes.
                    let flat = self.emit_new(
                        "Flatten",
                        ins,
                        &format!("{out_name}_flat"),
                        vec![attr_int("axis", s.axis as i64)],
                    );
                    let soft = self.emit_new(
                        "Softmax",
                        vec![flat],
                        &format!("{out_name}_flat_softmax"),
                        vec![attr_int("axis", 1)],
                    );
                    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
                    let sh = self.init(&format!("{out_name}_shape"), |nm| {
                        tensor_i64(nm, &[dims.len()], &dims)
                    });
                    self.emit("Reshape", vec![soft, sh], out_name.clone(), vec![]);
                } else {
                    let attrs = vec![attr_int("axis", s.axis as i64)];
                    self.emit("Softmax", ins, out_name.clone(), attrs);
                }
                self.names[out] = Some(out_name);
                return Ok(());
            }
            // quantscope's tables are exactly DequantizeLinear -> op -> QuantizeLinear.
            Op::Sigmoid => self.emit_new("Sigmoid", ins, &raw_base, vec![]),
            Op::Tanh => self.emit_new("Tanh", ins, &raw_base, vec![]),
            Op::HardSwish => self.emit_new("HardSwish", ins, &raw_base, vec![]),
            Op::HardSigmoid(h) => {
                let attrs = vec![attr_float("alpha", h.alpha), attr_float("beta", h.beta)];
                self.emit_new("HardSigmoid", ins, &raw_base, attrs)
            }
            Op::LeakyRelu(l) => {
                let attrs = vec![attr_float("alpha", l.alpha)];
                self.emit_new("LeakyRelu", ins, &raw_base, attrs)
            }
            Op::Pad(p) => {
                let (before, after): (Vec<i64>, Vec<i64>) =
                    p.pads.iter().map(|&(b, a)| (b as i64, a as i64)).unzip();
                let pads = [before, after].concat();
                let pads = self.init(&format!("{out_name}_pads"), |nm| {
                    tensor_i64(nm, &[pads.len()], &pads)
                });
                let (mode, value) = match p.mode {
                    PadMode::Constant(v) => ("constant", v),
                    PadMode::Reflect => ("reflect", 0.0),
                    PadMode::Edge => ("edge", 0.0),
                };
                let value = self.init(&format!("{out_name}_value"), |nm| {
                    tensor_f32(nm, &[], &[value])
                });
                let attrs = vec![attr_str("mode", mode)];
                self.emit_new("Pad", vec![ins[0].clone(), pads, value], &raw_base, attrs)
            }
            // Codes moved, never computed: the input's parameters on both sides.
            Op::Transpose(t) => {
                let attrs = vec![attr_usizes("perm", &t.perm)];
                self.emit_new("Transpose", ins, &raw_base, attrs)
            }
            Op::Slice(sl) => {
                let inputs = self.slice_inputs(sl, &out_name);
                let mut all = vec![ins[0].clone()];
                all.extend(inputs);
                self.emit_new("Slice", all, &raw_base, vec![])
            }
            Op::Gather(ga) => {
                let idx: Vec<i64> = ga.indices.iter().map(|&i| i as i64).collect();
                let shape = ga.indices_shape.clone();
                let indices = self.init(&format!("{out_name}_indices"), |nm| {
                    tensor_i64(nm, &shape, &idx)
                });
                let attrs = vec![attr_int("axis", ga.axis as i64)];
                self.emit_new("Gather", vec![ins[0].clone(), indices], &raw_base, attrs)
            }
            Op::Mul if matches!(layer, QLayer::Mul { .. }) => {
                self.emit_new("Mul", ins, &raw_base, vec![])
            }
            // Everything else runs in float in the int8 variants (MatMul, Sub, Div, PRelu,
            // ReduceMean, ...).
            _ => {
                return Err(Error::Unsupported {
                    node: n.name.clone(),
                    op_type: n.op.kind().into(),
                    what: "this op runs in float in quantscope's int8 variants, which the QDQ \
                           export does not write yet"
                        .into(),
                })
            }
        };
        self.qdq(out, raw, out_name)
    }
}
