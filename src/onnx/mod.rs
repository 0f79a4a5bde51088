//! ONNX import: protobuf decoding and translation to the IR.
//!
//! [`load_model`] decodes a `.onnx` file with hand-written prost messages ([`proto`]),
//! checks the opset, reads initializers and graph inputs (dynamic dimensions must be given
//! in [`ImportOptions::input_shapes`]), translates the nodes in a topological order, folds
//! BatchNormalization into the preceding Conv, then runs [`crate::ir::passes`]
//! (Identity removal, Relu/Clip fusion into Conv/Gemm). [`read_tensor`] decodes a standalone
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
//! | Relu, Sigmoid | `Op::Relu`, `Op::Sigmoid` | | |
//! | Clip | `Op::Clip` | `min`/`max` attributes (opset < 11) or constant scalar inputs (possibly omitted) | computed bounds |
//! | Add, Mul | `Op::Add`, `Op::Mul` | numpy broadcasting; constants become graph constants | legacy `axis` |
//! | GlobalAveragePool | `Op::GlobalAveragePool` | | |
//! | AveragePool, MaxPool | `Op::AveragePool`, `Op::MaxPool` | 2-D; `kernel_shape`, `strides`, `pads`, `auto_pad`, `ceil_mode`, `count_include_pad`, MaxPool `dilations` | used `Indices`; `storage_order`=1; AveragePool `dilations` ≠ 1 |
//! | Flatten | `Op::Flatten` | negative `axis` | |
//! | Reshape | `Op::Reshape` | constant shape (attribute before opset 5), `0`, `-1`, `allowzero` | computed shape |
//! | Gemm | `Op::Gemm` (`+ Add` for a computed C) | `alpha`, `beta`, `transA`, `transB`; constant C of any broadcastable shape | non-constant B; computed C with `beta` ≠ 1 |
//! | MatMul | `Op::Gemm` when B is a constant 2-D and A is 2-D, else `Op::MatMul` | | |
//! | Softmax | `Op::Softmax` | opset < 13 (2-D coercion, default axis 1) and >= 13 (default axis -1) | |
//! | Concat | `Op::Concat` | negative `axis` | |
//! | Pad | `Op::Pad` | `pads` attribute (opset < 11) or constant inputs; `constant_value`; `axes`; modes constant/reflect/edge | negative pads; `wrap` |
//! | Identity, Dropout | `Op::Identity` (then removed) | Dropout at inference | used `mask`; `training_mode` true |
//! | Constant | a constant | `value`, `value_float(s)`, `value_int(s)` | sparse and string values |
//!
//! Tensors: FLOAT and DOUBLE (narrowed to f32) data; INT32, INT64 and BOOL for shape-like
//! inputs; inline `raw_data` or typed fields. Externally stored data, other data types,
//! non-float graph inputs, other op domains and any op not in the table are unsupported.

mod import;
mod node;
mod ops;
pub mod proto;
mod tensor;

pub use import::{load_model, ImportOptions, MAX_OPSET};
pub use tensor::read_tensor;
