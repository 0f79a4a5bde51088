//! A float form of [`Multiplier::requantize`] for one channel, which the SIMD128 kernels use
//! only where it is *shown* equal to the integer definition for every int32 input.
//!
//! The integer definition rounds once: `y' = floor(x M + 1/2)` with `M = m0 2^(shift - 31)`
//! exactly and `y' = y - zero_point`, so on the real line the output reaches `y` when
//!
//! ```text
//! x M >= y' - 1/2
//! ```
//!
//! The float form computes `round(x M)` with one vector instruction per step (the nudge `c` is
//! 0 but for the search below, which may move it a little off 0 to clear a threshold):
//!
//! ```text
//! w = clamp((f32(x) * S + copysign(c, x)) + (MAGIC + zero_point), MAGIC + min, MAGIC + max)
//! y = bits(w) - bits(MAGIC)                                            MAGIC = 1.5 * 2^23
//! ```
//!
//! Adding `MAGIC` rounds to an integer (ties to even) held in the low mantissa bits. f32
//! rounding (and its ties to even, where the definition's go up) moves a threshold when `x M`
//! falls within about `2^-24 |y'|` of it, so most channels agree everywhere and some do not:
//! 72.5% of EfficientNet-Lite0's int8 channels with `S` = `M` rounded, 90.2% when `S` and the
//! nudge may move a little (a few are out of reach: their thresholds lie beyond 2^24, where f32
//! cannot hold every integer). Which is decided exactly, not estimated: both forms are
//! non-decreasing step functions of `x` with values in `[min, max]` (each step is monotone:
//! int-to-float conversion, a positive scale, a nudge that jumps up at 0, adds, clamps, the bits
//! of positive floats), so they agree on all 2^32 inputs exactly when, for every level `y` in
//! `min + 1 ..= max`, both first reach `y` at the same input. [`F32Requant::find_difference`]
//! finds each threshold of the definition and evaluates the float form on both sides of it.

use super::fixed_point::Multiplier;

/// `1.5 * 2^23`: adding it to a float in `(-2^22, 2^22)` rounds it to an integer held in the
/// low bits of the sum (the ulp is 1 in `[2^23, 2^24)`).
pub const MAGIC: f32 = 12_582_912.0;

/// Moves of `S` tried, in ulps, nearest first.
const SCALE_ULPS: [i32; 5] = [0, 1, -1, 2, -2];
/// Moves of the nudge tried, in steps of 2^-18, smallest first.
const NUDGE_STEPS: [i32; 13] = [0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6];

/// The float form of one channel's requantization.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F32Requant {
    /// The definition this form was made for: multiplier, zero point, clamp.
    pub of: (Multiplier, i32, i8, i8),
    /// About `M`, in f32.
    pub(crate) scale: f32,
    /// About `c` (non-negative, 0 unless the search moved it): it moves the thresholds a little
    /// away from zero.
    pub(crate) nudge: f32,
    /// `MAGIC + zero_point`.
    pub(crate) offset: f32,
    /// `MAGIC + min`.
    pub(crate) lo: f32,
    /// `MAGIC + max`.
    pub(crate) hi: f32,
    /// Whether [`Self::find_difference`] found none (only such forms reach the kernels).
    checked: bool,
}

impl F32Requant {
    /// The float form of `m.requantize(_, zero_point, min, max)` when one equals it for every
    /// int32 input (`S` = `M` rounded to f32 or up to 2 ulps off, the nudge `c` or up to
    /// `6 * 2^-18` off; smallest nudge first, then nearest scale), else `None`: the channel
    /// keeps the integer form.
    pub fn for_multiplier(m: Multiplier, zero_point: i32, min: i8, max: i8) -> Option<Self> {
        if !(-128..=127).contains(&zero_point) || min > max {
            return None;
        }
        let nearest = Self::candidate(m, zero_point, min, max);
        // Near a threshold the f32 steps err by up to ~2^-24 |y'| (< 2^-16): small moves of
        // S (ulps) and of the nudge (2^-18 steps) shift the computed thresholds by about that
        // much, and one of them often clears every level.
        let step = 2f32.powi(-18);
        // Every scale move before any nudge: a zero nudge saves the SIMD128 form three
        // instructions per 4 outputs.
        let candidates = NUDGE_STEPS
            .iter()
            .flat_map(|&k| SCALE_ULPS.iter().map(move |&ulps| (ulps, k)))
            .map(|(ulps, k)| F32Requant {
                scale: f32::from_bits(nearest.scale.to_bits().wrapping_add_signed(ulps)),
                nudge: nearest.nudge + k as f32 * step,
                ..nearest
            })
            // The SIMD128 form ors the sign into the nudge: it must be non-negative.
            .filter(|f| f.nudge >= 0.0);
        // Inputs where earlier candidates differed: most later ones differ there too, and
        // evaluating them rejects those before a full check.
        let exact = |x: i32| m.requantize(x, zero_point, min, max);
        let mut witnesses = Vec::new();
        for f in candidates {
            if witnesses.iter().any(|&x| f.requantize(x) != exact(x)) {
                continue;
            }
            match f.find_difference() {
                None => return Some(F32Requant { checked: true, ..f }),
                Some(x) => witnesses.push(x),
            }
        }
        None
    }

    /// The float form with `S` = `M` rounded to f32, not checked.
    pub fn candidate(m: Multiplier, zero_point: i32, min: i8, max: i8) -> Self {
        F32Requant {
            of: (m, zero_point, min, max),
            scale: m.to_f64() as f32,
            nudge: 0.0,
            offset: MAGIC + zero_point as f32,
            lo: MAGIC + f32::from(min),
            hi: MAGIC + f32::from(max),
            checked: false,
        }
    }

    /// Whether this form was shown equal to its definition ([`Self::for_multiplier`]).
    pub fn is_checked(&self) -> bool {
        self.checked
    }

    /// The float form of every row (`None` where a row keeps the integer form).
    pub fn for_rows(
        multipliers: &[Multiplier],
        zero_point: i32,
        min: i8,
        max: i8,
    ) -> Vec<Option<Self>> {
        let mut last: Option<(Multiplier, Option<Self>)> = None;
        multipliers
            .iter()
            .map(|&m| match last {
                // Per-tensor weights give every row the same multiplier: check it once.
                Some((prev, form)) if prev == m => form,
                _ => {
                    let form = Self::for_multiplier(m, zero_point, min, max);
                    last = Some((m, form));
                    form
                }
            })
            .collect()
    }

    /// An input on which this form and its definition ([`Self::of`]) differ, or
    /// `None` when they agree on every int32 (see the module comment for why checking each
    /// level's threshold decides it).
    pub fn find_difference(&self) -> Option<i32> {
        let (m, zero_point, min, max) = self.of;
        let exact = |x: i64| i32::from(m.requantize(x as i32, zero_point, min, max));
        let float = |x: i64| i32::from(self.requantize(x as i32));
        let (first, last) = (i64::from(i32::MIN), i64::from(i32::MAX));
        if exact(first) != float(first) {
            return Some(i32::MIN);
        }
        // Highest level first: differences gather where |y'| is large (the f32 error grows
        // with it), so refusals come early.
        for y in (i32::from(min) + 1..=i32::from(max)).rev() {
            if exact(last) < y {
                if float(last) >= y {
                    return Some(i32::MAX);
                }
                continue;
            }
            // Where the real line puts the threshold (module comment); exact up to f64 error.
            let target = f64::from(y - zero_point) - 0.5;
            let guess = (target / m.to_f64()).ceil();
            let t = threshold(
                &exact,
                y,
                guess.clamp(first as f64, last as f64) as i64,
                (first, last),
            );
            if float(t) < y {
                return Some(t as i32);
            }
            if t > first && float(t - 1) >= y {
                return Some(t as i32 - 1);
            }
        }
        None
    }

    /// The requantized value of `x` (accumulator + bias) in the float form; the SIMD128
    /// kernels compute the same steps lane by lane.
    #[inline(always)]
    pub fn requantize(&self, x: i32) -> i8 {
        let xf = x as f32;
        let v = xf * self.scale + self.nudge.copysign(xf);
        let w = (v + self.offset).max(self.lo).min(self.hi);
        (w.to_bits() as i32 - MAGIC.to_bits() as i32) as i8
    }
}

/// The smallest `x` in `first..=last` with `f(x) >= y`, for a non-decreasing `f` with
/// `f(last) >= y`; usually `guess` itself, checked with two evaluations.
fn threshold(f: &impl Fn(i64) -> i32, y: i32, guess: i64, (first, last): (i64, i64)) -> i64 {
    let below = |x: i64| x < first || f(x) < y;
    if f(guess) >= y && below(guess - 1) {
        return guess;
    }
    // Invariant: below(lo), f(hi) >= y; lo = first - 1 stands for "nothing below".
    let (mut lo, mut hi) = (first - 1, last);
    let (g_lo, g_hi) = ((guess - 64).max(first), (guess + 64).min(last));
    if below(g_lo) && f(g_hi) >= y {
        (lo, hi) = (g_lo, g_hi);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if f(mid) >= y {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}
