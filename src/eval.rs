//! Accuracy on labelled data: a variant's answers against the labels, and against fp32's.
//!
//! Over `n` images with labels `y_i`, a variant's answers `p_i` and fp32's answers `f_i`:
//!
//! ```text
//! accuracy     = #{i : p_i = y_i} / n
//! agreement    = #{i : p_i = f_i} / n               (fp32 against itself: 1)
//! per_class[c] = #{i : y_i = c, p_i = c} / #{i : y_i = c}   (the class's recall)
//! confusion[t][p] = #{i : y_i = t, p_i = p}          (rows: true class, columns: answer)
//! ```
//!
//! A run is chunked ([`predict`] takes a range of images, [`Tally::add`] one answer) so a
//! caller can report progress and stop between chunks (the page's worker does both).

use crate::classifier::Classifier;
use crate::data::Dataset;
use crate::{Error, Result};
use image::RgbImage;
use serde::Serialize;
use std::ops::Range;

/// Image `i` of `data` as a grey RGB picture (each channel the pixel), what a visitor's file
/// would decode to: a model's preprocessing then takes it like any other image.
pub fn dataset_image(data: &Dataset, i: usize) -> RgbImage {
    let (w, h) = (data.images.cols as u32, data.images.rows as u32);
    let pixels = data
        .images
        .image(i)
        .iter()
        .flat_map(|&p| [p, p, p])
        .collect();
    RgbImage::from_raw(w, h, pixels).expect("3 bytes per pixel of a rows x cols image")
}

/// Checks that `classifier` gives one score per class of `data`.
pub fn check_classes(classifier: &Classifier, data: &Dataset) -> Result<()> {
    let (scores, classes) = (classifier.metadata().labels.len(), data.class_names.len());
    if scores != classes {
        return Err(Error::Input(format!(
            "the model gives {scores} scores per image, but the dataset has {classes} classes: \
             accuracy needs a model trained for this dataset"
        )));
    }
    Ok(())
}

/// The class `classifier` gives each image of `range` (its most probable, the lowest index
/// on a tie), through the classifier's own preprocessing.
pub fn predict(classifier: &Classifier, data: &Dataset, range: Range<usize>) -> Result<Vec<usize>> {
    check_classes(classifier, data)?;
    if range.end > data.len() || range.start > range.end {
        return Err(Error::Input(format!(
            "images {}..{} of a dataset of {}",
            range.start,
            range.end,
            data.len()
        )));
    }
    range
        .map(|i| {
            let logits = classifier.logits(&classifier.input_tensor(&dataset_image(data, i)))?;
            Ok(argmax(&logits))
        })
        .collect()
}

/// Index of the largest value, the first on a tie (0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The indices where `other`'s answers differ from `reference`'s (e.g. fp32's).
pub fn changed(reference: &[usize], other: &[usize]) -> Vec<usize> {
    reference
        .iter()
        .zip(other)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect()
}

/// Counts answers as they come (see the module's formulas).
#[derive(Clone, Debug)]
pub struct Tally {
    confusion: Vec<Vec<u32>>,
    agree: usize,
    compared: usize,
}

impl Tally {
    /// An empty tally over `classes` classes.
    pub fn new(classes: usize) -> Tally {
        Tally {
            confusion: vec![vec![0; classes]; classes],
            agree: 0,
            compared: 0,
        }
    }

    /// Counts one image: its label, the variant's answer and fp32's (`None` when there is no
    /// reference to agree with).
    pub fn add(&mut self, label: usize, predicted: usize, reference: Option<usize>) -> Result<()> {
        let classes = self.confusion.len();
        if label >= classes || predicted >= classes || reference.is_some_and(|r| r >= classes) {
            return Err(Error::Input(format!(
                "label {label}, answer {predicted} or reference {reference:?} is not one of \
                 {classes} classes"
            )));
        }
        self.confusion[label][predicted] += 1;
        if let Some(r) = reference {
            self.compared += 1;
            self.agree += usize::from(r == predicted);
        }
        Ok(())
    }

    /// Images counted.
    pub fn images(&self) -> usize {
        self.confusion.iter().flatten().map(|&c| c as usize).sum()
    }

    /// The figures so far, under the variant's name.
    pub fn report(&self, variant: &str) -> Accuracy {
        let images = self.images();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let correct = (0..self.confusion.len())
            .map(|c| self.confusion[c][c] as usize)
            .sum();
        let per_class = self
            .confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                ratio(
                    row[c] as usize,
                    row.iter().map(|&x| x as usize).sum::<usize>(),
                )
            })
            .collect();
        Accuracy {
            variant: variant.to_string(),
            accuracy: ratio(correct, images),
            agreement: (self.compared > 0).then(|| ratio(self.agree, self.compared)),
            per_class,
            confusion: self.confusion.clone(),
            images,
        }
    }
}

/// One variant's accuracy on a labelled set (the `eval --json` line).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Accuracy {
    /// The variant's name (`fp32`, `w4a8`, ...).
    pub variant: String,
    /// Share of images answered with their label, 0..1.
    pub accuracy: f64,
    /// Share of images answered as fp32 answers them, 0..1 (`None` without a reference).
    pub agreement: Option<f64>,
    /// Each class's accuracy (recall), by label.
    pub per_class: Vec<f64>,
    /// `confusion[true][answer]`: image counts.
    pub confusion: Vec<Vec<u32>>,
    /// Images counted.
    pub images: usize,
}

/// A whole run of `classifier` over `data`: its answers, and the accuracy with `reference`
/// (fp32's answers on the same images, if known); `progress(done, total)` after each chunk of
/// `chunk` images returns false to stop (then `Ok(None)`).
pub fn evaluate(
    classifier: &Classifier,
    variant: &str,
    data: &Dataset,
    reference: Option<&[usize]>,
    chunk: usize,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Option<(Vec<usize>, Accuracy)>> {
    if reference.is_some_and(|r| r.len() != data.len()) {
        return Err(Error::Input(
            "the reference answers do not cover the dataset".into(),
        ));
    }
    let mut tally = Tally::new(data.class_names.len());
    let mut answers = Vec::with_capacity(data.len());
    let mut start = 0;
    while start < data.len() {
        let end = (start + chunk.max(1)).min(data.len());
        for (i, p) in (start..end).zip(predict(classifier, data, start..end)?) {
            tally.add(usize::from(data.labels[i]), p, reference.map(|r| r[i]))?;
            answers.push(p);
        }
        start = end;
        if !progress(end, data.len()) {
            return Ok(None);
        }
    }
    let report = tally.report(variant);
    Ok(Some((answers, report)))
}
