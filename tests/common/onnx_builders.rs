//! Builders for hand-made ONNX models: prost structs encoded to bytes, plus small helpers
//! to inspect the imported graph.

use prost::Message;
use quantscope::ir::{Graph, Op};
use quantscope::onnx::proto::{
    attribute_type, data_type, AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor,
    ValueInfoProto,
};
use quantscope::onnx::{load_model, ImportOptions};
use quantscope::Error;

pub fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        domain: String::new(),
        attribute: attrs,
    }
}

pub fn attr(name: &str, ty: i32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: ty,
        ..Default::default()
    }
}

pub fn a_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        i,
        ..attr(name, attribute_type::INT)
    }
}

pub fn a_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        f,
        ..attr(name, attribute_type::FLOAT)
    }
}

pub fn a_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: ints.to_vec(),
        ..attr(name, attribute_type::INTS)
    }
}

pub fn a_str(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        s: s.as_bytes().to_vec(),
        ..attr(name, attribute_type::STRING)
    }
}

/// A FLOAT tensor in `raw_data` (little-endian), as most exporters write it.
pub fn t_f32(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: data_type::FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// An INT64 tensor in `int64_data`.
pub fn t_i64(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: data_type::INT64,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// A float tensor value info; `None` dims are symbolic (`"N"`).
pub fn vi(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Some(v) => DimensionValue::DimValue(*v),
                                None => DimensionValue::DimParam("N".into()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

pub fn fixed(dims: &[i64]) -> Vec<Option<i64>> {
    dims.iter().map(|&d| Some(d)).collect()
}

/// Encodes a model: one input `x` of `in_dims`, the given nodes and initializers, outputs.
pub fn model_with(
    opset: i64,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: &[&str],
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: "test".into(),
            initializer: inits,
            input: inputs,
            output: outputs.iter().map(|o| vi(o, &[])).collect(),
            value_info: vec![],
        }),
    }
    .encode_to_vec()
}

pub fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    in_dims: &[i64],
    outputs: &[&str],
) -> Vec<u8> {
    model_with(13, nodes, inits, vec![vi("x", &fixed(in_dims))], outputs)
}

pub fn load(bytes: &[u8]) -> Graph {
    load_model(bytes, &ImportOptions::default()).expect("model loads")
}

pub fn load_raw(bytes: &[u8]) -> Graph {
    let opts = ImportOptions {
        skip_passes: true,
        ..Default::default()
    };
    load_model(bytes, &opts).expect("model loads")
}

pub fn kinds(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.kind()).collect()
}

pub fn out_shape(g: &Graph) -> Vec<usize> {
    g.shape(g.outputs[0]).to_vec()
}

pub fn conv_of(g: &Graph, i: usize) -> &quantscope::ir::ops::Conv {
    match &g.nodes[i].op {
        Op::Conv(c) => c,
        op => panic!("node {i} is {}", op.kind()),
    }
}

pub fn gemm_of(g: &Graph, i: usize) -> &quantscope::ir::ops::Gemm {
    match &g.nodes[i].op {
        Op::Gemm(c) => c,
        op => panic!("node {i} is {}", op.kind()),
    }
}

pub fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

pub fn unsupported(e: Error) -> (String, String, String) {
    match e {
        Error::Unsupported {
            node,
            op_type,
            what,
        } => (node, op_type, what),
        e => panic!("expected Unsupported, got {e}"),
    }
}
