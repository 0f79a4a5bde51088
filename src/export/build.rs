//! Small constructors of ONNX protobuf messages (tensors inline as little-endian `raw_data`).

use crate::kernels::qs8_unpack::{pack_codes, CodeBits};
use crate::onnx::proto::{
    attribute_type, data_type, AttributeProto, Dimension, DimensionValue, NodeProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};

/// An INT attribute.
pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..Default::default()
    }
}

/// A FLOAT attribute.
pub fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f,
        ..Default::default()
    }
}

/// A STRING attribute.
pub fn attr_str(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRING,
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// An INTS attribute.
pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

/// `usize` values as an INTS attribute.
pub fn attr_usizes(name: &str, v: &[usize]) -> AttributeProto {
    attr_ints(name, &v.iter().map(|&x| x as i64).collect::<Vec<_>>())
}

/// A node of the default domain.
pub fn node(
    op: &str,
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs,
        output: outputs,
        name,
        op_type: op.into(),
        domain: String::new(),
        attribute,
    }
}

fn tensor(name: &str, dims: &[usize], data_type: i32, raw_data: Vec<u8>) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type,
        name: name.into(),
        raw_data,
        ..Default::default()
    }
}

/// A FLOAT tensor (`dims` empty: a scalar).
pub fn tensor_f32(name: &str, dims: &[usize], v: &[f32]) -> TensorProto {
    let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    tensor(name, dims, data_type::FLOAT, raw)
}

/// An INT8 tensor.
pub fn tensor_i8(name: &str, dims: &[usize], v: &[i8]) -> TensorProto {
    tensor(
        name,
        dims,
        data_type::INT8,
        v.iter().map(|&x| x as u8).collect(),
    )
}

/// An INT4 tensor of values in `[-8, 7]`: two to a byte, the first in the low nibble (an odd
/// count leaves the last high nibble 0).
pub fn tensor_i4(name: &str, dims: &[usize], v: &[i8]) -> TensorProto {
    let nibbles: Vec<u8> = v.iter().map(|&x| x as u8 & 0x0f).collect();
    tensor(
        name,
        dims,
        data_type::INT4,
        pack_codes(&nibbles, CodeBits::Four),
    )
}

/// An INT32 tensor.
pub fn tensor_i32(name: &str, dims: &[usize], v: &[i32]) -> TensorProto {
    let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    tensor(name, dims, data_type::INT32, raw)
}

/// An INT64 tensor.
pub fn tensor_i64(name: &str, dims: &[usize], v: &[i64]) -> TensorProto {
    let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    tensor(name, dims, data_type::INT64, raw)
}

/// A FLOAT tensor value of a fixed shape (graph inputs and outputs).
pub fn float_value(name: &str, shape: &[usize]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(DimensionValue::DimValue(d as i64)),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}
