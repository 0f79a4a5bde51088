//! Quantization math, written once, next to the code that does it (Jacob et al. 2018,
//! "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
//! Inference"; gemmlowp's doc/quantization.md).
//!
//! A real value `r` is represented by a b-bit integer `q` (held in an `i8`, b = 1..8) through an
//! affine map
//!
//! ```text
//! r = S (q - Z)          S > 0 real (scale), Z integer (zero point, exactly representable)
//! ```
//!
//! For a product `r3 = sum r1 r2` with `r_i = S_i (q_i - Z_i)`:
//!
//! ```text
//! q3 = Z3 + M * sum (q1 - Z1)(q2 - Z2)      M = S1 S2 / S3
//! ```
//!
//! The sum is an int32 accumulator; `M` (in (0, 1) for every layer seen in practice, though any
//! positive value is handled) is applied as `M = M0 * 2^-n` with `M0` an int32 in
//! `[2^30, 2^31)` ([`Multiplier`]): one 64-bit multiply and one rounding right shift
//! ([`Multiplier::apply`], TFLite's single rounding; gemmlowp's double rounding moved ~0.5% of
//! codes by one against a float runtime's `round(acc M)`).
//!
//! - [`params`] (with the kernels): choosing `S` and `Z` from a range (per tensor or per channel, symmetric or not).
//! - [`fixed_point`]: the integer-only requantization (the definition).
//! - [`f32_requant`]: its float form for SIMD kernels, used per channel only where a check
//!   shows it equal to the definition on every int32 input (it is the same function, computed
//!   with fewer vector instructions).
//! - [`scheme`]: one layer's scheme (bits, levels, granularity, symmetry) and the variant spec.
//! - [`codebook`]: k-means and power-of-two levels (non-uniform weights).
//! - [`observer`]: choosing an activation range from observed values (the executor's
//!   [`calibrate()`](crate::exec::calibrate()) runs the float model on sample images).
//! - [`fp16`]: the fp16-weights variant (binary16 storage, f32 compute).
//! - [`fake`]: fake quantization and the straight-through estimator, for QAT.
//! - [`weights`]: weights under a scheme: codes, decoding tables, codebooks, stored bytes.
//! - [`lower`]: a float graph to its integer-only form (the math of each op).
//! - [`report`]: per-layer scales, SQNR and sizes.
//!
//! # Calibration
//!
//! Weights are known, activations are not: [`calibrate()`](crate::exec::calibrate()) (or a [`Calibrator`](crate::exec::Calibrator) fed one image
//! at a time) runs the float model on sample images and an [`Observer`] per activation
//! proposes the range `[a, b]` its int8 grid (`S = (b - a) / 255`, 0 included) covers. Values outside are clipped; values inside are rounded to the
//! nearest of the 256 codes. Narrower ranges trade clipping error for rounding error
//! (`S^2 / 12` per value); each observer strikes the trade-off differently:
//!
//! | observer | range | minimises |
//! |---|---|---|
//! | `minmax` | `[min x, max x]` | clipping (none at all) |
//! | `percentile:p` | `[P_{100-p}, P_p]` | nothing: clips a fixed `(100 - p)`% at each end |
//! | `entropy` | `(-T, T)` or `[0, T)` | `KL(P \|\| Q)` between the histogram and its 256-level quantization (TensorRT) |
//! | `mse` | `c [min x, max x]`, `c <= 1` | expected squared error, rounding + clipping |
//!
//! Every range lies inside the observed `[min x, max x]`. The histogram-based ones read one
//! streaming [`observer::Histogram`] (2048 bins per sign, power-of-two width, at least 1024
//! bins up to the largest magnitude; one pass, the same under any chunking of the data).

pub mod codebook;
pub mod fake;
// The requantization parameters live with the kernels that apply them (kernels depend on
// nothing above them); quant chooses them.
pub use crate::kernels::{f32_requant, fixed_point, params};
pub mod fp16;
pub mod lower;
pub mod observer;
pub(crate) mod order;
pub mod report;
pub mod scheme;
pub mod weights;

pub use crate::kernels::fixed_point::Multiplier;
pub use crate::kernels::params::{round_ties_away, QuantParams, QuantRange};
pub use fp16::{fp16_weights, weight_bytes};
pub use observer::{Observer, ObserverKind};
pub use scheme::{Clipping, Granularity, LayerSchemes, Levels, Scheme, VariantSpec};
