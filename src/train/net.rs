//! A network as a sequence of layers: training and evaluation passes, parameters, batch-norm
//! folding, and the Fashion-MNIST CNN.

use super::layers::{BatchNorm2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, Relu};
use super::param::Param;
use super::rng::SplitMix64;
use super::tensor::{Shape, Tensor4};
use crate::{Error, Result};

/// Layers applied in order to a `[C, N, H, W]` input.
#[derive(Clone, Debug)]
pub struct Sequential {
    /// One image's input extents (`n` is 1; a batch may have any `n`).
    pub input: Shape,
    /// The layers, first to last. Layers may be inserted (e.g. fake quantization) as long as
    /// [`Sequential::output_shape`] still holds.
    pub layers: Vec<Layer>,
}

/// Widths of the Fashion-MNIST CNN:
/// `conv3x3(c1)-BN-ReLU-maxpool, conv3x3(c2)-BN-ReLU-maxpool, dense(hidden)-ReLU, dense(10)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CnnWidths {
    /// Channels of the first convolution.
    pub conv1: usize,
    /// Channels of the second convolution.
    pub conv2: usize,
    /// Features of the hidden dense layer.
    pub hidden: usize,
}

impl CnnWidths {
    /// 32 and 64 channels, 128 hidden features: 421,834 parameters.
    pub const DEFAULT: CnnWidths = CnnWidths {
        conv1: 32,
        conv2: 64,
        hidden: 128,
    };
}

impl Sequential {
    /// The Fashion-MNIST CNN for `[1, N, 28, 28]` inputs and 10 classes, initialised from
    /// `seed` (He normal weights, zero biases, identity batch norms).
    pub fn fashion_mnist_cnn(widths: CnnWidths, seed: u64) -> Sequential {
        let mut rng = SplitMix64::new(seed);
        let CnnWidths {
            conv1,
            conv2,
            hidden,
        } = widths;
        let layers = vec![
            Layer::Conv2d(Conv2d::new("conv1", (1, conv1), (3, 1, 1), &mut rng)),
            Layer::BatchNorm2d(BatchNorm2d::new("bn1", conv1)),
            Layer::Relu(Relu::new()),
            Layer::MaxPool2d(MaxPool2d::new()),
            Layer::Conv2d(Conv2d::new("conv2", (conv1, conv2), (3, 1, 1), &mut rng)),
            Layer::BatchNorm2d(BatchNorm2d::new("bn2", conv2)),
            Layer::Relu(Relu::new()),
            Layer::MaxPool2d(MaxPool2d::new()),
            Layer::Flatten(Flatten::new()),
            Layer::Dense(Dense::new("fc1", conv2 * 7 * 7, hidden, &mut rng)),
            Layer::Relu(Relu::new()),
            Layer::Dense(Dense::new("fc2", hidden, 10, &mut rng)),
        ];
        Sequential {
            input: Shape::new(1, 1, 28, 28),
            layers,
        }
    }

    /// The output extents for an input of `input`, through every layer's shape rule.
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.layers
            .iter()
            .try_fold(input, |shape, layer| layer.output_shape(shape))
    }

    /// Runs every layer: `train` keeps what [`Sequential::backward`] needs and uses batch
    /// statistics; otherwise evaluation mode (running statistics, nothing kept).
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        if (x.shape.c, x.shape.h, x.shape.w) != (self.input.c, self.input.h, self.input.w) {
            return Err(Error::Input(format!(
                "the network takes [{}, N, {}, {}] inputs, got {}",
                self.input.c, self.input.h, self.input.w, x.shape
            )));
        }
        self.layers
            .iter_mut()
            .try_fold(x, |x, layer| layer.forward(x, train))
    }

    /// Back-propagates `dlogits` through the last training forward, setting every
    /// parameter's gradient (the input's gradient is not computed).
    pub fn backward(&mut self, dlogits: Tensor4) {
        let mut grad = Some(dlogits);
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            let dy = grad
                .take()
                .expect("an inner layer returns its input gradient");
            grad = layer.backward(dy, i > 0);
        }
    }

    /// Every trainable parameter, first layer first.
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(Layer::params).collect()
    }

    /// Every trainable parameter, mutably, in the order of [`Sequential::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(Layer::params_mut).collect()
    }

    /// Number of trainable values (batch-norm running statistics not counted).
    pub fn parameter_count(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// The same function in evaluation mode without batch norms: each one folded into the
    /// convolution before it (`W'[o] = W[o] * scale[o]`, `b'[o] = b[o] * scale[o] + shift[o]`,
    /// with [`BatchNorm2d::scale_shift`]). A batch norm after anything but a convolution is an
    /// error.
    pub fn fold_batchnorm(&self) -> Result<Sequential> {
        let mut layers: Vec<Layer> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let Layer::BatchNorm2d(bn) = layer else {
                layers.push(layer.clone());
                continue;
            };
            let Some(Layer::Conv2d(conv)) = layers.last_mut() else {
                return Err(Error::Input(format!(
                    "{}: only a batch norm right after a convolution folds",
                    bn.gamma.name
                )));
            };
            let (scale, shift) = bn.scale_shift();
            let taps = conv.taps();
            for (o, row) in conv.weight.value.chunks_exact_mut(taps).enumerate() {
                row.iter_mut().for_each(|w| *w *= scale[o]);
                conv.bias.value[o] = conv.bias.value[o] * scale[o] + shift[o];
            }
        }
        Ok(Sequential {
            input: self.input,
            layers,
        })
    }
}
