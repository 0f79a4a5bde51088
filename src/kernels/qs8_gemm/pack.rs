//! Packing for the two layouts: c2 (dot16x2), k taken in pairs (padded to even with zeros) so
//! that one `i32x4.dot_i16x8_s` adds two k steps of four outputs; and c4 (usdot), k taken in
//! quads of bytes so that one relaxed `i32x4.relaxed_dot_i8x16_i7x16_add_s` adds four.

/// Packs row-major `a [m, k]` into `ceil(m / mr)` panels of `kp * mr` i16 values (`kp` = k
/// rounded up to even), pair-major: `panel[(p * mr + r) * 2 + t] = a[panel_row0 + r, 2p + t]`,
/// rows past `m` and the column past an odd `k` zero. Each row's pair is one i32 to splat.
pub(super) fn pack_a(a: &[i8], m: usize, k: usize, mr: usize) -> Vec<i16> {
    panel_order::<2, _, _>(a, m, k, mr, i16::from)
}

/// [`pack_a`] for the c4 layout: `panel[(q * mr + r) * 4 + t] = a[panel_row0 + r, 4q + t]`
/// (k padded to a multiple of 4 with zeros), int8; each row's quad is one i32 to splat, a
/// panel's quad of all 4 rows one v128.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
pub(super) fn pack_a_c4(a: &[i8], m: usize, k: usize, mr: usize) -> Vec<i8> {
    panel_order::<4, _, _>(a, m, k, mr, |v| v)
}

/// [`pack_a`]'s (`KR = 2`) or `pack_a_c4`'s (`KR = 4`) order for codes (padding is code 0,
/// whose product meets a zero in B or is never stored).
pub(super) fn pack_a_codes<const KR: usize>(
    codes: &[u8],
    m: usize,
    k: usize,
    mr: usize,
) -> Vec<u8> {
    panel_order::<KR, _, _>(codes, m, k, mr, |c| c)
}

/// `a` in `mr`-row panels of groups of `KR` k values, each value through `f`, padding
/// `T::default()`.
fn panel_order<const KR: usize, S: Copy, T: Copy + Default>(
    a: &[S],
    m: usize,
    k: usize,
    mr: usize,
    f: impl Fn(S) -> T,
) -> Vec<T> {
    let kp = k.div_ceil(KR) * KR;
    let panels = m.div_ceil(mr);
    let mut data = vec![T::default(); panels * kp * mr];
    for (pi, panel) in data
        .chunks_exact_mut((kp * mr).max(1))
        .enumerate()
        .take(panels)
    {
        for r in 0..mr.min(m - pi * mr) {
            let row = &a[(pi * mr + r) * k..][..k];
            for (idx, &v) in row.iter().enumerate() {
                let (p, t) = (idx / KR, idx % KR);
                panel[(p * mr + r) * KR + t] = f(v);
            }
        }
    }
    data
}

/// Packs columns `jc..jc + nc` of row-major `b [k, n]` into `dst` as `ceil(nc / NR)` panels of
/// `kp * NR` i16 values: `panel[(p * NR + j) * 2 + t] = b[2p + t, jc + jr + j]`, so each k
/// pair of 4 columns is one v128 of (k0, k1) i16 pairs; columns past `nc` and the row past an
/// odd `k` zero. B is sign-extended here, once, instead of in the microkernel for every A
/// panel.
pub(super) fn pack_b<const NR: usize>(
    b: &[i8],
    n: usize,
    k: usize,
    (jc, nc): (usize, usize),
    dst: &mut [i16],
) {
    let kp = k.div_ceil(2) * 2;
    let panels = nc.div_ceil(NR);
    let dst = &mut dst[..panels * kp * NR];
    let zeros = [0i8; NR];
    for p in 0..kp / 2 {
        let row0 = &b[2 * p * n + jc..][..nc];
        let row1 = if 2 * p + 1 < k {
            &b[(2 * p + 1) * n + jc..][..nc]
        } else {
            &b[..0]
        };
        for jp in 0..panels {
            let out = &mut dst[(jp * kp + 2 * p) * NR..][..2 * NR];
            let j0 = jp * NR;
            let w = NR.min(nc - j0);
            // Full panels interleave two fixed-width rows (vectorises); edges pad with zeros.
            let r0: &[i8] = &row0[j0..j0 + w];
            let r1: &[i8] = if row1.is_empty() {
                &zeros[..w]
            } else {
                &row1[j0..j0 + w]
            };
            if let (Ok(r0), Ok(r1)) = (<&[i8; NR]>::try_from(r0), <&[i8; NR]>::try_from(r1)) {
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                if NR == 8 {
                    interleave8_simd128(r0, r1, out);
                    continue;
                }
                for j in 0..NR {
                    out[2 * j] = r0[j].into();
                    out[2 * j + 1] = r1[j].into();
                }
            } else {
                out.fill(0);
                for j in 0..w {
                    out[2 * j] = r0[j].into();
                    out[2 * j + 1] = r1[j].into();
                }
            }
        }
    }
}

/// `out[2j] = r0[j]`, `out[2j + 1] = r1[j]` (sign-extended) for 8 columns: two 8-byte loads,
/// one byte shuffle, two extensions, two stores (LLVM leaves the loop above as 16 byte moves
/// on wasm).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn interleave8_simd128<const NR: usize>(r0: &[i8; NR], r1: &[i8; NR], out: &mut [i16]) {
    use core::arch::wasm32::*;
    assert!(NR == 8 && out.len() == 16);
    // SAFETY: r0 and r1 hold 8 bytes and out 16 i16 (asserted); the loads and the stores
    // accept unaligned pointers.
    unsafe {
        let a = v128_load64_zero(r0.as_ptr().cast::<u64>());
        let b = v128_load64_zero(r1.as_ptr().cast::<u64>());
        let x = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
        let out = out.as_mut_ptr().cast::<v128>();
        v128_store(out, i16x8_extend_low_i8x16(x));
        v128_store(out.add(1), i16x8_extend_high_i8x16(x));
    }
}

/// B's value `x` as the unsigned operand of the usdot kernels: `x + 128` (`x ^ 0x80`), in
/// `0..=255`, so that `sum w * (x + 128) = sum w * x + 128 * sum w` (the second term is
/// subtracted through the rows' starting values).
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
#[inline(always)]
pub(crate) fn to_u8(x: i8) -> u8 {
    (x as u8) ^ 0x80
}

/// [`pack_b`] for the c4 layout: `panel[(q * NR + j) * 4 + t] = b[4q + t, jc + jr + j] + 128`
/// as u8 ([`to_u8`]), so each k quad of 4 columns is one v128 of (k0..k3) byte quads; columns
/// past `nc` and rows past `k` are 0 (their products meet zero weights or are never stored).
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
pub(super) fn pack_b_c4<const NR: usize>(
    b: &[i8],
    n: usize,
    k: usize,
    (jc, nc): (usize, usize),
    dst: &mut [u8],
) {
    let kp = k.div_ceil(4) * 4;
    let panels = nc.div_ceil(NR);
    let dst = &mut dst[..panels * kp * NR];
    for q in 0..kp / 4 {
        // The quad's 4 rows of B (rows past k: none).
        let rows: [&[i8]; 4] = core::array::from_fn(|t| {
            let i = 4 * q + t;
            if i < k {
                &b[i * n + jc..][..nc]
            } else {
                &[][..]
            }
        });
        // All 4 rows inside k: full panels take the SIMD transpose.
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        let whole_quad = 4 * q + 4 <= k;
        for jp in 0..panels {
            let out = &mut dst[(jp * kp + 4 * q) * NR..][..4 * NR];
            let j0 = jp * NR;
            let w = NR.min(nc - j0);
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            if NR == 8 && w == 8 && whole_quad {
                transpose4x8_u8_simd128(rows.map(|r| &r[j0..j0 + 8]), out);
                continue;
            }
            for j in 0..NR {
                for (t, row) in rows.iter().enumerate() {
                    out[4 * j + t] = match row.get(j0 + j) {
                        Some(&x) if j < w => to_u8(x),
                        _ => 0,
                    };
                }
            }
        }
    }
}

/// `out[4j + t] = rows[t][j] + 128` for 8 columns: four 8-byte loads, three byte shuffles, one
/// xor, two stores.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[inline(always)]
fn transpose4x8_u8_simd128(rows: [&[i8]; 4], out: &mut [u8]) {
    use core::arch::wasm32::*;
    assert!(rows.iter().all(|r| r.len() == 8) && out.len() == 32);
    // SAFETY: each row holds 8 bytes and out 32 (asserted); the loads and the stores accept
    // unaligned pointers.
    unsafe {
        let r: [v128; 4] = rows.map(|r| v128_load64_zero(r.as_ptr().cast::<u64>()));
        // (k0, k1) and (k2, k3) byte pairs of the 8 columns.
        let p01 =
            i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r[0], r[1]);
        let p23 =
            i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r[2], r[3]);
        let bias = u8x16_splat(0x80);
        let lo = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(p01, p23);
        let hi = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(p01, p23);
        let out = out.as_mut_ptr().cast::<v128>();
        v128_store(out, v128_xor(lo, bias));
        v128_store(out.add(1), v128_xor(hi, bias));
    }
}
