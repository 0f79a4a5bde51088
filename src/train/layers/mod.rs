//! The layers of a [`super::Sequential`] network, each with forward, backward and its shape
//! rule. Activations are channel-major ([`super::Tensor4`]).

mod batchnorm;
mod conv;
mod dense;
mod fake_quant;
mod simple;

pub use batchnorm::{BatchNorm2d, BN_EPSILON, BN_MOMENTUM};
pub use conv::Conv2d;
pub use dense::Dense;
pub use fake_quant::{ActQuant, WeightQuant};
pub use simple::{Flatten, MaxPool2d, Relu};

use super::param::Param;
use super::tensor::{Shape, Tensor4};
use crate::Result;

/// One layer of a sequential network.
#[derive(Clone, Debug)]
pub enum Layer {
    /// Convolution with bias.
    Conv2d(Conv2d),
    /// Batch normalisation.
    BatchNorm2d(BatchNorm2d),
    /// Rectified linear unit.
    Relu(Relu),
    /// 2x2, stride 2 max pooling.
    MaxPool2d(MaxPool2d),
    /// `[C, N, H, W]` to `[C * H * W, N, 1, 1]`.
    Flatten(Flatten),
    /// Fully connected with bias.
    Dense(Dense),
    /// Fake quantization of the activation before it (quantization-aware training).
    ActQuant(ActQuant),
}

impl Layer {
    /// Short kind name, e.g. `conv` (for summaries).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Conv2d(_) => "conv",
            Layer::BatchNorm2d(_) => "batchnorm",
            Layer::Relu(_) => "relu",
            Layer::MaxPool2d(_) => "maxpool",
            Layer::Flatten(_) => "flatten",
            Layer::Dense(_) => "dense",
            Layer::ActQuant(_) => "actquant",
        }
    }

    /// The layer's output extents for `input`, or why the input does not fit.
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        match self {
            Layer::Conv2d(l) => l.output_shape(input),
            Layer::BatchNorm2d(l) => l.output_shape(input),
            Layer::Relu(_) => Ok(input),
            Layer::MaxPool2d(l) => l.output_shape(input),
            Layer::Flatten(l) => Ok(l.output_shape(input)),
            Layer::Dense(l) => l.output_shape(input),
            Layer::ActQuant(_) => Ok(input),
        }
    }

    /// The layer's output; `train` keeps what backward needs (and uses batch statistics in
    /// batch norm), otherwise evaluation mode.
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        match self {
            Layer::Conv2d(l) => l.forward(x, train),
            Layer::BatchNorm2d(l) => l.forward(x, train),
            Layer::Relu(l) => Ok(l.forward(x, train)),
            Layer::MaxPool2d(l) => l.forward(x, train),
            Layer::Flatten(l) => Ok(l.forward(x)),
            Layer::Dense(l) => l.forward(x, train),
            Layer::ActQuant(l) => Ok(l.forward(x, train)),
        }
    }

    /// Given `dLoss/dOutput` of the last training forward, sets the parameters' gradients and
    /// returns `dLoss/dInput` (`None` when `input_grad` is false and the layer could skip it).
    pub fn backward(&mut self, dy: Tensor4, input_grad: bool) -> Option<Tensor4> {
        match self {
            Layer::Conv2d(l) => l.backward(dy, input_grad),
            Layer::Dense(l) => l.backward(dy, input_grad),
            Layer::BatchNorm2d(l) => Some(l.backward(dy)),
            Layer::Relu(l) => Some(l.backward(dy)),
            Layer::MaxPool2d(l) => Some(l.backward(dy)),
            Layer::Flatten(l) => Some(l.backward(dy)),
            Layer::ActQuant(l) => Some(l.backward(dy)),
        }
    }

    /// The layer's trainable parameters (none for ReLU, pooling and flatten).
    pub fn params(&self) -> Vec<&Param> {
        match self {
            Layer::Conv2d(l) => vec![&l.weight, &l.bias],
            Layer::Dense(l) => vec![&l.weight, &l.bias],
            Layer::BatchNorm2d(l) => vec![&l.gamma, &l.beta],
            Layer::Relu(_) | Layer::MaxPool2d(_) | Layer::Flatten(_) | Layer::ActQuant(_) => {
                vec![]
            }
        }
    }

    /// The layer's trainable parameters, mutably (for optimizers).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self {
            Layer::Conv2d(l) => vec![&mut l.weight, &mut l.bias],
            Layer::Dense(l) => vec![&mut l.weight, &mut l.bias],
            Layer::BatchNorm2d(l) => vec![&mut l.gamma, &mut l.beta],
            Layer::Relu(_) | Layer::MaxPool2d(_) | Layer::Flatten(_) | Layer::ActQuant(_) => {
                vec![]
            }
        }
    }
}
