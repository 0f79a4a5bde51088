//! int8 -> int8 through a 256-entry table: `y = table[x as u8]`.
//!
//! A unary elementwise op on int8 codes (Sigmoid, Tanh, HardSwish, ...) has only 256 possible
//! inputs, so `table[c] = quantize_y(f(dequantize_x(c)))` is exact: the table is computed once
//! by the f32 op itself (the int8 executor builds it), and running the op is a lookup.
//!
//! SIMD128 (as XNNPACK's `x8_lut_ukernel__wasmsimd`): `i8x16.swizzle` looks up 16 entries and
//! gives 0 for indices >= 16, so the 256-entry table is 16 slices of 16, each looked up with
//! the index minus 16 k, and the results or'ed: exactly one slice answers each lane.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// `y[i] = table[x[i] as u8]`, SIMD128 where the build has it.
pub fn qs8_lut(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    qs8_lut_simd128(table, x, y);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    qs8_lut_scalar(table, x, y);
}

/// [`qs8_lut`], one value at a time.
pub fn qs8_lut_scalar(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    for (d, &q) in y.iter_mut().zip(x) {
        *d = table[q as u8 as usize];
    }
}

/// [`qs8_lut`], 16 values per step.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_lut_simd128(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    let n = x.len().min(y.len());
    // SAFETY: each slice is 16 bytes inside the 256-byte table; loads accept any alignment.
    let slices: [v128; 16] =
        core::array::from_fn(|k| unsafe { v128_load(table.as_ptr().add(16 * k).cast()) });
    let sixteen = u8x16_splat(16);
    let full = n / 16 * 16;
    for i in (0..full).step_by(16) {
        // SAFETY: i + 16 <= n <= both lengths.
        let mut idx = unsafe { v128_load(x.as_ptr().add(i).cast()) };
        let mut out = i8x16_swizzle(slices[0], idx);
        for slice in &slices[1..] {
            // Slice k sees `x - 16 k` (mod 256): below 16 only for x in [16 k, 16 k + 16).
            idx = u8x16_sub(idx, sixteen);
            out = v128_or(out, i8x16_swizzle(*slice, idx));
        }
        // SAFETY: as above.
        unsafe { v128_store(y.as_mut_ptr().add(i).cast(), out) };
    }
    qs8_lut_scalar(table, &x[full..n], &mut y[full..n]);
}
