//! Quantization math, written once, next to the code that does it (Jacob et al. 2018,
//! "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
//! Inference"; gemmlowp's doc/quantization.md).
//!
//! A real value `r` is represented by an 8-bit integer `q` through an affine map
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
//! `[2^30, 2^31)` ([`Multiplier`]): a saturating rounding doubling high multiply followed by a
//! rounding right shift ([`Multiplier::apply`]), bit-exact with gemmlowp and TFLite.
//!
//! - [`params`]: choosing `S` and `Z` from a range (per tensor or per channel, symmetric or not).
//! - [`fixed_point`]: the integer-only requantization.

pub mod fixed_point;
pub mod params;

pub use fixed_point::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul, Multiplier};
pub use params::{QuantParams, QuantRange};
