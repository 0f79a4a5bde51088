//! Executors: run an IR [`Graph`](crate::ir::Graph) on tensors.
//!
//! [`FloatExecutor`] is the f32 reference path: it plans a graph once (packs weights, picks a
//! convolution strategy per node, computes buffer lifetimes) and then runs it any number of
//! times. Convolution and matrix products go through [`crate::kernels`]; the executor only
//! moves data between them and implements the cheap ops (elementwise, pooling, shape ops).

pub mod float;
pub(crate) mod graph_plan;
pub mod int8;

pub use float::FloatExecutor;
pub use int8::Int8Executor;
