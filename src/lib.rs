//! quantscope: a float image classifier and its integer-only int8 twins, side by side.
//!
//! The modules read as the pipeline:
//! [`onnx`] (import) -> [`ir`] (model graph, op shape rules) -> [`quant`] (schemes, observers,
//! calibration, lowering to int8) -> [`kernels`] (f32 and int8, scalar and wasm SIMD128 twins)
//! -> [`exec`] (f32 and int8 executors) -> [`classifier`] (variants, top-k), with [`image`]
//! (decoding and preprocessing) feeding it, and [`visual`] (the data behind the teaching
//! page's pictures: histograms, grids, staircases, bit depths, sizes) reading from it.
//! Kernels never know about ONNX; ONNX never knows about kernels.

pub mod classifier;
pub mod data;
pub mod error;
pub mod eval;
pub mod exec;
pub mod export;
pub mod image;
pub mod ir;
pub mod kernels;
pub mod model;
pub mod onnx;
pub mod quant;
pub mod train;
pub mod visual;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
