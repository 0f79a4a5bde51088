//! Training in Rust: a small CNN learns Fashion-MNIST, natively and in the page's worker.
//!
//! [`Tensor4`] activations are channel-major; [`layers`] have forward, backward and shape rules
//! (convolution by im2col + GEMM on the crate's f32 GEMM, batch norm, ReLU, max pool, flatten,
//! dense); [`Sequential`] chains them, folds batch norms and lists parameters;
//! [`softmax_cross_entropy`] is the loss; [`Optimizer`] updates (SGD with momentum, Adam).
//! Everything is seeded ([`SplitMix64`]) and deterministic: the same seed gives the same
//! weights bit for bit, with or without threads. No clock, no files, no printing: progress
//! goes through a callback, so the module runs unchanged in wasm.

pub mod export;
mod from_graph;
mod gemm;
pub mod layers;
mod loss;
mod net;
mod optim;
mod par;
mod param;
pub mod qat;
mod rng;
mod tensor;
mod trainer;

pub use layers::Layer;
pub use loss::{softmax_cross_entropy, LossOutput};
pub use net::{CnnWidths, Sequential};
pub use optim::{Optimizer, OptimizerKind};
pub use param::Param;
pub use rng::SplitMix64;
pub use tensor::{Shape, Tensor4};
pub use trainer::{
    accuracy, input_batch, logits, predict, train, Progress, Schedule, TrainConfig, Trainer,
};

/// Fashion-MNIST's mean pixel (0..255): 0.2860 * 255.
pub const FASHION_MNIST_MEAN: f32 = 72.94;
/// Fashion-MNIST's pixel standard deviation (0..255): 0.3530 * 255.
pub const FASHION_MNIST_STD: f32 = 90.02;

/// A pixel as the network sees it, `(pixel - mean) / std`: the formula the inference path
/// applies with the metadata's `mean` and `std` (a grey pixel is its own luma).
#[inline]
pub fn normalize(pixel: u8) -> f32 {
    (f32::from(pixel) - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
}
