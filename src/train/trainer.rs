//! Mini-batch training on a labelled dataset: seeded shuffling and horizontal flips, a cosine
//! or constant learning rate, progress through a callback; and evaluation-mode prediction.
//!
//! [`Trainer`] advances one step per call (the page's worker interleaves steps with its
//! messages); [`train`] loops over all of them.

use super::loss::softmax_cross_entropy;
use super::net::Sequential;
use super::normalize;
use super::optim::{Optimizer, OptimizerKind};
use super::rng::SplitMix64;
use super::tensor::{Shape, Tensor4};
use crate::data::Dataset;
use crate::{Error, Result};
use std::ops::ControlFlow;

/// How the learning rate changes over the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `lr * (1 + cos(pi * t / T)) / 2` at step `t` of `T`: from the base rate down to 0.
    Cosine,
}

/// Training hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step (the last step of an epoch takes what is left).
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f32,
    /// L2 weight decay of the weights (not biases or batch-norm parameters).
    pub weight_decay: f32,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Mirror each training image left-right with probability 1/2 (clothes stay clothes).
    pub flip: bool,
    /// Seed of the shuffles and flips (the network has its own).
    pub seed: u64,
}

impl Default for TrainConfig {
    /// Adam at 2e-3 with a cosine schedule, batch 64, flips, 5e-4 weight decay, 1 epoch.
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            batch: 64,
            optimizer: OptimizerKind::ADAM,
            lr: 2e-3,
            weight_decay: 5e-4,
            schedule: Schedule::Cosine,
            flip: true,
            seed: 1,
        }
    }
}

/// Where training is after a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Current epoch, from 1.
    pub epoch: usize,
    /// Epochs in the run.
    pub epochs: usize,
    /// Steps done in this epoch, from 1.
    pub step: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// Images trained on in this epoch so far.
    pub images: usize,
    /// Mean loss over this epoch's steps so far (weighted by images).
    pub loss: f32,
    /// Fraction of this epoch's images classified right so far (training mode, before each
    /// step's update).
    pub accuracy: f32,
    /// The learning rate of this step.
    pub lr: f32,
}

impl Progress {
    /// Steps done in the whole run.
    pub fn steps_done(&self) -> usize {
        (self.epoch - 1) * self.steps_per_epoch + self.step
    }

    /// Steps in the whole run.
    pub fn total_steps(&self) -> usize {
        self.epochs * self.steps_per_epoch
    }
}

/// A training run in progress: the network, the optimizer's state, and the position in the
/// shuffled epoch.
#[derive(Clone, Debug)]
pub struct Trainer {
    /// The network being trained.
    pub net: Sequential,
    config: TrainConfig,
    optimizer: Optimizer,
    rng: SplitMix64,
    order: Vec<usize>,
    epoch: usize,
    step: usize,
    images: usize,
    loss_sum: f64,
    correct: usize,
}

impl Trainer {
    /// Starts a run of `config` on a training set of `train_len` images.
    pub fn new(net: Sequential, config: TrainConfig, train_len: usize) -> Result<Trainer> {
        if train_len == 0 || config.batch == 0 || config.epochs == 0 {
            return Err(Error::Input(format!(
                "training needs images, a batch and epochs: {train_len} images, batch {}, {} \
                 epochs",
                config.batch, config.epochs
            )));
        }
        Ok(Trainer {
            net,
            optimizer: Optimizer::new(config.optimizer, config.weight_decay),
            rng: SplitMix64::new(config.seed),
            order: (0..train_len).collect(),
            epoch: 0,
            step: 0,
            images: 0,
            loss_sum: 0.0,
            correct: 0,
            config,
        })
    }

    /// Steps per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.config.batch)
    }

    /// True once every epoch has run.
    pub fn done(&self) -> bool {
        self.epoch == self.config.epochs && self.step == self.steps_per_epoch()
    }

    /// The learning rate at step `t` (from 0) of the run.
    fn lr_at(&self, t: usize) -> f32 {
        match self.config.schedule {
            Schedule::Constant => self.config.lr,
            Schedule::Cosine => {
                let total = (self.config.epochs * self.steps_per_epoch()) as f64;
                let phase = std::f64::consts::PI * t as f64 / total;
                (f64::from(self.config.lr) * 0.5 * (1.0 + phase.cos())) as f32
            }
        }
    }

    /// One optimisation step on the next mini-batch of `data` (the set the trainer was made
    /// for); `None` when the run is over.
    pub fn step(&mut self, data: &Dataset) -> Result<Option<Progress>> {
        if data.len() != self.order.len() {
            return Err(Error::Input(format!(
                "the trainer was made for {} images, got a dataset of {}",
                self.order.len(),
                data.len()
            )));
        }
        if self.done() {
            return Ok(None);
        }
        if self.epoch == 0 || self.step == self.steps_per_epoch() {
            self.epoch += 1;
            self.step = 0;
            self.images = 0;
            self.loss_sum = 0.0;
            self.correct = 0;
            self.rng.shuffle(&mut self.order);
        }
        let batch = self.config.batch;
        let start = self.step * batch;
        let indices = &self.order[start..(start + batch).min(self.order.len())];
        let flips: Vec<bool> = indices
            .iter()
            .map(|_| self.config.flip && self.rng.next_u64() >> 63 == 1)
            .collect();
        let x = input_batch(data, indices, &flips)?;
        let labels: Vec<u8> = indices.iter().map(|&i| data.labels[i]).collect();
        let logits = self.net.forward(x, true)?;
        let out = softmax_cross_entropy(&logits, &labels)?;
        self.net.backward(out.grad);
        let lr = self.lr_at((self.epoch - 1) * self.steps_per_epoch() + self.step);
        self.optimizer.step(&mut self.net.params_mut(), lr);
        self.step += 1;
        self.images += labels.len();
        self.loss_sum += f64::from(out.loss) * labels.len() as f64;
        self.correct += out.correct;
        Ok(Some(Progress {
            epoch: self.epoch,
            epochs: self.config.epochs,
            step: self.step,
            steps_per_epoch: self.steps_per_epoch(),
            images: self.images,
            loss: (self.loss_sum / self.images as f64) as f32,
            accuracy: self.correct as f32 / self.images as f32,
            lr,
        }))
    }
}

/// Trains `net` on `data` for `config`, calling `on_step` after every step (break to stop
/// early); returns the trained network.
pub fn train(
    net: Sequential,
    data: &Dataset,
    config: TrainConfig,
    mut on_step: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Sequential> {
    let mut trainer = Trainer::new(net, config, data.len())?;
    while let Some(progress) = trainer.step(data)? {
        if on_step(&progress).is_break() {
            break;
        }
    }
    Ok(trainer.net)
}

/// Images `indices` of `data` as a normalised `[1, N, H, W]` batch, image `i` mirrored
/// left-right where `flips[i]`.
pub fn input_batch(data: &Dataset, indices: &[usize], flips: &[bool]) -> Result<Tensor4> {
    let (h, w) = (data.images.rows, data.images.cols);
    let mut x = Vec::with_capacity(indices.len() * h * w);
    for (k, &i) in indices.iter().enumerate() {
        if i >= data.len() {
            return Err(Error::Input(format!(
                "image {i} of a dataset of {}",
                data.len()
            )));
        }
        for row in data.images.image(i).chunks_exact(w) {
            if flips.get(k).copied().unwrap_or(false) {
                x.extend(row.iter().rev().map(|&p| normalize(p)));
            } else {
                x.extend(row.iter().map(|&p| normalize(p)));
            }
        }
    }
    Ok(Tensor4::new(Shape::new(1, indices.len(), h, w), x))
}

/// Evaluation-mode logits of images `range` of `data`, `[classes, N, 1, 1]`.
pub fn logits(
    net: &mut Sequential,
    data: &Dataset,
    range: std::ops::Range<usize>,
) -> Result<Tensor4> {
    let indices: Vec<usize> = range.collect();
    net.forward(input_batch(data, &indices, &[])?, false)
}

/// The class `net` gives every image of `data` in evaluation mode (the first maximum on a
/// tie), `batch` images at a time.
pub fn predict(net: &mut Sequential, data: &Dataset, batch: usize) -> Result<Vec<usize>> {
    let mut predicted = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(batch.max(1)) {
        let z = logits(net, data, start..(start + batch.max(1)).min(data.len()))?;
        let (classes, n) = (z.shape.c, z.shape.n);
        predicted.extend((0..n).map(|i| {
            (0..classes).fold(0, |best, k| {
                if z.data[k * n + i] > z.data[best * n + i] {
                    k
                } else {
                    best
                }
            })
        }));
    }
    Ok(predicted)
}

/// Fraction of `data` that `net` classifies right in evaluation mode.
pub fn accuracy(net: &mut Sequential, data: &Dataset, batch: usize) -> Result<f64> {
    let predicted = predict(net, data, batch)?;
    let right = predicted
        .iter()
        .zip(&data.labels)
        .filter(|(&p, &l)| p == usize::from(l))
        .count();
    Ok(right as f64 / data.len().max(1) as f64)
}
