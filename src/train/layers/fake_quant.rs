//! Fake quantization inside the network, for quantization-aware training (the math is
//! [`crate::quant::fake`]'s): [`WeightQuant`] on a convolution's or dense layer's weights,
//! [`ActQuant`] as a layer of its own on the activations the integer engine quantizes.

use super::super::tensor::Tensor4;
use crate::quant::fake::{
    fake_quant_activations, fake_quant_bias, fake_quant_weights, fake_quant_weights_on,
    straight_through, FakeWeights, RangeTracker,
};
use crate::quant::Scheme;

/// A layer's weights seen through the integer variant's grid: refreshed from the float
/// ("latent") weights at every forward pass; the optimizer keeps updating the latent ones.
#[derive(Clone, Debug)]
pub struct WeightQuant {
    /// The weight grid (bits, levels, granularity, clipping).
    pub scheme: Scheme,
    /// The input grid's scale `S_x` when known: the bias is then rounded to the engine's
    /// int32 grid too (see [`crate::quant::fake::fake_quant_bias`]).
    pub input_scale: Option<f32>,
    fake: Option<FakeWeights>,
    bias: Option<Vec<f32>>,
    /// Training passes since the grid was last chosen.
    stale: usize,
}

/// Training passes between two choices of the weight grid: choosing it (the clipping search,
/// k-means) costs more than the step, and a few steps barely move the weights; in between the
/// weights are rounded on the last grid. Evaluation passes always choose it anew, as the
/// lowering will.
const GRID_EVERY: usize = 16;

impl WeightQuant {
    /// Weights under `scheme`.
    pub fn new(scheme: Scheme) -> WeightQuant {
        WeightQuant {
            scheme,
            input_scale: None,
            fake: None,
            bias: None,
            stale: 0,
        }
    }

    /// Fake-quantizes `weights` (`rows` output channels) and `bias` for the next products,
    /// choosing the grid anew unless `train` and it was chosen less than [`GRID_EVERY`]
    /// training passes ago.
    pub(crate) fn refresh(&mut self, weights: &[f32], bias: &[f32], rows: usize, train: bool) {
        let fake = match &self.fake {
            Some(f) if train && self.stale < GRID_EVERY => {
                self.stale += 1;
                fake_quant_weights_on(&f.grid, weights, rows)
            }
            _ => {
                self.stale = 0;
                fake_quant_weights(weights, rows, &self.scheme)
            }
        };
        self.bias = self
            .input_scale
            .map(|s_x| fake_quant_bias(bias, s_x, &fake.scales));
        self.fake = Some(fake);
    }

    /// The bias a layer holding `quant` adds: the engine's int32 bias of the last refresh
    /// under QAT with a known input grid, else its float `bias`.
    pub(crate) fn bias<'a>(quant: &'a Option<WeightQuant>, bias: &'a [f32]) -> &'a [f32] {
        quant
            .as_ref()
            .and_then(|q| q.bias.as_deref())
            .unwrap_or(bias)
    }

    /// The weights a layer holding `quant` computes with: the fake-quantized ones of the
    /// last refresh under QAT, else its float `weights`.
    pub(crate) fn weights<'a>(quant: &'a Option<WeightQuant>, weights: &'a [f32]) -> &'a [f32] {
        match quant.as_ref().and_then(|q| q.fake.as_ref()) {
            Some(f) => &f.values,
            None => weights,
        }
    }

    /// The straight-through estimator on the gradient with respect to the weights: zero where
    /// a weight lies outside its grid.
    pub(crate) fn mask_gradient(&self, grad: &mut [f32]) {
        if let Some(f) = &self.fake {
            straight_through(grad, &f.pass);
        }
    }
}

/// Fake quantization of an activation: training tracks its range (moving average, until
/// frozen) and rounds it to the grid; backward is the straight-through estimator.
#[derive(Clone, Debug)]
pub struct ActQuant {
    /// The value this stands for in the exported model (its name in the activation ranges).
    pub value: String,
    /// The activation grid's bits and symmetry.
    pub scheme: Scheme,
    /// The range.
    pub tracker: RangeTracker,
    pass: Vec<bool>,
}

impl ActQuant {
    /// Fake quantization of value `value` under `scheme`, the range averaged with `momentum`.
    pub fn new(value: impl Into<String>, scheme: Scheme, momentum: f32) -> ActQuant {
        ActQuant {
            value: value.into(),
            scheme,
            tracker: RangeTracker::new(momentum),
            pass: Vec::new(),
        }
    }

    /// In training the batch moves the range first; then every value goes to the grid (values
    /// pass unchanged until a range exists).
    pub fn forward(&mut self, mut x: Tensor4, train: bool) -> Tensor4 {
        if train {
            self.tracker.observe(&x.data);
        }
        match self.tracker.params(&self.scheme) {
            Some(p) => fake_quant_activations(&mut x.data, &p, &mut self.pass),
            None => {
                self.pass.clear();
                self.pass.resize(x.data.len(), true);
            }
        }
        x
    }

    /// `dx = dy` inside the grid's range, 0 outside.
    pub fn backward(&mut self, mut dy: Tensor4) -> Tensor4 {
        assert_eq!(
            dy.data.len(),
            self.pass.len(),
            "ActQuant::backward without forward"
        );
        straight_through(&mut dy.data, &self.pass);
        dy
    }
}
