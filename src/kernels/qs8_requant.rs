//! Output stages of the int8 kernels: what turns a row of int32 accumulators into int8
//! ([`Requant`]) or f32 ([`Dequant`]) values, fused into the kernels' stores.
//!
//! Both have a scalar form (the definition) and, on wasm32+simd128, a vectorised form that
//! computes bit-identical results. Requantization is defined in integers
//! ([`Multiplier::requantize`]); its SIMD128 form is that integer computation
//! (`RequantSimd128`), or, for the rows that have one, the float form of
//! [`super::f32_requant`], which about halves the instructions and is used only where a
//! check at load time shows it equal to the integer definition on every int32 input.
//! Dequantization is a plain `a * b + c` in f32 (never fused) written the same way in both.

use super::f32_requant::F32Requant;
use super::fixed_point::Multiplier;
use crate::kernels::clamp;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// int32 accumulator to int8, per output row (channel) `m`:
/// `y = clamp(zero_point + multiplier[m].apply(acc + bias[m]), min, max)`
/// ([`Multiplier::requantize`]).
///
/// `bias` already contains the zero-point correction `-Z_x * sum_k w[m, k]` (Jacob et al.
/// eq. 7-8), so the kernels multiply raw int8 values. `acc + bias` wraps on overflow (as
/// SIMD128 adds do); no real layer comes near it.
#[derive(Clone, Copy, Debug)]
pub struct Requant<'a> {
    /// One int32 bias per row.
    pub bias: &'a [i32],
    /// One multiplier (`S_w S_x / S_y`) per row.
    pub multiplier: &'a [Multiplier],
    /// Output zero point, an int8 value (`-128..=127`).
    pub zero_point: i32,
    /// Lower clamp (`-128` for none; a fused ReLU raises it).
    pub min: i8,
    /// Upper clamp (`127` for none).
    pub max: i8,
    /// Per row, the float form of the row's requantization where one is exact
    /// ([`F32Requant::for_rows`] with this zero point and clamp), which the SIMD128 kernels
    /// use instead of the integer form (about half the instructions); empty for none.
    pub float_forms: &'a [Option<F32Requant>],
}

impl Requant<'_> {
    /// The requantized value of `acc` in row `row`.
    #[inline(always)]
    pub fn apply(&self, row: usize, acc: i32) -> i8 {
        self.multiplier[row].requantize(
            acc.wrapping_add(self.bias[row]),
            self.zero_point,
            self.min,
            self.max,
        )
    }

    /// Panics unless there are parameters for `rows` rows and the zero point is an int8 value
    /// (which the SIMD128 form relies on).
    pub(crate) fn check(&self, what: &str, rows: usize) {
        assert!(
            self.bias.len() >= rows && self.multiplier.len() >= rows,
            "{what}: {} biases and {} multipliers for {rows} rows",
            self.bias.len(),
            self.multiplier.len()
        );
        assert!(
            (-128..=127).contains(&self.zero_point),
            "{what}: output zero point {} is not an int8 value",
            self.zero_point
        );
        if self.float_forms.is_empty() {
            return;
        }
        assert!(
            self.float_forms.len() >= rows,
            "{what}: {} float forms for {rows} rows",
            self.float_forms.len()
        );
        for (row, form) in self.float_forms[..rows].iter().enumerate() {
            if let Some(f) = form {
                // A form stands for exactly one definition, and only once checked: anything
                // else could compute something else than `apply`.
                assert!(
                    f.is_checked(),
                    "{what}: row {row}'s float form is not checked"
                );
                assert_eq!(
                    f.of,
                    (self.multiplier[row], self.zero_point, self.min, self.max),
                    "{what}: row {row}'s float form was made for another requantization"
                );
            }
        }
    }
}

/// int32 accumulator to f32 (dynamic-range mode), per row `m`:
/// `y = clamp((acc + bias[m]) as f32 * scale[m] + fbias[m], min, max)`.
///
/// The multiply-add is never fused (not even natively with FMA), so the scalar and SIMD128
/// forms agree bit for bit; the clamp is `max(min)` then `min(max)` like [`super::Epilogue`].
#[derive(Clone, Copy, Debug)]
pub struct Dequant<'a> {
    /// One int32 bias per row (zero-point correction, and the bias if quantized).
    pub bias: &'a [i32],
    /// One scale (`S_w S_x`) per row.
    pub scale: &'a [f32],
    /// One f32 bias per row, added after scaling.
    pub fbias: &'a [f32],
    /// Lower clamp (`-inf` for none).
    pub min: f32,
    /// Upper clamp (`+inf` for none).
    pub max: f32,
}

impl Dequant<'_> {
    /// The dequantized value of `acc` in row `row`.
    #[inline(always)]
    pub fn apply(&self, row: usize, acc: i32) -> f32 {
        let v = acc.wrapping_add(self.bias[row]) as f32 * self.scale[row] + self.fbias[row];
        clamp(v, self.min, self.max)
    }

    /// Panics unless there are parameters for `rows` rows.
    pub(crate) fn check(&self, what: &str, rows: usize) {
        assert!(
            self.bias.len() >= rows && self.scale.len() >= rows && self.fbias.len() >= rows,
            "{what}: {} biases, {} scales and {} f32 biases for {rows} rows",
            self.bias.len(),
            self.scale.len(),
            self.fbias.len()
        );
    }
}

/// An output stage as the kernels use it: one row's accumulators at a time.
pub(crate) trait OutputStage: Sync {
    /// The output element type.
    type Out: Copy + Send + Sync + 'static;

    /// Panics unless there are parameters for `rows` rows.
    fn check(&self, what: &str, rows: usize);

    /// The output for `acc` in row `row` (scalar, the definition).
    fn apply(&self, row: usize, acc: i32) -> Self::Out;

    /// `dst[j] = apply(row, acc[j])`, scalar.
    #[inline(always)]
    fn store_scalar(&self, row: usize, acc: &[i32], dst: &mut [Self::Out]) {
        for (d, &a) in dst.iter_mut().zip(acc) {
            *d = self.apply(row, a);
        }
    }

    /// One row's constants for [`Self::store8_simd128`], splatted once per row of tiles.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    type Simd128Row: Copy;

    /// The constants of row `row`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128_row(&self, row: usize) -> Self::Simd128Row;

    /// `dst[j] = apply(row, acc[j])` for 8 accumulators (`acc[0]` lanes 0-3, `acc[1]` lanes
    /// 4-7) with SIMD128; `dst` holds the first `dst.len() <= 8` outputs.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn store8_simd128(row: &Self::Simd128Row, acc: [v128; 2], dst: &mut [Self::Out]);

    /// `dst[j] = apply(row, acc[j] - bias[row])` over a row of `dst.len()` outputs with
    /// SIMD128: `acc` already holds the row's bias (the GEMM starts its sums from
    /// [`Self::bias`]), and `dst.len()` rounded up to 8 values.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn store_biased_simd128(row: &Self::Simd128Row, acc: &[i32], dst: &mut [Self::Out]);

    /// Row `row`'s int32 bias (added to the accumulator before anything else).
    fn bias(&self, row: usize) -> i32;
}

/// [`Requant`]'s per-row SIMD128 constants.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequantRow {
    q: RowForm,
    bias: v128,
}

/// Which form a row's requantization takes on SIMD128.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
enum RowForm {
    Integer(RequantSimd128),
    Float(F32RequantSimd128),
}

/// [`Dequant`]'s per-row SIMD128 constants.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct DequantRow {
    bias: v128,
    scale: v128,
    fbias: v128,
    min: v128,
    max: v128,
}

impl OutputStage for Requant<'_> {
    type Out = i8;

    fn check(&self, what: &str, rows: usize) {
        Requant::check(self, what, rows);
    }

    #[inline(always)]
    fn apply(&self, row: usize, acc: i32) -> i8 {
        Requant::apply(self, row, acc)
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    type Simd128Row = RequantRow;

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn simd128_row(&self, row: usize) -> RequantRow {
        let q = match self.float_forms.get(row) {
            Some(Some(f)) => RowForm::Float(F32RequantSimd128::new(f)),
            _ => RowForm::Integer(RequantSimd128::new(
                self.multiplier[row],
                self.zero_point,
                self.min,
                self.max,
            )),
        };
        RequantRow {
            q,
            bias: i32x4_splat(self.bias[row]),
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store8_simd128(row: &RequantRow, acc: [v128; 2], dst: &mut [i8]) {
        let (x0, x1) = (i32x4_add(acc[0], row.bias), i32x4_add(acc[1], row.bias));
        let y = match &row.q {
            RowForm::Integer(q) => q.apply8(x0, x1),
            RowForm::Float(f) => f.apply8(x0, x1),
        };
        if dst.len() == 8 {
            // SAFETY: `dst` has 8 bytes; the lane store accepts unaligned pointers.
            unsafe { v128_store64_lane::<0>(y, dst.as_mut_ptr().cast::<u64>()) };
        } else {
            let y: [i8; 16] = to_array(y);
            let n = dst.len();
            dst.copy_from_slice(&y[..n]);
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store_biased_simd128(row: &RequantRow, acc: &[i32], dst: &mut [i8]) {
        // The row's form is chosen once here, not per 8 outputs.
        match &row.q {
            RowForm::Integer(q) => requant_row_simd128(acc, dst, q),
            RowForm::Float(f) => f.store_row(acc, dst),
        }
    }

    #[inline(always)]
    fn bias(&self, row: usize) -> i32 {
        self.bias[row]
    }
}

impl OutputStage for Dequant<'_> {
    type Out = f32;

    fn check(&self, what: &str, rows: usize) {
        Dequant::check(self, what, rows);
    }

    #[inline(always)]
    fn apply(&self, row: usize, acc: i32) -> f32 {
        Dequant::apply(self, row, acc)
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    type Simd128Row = DequantRow;

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn simd128_row(&self, row: usize) -> DequantRow {
        DequantRow {
            bias: i32x4_splat(self.bias[row]),
            scale: f32x4_splat(self.scale[row]),
            fbias: f32x4_splat(self.fbias[row]),
            min: f32x4_splat(self.min),
            max: f32x4_splat(self.max),
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store8_simd128(row: &DequantRow, acc: [v128; 2], dst: &mut [f32]) {
        let acc = acc.map(|v| i32x4_add(v, row.bias));
        dequant8_simd128(row, acc, dst);
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store_biased_simd128(row: &DequantRow, acc: &[i32], dst: &mut [f32]) {
        for (a, d) in acc.chunks_exact(8).zip(dst.chunks_mut(8)) {
            dequant8_simd128(row, [load_i32x4(&a[..4]), load_i32x4(&a[4..])], d);
        }
    }

    #[inline(always)]
    fn bias(&self, row: usize) -> i32 {
        self.bias[row]
    }
}

/// [`Dequant`] of 8 accumulators that include the bias (`acc[0]` lanes 0-3, `acc[1]` lanes
/// 4-7) into the first `dst.len() <= 8` outputs.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn dequant8_simd128(row: &DequantRow, acc: [v128; 2], dst: &mut [f32]) {
    let dq = |v: v128| {
        let v = f32x4_add(f32x4_mul(f32x4_convert_i32x4(v), row.scale), row.fbias);
        // pmax(lo, v) = lo < v ? v : lo, then pmin(hi, .): `v.max(min).min(max)`, including
        // NaN becoming `min`.
        f32x4_pmin(row.max, f32x4_pmax(row.min, v))
    };
    let (y0, y1) = (dq(acc[0]), dq(acc[1]));
    if dst.len() == 8 {
        // SAFETY: `dst` has 8 values; v128_store accepts unaligned pointers.
        unsafe {
            v128_store(dst.as_mut_ptr().cast::<v128>(), y0);
            v128_store(dst.as_mut_ptr().add(4).cast::<v128>(), y1);
        }
    } else {
        let mut y = [0.0f32; 8];
        y[..4].copy_from_slice(&to_array::<[f32; 4]>(y0));
        y[4..].copy_from_slice(&to_array::<[f32; 4]>(y1));
        let n = dst.len();
        dst.copy_from_slice(&y[..n]);
    }
}

/// Loads 4 values from the front of `s`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn load_i32x4(s: &[i32]) -> v128 {
    let s = &s[..4];
    // SAFETY: `s` has 4 values (sliced above); v128_load accepts unaligned pointers.
    unsafe { v128_load(s.as_ptr().cast::<v128>()) }
}

/// The 16 bytes of `v` as an array of `T` (`T` is a 16-byte plain-old-data array).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn to_array<T: Copy>(v: v128) -> T {
    const { assert!(core::mem::size_of::<T>() == 16) };
    // SAFETY: T is 16 bytes of integers or floats (every call site), for which any bit
    // pattern is valid.
    unsafe { core::mem::transmute_copy(&v) }
}

/// [`Multiplier::requantize`] on SIMD128 vectors, for one multiplier: bit-identical to the
/// scalar definition for every int32 input.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
pub struct RequantSimd128 {
    /// Whether inputs are clamped to `[-limit, limit]` ([`Multiplier::input_limit`]).
    limited: bool,
    limit: v128,
    neg_limit: v128,
    m0: v128,
    /// The rounding constant `2^(t - 1)` (i64x2) and the shift `t` of [`Multiplier::apply`].
    round: v128,
    t: u32,
    zero_point: v128,
    /// Whether `min`/`max` clamp anything beyond the int8 saturation of the narrowing.
    clamp: bool,
    min: v128,
    max: v128,
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl RequantSimd128 {
    /// Splats the constants of `m` (valid: `m0` in `[2^30, 2^31)`, shift in `-31..=30`) and
    /// of the output (`zero_point` an int8 value).
    #[inline(always)]
    pub fn new(m: Multiplier, zero_point: i32, min: i8, max: i8) -> Self {
        debug_assert!(m.m0 >= 1 << 30 && (-31..=30).contains(&m.shift));
        debug_assert!((-128..=127).contains(&zero_point));
        let limit = m.input_limit();
        let (round, t) = m.rounding();
        RequantSimd128 {
            limited: limit < i32::MAX,
            limit: i32x4_splat(limit),
            neg_limit: i32x4_splat(-limit),
            m0: i32x4_splat(m.m0),
            round: i64x2_splat(round),
            t,
            zero_point: i16x8_splat(zero_point as i16),
            clamp: min > i8::MIN || max < i8::MAX,
            min: i8x16_splat(min),
            max: i8x16_splat(max),
        }
    }

    /// [`Multiplier::apply`] on the 4 lanes of `acc`, where its result fits i32 without
    /// saturating: always for `M < 1` (shift <= 0), as in the int8 Add's operand scaling.
    #[inline(always)]
    pub fn multiply(&self, acc: v128) -> v128 {
        let x = acc;
        // `max(m0, x >> 31)` is `m0` (m0 >= 2^30 > 0 >= x >> 31), written so that it depends
        // on `x`: with a plain loop-invariant `m0`, LLVM hoists its sign extension out of the
        // loop and what is left of the `extmul` is an `i64x2.mul`, which V8 emulates on x64
        // (about 10 instructions against 3).
        let m0 = i32x4_max(self.m0, i32x4_shr(x, 31));
        let p_lo = i64x2_add(i64x2_extmul_low_i32x4(x, m0), self.round);
        let p_hi = i64x2_add(i64x2_extmul_high_i32x4(x, m0), self.round);
        // `p >> t`, which fits i32 (see `Multiplier::input_limit`): its low half. For t <= 32
        // a logical shift (`u64x2.shr`, one x64 instruction, where V8 emulates the arithmetic
        // `i64x2.shr_s` with five) leaves bits t..t+31 of `p` there, as the arithmetic one
        // would; beyond, the high halves are `floor(p / 2^32)`, shifted by the rest in i32.
        if self.t <= 32 {
            i32x4_shuffle::<0, 2, 4, 6>(u64x2_shr(p_lo, self.t), u64x2_shr(p_hi, self.t))
        } else {
            i32x4_shr(i32x4_shuffle::<1, 3, 5, 7>(p_lo, p_hi), self.t - 32)
        }
    }

    /// `acc` clamped to `[-L, L]`, `L` = [`Multiplier::input_limit`]: beyond it every input
    /// requantizes to the int8 value at the limit, and within it [`Self::multiply`] is exact.
    #[inline(always)]
    fn limit(&self, acc: v128) -> v128 {
        if self.limited {
            i32x4_min(i32x4_max(acc, self.neg_limit), self.limit)
        } else {
            acc
        }
    }

    /// `multiply(limit(acc)) + zero_point` of 8 accumulators (`acc0` then `acc1`) as i16x8,
    /// saturated: any value saturated here is outside the int8 range either way (the zero
    /// point is in `-128..=127`), so the int8 narrowing and clamp that follow give what the
    /// scalar `saturating_add` then `clamp` gives.
    #[inline(always)]
    fn offset_i16x8(&self, acc0: v128, acc1: v128) -> v128 {
        let y = i16x8_narrow_i32x4(
            self.multiply(self.limit(acc0)),
            self.multiply(self.limit(acc1)),
        );
        i16x8_add_sat(y, self.zero_point)
    }

    /// [`Multiplier::requantize`] of 8 accumulators (`acc0` then `acc1`): the int8 results in
    /// the low 8 lanes of an i8x16 (the high 8 lanes repeat them).
    #[inline(always)]
    pub fn apply8(&self, acc0: v128, acc1: v128) -> v128 {
        let y = self.offset_i16x8(acc0, acc1);
        self.clamp(i8x16_narrow_i16x8(y, y))
    }

    /// [`Multiplier::requantize`] of 16 accumulators, as an i8x16.
    #[inline(always)]
    pub fn apply16(&self, acc: [v128; 4]) -> v128 {
        let y0 = self.offset_i16x8(acc[0], acc[1]);
        let y1 = self.offset_i16x8(acc[2], acc[3]);
        self.clamp(i8x16_narrow_i16x8(y0, y1))
    }

    /// `min(max(y, min), max)`, skipped when the bounds are the int8 range (the narrowing
    /// already saturated to it): no ReLU, or a ReLU whose range is the whole output range.
    #[inline(always)]
    fn clamp(&self, y: v128) -> v128 {
        if self.clamp {
            i8x16_min(i8x16_max(y, self.min), self.max)
        } else {
            y
        }
    }
}

/// [`F32Requant::requantize`] on SIMD128 vectors: the same f32 steps lane by lane (so the
/// same bits), one instruction each, with shortcuts that change no result:
///
/// - a zero nudge (most rows) is left out: `copysign(0, x)` adds nothing to `x * S`, which is
///   never `-0` (x is an integer, S > 0);
/// - the clamp is not done on `w` but on `bits(w) - bits(MAGIC)`, which is the result where
///   `w` is in `[MAGIC - 128, MAGIC + 127]` and, since the bits of non-negative floats order as
///   their values, below or above that range is below -128 or above 127 (the narrowings
///   saturate it) wherever `w > 0`. Only where `w` can be negative (sign bit set: a large `S`)
///   the i32 bits are first raised to `bits(MAGIC + min)`; a clamp narrower than the int8
///   range is applied to the int8 results.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
pub struct F32RequantSimd128 {
    scale: v128,
    nudge: v128,
    /// Whether the nudge is not zero.
    nudged: bool,
    offset: v128,
    lo_bits: v128,
    /// Whether `w` can be negative (at the smallest input: `w` never decreases with it).
    negative: bool,
    min: v128,
    max: v128,
    /// Whether `min..=max` is narrower than the int8 range.
    clamp: bool,
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl F32RequantSimd128 {
    /// Splats the constants of `f`.
    #[inline(always)]
    pub fn new(f: &F32Requant) -> Self {
        let (_, _, min, max) = f.of;
        // `w` at the smallest input, as `F32Requant::requantize` computes it.
        let x = i32::MIN as f32;
        let w_min = (x * f.scale - f.nudge) + f.offset;
        F32RequantSimd128 {
            scale: f32x4_splat(f.scale),
            nudge: f32x4_splat(f.nudge),
            nudged: f.nudge != 0.0,
            offset: f32x4_splat(f.offset),
            lo_bits: i32x4_splat(f.lo.to_bits() as i32),
            negative: w_min <= 0.0,
            min: i8x16_splat(min),
            max: i8x16_splat(max),
            clamp: min > i8::MIN || max < i8::MAX,
        }
    }

    /// `bits(w) - bits(MAGIC)` of 4 inputs (`NUDGED` and `NEGATIVE` as in `self`).
    #[inline(always)]
    fn lanes<const NUDGED: bool, const NEGATIVE: bool>(&self, x: v128) -> v128 {
        let xf = f32x4_convert_i32x4(x);
        let mut v = f32x4_mul(xf, self.scale);
        if NUDGED {
            // copysign(nudge, xf): the nudge is non-negative (`F32Requant::for_multiplier`),
            // so or-ing in xf's sign bit.
            v = f32x4_add(v, v128_or(v128_and(xf, f32x4_splat(-0.0)), self.nudge));
        }
        let mut w = f32x4_add(v, self.offset);
        if NEGATIVE {
            w = i32x4_max(w, self.lo_bits);
        }
        i32x4_sub(w, i32x4_splat(super::f32_requant::MAGIC.to_bits() as i32))
    }

    /// [`F32Requant::requantize`] of 8 values (`x0` then `x1`): the int8 results in the low 8
    /// lanes of an i8x16 (the high 8 lanes repeat them).
    #[inline(always)]
    pub fn apply8(&self, x0: v128, x1: v128) -> v128 {
        with_shortcuts!(self, |q| q.apply8(x0, x1))
    }

    /// `dst[j] = requantize(acc[j])` over a row ([`requant_row_simd128`]).
    #[inline(always)]
    fn store_row(&self, acc: &[i32], dst: &mut [i8]) {
        with_shortcuts!(self, |q| requant_row_simd128(acc, dst, q))
    }
}

/// `$body` with `$q` bound to the [`Shortcuts`] of `$f` (an [`F32RequantSimd128`]): one
/// monomorphic copy per combination, chosen at run time.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
macro_rules! with_shortcuts {
    ($f:expr, |$q:ident| $body:expr) => {{
        let f = $f;
        macro_rules! with {
            ($n:literal, $g:literal, $c:literal) => {{
                let $q = Shortcuts::<$n, $g, $c>(f);
                $body
            }};
        }
        match (f.nudged, f.negative, f.clamp) {
            (false, false, false) => with!(false, false, false),
            (false, false, true) => with!(false, false, true),
            (false, true, false) => with!(false, true, false),
            (false, true, true) => with!(false, true, true),
            (true, false, false) => with!(true, false, false),
            (true, false, true) => with!(true, false, true),
            (true, true, false) => with!(true, true, false),
            (true, true, true) => with!(true, true, true),
        }
    }};
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use with_shortcuts;

/// Eight int32 inputs to int8 (in the low 8 lanes), one row's output stage on SIMD128.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
trait Apply8: Copy {
    fn apply8(self, x0: v128, x1: v128) -> v128;
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Apply8 for &RequantSimd128 {
    #[inline(always)]
    fn apply8(self, x0: v128, x1: v128) -> v128 {
        RequantSimd128::apply8(self, x0, x1)
    }
}

/// An [`F32RequantSimd128`] with its shortcuts fixed: nudge `N`, negative `w` `G`, clamp `C`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
struct Shortcuts<'a, const N: bool, const G: bool, const C: bool>(&'a F32RequantSimd128);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl<const N: bool, const G: bool, const C: bool> Apply8 for Shortcuts<'_, N, G, C> {
    #[inline(always)]
    fn apply8(self, x0: v128, x1: v128) -> v128 {
        let f = self.0;
        let y = i16x8_narrow_i32x4(f.lanes::<N, G>(x0), f.lanes::<N, G>(x1));
        let y = i8x16_narrow_i16x8(y, y);
        if C {
            i8x16_min(i8x16_max(y, f.min), f.max)
        } else {
            y
        }
    }
}

/// `dst[j] = q(acc[j])` (the accumulators include the bias) over a row of `dst.len()` outputs, 8 at a time (`q` gives
/// them in the low 8 lanes); `acc` holds `dst.len()` rounded up to 8 values (the ones past
/// `dst.len()` are computed and dropped).
///
/// Not 16 at a time through one `i8x16.narrow_i16x8_s` of two `i16x8.narrow_i32x4_s`: LLVM
/// rewrites that pair of narrowings as clamps and a byte shuffle, about three times the
/// instructions in V8.
///
/// Not inlined, so that V8 compiles the loop on its own, its constants kept in registers.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn requant_row_simd128(acc: &[i32], dst: &mut [i8], q: impl Apply8) {
    let n = dst.len();
    assert!(
        acc.len() >= n.next_multiple_of(8),
        "requant_row_simd128: {} accumulators for {n} outputs",
        acc.len()
    );
    // SAFETY (both loads): j + 8 <= n rounded up to 8 <= acc.len() (asserted) at every call
    // below; v128_load accepts unaligned pointers.
    let load = |j: usize| unsafe { v128_load(acc.as_ptr().add(j).cast()) };
    // SAFETY (both stores): j + 8 <= dst.len() at every call below; the lane store accepts
    // unaligned pointers.
    let store = |y: v128, j: usize, dst: &mut [i8]| unsafe {
        v128_store64_lane::<0>(y, dst.as_mut_ptr().add(j).cast::<u64>())
    };
    let mut j = 0;
    // Two groups a step: V8 neither unrolls this loop nor drops its per-iteration checks.
    while j + 16 <= n {
        let (y0, y1) = (
            q.apply8(load(j), load(j + 4)),
            q.apply8(load(j + 8), load(j + 12)),
        );
        store(y0, j, dst);
        store(y1, j + 8, dst);
        j += 16;
    }
    if j + 8 <= n {
        store(q.apply8(load(j), load(j + 4)), j, dst);
        j += 8;
    }
    if j < n {
        let y: [i8; 16] = to_array(q.apply8(load(j), load(j + 4)));
        dst[j..].copy_from_slice(&y[..n - j]);
    }
}
