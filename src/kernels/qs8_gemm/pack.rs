//! Packing for the dot16x2 layout: k is taken in pairs (padded to even with zeros) so that one
//! `i32x4.dot_i16x8_s` adds two k steps of four outputs.

/// Packs row-major `a [m, k]` into `ceil(m / mr)` panels of `kp * mr` i16 values (`kp` = k
/// rounded up to even), pair-major: `panel[(p * mr + r) * 2 + t] = a[panel_row0 + r, 2p + t]`,
/// rows past `m` and the column past an odd `k` zero. Each row's pair is one i32 to splat.
pub(super) fn pack_a(a: &[i8], m: usize, k: usize, mr: usize) -> Vec<i16> {
    panel_order(a, m, k, mr, i16::from)
}

/// [`pack_a`]'s order for codes (padding is code 0, whose product meets a zero in B or is
/// never stored).
pub(super) fn pack_a_codes(codes: &[u8], m: usize, k: usize, mr: usize) -> Vec<u8> {
    panel_order(codes, m, k, mr, |c| c)
}

/// `a` in `mr`-row panels of k pairs, each value through `f`, padding `T::default()`.
fn panel_order<S: Copy, T: Copy + Default>(
    a: &[S],
    m: usize,
    k: usize,
    mr: usize,
    f: impl Fn(S) -> T,
) -> Vec<T> {
    let kp = k.div_ceil(2) * 2;
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
                let (p, t) = (idx / 2, idx % 2);
                panel[(p * mr + r) * 2 + t] = f(v);
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
