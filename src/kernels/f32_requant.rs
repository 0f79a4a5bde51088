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
//!
//! Where the engine fuses `f32x4.relaxed_madd` ([`crate::kernels::f32x4_madd_fuses`]), a
//! *fused* form saves the GEMM's output stage one instruction per 4 outputs and rounds once:
//!
//! ```text
//! w = clamp(fma(f32(x), S, MAGIC + zero_point), MAGIC + min, MAGIC + max)
//! ```
//!
//! (no nudge: with one rounding the f32 error is only `S` against `M`). It is checked the same
//! way, its `fma` evaluated exactly by [`fused_mul_add`] (`f32::mul_add` is a slow software
//! `fmaf` on wasm32, and the check evaluates it a few hundred times per channel).

use super::fixed_point::Multiplier;

/// `1.5 * 2^23`: adding it to a float in `(-2^22, 2^22)` rounds it to an integer held in the
/// low bits of the sum (the ulp is 1 in `[2^23, 2^24)`).
pub const MAGIC: f32 = 12_582_912.0;

/// Every int32 accumulator: the reach of a form checked with no bound on the row's sums.
pub const ALL_INPUTS: (i32, i32) = (i32::MIN, i32::MAX);

/// Moves of `S` tried, in ulps, nearest first.
const SCALE_ULPS: [i32; 5] = [0, 1, -1, 2, -2];
/// Moves of `S` tried for the fused form, in ulps, nearest first.
const FUSED_SCALE_ULPS: [i32; 7] = [0, 1, -1, 2, -2, 3, -3];
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
    /// Whether `x * S + offset` is one fused multiply-add (then `nudge` is 0).
    pub(crate) fused: bool,
    /// The inputs (accumulator + bias) on which it was checked, `lo..=hi`: a row's reach is
    /// what its weights can sum to ([`Self::for_rows`]). Only for rows whose sums stay in it:
    /// outside it the form may differ, and the SIMD128 kernels skip steps it does not need.
    reach: (i32, i32),
    /// Whether `w` (before the clamp) can be negative on the reach: at its smallest input, as
    /// `w` never decreases with the input. Worked out once here, not per row and run by the
    /// SIMD128 output stage that needs it.
    negative: bool,
    /// Whether [`Self::find_difference`] found none (only such forms reach the kernels).
    checked: bool,
}

impl F32Requant {
    /// The float form of `m.requantize(_, zero_point, min, max)` when one equals it on every
    /// input in `reach` ([`ALL_INPUTS`], or a row's bound), else `None`: the channel keeps the
    /// integer form.
    ///
    /// Unfused (`fused` false): `S` = `M` rounded to f32 or up to 2 ulps off, the nudge `c` or
    /// up to `6 * 2^-18` off; smallest nudge first, then nearest scale. Fused: `S` up to 3 ulps
    /// off, nearest first, no nudge; only for kernels on an engine that fuses
    /// ([`crate::kernels::f32x4_madd_fuses`]).
    pub fn for_multiplier(
        m: Multiplier,
        zero_point: i32,
        min: i8,
        max: i8,
        reach: (i32, i32),
        fused: bool,
    ) -> Option<Self> {
        if fused {
            let nearest = Self::fused_candidate(m, zero_point, min, max);
            let moves = FUSED_SCALE_ULPS.iter().map(|&ulps| (ulps, 0));
            return search(F32Requant { reach, ..nearest }, moves);
        }
        // Near a threshold the f32 steps err by up to ~2^-24 |y'| (< 2^-16): small moves of
        // S (ulps) and of the nudge (2^-18 steps) shift the computed thresholds by about that
        // much, and one of them often clears every level. Every scale move before any nudge:
        // a zero nudge saves the SIMD128 form three instructions per 4 outputs.
        let moves = NUDGE_STEPS
            .iter()
            .flat_map(|&k| SCALE_ULPS.iter().map(move |&ulps| (ulps, k)));
        let nearest = Self::candidate(m, zero_point, min, max);
        search(F32Requant { reach, ..nearest }, moves)
    }

    /// The float form with `S` = `M` rounded to f32, for [`ALL_INPUTS`], not checked.
    pub fn candidate(m: Multiplier, zero_point: i32, min: i8, max: i8) -> Self {
        F32Requant {
            of: (m, zero_point, min, max),
            scale: m.to_f64() as f32,
            nudge: 0.0,
            offset: MAGIC + zero_point as f32,
            lo: MAGIC + f32::from(min),
            hi: MAGIC + f32::from(max),
            fused: false,
            reach: ALL_INPUTS,
            negative: true,
            checked: false,
        }
        .finished()
    }

    /// The fused form with `S` = `M` rounded to f32, not checked.
    pub fn fused_candidate(m: Multiplier, zero_point: i32, min: i8, max: i8) -> Self {
        F32Requant {
            fused: true,
            ..Self::candidate(m, zero_point, min, max)
        }
        .finished()
    }

    /// The form with the fields that follow from the others worked out.
    fn finished(self) -> Self {
        F32Requant {
            negative: self.unclamped(self.reach.0) <= 0.0,
            ..self
        }
    }

    /// Whether `w` (before the clamp) can be negative on the form's reach (then the SIMD128
    /// output stage raises it to `MAGIC + min` before taking its bits).
    pub fn can_be_negative(&self) -> bool {
        self.negative
    }

    /// Whether `x * S + offset` rounds once ([`Self::for_multiplier`] with `fused`).
    pub fn is_fused(&self) -> bool {
        self.fused
    }

    /// Whether this form was shown equal to its definition ([`Self::for_multiplier`]).
    pub fn is_checked(&self) -> bool {
        self.checked
    }

    /// The inputs on which it was checked, `lo..=hi`.
    pub fn reach(&self) -> (i32, i32) {
        self.reach
    }

    /// The forms the int8 kernels run for the weight rows `weights` (`[rows, k]`, int8 values)
    /// with `bias` (the zero-point term folded in): [`Self::for_rows`] checked on each row's
    /// reach ([`row_reaches`]: what its int8 inputs can sum to, not every int32), fused where
    /// this engine fuses ([`crate::kernels::f32x4_madd_fuses`]).
    pub fn for_weight_rows(
        multipliers: &[Multiplier],
        (weights, k): (&[i8], usize),
        bias: &[i32],
        zero_point: i32,
        min: i8,
        max: i8,
    ) -> Vec<Option<Self>> {
        let reaches = row_reaches(weights, k, bias);
        let fused = crate::kernels::f32x4_madd_fuses();
        Self::for_rows(multipliers, Some(&reaches), zero_point, min, max, fused)
    }

    /// The float form of every row (`None` where a row keeps the integer form): the fused one
    /// where `fused` (the kernels' engine fuses) and one exists, else the unfused one; each
    /// checked on the row's reach in `reaches` (what its sums plus bias can be, from
    /// [`row_reaches`]; `None`: [`ALL_INPUTS`]).
    ///
    /// The kernels cannot tell a row's sums from its form: a reach wider than the sums is
    /// safe, a narrower one is not.
    pub fn for_rows(
        multipliers: &[Multiplier],
        reaches: Option<&[(i32, i32)]>,
        zero_point: i32,
        min: i8,
        max: i8,
        fused: bool,
    ) -> Vec<Option<Self>> {
        if let Some(r) = reaches {
            assert_eq!(r.len(), multipliers.len(), "for_rows: reaches");
        }
        let mut last: Option<(Multiplier, (i32, i32), Option<Self>)> = None;
        (0..multipliers.len())
            .map(|row| {
                let m = multipliers[row];
                let reach = reaches.map_or(ALL_INPUTS, |r| r[row]);
                match last {
                    // Per-tensor weights give rows the same multiplier: check it once.
                    Some((prev, prev_reach, form)) if (prev, prev_reach) == (m, reach) => form,
                    _ => {
                        let form = fused
                            .then(|| Self::for_multiplier(m, zero_point, min, max, reach, true))
                            .flatten()
                            .or_else(|| {
                                Self::for_multiplier(m, zero_point, min, max, reach, false)
                            });
                        last = Some((m, reach, form));
                        form
                    }
                }
            })
            .collect()
    }

    /// An input in its reach on which this form and its definition ([`Self::of`]) differ, or
    /// `None` when they agree on all of them (see the module comment for why checking each
    /// level's threshold decides it: on an interval as on all int32).
    pub fn find_difference(&self) -> Option<i32> {
        let (m, zero_point, min, max) = self.of;
        let exact = |x: i64| i32::from(m.requantize(x as i32, zero_point, min, max));
        let float = |x: i64| i32::from(self.requantize(x as i32));
        let (first, last) = (i64::from(self.reach.0), i64::from(self.reach.1));
        if exact(first) != float(first) {
            return Some(self.reach.0);
        }
        // Highest level first: differences gather where |y'| is large (the f32 error grows
        // with it), so refusals come early.
        for y in (i32::from(min) + 1..=i32::from(max)).rev() {
            if exact(last) < y {
                if float(last) >= y {
                    return Some(self.reach.1);
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

    /// `w` for input `x`, before the clamp.
    #[inline(always)]
    fn unclamped(&self, x: i32) -> f32 {
        let xf = x as f32;
        if self.fused {
            fused_mul_add(xf, self.scale, self.offset)
        } else {
            xf * self.scale + self.nudge.copysign(xf) + self.offset
        }
    }

    /// The requantized value of `x` (accumulator + bias) in the float form; the SIMD128
    /// kernels compute the same steps lane by lane.
    #[inline(always)]
    pub fn requantize(&self, x: i32) -> i8 {
        let w = self.unclamped(x).max(self.lo).min(self.hi);
        (w.to_bits() as i32 - MAGIC.to_bits() as i32) as i8
    }
}

/// Each row's reach: the smallest and largest `sum_k w[row, k] x[k] + bias[row]` over int8
/// `x`, for `weights` `[rows, k]` ([`ALL_INPUTS`] where that could leave int32: the kernels'
/// sums would wrap).
pub fn row_reaches(weights: &[i8], k: usize, bias: &[i32]) -> Vec<(i32, i32)> {
    assert_eq!(weights.len(), bias.len() * k, "row_reaches: weights");
    (0..bias.len())
        .map(|row| {
            let b = i64::from(bias[row]);
            let (lo, hi) = weights[row * k..][..k].iter().fold((b, b), |(lo, hi), &w| {
                let (a, z) = (i64::from(w) * -128, i64::from(w) * 127);
                (lo + a.min(z), hi + a.max(z))
            });
            match (i32::try_from(lo), i32::try_from(hi)) {
                (Ok(lo), Ok(hi)) => (lo, hi),
                _ => ALL_INPUTS,
            }
        })
        .collect()
}

/// The first of `nearest` moved by `(ulps of S, 2^-18 steps of the nudge)` in `moves` shown
/// equal to its definition on its reach, marked checked (`None` for an invalid definition).
fn search(nearest: F32Requant, moves: impl Iterator<Item = (i32, i32)>) -> Option<F32Requant> {
    let (m, zero_point, min, max) = nearest.of;
    if !(-128..=127).contains(&zero_point) || min > max || nearest.reach.0 > nearest.reach.1 {
        return None;
    }
    let step = 2f32.powi(-18);
    let candidates = moves
        .map(|(ulps, k)| F32Requant {
            scale: f32::from_bits(nearest.scale.to_bits().wrapping_add_signed(ulps)),
            nudge: nearest.nudge + k as f32 * step,
            ..nearest
        })
        // The SIMD128 form ors the sign into the nudge: it must be non-negative.
        .filter(|f| f.nudge >= 0.0);
    // Every candidate has the same definition.
    let exact = |x: i32| m.requantize(x, zero_point, min, max);
    // Inputs where earlier candidates differed: most later ones differ there too, and
    // evaluating them rejects those before a full check.
    let mut witnesses = Vec::new();
    for f in candidates {
        if witnesses.iter().any(|&x| f.requantize(x) != exact(x)) {
            continue;
        }
        match f.find_difference() {
            None => return Some(F32Requant { checked: true, ..f }.finished()),
            Some(x) => witnesses.push(x),
        }
    }
    None
}

/// `a * b + c` rounded once to f32 (ties to even), as a fused multiply-add computes it.
///
/// The product of two f32 is exact in f64 (48 significant bits), and so is the rounding error
/// `e` of the f64 sum `s = a b + c` (Knuth's TwoSum). Rounding `s` to f32 gives the right
/// answer unless `s` lies exactly halfway between two f32 and `e != 0`: every f32 halfway
/// point is an f64, so the exact sum lies on the same side of each of them as `s` (else the
/// halfway point would be the nearer f64). In that case the sign of `e` picks the neighbour.
pub fn fused_mul_add(a: f32, b: f32, c: f32) -> f32 {
    let (p, c) = (f64::from(a) * f64::from(b), f64::from(c));
    let s = p + c;
    let (bv, av) = (s - p, s - (s - p));
    let e = (p - av) + (c - bv);
    let r = s as f32;
    if e == 0.0 || !r.is_finite() || f64::from(r) == s {
        return r;
    }
    // The f32 neighbour of `r` on the side of `s`.
    let toward = next_f32(r, f64::from(r) < s);
    if (f64::from(r) + f64::from(toward)) / 2.0 != s {
        return r;
    }
    // `s` is halfway between `r` and `toward`: the exact sum is beyond `s` on `e`'s side.
    if (e > 0.0) == (toward > r) {
        toward
    } else {
        r
    }
}

/// The f32 after finite `r` (`up`) or before it (`f32::next_up`/`next_down`, which need Rust
/// 1.86).
fn next_f32(r: f32, up: bool) -> f32 {
    if r == 0.0 {
        let tiny = f32::from_bits(1);
        return if up { tiny } else { -tiny };
    }
    // The bits of a float order as its magnitude.
    let bits = r.to_bits();
    f32::from_bits(if (r > 0.0) == up { bits + 1 } else { bits - 1 })
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
