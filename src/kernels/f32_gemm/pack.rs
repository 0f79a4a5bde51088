//! Packing: A into `MR`-row panels, B blocks into `NR`-column panels, both k-major and
//! zero-padded so microkernels always run full tiles.

/// Packs row-major `a [m, k]` into `ceil(m / mr)` panels of `k * mr` values:
/// `panel[p * mr + r] = a[(panel_row0 + r) * k + p]`, rows past `m` zero.
pub(super) fn pack_a(a: &[f32], m: usize, k: usize, mr: usize) -> Vec<f32> {
    let panels = m.div_ceil(mr);
    let mut data = vec![0.0f32; panels * k * mr];
    for (pi, panel) in data
        .chunks_exact_mut((k * mr).max(1))
        .enumerate()
        .take(panels)
    {
        for r in 0..mr.min(m - pi * mr) {
            let row = &a[(pi * mr + r) * k..][..k];
            for (p, &v) in row.iter().enumerate() {
                panel[p * mr + r] = v;
            }
        }
    }
    data
}

/// Packs the block `b[pc..pc + kc, jc..jc + nc]` of row-major `b [k, n]` into `dst` as
/// `ceil(nc / nr)` panels of `kc * nr` values: `panel[p * nr + j] = b[pc + p, jc + jr + j]`,
/// columns past `nc` zero.
pub(super) fn pack_b<const NR: usize>(
    b: &[f32],
    n: usize,
    (pc, kc): (usize, usize),
    (jc, nc): (usize, usize),
    dst: &mut [f32],
) {
    let panels = nc.div_ceil(NR);
    let dst = &mut dst[..panels * kc * NR];
    for p in 0..kc {
        let row = &b[(pc + p) * n + jc..][..nc];
        // Reads are contiguous along the row; each panel gets one NR-wide store.
        let mut chunks = row.chunks_exact(NR);
        for (jp, chunk) in (&mut chunks).enumerate() {
            dst[(jp * kc + p) * NR..][..NR].copy_from_slice(chunk);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let out = &mut dst[((panels - 1) * kc + p) * NR..][..NR];
            out[..rest.len()].copy_from_slice(rest);
            out[rest.len()..].fill(0.0);
        }
    }
}
