//! Calibration: run the float model on sample images and record a range for every activation.

use crate::exec::FloatExecutor;
use crate::ir::Tensor;
use crate::quant::observer::{Observer, ObserverKind};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Activation ranges by value name (what the int8 lowering needs), serialisable (serde JSON)
/// so that a native calibration can be replayed bit-identically elsewhere (the wasm test).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    /// The observer, as [`ObserverKind`]'s `Display` writes it (e.g. `percentile:99.99`).
    pub observer: String,
    /// Images seen.
    pub images: usize,
    /// `(min, max)` for every graph input and node output, by value name.
    pub ranges: BTreeMap<String, (f32, f32)>,
}

/// Feeds images one at a time through the float executor, one observer per value (graph
/// inputs and node outputs; constants and weights are not activations).
pub struct Calibrator<'a> {
    executor: &'a FloatExecutor,
    kind: ObserverKind,
    /// By value id; `None` for values that are not observed (constants).
    observers: Vec<Option<Box<dyn Observer + Send>>>,
    images: usize,
}

impl<'a> Calibrator<'a> {
    /// A calibrator with a fresh `kind` observer for every node output, and MinMax for the
    /// graph inputs and outputs whatever `kind` is: the input's range is the preprocessing's,
    /// and clipping the outputs would cut exactly the top logit that decides the class (the
    /// entropy observer, tuned for the bulk of a histogram, does that: -2 dB logit SQNR on
    /// EfficientNet-Lite0 instead of +18).
    pub fn new(executor: &'a FloatExecutor, kind: ObserverKind) -> Self {
        let g = executor.graph();
        let mut observers: Vec<Option<Box<dyn Observer + Send>>> =
            (0..g.values.len()).map(|_| None).collect();
        let observed = g
            .inputs
            .iter()
            .chain(g.nodes.iter().flat_map(|n| &n.outputs));
        for &v in observed {
            let ends = g.inputs.contains(&v) || g.outputs.contains(&v);
            observers[v] = Some(if ends { ObserverKind::MinMax } else { kind }.build());
        }
        Calibrator {
            executor,
            kind,
            observers,
            images: 0,
        }
    }

    /// Runs one preprocessed image (the model's input shape) and lets every observer see its
    /// value.
    pub fn add(&mut self, input: &Tensor) -> Result<()> {
        let observers = &mut self.observers;
        self.executor
            .run_observed(std::slice::from_ref(input), &mut |v, data| {
                if let Some(Some(o)) = observers.get_mut(v) {
                    o.observe(data);
                }
            })?;
        self.images += 1;
        Ok(())
    }

    /// Images added so far.
    pub fn images(&self) -> usize {
        self.images
    }

    /// The ranges every observer proposes.
    pub fn finish(self) -> Ranges {
        let g = self.executor.graph();
        // Inserted, not collected: `collect` into a map is a stable sort of its own.
        let mut ranges = BTreeMap::new();
        for (v, o) in self.observers.iter().enumerate() {
            if let Some(o) = o {
                ranges.insert(g.values[v].name.clone(), o.range());
            }
        }
        Ranges {
            observer: self.kind.to_string(),
            images: self.images,
            ranges,
        }
    }
}

/// Calibrates on `inputs` (preprocessed images), calling `progress(done, total)` after each
/// one; `total` is the iterator's size hint (exact for vectors and maps over them), raised to
/// `done` if the hint falls short. Fails on zero images.
pub fn calibrate(
    executor: &FloatExecutor,
    kind: ObserverKind,
    inputs: impl IntoIterator<Item = Tensor>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Ranges> {
    let inputs = inputs.into_iter();
    let hint = inputs.size_hint();
    let hint = hint.1.unwrap_or(hint.0);
    let mut cal = Calibrator::new(executor, kind);
    for input in inputs {
        cal.add(&input)?;
        let done = cal.images();
        progress(done, hint.max(done));
    }
    if cal.images() == 0 {
        return Err(Error::Input(
            "calibration needs at least one image, got none".into(),
        ));
    }
    Ok(cal.finish())
}
