//! Executors: run an IR [`Graph`](crate::ir::Graph) on tensors.
//!
//! [`FloatExecutor`] is the f32 reference path: it plans a graph once (packs weights, picks a
//! convolution strategy per node, computes buffer lifetimes) and then runs it any number of
//! times. Convolution and matrix products go through [`crate::kernels`]; the executor only
//! moves data between them and implements the cheap ops (elementwise, pooling, shape ops).
//! With [`float::WeightMode::DynamicInt8`] its Conv and Gemm run on int8 weights instead,
//! quantizing their input per run (dynamic-range quantization).
//!
//! [`calibrate()`] (or a [`Calibrator`] fed one image at a time) runs the float executor on
//! sample images and lets an observer per activation choose its range (see
//! [`crate::quant`]'s calibration section).
//!
//! [`Int8Executor`] runs a [`QuantizedGraph`](crate::quant::lower::QuantizedGraph) with integer
//! arithmetic only, planned the same way (the validation, buffer lifetimes, convolution shapes
//! and pooling windows are shared).

pub mod calibrate;
pub mod float;
pub(crate) mod graph_plan;
pub mod int8;

pub use calibrate::{calibrate, Calibrator, Ranges};
pub use float::FloatExecutor;
pub use int8::Int8Executor;
