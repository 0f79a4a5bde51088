//! The subset of `onnx.proto` that quantscope reads, as hand-written prost messages.
//!
//! Field numbers are those of the ONNX specification (`onnx/onnx.proto`); fields not listed
//! here are skipped by the decoder. The structs are public so tests and tools can build
//! models by encoding them (`ModelProto { .. }.encode_to_vec()`).
//!
//! Scalars are written proto3-style (absent = zero), which decodes ONNX's proto2 files
//! unchanged: a missing `float f` reads as 0.0 exactly as a proto2 default would.

/// `AttributeProto.type` values.
pub mod attribute_type {
    /// `FLOAT`: the value is in `f`.
    pub const FLOAT: i32 = 1;
    /// `INT`: the value is in `i`.
    pub const INT: i32 = 2;
    /// `STRING`: the value is in `s`.
    pub const STRING: i32 = 3;
    /// `TENSOR`: the value is in `t`.
    pub const TENSOR: i32 = 4;
    /// `GRAPH`: a subgraph (not decoded).
    pub const GRAPH: i32 = 5;
    /// `FLOATS`: the value is in `floats`.
    pub const FLOATS: i32 = 6;
    /// `INTS`: the value is in `ints`.
    pub const INTS: i32 = 7;
    /// `STRINGS`: the value is in `strings`.
    pub const STRINGS: i32 = 8;
}

/// `TensorProto.data_type` values (`TensorProto.DataType`).
pub mod data_type {
    /// 32-bit IEEE float.
    pub const FLOAT: i32 = 1;
    /// Unsigned 8-bit integer.
    pub const UINT8: i32 = 2;
    /// Signed 8-bit integer.
    pub const INT8: i32 = 3;
    /// Unsigned 16-bit integer.
    pub const UINT16: i32 = 4;
    /// Signed 16-bit integer.
    pub const INT16: i32 = 5;
    /// Signed 32-bit integer.
    pub const INT32: i32 = 6;
    /// Signed 64-bit integer.
    pub const INT64: i32 = 7;
    /// Boolean (one byte per element in `raw_data`, else in `int32_data`).
    pub const BOOL: i32 = 9;
    /// 16-bit IEEE float.
    pub const FLOAT16: i32 = 10;
    /// 64-bit IEEE float.
    pub const DOUBLE: i32 = 11;
    /// Unsigned 32-bit integer.
    pub const UINT32: i32 = 12;
    /// Unsigned 64-bit integer.
    pub const UINT64: i32 = 13;
    /// Brain float (8-bit exponent, 7-bit mantissa).
    pub const BFLOAT16: i32 = 16;
    /// Signed 4-bit integer, two to a byte in `raw_data`, low nibble first (IR version 10).
    pub const INT4: i32 = 22;

    /// The ONNX name of a data type code, for error messages.
    pub fn name(code: i32) -> &'static str {
        const NAMES: [&str; 29] = [
            "UNDEFINED",
            "FLOAT",
            "UINT8",
            "INT8",
            "UINT16",
            "INT16",
            "INT32",
            "INT64",
            "STRING",
            "BOOL",
            "FLOAT16",
            "DOUBLE",
            "UINT32",
            "UINT64",
            "COMPLEX64",
            "COMPLEX128",
            "BFLOAT16",
            "FLOAT8E4M3FN",
            "FLOAT8E4M3FNUZ",
            "FLOAT8E5M2",
            "FLOAT8E5M2FNUZ",
            "UINT4",
            "INT4",
            "FLOAT4E2M1",
            "FLOAT8E8M0",
            "UINT2",
            "INT2",
            "FLOAT6E2M3",
            "FLOAT6E3M2",
        ];
        usize::try_from(code)
            .ok()
            .and_then(|i| NAMES.get(i))
            .copied()
            .unwrap_or("unknown")
    }
}

/// A whole ONNX file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// IR (file format) version.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// Operator sets the graph uses, one per domain.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The main graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
}

/// An operator set: a domain (`""` or `"ai.onnx"` is the default) and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// Domain name.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// Opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A graph: nodes, weights (initializers) and its interface.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// Nodes, topologically sorted in valid files.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// Graph name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (weights).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Graph inputs (older files also list the initializers here).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// Graph outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Optional shape information on intermediate values (not used: shapes are inferred).
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// One node: an operator applied to named values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input value names (an empty name is an omitted optional input).
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output value names.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// Node name (may be empty).
    #[prost(string, tag = "3")]
    pub name: String,
    /// Operator, e.g. `Conv`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Operator domain (`""` is the default ONNX domain).
    #[prost(string, tag = "7")]
    pub domain: String,
    /// Attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// A named attribute of a node; `type` says which value field is used.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// Attribute name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Which value field is used (see [`attribute_type`]).
    #[prost(int32, tag = "20")]
    pub r#type: i32,
    /// Float value.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// Integer value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// String value (UTF-8 bytes).
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// Tensor value.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// Float list.
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// Integer list.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// String list.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
}

/// A serialized tensor: shape, element type and data in one of several fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Shape.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// Element type (see [`data_type`]).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// FLOAT data (when `raw_data` is empty).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// INT32, INT16, INT8, UINT16, UINT8, BOOL and FLOAT16 data.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// INT64 data.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// Tensor name.
    #[prost(string, tag = "8")]
    pub name: String,
    /// Little-endian packed data, used instead of the typed fields when present.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// DOUBLE data.
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// Where the data of an externally stored tensor lives (unsupported).
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// `0` = DEFAULT (inline), `1` = EXTERNAL (unsupported).
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

/// A key-value pair (used by external data references).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A graph input or output: name and type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// Value name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Type (a tensor type for every value quantscope reads).
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// A value's type. Only the tensor case of ONNX's `value` oneof is decoded; sequences,
/// maps and other types leave `tensor_type` empty and are rejected by the importer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// Tensor type (`TypeProto.tensor_type`, oneof member 1).
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeProtoTensor>,
}

/// `TypeProto.Tensor`: element type and (possibly symbolic) shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProtoTensor {
    /// Element type (see [`data_type`]).
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// Shape; absent means unknown rank.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// A tensor shape whose dimensions may be symbolic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// Dimensions, outermost first.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// One dimension: a number, a symbol (`"batch"`), or nothing (unknown).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// The `value` oneof.
    #[prost(oneof = "DimensionValue", tags = "1, 2")]
    pub value: Option<DimensionValue>,
}

/// `TensorShapeProto.Dimension.value`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimensionValue {
    /// A fixed size.
    #[prost(int64, tag = "1")]
    DimValue(i64),
    /// A symbolic (dynamic) size.
    #[prost(string, tag = "2")]
    DimParam(String),
}
