//! The SIMD128 forms of the requantization: the integer definition vectorised
//! ([`RequantSimd128`]) and the float form ([`F32RequantSimd128`]), each bit-identical to its
//! scalar steps, and the row loop ([`requant_row_simd128`]) the GEMM's output stage runs.

use super::to_array;
use crate::kernels::f32_requant::F32Requant;
use crate::kernels::fixed_point::Multiplier;
use core::arch::wasm32::*;

/// [`Multiplier::requantize`] on SIMD128 vectors, for one multiplier: bit-identical to the
/// scalar definition for every int32 input.
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
#[derive(Clone, Copy, Debug)]
pub struct F32RequantSimd128 {
    /// Whether `x * S + offset` is one `f32x4.relaxed_madd` (a fused form, no nudge).
    fused: bool,
    scale: v128,
    nudge: v128,
    /// Whether the nudge is not zero.
    nudged: bool,
    offset: v128,
    lo_bits: v128,
    /// Whether `w` can be negative (at the smallest input of the reach: `w` never decreases
    /// with the input).
    negative: bool,
    min: v128,
    max: v128,
    /// Whether `min..=max` is narrower than the int8 range.
    clamp: bool,
}

impl F32RequantSimd128 {
    /// Splats the constants of `f`.
    #[inline(always)]
    pub fn new(f: &F32Requant) -> Self {
        let (_, _, min, max) = f.of;
        F32RequantSimd128 {
            fused: f.fused,
            scale: f32x4_splat(f.scale),
            nudge: f32x4_splat(f.nudge),
            nudged: f.nudge != 0.0,
            offset: f32x4_splat(f.offset),
            lo_bits: i32x4_splat(f.lo.to_bits() as i32),
            negative: f.can_be_negative(),
            min: i8x16_splat(min),
            max: i8x16_splat(max),
            clamp: min > i8::MIN || max < i8::MAX,
        }
    }

    /// `bits(w) - bits(MAGIC)` of 4 inputs (`NUDGED`, `NEGATIVE` and `FUSED` as in `self`).
    #[inline(always)]
    fn lanes<const NUDGED: bool, const NEGATIVE: bool, const FUSED: bool>(&self, x: v128) -> v128 {
        let xf = f32x4_convert_i32x4(x);
        let mut w = if FUSED {
            // Fused only on engines that fuse (`FloatForms::checked`).
            crate::kernels::f32x4_madd(xf, self.scale, self.offset)
        } else {
            let mut v = f32x4_mul(xf, self.scale);
            if NUDGED {
                // copysign(nudge, xf): the nudge is non-negative
                // (`F32Requant::for_multiplier`), so or-ing in xf's sign bit.
                v = f32x4_add(v, v128_or(v128_and(xf, f32x4_splat(-0.0)), self.nudge));
            }
            f32x4_add(v, self.offset)
        };
        if NEGATIVE {
            w = i32x4_max(w, self.lo_bits);
        }
        i32x4_sub(
            w,
            i32x4_splat(crate::kernels::f32_requant::MAGIC.to_bits() as i32),
        )
    }

    /// [`F32Requant::requantize`] of 8 values (`x0` then `x1`): the int8 results in the low 8
    /// lanes of an i8x16 (the high 8 lanes repeat them). For the forms of one kind only
    /// ([`Self::apply8_takes`]): fused in the relaxed-SIMD build, unfused in the others.
    ///
    /// Every step, whatever the row: each shortcut only leaves out a step that is a no-op for
    /// its rows, and choosing among them per 8 outputs inside the depthwise kernel's tile loop
    /// cost more than the steps they save (Lite0's depthwise layers 3.05-3.17 ms with the
    /// choice, 2.88-2.90 without; choosing only the nudge: 2.93-3.04). The depthwise stores
    /// go through `store_blocks`, which chooses the negative-`w` step once per tile.
    #[inline(always)]
    pub fn apply8(&self, x0: v128, x1: v128) -> v128 {
        debug_assert_eq!(self.fused, FUSED8, "apply8 of the other kind of form");
        Shortcuts::<{ !FUSED8 }, true, true, FUSED8>(self).apply8(x0, x1)
    }

    /// [`store_blocks`] through [`Self::apply8`]'s steps, leaving out the raise of a negative
    /// `w` where the row's never is: chosen once for a tile's blocks, not per 8 outputs (the
    /// depthwise layers in the kernel benchmark about 3% faster, against the f32-output
    /// kernel's unchanged stores).
    #[inline(always)]
    pub(super) fn store_blocks(&self, acc: &[[v128; 2]], at: &[usize], out: &mut [i8]) {
        debug_assert_eq!(self.fused, FUSED8, "apply8 of the other kind of form");
        if self.negative {
            store_blocks(
                Shortcuts::<{ !FUSED8 }, true, true, FUSED8>(self),
                acc,
                at,
                out,
            )
        } else {
            store_blocks(
                Shortcuts::<{ !FUSED8 }, false, true, FUSED8>(self),
                acc,
                at,
                out,
            )
        }
    }

    /// Whether [`Self::apply8`] computes `f`'s kind of form.
    #[inline(always)]
    pub fn apply8_takes(f: &F32Requant) -> bool {
        f.fused == FUSED8
    }

    /// `dst[j] = requantize(acc[j])` over a row ([`requant_row_simd128`]).
    #[inline(always)]
    pub(super) fn store_row(&self, acc: &[i32], dst: &mut [i8]) {
        with_shortcuts!(self, |q| requant_row_simd128(acc, dst, q))
    }
}

/// The kind of float form [`F32RequantSimd128::apply8`] computes: fused in the relaxed-SIMD
/// build (its forms are fused where the engine fuses), else unfused.
const FUSED8: bool = cfg!(target_feature = "relaxed-simd");

/// `$body` with `$q` bound to the [`Shortcuts`] of `$f` (an [`F32RequantSimd128`]): one
/// monomorphic copy per combination, chosen at run time.
macro_rules! with_shortcuts {
    ($f:expr, |$q:ident| $body:expr) => {{
        let f = $f;
        macro_rules! with {
            ($n:literal, $g:literal, $c:literal, $u:literal) => {{
                let $q = Shortcuts::<$n, $g, $c, $u>(f);
                $body
            }};
        }
        // Fused forms (no nudge) only in the relaxed-SIMD build: the others never make one.
        #[cfg(target_feature = "relaxed-simd")]
        if f.fused {
            return match (f.negative, f.clamp) {
                (false, false) => with!(false, false, false, true),
                (false, true) => with!(false, false, true, true),
                (true, false) => with!(false, true, false, true),
                (true, true) => with!(false, true, true, true),
            };
        }
        match (f.nudged, f.negative, f.clamp) {
            (false, false, false) => with!(false, false, false, false),
            (false, false, true) => with!(false, false, true, false),
            (false, true, false) => with!(false, true, false, false),
            (false, true, true) => with!(false, true, true, false),
            (true, false, false) => with!(true, false, false, false),
            (true, false, true) => with!(true, false, true, false),
            (true, true, false) => with!(true, true, false, false),
            (true, true, true) => with!(true, true, true, false),
        }
    }};
}
use with_shortcuts;

/// Eight int32 inputs to int8 (in the low 8 lanes), one row's output stage on SIMD128.
pub(super) trait Apply8: Copy {
    fn apply8(self, x0: v128, x1: v128) -> v128;
}

impl Apply8 for &RequantSimd128 {
    #[inline(always)]
    fn apply8(self, x0: v128, x1: v128) -> v128 {
        RequantSimd128::apply8(self, x0, x1)
    }
}

/// An [`F32RequantSimd128`] with its shortcuts fixed: nudge `N`, negative `w` `G`, clamp `C`,
/// fused `F`.
#[derive(Clone, Copy)]
struct Shortcuts<'a, const N: bool, const G: bool, const C: bool, const F: bool>(
    &'a F32RequantSimd128,
);

impl<const N: bool, const G: bool, const C: bool, const F: bool> Apply8
    for Shortcuts<'_, N, G, C, F>
{
    #[inline(always)]
    fn apply8(self, x0: v128, x1: v128) -> v128 {
        let f = self.0;
        let y = i16x8_narrow_i32x4(f.lanes::<N, G, F>(x0), f.lanes::<N, G, F>(x1));
        let y = i8x16_narrow_i16x8(y, y);
        if C {
            i8x16_min(i8x16_max(y, f.min), f.max)
        } else {
            y
        }
    }
}

/// For each block `n`, the 8 results of `q` on `acc[n]` at `out[at[n]..]` (fewer where `out`
/// ends first).
#[inline(always)]
pub(super) fn store_blocks(q: impl Apply8, acc: &[[v128; 2]], at: &[usize], out: &mut [i8]) {
    // One bounds test for the whole tile where every block fits (all but a plane's last
    // tile): testing and slicing each block cost a quarter of Lite0's depthwise output stage
    // (1.72 -> 1.61 ms for the 16 layers in the kernel benchmark).
    if at
        .iter()
        .all(|&at_n| at_n < out.len() && out.len() - at_n >= 8)
    {
        let p = out.as_mut_ptr();
        for (&[x0, x1], &at_n) in acc.iter().zip(at) {
            // SAFETY: at_n + 8 <= out.len() (tested above); the lane store accepts unaligned
            // pointers.
            unsafe { v128_store64_lane::<0>(q.apply8(x0, x1), p.add(at_n).cast::<u64>()) };
        }
        return;
    }
    for (&[x0, x1], &at_n) in acc.iter().zip(at) {
        let y = q.apply8(x0, x1);
        let end = out.len().min(at_n + 8);
        let dst = &mut out[at_n..end];
        if dst.len() == 8 {
            // SAFETY: `dst` has 8 bytes; the lane store accepts unaligned pointers.
            unsafe { v128_store64_lane::<0>(y, dst.as_mut_ptr().cast::<u64>()) };
        } else {
            let y: [i8; 16] = to_array(y);
            let n = dst.len();
            dst.copy_from_slice(&y[..n]);
        }
    }
}

/// `dst[j] = q(acc[j])` (the accumulators include the bias) over a row of `dst.len()` outputs,
/// 8 at a time (`q` gives them in the low 8 lanes); `acc` holds `dst.len()` rounded up to 8
/// values (the ones past `dst.len()` are computed and dropped).
///
/// Not 16 at a time through one `i8x16.narrow_i16x8_s` of two `i16x8.narrow_i32x4_s`: LLVM
/// rewrites that pair of narrowings as clamps and a byte shuffle, about three times the
/// instructions in V8.
///
/// Not inlined, so that V8 compiles the loop on its own, its constants kept in registers.
#[inline(never)]
pub(super) fn requant_row_simd128(acc: &[i32], dst: &mut [i8], q: impl Apply8) {
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
