//! Decoding `TensorProto`s (initializers, Constant values, test data) into checked arrays.

use super::proto::{data_type, TensorProto};
use crate::ir::Tensor;
use crate::{Error, Result};
use ndarray::IxDyn;
use prost::Message;

/// Largest element count accepted for one tensor or value (2^31): keeps every shape product
/// and byte count far from `usize` overflow, also on wasm32.
pub(crate) const MAX_ELEMENTS: usize = 1 << 31;

/// Element data of a constant: floats (FLOAT, DOUBLE) or integers (INT32, INT64, BOOL).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstData {
    /// Floating-point data, as f32.
    F32(Vec<f32>),
    /// Integer data, as i64 (shape-like inputs: Reshape's shape, Pad's pads).
    I64(Vec<i64>),
}

/// A constant tensor from the file, element count checked against its shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConstTensor {
    /// Shape.
    pub dims: Vec<usize>,
    /// Data, `dims.iter().product()` elements.
    pub data: ConstData,
    /// ONNX data type code, for messages.
    pub data_type: i32,
}

impl ConstTensor {
    /// The data as an f32 array, if the tensor is a float tensor.
    pub fn to_f32(&self) -> Option<Tensor> {
        match &self.data {
            ConstData::F32(v) => Tensor::from_shape_vec(IxDyn(&self.dims), v.clone()).ok(),
            ConstData::I64(_) => None,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::F32(v) => v.len(),
            ConstData::I64(v) => v.len(),
        }
    }

    /// The tensor with elements `source[i]` of this one, under `dims` (folded movement ops).
    pub fn take(&self, source: &[usize], dims: Vec<usize>) -> ConstTensor {
        let data = match &self.data {
            ConstData::F32(v) => ConstData::F32(source.iter().map(|&i| v[i]).collect()),
            ConstData::I64(v) => ConstData::I64(source.iter().map(|&i| v[i]).collect()),
        };
        ConstTensor {
            dims,
            data,
            data_type: self.data_type,
        }
    }

    /// An int64 tensor.
    pub fn from_i64(dims: Vec<usize>, v: Vec<i64>) -> ConstTensor {
        ConstTensor {
            dims,
            data: ConstData::I64(v),
            data_type: data_type::INT64,
        }
    }

    /// The integer data, flat, if the tensor is an integer tensor.
    pub fn i64s(&self) -> Option<&[i64]> {
        match &self.data {
            ConstData::I64(v) => Some(v),
            ConstData::F32(_) => None,
        }
    }
}

/// Checks dims from the file: non-negative, each and in product at most [`MAX_ELEMENTS`].
pub(crate) fn checked_dims(dims: &[i64], what: &str) -> Result<(Vec<usize>, usize)> {
    let mut count: usize = 1;
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = usize::try_from(d)
            .map_err(|_| Error::MalformedModel(format!("{what}: negative dimension {d}")))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| {
                Error::MalformedModel(format!(
                    "{what}: shape {dims:?} has more than {MAX_ELEMENTS} elements"
                ))
            })?;
        out.push(d);
    }
    Ok((out, count))
}

fn unsupported(t: &TensorProto, what: String) -> Error {
    Error::Unsupported {
        node: t.name.clone(),
        op_type: "TensorProto".into(),
        what,
    }
}

/// Checks that a typed field or `raw_data` holds exactly `count` elements of `size` bytes;
/// returns true when `raw_data` is the source.
fn check_len(t: &TensorProto, typed_len: usize, count: usize, size: usize) -> Result<bool> {
    let raw = !t.raw_data.is_empty();
    let (have, unit) = if raw {
        (t.raw_data.len(), size)
    } else {
        (typed_len, 1)
    };
    // count <= 2^31 and size <= 8, so this cannot overflow.
    if have != count * unit {
        return Err(Error::MalformedModel(format!(
            "tensor '{}' of shape {:?} needs {} {}, has {have}",
            t.name,
            t.dims,
            count * unit,
            if raw { "bytes of raw_data" } else { "values" }
        )));
    }
    Ok(raw)
}

/// Decodes an initializer or constant tensor.
pub(crate) fn from_proto(t: &TensorProto) -> Result<ConstTensor> {
    if t.data_location != 0 || !t.external_data.is_empty() {
        return Err(unsupported(t, "externally stored tensor data".into()));
    }
    let (dims, count) = checked_dims(&t.dims, &format!("tensor '{}'", t.name))?;
    let data = match t.data_type {
        data_type::FLOAT => ConstData::F32(if check_len(t, t.float_data.len(), count, 4)? {
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        } else {
            t.float_data.clone()
        }),
        data_type::DOUBLE => ConstData::F32(if check_len(t, t.double_data.len(), count, 8)? {
            t.raw_data
                .chunks_exact(8)
                .map(|b| {
                    let a: [u8; 8] = b.try_into().unwrap_or_default();
                    f64::from_le_bytes(a) as f32
                })
                .collect()
        } else {
            t.double_data.iter().map(|&d| d as f32).collect()
        }),
        data_type::INT64 => ConstData::I64(if check_len(t, t.int64_data.len(), count, 8)? {
            t.raw_data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect()
        } else {
            t.int64_data.clone()
        }),
        data_type::INT32 => ConstData::I64(if check_len(t, t.int32_data.len(), count, 4)? {
            t.raw_data
                .chunks_exact(4)
                .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect()
        } else {
            t.int32_data.iter().map(|&v| i64::from(v)).collect()
        }),
        data_type::BOOL => ConstData::I64(if check_len(t, t.int32_data.len(), count, 1)? {
            t.raw_data.iter().map(|&b| i64::from(b != 0)).collect()
        } else {
            t.int32_data.iter().map(|&v| i64::from(v != 0)).collect()
        }),
        other => {
            return Err(unsupported(
                t,
                format!("data type {} ({other})", data_type::name(other)),
            ))
        }
    };
    Ok(ConstTensor {
        dims,
        data,
        data_type: t.data_type,
    })
}

/// Decodes a standalone serialized `TensorProto` (such as `test_data_set_0/input_0.pb` of the
/// ONNX backend tests) into its name and an f32 tensor.
///
/// FLOAT and DOUBLE tensors are accepted (DOUBLE is narrowed to f32); other data types give
/// [`Error::Unsupported`] with `node` = the tensor name and `op_type` = `"TensorProto"`.
pub fn read_tensor(bytes: &[u8]) -> Result<(String, Tensor)> {
    let t = TensorProto::decode(bytes)
        .map_err(|e| Error::MalformedModel(format!("cannot decode TensorProto: {e}")))?;
    let c = from_proto(&t)?;
    let array = c.to_f32().ok_or_else(|| {
        unsupported(
            &t,
            format!(
                "data type {} ({}): only float tensors are read",
                data_type::name(t.data_type),
                t.data_type
            ),
        )
    })?;
    Ok((t.name, array))
}
