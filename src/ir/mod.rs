//! Model IR: a topologically ordered graph of small op types with static shapes.
//!
//! Every value has a fixed shape known at import time (the model's input shape is fixed), so
//! executors can plan buffers once. Weights of Conv and Gemm live inside the op (already
//! BatchNorm-folded); other constant tensors are graph constants.

pub mod affine;
pub mod graph;
pub mod ops;
pub mod passes;
pub mod summary;

pub use graph::{Graph, Layout, Node, Value, ValueId};
pub use ops::{Activation, Op};

/// A dense f32 tensor (row-major, NCHW for images).
pub type Tensor = ndarray::ArrayD<f32>;
