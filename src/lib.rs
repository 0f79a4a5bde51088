//! quantscope: a float image classifier and its integer-only int8 twins, side by side.
//!
//! The modules read as the pipeline:
//! [`onnx`] (import) -> [`ir`] (model graph, op shape rules) -> [`kernels`] (scalar and
//! wasm SIMD128 twins) -> [`exec`] (executors) -> [`image`] (decoding and preprocessing).
//! Kernels never know about ONNX; ONNX never knows about kernels. [`visual`] holds the data
//! behind the teaching page's pictures (histograms, grids, staircases, bit depths, sizes).

pub mod classifier;
pub mod error;
pub mod exec;
pub mod image;
pub mod ir;
pub mod kernels;
pub mod model;
pub mod onnx;
pub mod quant;
pub mod visual;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
