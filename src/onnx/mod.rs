//! ONNX import: protobuf decoding and translation to the IR.
//!
//! [`load_model`] decodes a `.onnx` file with hand-written prost messages ([`proto`]),
//! checks the opset and that every op type is known (else one error lists each unknown type
//! with its count and first node), reads initializers and graph inputs (a dynamic batch
//! dimension, symbolic, unknown or `-1`, is bound to 1; other dynamic dimensions must be
//! given in [`ImportOptions::input_shapes`]), translates the nodes in a topological order,
//! folds every node whose inputs are all constants (shape arithmetic included: `Shape` always
//! folds, shapes being static) and BatchNormalization into the preceding Conv, turns an NHWC
//! image input read only by a Transpose to NCHW into an NCHW input with
//! [`crate::ir::Layout::Nhwc`] recorded on the graph (per-channel Keras rescaling between
//! the input and that Transpose moves along; an NHWC input read otherwise keeps its
//! Transpose, which runs as an op), then runs [`crate::ir::passes`] (Identity removal,
//! Relu/Clip fusion into Conv/Gemm). [`read_tensor`] decodes a standalone
//! `TensorProto` such as the ONNX backend tests' `input_0.pb`.
//!
//! Nothing here panics on bad input: a file that is not a well-formed model gives
//! [`crate::Error::MalformedModel`]; anything outside the subset below gives
//! [`crate::Error::Unsupported`] naming the node (or `op_type#index`), the op type and
//! exactly what is unsupported.
//!
//! # Supported subset (default domain `""`/`ai.onnx`, opsets 1..=28)
//!
//! | ONNX op | IR | Supported | Unsupported |
//! |---|---|---|---|
//! | Conv | `Op::Conv` | 2-D; `group` (depthwise incl.); `strides`, `dilations`, `pads`, `auto_pad` NOTSET/VALID/SAME_UPPER/SAME_LOWER; optional bias | 1-D/3-D; non-constant `W` or `B`; `pads` with `auto_pad` |
//! | BatchNormalization | folded into Conv, else `Mul` + `Add` | inference form, `epsilon` | `training_mode`=1, `spatial`=0, used extra outputs, non-constant parameters |
//! | Relu, Sigmoid, Tanh, HardSwish | `Op::Relu`, `Op::Sigmoid`, `Op::Tanh`, `Op::HardSwish` | | |
//! | HardSigmoid, LeakyRelu | `Op::HardSigmoid`, `Op::LeakyRelu` | `alpha`, `beta` | |
//! | PRelu | `Op::PRelu` | slope broadcast to the input (constant or computed) | slope larger than the input |
//! | Clip | `Op::Clip` | `min`/`max` attributes (opset < 11) or constant scalar inputs (possibly omitted) | computed bounds |
//! | Add, Mul, Sub, Div | `Op::Add`, `Op::Mul`, `Op::Sub`, `Op::Div`; folded when both inputs are constants (int64 too) | numpy broadcasting; constants become graph constants | legacy `axis`; integer overflow or division by zero while folding |
//! | Cast | folded on constants; `Op::Identity` on run-time data to FLOAT/DOUBLE | any integer, bool or float `to` on constants | run-time data to non-float types |
//! | Shape, Size | folded to int64 constants | `start`, `end` | |
//! | ConstantOfShape, Range, Equal, Where | folded | constant inputs | run-time inputs |
//! | Transpose | `Op::Transpose` (folded on constants) | any `perm` (default reversed) | |
//! | Squeeze, Unsqueeze | `Op::Reshape` (folded on constants) | `axes` attribute (opset < 13) or constant input | squeezing a dim ≠ 1 |
//! | Slice | `Op::Slice` (folded on constants) | attributes (opset < 10) or constant `starts`/`ends`/`axes`/`steps`, negative and out-of-range bounds, negative steps | computed bounds |
//! | Gather | `Op::Gather` (folded on constant data) | constant indices of any shape, negative indices | computed indices |
//! | ReduceMean | `Op::GlobalAveragePool` (+ `Op::Reshape` without `keepdims`) over axes 2, 3 of a 4-D input, else `Op::ReduceMean` | `axes` attribute (opset < 18) or constant input, `keepdims`, `noop_with_empty_axes` | computed axes |
//! | GlobalAveragePool | `Op::GlobalAveragePool` | | |
//! | AveragePool, MaxPool | `Op::AveragePool`, `Op::MaxPool` | 2-D; `kernel_shape`, `strides`, `pads`, `auto_pad`, `ceil_mode`, `count_include_pad`, MaxPool `dilations` | used `Indices`; `storage_order`=1; AveragePool `dilations` ≠ 1 |
//! | Flatten | `Op::Flatten` (folded on constants) | negative `axis` | |
//! | Reshape | `Op::Reshape` (folded on constants) | constant or folded shape (attribute before opset 5), `0`, `-1`, `allowzero` | shape computed from run-time data |
//! | Gemm | `Op::Gemm` (`+ Add` for a computed C) | `alpha`, `beta`, `transA`, `transB`; constant C of any broadcastable shape | non-constant B; computed C with `beta` ≠ 1 |
//! | MatMul | `Op::Gemm` when B is a constant 2-D and A is 2-D, else `Op::MatMul` | | |
//! | Softmax | `Op::Softmax` | opset < 13 (2-D coercion, default axis 1) and >= 13 (default axis -1) | |
//! | Concat | `Op::Concat` (folded when all inputs are constants, int64 too) | negative `axis` | |
//! | Pad | `Op::Pad` | `pads` attribute (opset < 11) or constant inputs; `constant_value`; `axes`; modes constant/reflect/edge | negative pads; `wrap` |
//! | Identity, Dropout | `Op::Identity` (then removed) | Dropout at inference | used `mask`; `training_mode` true |
//! | Constant | a constant | `value`, `value_float(s)`, `value_int(s)` | sparse and string values |
//!
//! Tensors: FLOAT and DOUBLE (narrowed to f32) data; INT32, INT64 and BOOL for shape-like
//! inputs (kept as int64 while folding); inline `raw_data` or typed fields. Externally stored data, other data types,
//! non-float graph inputs, other op domains and any op not in the table are unsupported.

mod describe;
mod fold;
mod import;
mod layout;
mod node;
mod ops;
pub mod proto;
mod tensor;

pub use describe::{describe, FileDescription, FileInput};
pub use import::{load_model, ImportOptions, MAX_OPSET};

/// Every default-domain op type the importer accepts (each with the limits in the table
/// above): those translated to IR ops and the shape arithmetic folded to constants.
pub fn supported_ops() -> Vec<&'static str> {
    ops::TRANSLATED
        .iter()
        .chain(fold::FOLD_ONLY)
        .copied()
        .collect()
}
pub use tensor::read_tensor;
