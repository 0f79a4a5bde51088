//! Activation observers: each sees a value's data image after image and proposes the range
//! `[min, max]` its int8 grid should cover. What each one minimises is in
//! [the module doc of `quant`](crate::quant#calibration).
//!
//! The histogram-based observers ([`Percentile`], [`Entropy`], [`Mse`]) share one streaming
//! [`Histogram`] (single pass, exact under any chunking); they differ only in how
//! [`Observer::range`] reads it.

pub mod entropy;
pub mod histogram;
pub mod minmax;
pub mod mse;
pub mod percentile;

pub use entropy::Entropy;
pub use histogram::Histogram;
pub use minmax::MinMax;
pub use mse::Mse;
pub use percentile::Percentile;

use crate::{Error, Result};
use std::fmt;

/// Watches the values of one tensor over calibration and proposes a range for it.
pub trait Observer {
    /// Sees one more batch of values (e.g. one image's activation). Non-finite values are
    /// ignored.
    fn observe(&mut self, data: &[f32]);

    /// The proposed `(min, max)`, `min <= max`, inside the observed range; `(0, 0)` when
    /// nothing finite was seen.
    fn range(&self) -> (f32, f32);
}

/// Which observer to use.
///
/// The [`Default`] is [`ObserverKind::MinMax`], the one that needs no parameter and clips
/// nothing; front ends (CLI, JS) choose their own default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum ObserverKind {
    /// Running min and max ([`MinMax`]).
    #[default]
    MinMax,
    /// `[P_{100-p}, P_p]`, e.g. `Percentile(99.99)` ([`Percentile`]).
    Percentile(f32),
    /// TensorRT's KL-divergence threshold ([`Entropy`]).
    Entropy,
    /// Least expected quantization + clipping MSE ([`Mse`]).
    Mse,
}

impl ObserverKind {
    /// The percentile used by a bare `"percentile"`.
    pub const DEFAULT_PERCENTILE: f32 = 99.99;

    /// Parses `"minmax"`, `"percentile"` (99.99), `"percentile:P"` with `50 < P <= 100`,
    /// `"entropy"` or `"mse"` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let bad = |why: &str| {
            Error::Input(format!(
                "unknown observer '{s}'{why}: expected minmax, percentile, percentile:P \
                 (50 < P <= 100), entropy or mse"
            ))
        };
        match lower.as_str() {
            "minmax" => Ok(ObserverKind::MinMax),
            "percentile" => Ok(ObserverKind::Percentile(Self::DEFAULT_PERCENTILE)),
            "entropy" => Ok(ObserverKind::Entropy),
            "mse" => Ok(ObserverKind::Mse),
            other => match other.strip_prefix("percentile:") {
                Some(p) => match p.trim().parse::<f32>() {
                    Ok(p) if p > 50.0 && p <= 100.0 => Ok(ObserverKind::Percentile(p)),
                    _ => Err(bad(&format!(" (bad percentile '{p}')"))),
                },
                None => Err(bad("")),
            },
        }
    }

    /// A fresh observer of this kind.
    pub fn build(&self) -> Box<dyn Observer + Send> {
        match *self {
            ObserverKind::MinMax => Box::new(MinMax::default()),
            ObserverKind::Percentile(p) => Box::new(Percentile::new(p)),
            ObserverKind::Entropy => Box::new(Entropy::default()),
            ObserverKind::Mse => Box::new(Mse::default()),
        }
    }
}

/// The form [`ObserverKind::parse`] reads: `minmax`, `percentile:99.99`, `entropy`, `mse`.
impl fmt::Display for ObserverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserverKind::MinMax => f.write_str("minmax"),
            ObserverKind::Percentile(p) => write!(f, "percentile:{p}"),
            ObserverKind::Entropy => f.write_str("entropy"),
            ObserverKind::Mse => f.write_str("mse"),
        }
    }
}
