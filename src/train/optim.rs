//! Optimizers: SGD with momentum and Adam, both with optional L2 weight decay on the
//! parameters marked for it ([`Param::decay`]).
//!
//! With `g = grad + wd * w` (decayed parameters only):
//! - SGD: `v = momentum * v + g`, `w -= lr * v`;
//! - Adam (Kingma and Ba): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
//!   `w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.

use super::param::Param;

/// Which optimizer, with its hyperparameters (the learning rate comes per step).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (heavy-ball) momentum.
    Sgd {
        /// Momentum, e.g. 0.9.
        momentum: f32,
    },
    /// Adam.
    Adam {
        /// First-moment decay, e.g. 0.9.
        beta1: f32,
        /// Second-moment decay, e.g. 0.999.
        beta2: f32,
        /// Added to the root of the second moment, e.g. 1e-8.
        eps: f32,
    },
}

impl OptimizerKind {
    /// SGD with momentum 0.9.
    pub const SGD: OptimizerKind = OptimizerKind::Sgd { momentum: 0.9 };
    /// Adam with the paper's defaults.
    pub const ADAM: OptimizerKind = OptimizerKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
}

/// An optimizer's state: one or two moment buffers per parameter, in the order the
/// parameters are given to [`Optimizer::step`] (always the same network's order).
#[derive(Clone, Debug)]
pub struct Optimizer {
    /// The update rule.
    pub kind: OptimizerKind,
    /// L2 weight decay added to the gradient of decayed parameters.
    pub weight_decay: f32,
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    steps: u32,
}

impl Optimizer {
    /// A fresh optimizer (zero moments).
    pub fn new(kind: OptimizerKind, weight_decay: f32) -> Optimizer {
        Optimizer {
            kind,
            weight_decay,
            first: Vec::new(),
            second: Vec::new(),
            steps: 0,
        }
    }

    /// Updates every parameter from its gradient with learning rate `lr`.
    pub fn step(&mut self, params: &mut [&mut Param], lr: f32) {
        if self.first.len() != params.len() {
            self.first = params.iter().map(|p| vec![0.0; p.len()]).collect();
            self.second = params.iter().map(|p| vec![0.0; p.len()]).collect();
        }
        self.steps += 1;
        for (i, p) in params.iter_mut().enumerate() {
            let wd = if p.decay { self.weight_decay } else { 0.0 };
            let Param { value, grad, .. } = &mut **p;
            match self.kind {
                OptimizerKind::Sgd { momentum } => {
                    for ((w, &g), v) in value.iter_mut().zip(grad.iter()).zip(&mut self.first[i]) {
                        *v = momentum * *v + g + wd * *w;
                        *w -= lr * *v;
                    }
                }
                OptimizerKind::Adam { beta1, beta2, eps } => {
                    let t = self.steps as i32;
                    let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
                    let moments = self.first[i].iter_mut().zip(&mut self.second[i]);
                    for ((w, &g), (m, v)) in value.iter_mut().zip(grad.iter()).zip(moments) {
                        let g = g + wd * *w;
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}
