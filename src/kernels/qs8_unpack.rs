//! Low-bit weight containers: codes of 2 or 4 bits packed into bytes, and their decoding
//! through per-row lookup tables into the int8 GEMM's packed A panel (i16 k pairs, or int8 k
//! quads for the usdot kernel: [`PanelValue`]) or a row-major int8 tensor (depthwise filters).
//!
//! Packing is little-endian within a byte: code `i` sits in byte `i / per_byte` at bit offset
//! `(i % per_byte) * bits`. A panel's codes are stored in the panel's own order
//! (`panel[(p * 4 + r) * KR + t]`, see `qs8_gemm::pack`), so the value at panel position `pos`
//! belongs to row `(pos / KR) % 4` and is that row's table entry for the code. Tables map a code
//! to the effective weight (code minus zero point, or a codebook value), so decoding is exact
//! and every variant gives the same bits.
//!
//! The SIMD128 decode handles 16 codes per step: one 8-byte (4-bit) or 4-byte (2-bit) load,
//! nibble / crumb split with 16-bit shifts and byte interleaves, `i8x16.swizzle` lookups
//! (2-bit: the 4 rows' 4-entry tables share one vector, indexed by `code + 4 * row`; 4-bit:
//! one swizzle per row's table, merged by lane with `v128.bitselect`), then two sign
//! extensions to i16 (or one int8 store).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// Code width of a packed weight container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeBits {
    /// 2-bit codes, 4 per byte.
    Two,
    /// 4-bit codes, 2 per byte.
    Four,
}

impl CodeBits {
    /// Bits per code.
    #[inline(always)]
    pub fn bits(self) -> u32 {
        match self {
            CodeBits::Two => 2,
            CodeBits::Four => 4,
        }
    }

    /// Codes per byte.
    #[inline(always)]
    pub fn per_byte(self) -> usize {
        match self {
            CodeBits::Two => 4,
            CodeBits::Four => 2,
        }
    }

    /// Bytes holding `count` codes (the last one possibly partly filled).
    #[inline(always)]
    pub fn bytes_for(self, count: usize) -> usize {
        count.div_ceil(self.per_byte())
    }

    /// The mask of one code, `2^bits - 1`.
    #[inline(always)]
    fn mask(self) -> u8 {
        (1u8 << self.bits()) - 1
    }
}

/// Code `i` of `packed` (the unpack helper every variant's scalar path shares).
#[inline(always)]
fn code_at(packed: &[u8], bits: CodeBits, i: usize) -> usize {
    let per = bits.per_byte();
    let shift = (i % per) as u32 * bits.bits();
    usize::from((packed[i / per] >> shift) & bits.mask())
}

/// Packs `codes` (each `< 2^bits`) into bytes, low bits first: code `i` goes to byte
/// `i / per_byte` at bit offset `(i % per_byte) * bits`. Trailing bits of the last byte are
/// zero. Panics on a code that does not fit.
pub fn pack_codes(codes: &[u8], bits: CodeBits) -> Vec<u8> {
    let per = bits.per_byte();
    let mut packed = vec![0u8; bits.bytes_for(codes.len())];
    for (i, &c) in codes.iter().enumerate() {
        assert!(
            c <= bits.mask(),
            "pack_codes: code {c} at {i} does not fit in {} bits",
            bits.bits()
        );
        packed[i / per] |= c << ((i % per) as u32 * bits.bits());
    }
    packed
}

/// The inverse of [`pack_codes`]: the first `count` codes of `packed` (which holds at least
/// `bits.bytes_for(count)` bytes).
pub fn unpack_codes(packed: &[u8], bits: CodeBits, count: usize) -> Vec<u8> {
    assert!(
        packed.len() >= bits.bytes_for(count),
        "unpack_codes: {} bytes for {count} codes of {} bits",
        packed.len(),
        bits.bits()
    );
    (0..count).map(|i| code_at(packed, bits, i) as u8).collect()
}

/// Decoding tables of one 4-row panel: `luts[r][code]` is row `r`'s value for `code` (only the
/// first `2^bits` entries are read).
pub type PanelLuts = [[i8; 16]; 4];

/// The value type of a decoded panel, which fixes its layout.
pub trait PanelValue: Copy {
    /// k values per group: panel position `pos` belongs to row `(pos / KR) % 4`.
    const KR: usize;
    /// The value of an int8 weight.
    fn from_i8(v: i8) -> Self;
    /// Stores the 16 int8 lanes of `v` (the first `dst.len()`, 8 or 16, of them).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn store(v: v128, dst: &mut [Self]);
}

/// The c2 panel: i16 k pairs.
impl PanelValue for i16 {
    const KR: usize = 2;

    #[inline(always)]
    fn from_i8(v: i8) -> Self {
        v.into()
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store(v: v128, dst: &mut [i16]) {
        if dst.len() >= 16 {
            store16_i16(v, dst)
        } else {
            store8_i16(v, dst)
        }
    }
}

/// The c4 panel: int8 k quads.
impl PanelValue for i8 {
    const KR: usize = 4;

    #[inline(always)]
    fn from_i8(v: i8) -> Self {
        v
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn store(v: v128, dst: &mut [i8]) {
        if dst.len() >= 16 {
            // SAFETY: dst holds at least 16 bytes: one unaligned v128 store.
            unsafe { v128_store(dst.as_mut_ptr().cast::<v128>(), v) }
        } else {
            dst.copy_from_slice(&crate::kernels::qs8_requant::to_array::<[i8; 16]>(v)[..dst.len()]);
        }
    }
}

/// Checks the shared contract of the panel decoders.
#[inline(always)]
fn check_panel<T: PanelValue>(what: &str, packed: &[u8], bits: CodeBits, out: &[T]) {
    assert!(
        out.len() % (4 * T::KR) == 0,
        "{what}: {} outputs, not whole k groups of 4 rows (a multiple of {})",
        out.len(),
        4 * T::KR
    );
    assert!(
        packed.len() >= bits.bytes_for(out.len()),
        "{what}: {} bytes for {} codes of {} bits",
        packed.len(),
        out.len(),
        bits.bits()
    );
}

/// Decodes a packed 4-row A panel: `out[pos] = luts[(pos / KR) % 4][code(pos)]` for `pos` in
/// `0..out.len()`, codes read from `packed` as [`pack_codes`] writes them, `KR` the values'
/// group ([`PanelValue`]). `out.len()` must be a multiple of `4 KR` (whole k groups of the 4
/// rows); `packed` holds at least `bits.bytes_for(out.len())` bytes (the rest is not read).
/// Picks the SIMD128 twin on wasm32+simd128, else the scalar one.
pub fn qs8_panel_decode<T: PanelValue>(
    packed: &[u8],
    bits: CodeBits,
    luts: &PanelLuts,
    out: &mut [T],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    qs8_panel_decode_simd128(packed, bits, luts, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    qs8_panel_decode_scalar(packed, bits, luts, out);
}

/// [`qs8_panel_decode`], one code at a time.
pub fn qs8_panel_decode_scalar<T: PanelValue>(
    packed: &[u8],
    bits: CodeBits,
    luts: &PanelLuts,
    out: &mut [T],
) {
    check_panel("qs8_panel_decode_scalar", packed, bits, out);
    for (pos, o) in out.iter_mut().enumerate() {
        *o = T::from_i8(luts[(pos / T::KR) % 4][code_at(packed, bits, pos)]);
    }
}

/// [`qs8_panel_decode`], 16 codes per step (8 at the end when `out.len()` is an odd multiple
/// of 8). Per 16 codes, 4-bit: 1 load, 3 ops to split and interleave the nibbles, 4 swizzles,
/// 3 bitselects, 2 extends, 2 stores (i16; int8: 1 store); 2-bit: 1 load, 4 ops to split, 1
/// bitselect adding the row offset, 1 swizzle, 2 extends, 2 stores (int8: 1 store).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_panel_decode_simd128<T: PanelValue>(
    packed: &[u8],
    bits: CodeBits,
    luts: &PanelLuts,
    out: &mut [T],
) {
    check_panel("qs8_panel_decode_simd128", packed, bits, out);
    match bits {
        CodeBits::Four => decode4_simd128(packed, luts, out),
        CodeBits::Two => decode2_simd128(packed, luts, out),
    }
}

/// Lane `l`'s row in a panel of `T` (`(l / KR) % 4`), as a byte per lane.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn lane_rows<T: PanelValue>() -> [u8; 16] {
    core::array::from_fn(|l| ((l / T::KR) % 4) as u8)
}

/// The lanes whose row satisfies `f`, as a bitselect mask.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn rows_mask<T: PanelValue>(f: impl Fn(u8) -> bool) -> v128 {
    let m = lane_rows::<T>().map(|r| if f(r) { 0xFFu8 } else { 0 });
    // SAFETY: 16 bytes; v128_load accepts unaligned pointers.
    unsafe { v128_load(m.as_ptr().cast::<v128>()) }
}

/// Stores the 16 values of `v` sign-extended to i16 (`dst` holds 16).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn store16_i16(v: v128, dst: &mut [i16]) {
    assert!(dst.len() >= 16);
    // SAFETY: dst holds at least 16 i16 (asserted), 32 bytes: two unaligned v128 stores.
    unsafe {
        v128_store(dst.as_mut_ptr().cast::<v128>(), i16x8_extend_low_i8x16(v));
        v128_store(
            dst.as_mut_ptr().add(8).cast::<v128>(),
            i16x8_extend_high_i8x16(v),
        );
    }
}

/// Stores the low 8 values of `v` sign-extended to i16 (`dst` holds 8).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn store8_i16(v: v128, dst: &mut [i16]) {
    assert!(dst.len() >= 8);
    // SAFETY: dst holds at least 8 i16 (asserted), 16 bytes: one unaligned v128 store.
    unsafe { v128_store(dst.as_mut_ptr().cast::<v128>(), i16x8_extend_low_i8x16(v)) };
}

/// The 4 rows' tables as vectors.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn load_luts(luts: &PanelLuts) -> [v128; 4] {
    // SAFETY: each table is 16 bytes; v128_load accepts unaligned pointers.
    core::array::from_fn(|r| unsafe { v128_load(luts[r].as_ptr().cast::<v128>()) })
}

/// 4-bit panel decode: bytes `b_j` in lanes 0..7 of `v` become codes in lanes 0..15 (lane
/// `2j` = low nibble, `2j + 1` = high nibble), then each row's table is swizzled and the four
/// results merged by lane row ([`lane_rows`]: `[0, 0, 1, 1, 2, 2, 3, 3]` twice for i16 pairs,
/// `[0, 0, 0, 0, 1, 1, 1, 1, ...]` for int8 quads).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn decode4_simd128<T: PanelValue>(packed: &[u8], luts: &PanelLuts, out: &mut [T]) {
    let t = load_luts(luts);
    let low = u8x16_splat(0x0F);
    // Lanes of rows 0 and 2; lanes of rows 0 and 1.
    let even_rows = rows_mask::<T>(|r| r % 2 == 0);
    let rows01 = rows_mask::<T>(|r| r < 2);
    let decode = |v: v128| -> v128 {
        // A 16-bit shift leaves each byte's high nibble in its low nibble (the bits above are
        // the next byte's, masked off below).
        let hi = u16x8_shr(v, 4);
        let codes = v128_and(
            i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v, hi),
            low,
        );
        let s: [v128; 4] = core::array::from_fn(|r| i8x16_swizzle(t[r], codes));
        let r01 = v128_bitselect(s[0], s[1], even_rows);
        let r23 = v128_bitselect(s[2], s[3], even_rows);
        v128_bitselect(r01, r23, rows01)
    };
    let groups = out.len() / 16;
    for (src, dst) in packed.chunks_exact(8).zip(out.chunks_exact_mut(16)) {
        // SAFETY: src holds 8 bytes; v128_load64_zero accepts unaligned pointers.
        let v = unsafe { v128_load64_zero(src.as_ptr().cast::<u64>()) };
        T::store(decode(v), dst);
    }
    if out.len() % 16 != 0 {
        let b = &packed[8 * groups..][..4];
        let v = u32x4(u32::from_le_bytes([b[0], b[1], b[2], b[3]]), 0, 0, 0);
        T::store(decode(v), &mut out[16 * groups..]);
    }
}

/// 2-bit panel decode: bytes in lanes 0..3 are split into nibbles (lanes 0..7), then into
/// 2-bit codes (lanes 0..15, lane `i` = code `i` in its low 2 bits); the row offset `4 * row`
/// goes into the bits above with one bitselect and one swizzle of the shared 16-entry table
/// `tbl[4 * r + c] = luts[r][c]` decodes all 16.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn decode2_simd128<T: PanelValue>(packed: &[u8], luts: &PanelLuts, out: &mut [T]) {
    // tbl[4 * r + c] = luts[r][c]: the first 4 entries of each row's table.
    let t = load_luts(luts);
    let tbl = i8x16_shuffle::<0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23>(
        i8x16_shuffle::<0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0>(t[0], t[1]),
        i8x16_shuffle::<0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0>(t[2], t[3]),
    );
    let row_offset = lane_rows::<T>().map(|r| 4 * r);
    // SAFETY: 16 bytes; v128_load accepts unaligned pointers.
    let row_offset = unsafe { v128_load(row_offset.as_ptr().cast::<v128>()) };
    let above_code = u8x16_splat(0xFC);
    let decode = |v: v128| -> v128 {
        // 16-bit shifts: the low bits of each byte lane are that byte's (the next byte's bits
        // land above and are replaced by the row offset).
        let nibbles = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
            v,
            u16x8_shr(v, 4),
        );
        let codes = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
            nibbles,
            u16x8_shr(nibbles, 2),
        );
        i8x16_swizzle(tbl, v128_bitselect(row_offset, codes, above_code))
    };
    let groups = out.len() / 16;
    for (src, dst) in packed.chunks_exact(4).zip(out.chunks_exact_mut(16)) {
        // SAFETY: src holds 4 bytes; v128_load32_zero accepts unaligned pointers.
        let v = unsafe { v128_load32_zero(src.as_ptr().cast::<u32>()) };
        T::store(decode(v), dst);
    }
    if out.len() % 16 != 0 {
        let b = &packed[4 * groups..][..2];
        let v = u32x4(u32::from(u16::from_le_bytes([b[0], b[1]])), 0, 0, 0);
        T::store(decode(v), &mut out[16 * groups..]);
    }
}

/// Row-major decode for depthwise filters: `out[r * cols + i] = luts_rows[r][code(r * cols +
/// i)]`, codes packed over the whole row-major tensor as [`pack_codes`] writes them (a row may
/// start inside a byte). `rows = out.len() / cols`; `luts_rows` holds one table per row (only
/// the first `2^bits` entries are read); `packed` holds at least `bits.bytes_for(out.len())`
/// bytes. Scalar only: the tensors are tiny.
pub fn qs8_rows_decode(
    packed: &[u8],
    bits: CodeBits,
    luts_rows: &[[i8; 16]],
    cols: usize,
    out: &mut [i8],
) {
    if cols == 0 {
        assert!(
            out.is_empty() && luts_rows.is_empty(),
            "qs8_rows_decode: cols = 0 with {} outputs and {} tables",
            out.len(),
            luts_rows.len()
        );
        return;
    }
    assert!(
        out.len() % cols == 0 && luts_rows.len() == out.len() / cols,
        "qs8_rows_decode: {} outputs of {cols} columns with {} tables",
        out.len(),
        luts_rows.len()
    );
    assert!(
        packed.len() >= bits.bytes_for(out.len()),
        "qs8_rows_decode: {} bytes for {} codes of {} bits",
        packed.len(),
        out.len(),
        bits.bits()
    );
    for (r, (row, lut)) in out.chunks_exact_mut(cols).zip(luts_rows).enumerate() {
        for (i, o) in row.iter_mut().enumerate() {
            *o = lut[code_at(packed, bits, r * cols + i)];
        }
    }
}
