//! Output stages of the int8 kernels: what turns a row of int32 accumulators into int8
//! ([`Requant`]) or f32 ([`Dequant`]) values, fused into the kernels' stores.
//!
//! Both have a scalar form (the definition) and, on wasm32+simd128, a vectorised form that
//! computes bit-identical results. Requantization is defined in integers
//! ([`Multiplier::requantize`]); its SIMD128 form is that integer computation
//! (`RequantSimd128`), or, for the rows that have one, the float form of
//! [`super::f32_requant`], which about halves the instructions and is used only where a
//! check at load time shows it equal to the integer definition on every int32 input (in the
//! relaxed-SIMD build on an engine whose `f32x4.relaxed_madd` fuses, preferably its fused
//! form: one instruction fewer per 4 outputs, and exact on more channels).
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
    /// use instead of the integer form (about half the instructions); [`FloatForms::NONE`] for
    /// none. Checked against `multiplier`, `zero_point`, `min` and `max` when made
    /// ([`FloatForms::checked`]). Each is exact on its reach ([`F32Requant::reach`]): the row's
    /// accumulator plus bias must stay in it, which no check here can see (`row_reaches`
    /// bounds it from the weights).
    pub float_forms: FloatForms<'a>,
}

/// The float forms of a [`Requant`]'s rows, checked once, when made, against the
/// requantization they stand for. The kernels then only check that a [`Requant`] holds forms
/// checked against its own multipliers (the same slice), zero point and clamp: O(1) per call
/// instead of a pass over every row of every layer (about 21 000 rows a run of
/// EfficientNet-Lite0, 0.045 ms of it).
#[derive(Clone, Copy, Debug)]
pub struct FloatForms<'a> {
    forms: &'a [Option<F32Requant>],
    /// What they were checked against.
    multiplier: &'a [Multiplier],
    of: (i32, i8, i8),
}

impl<'a> FloatForms<'a> {
    /// No float forms (every row takes the integer form).
    pub const NONE: FloatForms<'static> = FloatForms {
        forms: &[],
        multiplier: &[],
        of: (0, 0, 0),
    };

    /// `forms` (one per row, or none) for the rows of `multiplier` with this zero point and
    /// clamp. Panics unless each form is checked ([`F32Requant::is_checked`]), made for its
    /// row's requantization, and, if fused, on an engine that fuses: a form stands for exactly
    /// one definition, and only once checked; anything else could compute something else than
    /// [`Requant::apply`].
    pub fn checked(
        forms: &'a [Option<F32Requant>],
        multiplier: &'a [Multiplier],
        zero_point: i32,
        min: i8,
        max: i8,
    ) -> Self {
        assert!(
            forms.is_empty() || forms.len() == multiplier.len(),
            "{} float forms for {} rows",
            forms.len(),
            multiplier.len()
        );
        for (row, form) in forms.iter().enumerate() {
            if let Some(f) = form {
                assert!(f.is_checked(), "row {row}'s float form is not checked");
                assert_eq!(
                    f.of,
                    (multiplier[row], zero_point, min, max),
                    "row {row}'s float form was made for another requantization"
                );
                // A fused form computed unfused is another function (the scalar kernels
                // compute the definition and ignore forms).
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                assert!(
                    !f.fused || crate::kernels::f32x4_madd_fuses(),
                    "row {row}'s float form is fused, and this engine does not fuse"
                );
            }
        }
        Self::prechecked(forms, multiplier, zero_point, min, max)
    }

    /// [`FloatForms::checked`] without the pass over the rows, for forms that passed it
    /// already against these same values: the int8 executor checks each layer's forms once,
    /// when it builds the layer, and then hands out rows of them every run.
    pub(crate) fn prechecked(
        forms: &'a [Option<F32Requant>],
        multiplier: &'a [Multiplier],
        zero_point: i32,
        min: i8,
        max: i8,
    ) -> Self {
        FloatForms {
            forms,
            multiplier,
            of: (zero_point, min, max),
        }
    }

    /// Row `row`'s form, if it has one.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn get(&self, row: usize) -> Option<&F32Requant> {
        self.forms.get(row)?.as_ref()
    }
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

    /// Panics unless there are parameters for `rows` rows, the zero point is an int8 value
    /// (which the SIMD128 form relies on), and the float forms, if any, were checked against
    /// this requantization ([`FloatForms::checked`]).
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
        let f = &self.float_forms;
        if f.forms.is_empty() {
            return;
        }
        assert!(
            f.forms.len() >= rows,
            "{what}: {} float forms for {rows} rows",
            f.forms.len()
        );
        // The same slice (a shared borrow: the same values) as the forms were checked against.
        assert!(
            core::ptr::eq(f.multiplier, self.multiplier)
                && f.of == (self.zero_point, self.min, self.max),
            "{what}: float forms checked against another requantization"
        );
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

    /// One row's constants for [`Self::store_blocks_simd128`], splatted once per row of tiles.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    type Simd128Row: Copy;

    /// The constants of row `row` for [`Self::store_biased_simd128`].
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128_row(&self, row: usize) -> Self::Simd128Row;

    /// The constants of row `row` for [`Self::store_blocks_simd128`] (by default the same).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn simd128_row8(&self, row: usize) -> Self::Simd128Row {
        self.simd128_row(row)
    }

    /// For each block `n` of 8 accumulators (`acc[n][0]` lanes 0-3, `acc[n][1]` lanes 4-7)
    /// that already hold the row's bias (the depthwise tiles start their sums from
    /// [`Self::bias`]), `out[at[n] + j] = apply(row, acc[n][j] - bias[row])` with SIMD128 for
    /// the 8 outputs from `at[n]` (fewer where `out` ends first); `row` from
    /// [`Self::simd128_row8`], whose form is chosen once for all the blocks.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn store_blocks_simd128(
        row: &Self::Simd128Row,
        acc: &[[v128; 2]],
        at: &[usize],
        out: &mut [Self::Out],
    );

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
}

/// Which form a row's requantization takes on SIMD128.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
enum RowForm {
    Integer(RequantSimd128),
    /// Fused or not ([`OutputStage::simd128_row8`] gives the per-8 stores only the kind
    /// [`F32RequantSimd128::apply8`] computes).
    Float(F32RequantSimd128),
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Requant<'_> {
    /// Row `row`'s constants: its float form if it has one (of any kind where `any_float`,
    /// else only of the kind [`F32RequantSimd128::apply8`] computes), else the integer form.
    #[inline(always)]
    fn row_with(&self, row: usize, any_float: bool) -> RequantRow {
        let q = match self.float_forms.get(row) {
            Some(f) if any_float || F32RequantSimd128::apply8_takes(f) => {
                RowForm::Float(F32RequantSimd128::new(f))
            }
            _ => RowForm::Integer(RequantSimd128::new(
                self.multiplier[row],
                self.zero_point,
                self.min,
                self.max,
            )),
        };
        RequantRow { q }
    }
}

/// [`store_blocks`] in the integer form, for the rows without a float form of the kind
/// [`F32RequantSimd128::apply8`] computes: one copy, not one per depthwise tile shape that
/// inlines its stores.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn store_blocks_integer(q: &RequantSimd128, acc: &[[v128; 2]], at: &[usize], out: &mut [i8]) {
    store_blocks(q, acc, at, out)
}

/// [`Dequant`]'s per-row SIMD128 constants.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct DequantRow {
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
        self.row_with(row, true)
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn simd128_row8(&self, row: usize) -> RequantRow {
        // One float kind per build in the depthwise kernel's tile loop, where choosing among
        // three forms per 8 outputs cost more than the fused form saved (Lite0's depthwise
        // layers: 2.66 ms with all three, 2.48 with two); a row with the other kind takes
        // the integer form.
        self.row_with(row, false)
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store_blocks_simd128(row: &RequantRow, acc: &[[v128; 2]], at: &[usize], out: &mut [i8]) {
        match &row.q {
            RowForm::Integer(q) => store_blocks_integer(q, acc, at, out),
            RowForm::Float(f) => f.store_blocks(acc, at, out),
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
            scale: f32x4_splat(self.scale[row]),
            fbias: f32x4_splat(self.fbias[row]),
            min: f32x4_splat(self.min),
            max: f32x4_splat(self.max),
        }
    }

    /// Not inlined (the depthwise kernel inlines its full tiles' stores): float outputs are
    /// not the hot path, and a copy per tile would be wasm size for nothing.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(never)]
    fn store_blocks_simd128(row: &DequantRow, acc: &[[v128; 2]], at: &[usize], out: &mut [f32]) {
        for (&acc_n, &at_n) in acc.iter().zip(at) {
            let end = out.len().min(at_n + 8);
            dequant8_simd128(row, acc_n, &mut out[at_n..end]);
        }
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

/// The 16 bytes of `x` as a v128 (the inverse of [`to_array`]; the relaxed-SIMD kernels'
/// constants and probe).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[inline(always)]
pub(crate) fn to_v128<T: Copy>(x: [T; 16]) -> v128 {
    const { assert!(core::mem::size_of::<[T; 16]>() == 16) };
    // SAFETY: 16 bytes (asserted), read unaligned.
    unsafe { v128_load(x.as_ptr().cast::<v128>()) }
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

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128::{requant_row_simd128, store_blocks};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::{F32RequantSimd128, RequantSimd128};
