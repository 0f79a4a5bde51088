//! Non-uniform weight levels (codebooks): 1-D k-means ([`kmeans_1d`]), power-of-two levels
//! ([`pow2_levels`]) and the nearest-level rule both are read through ([`nearest_level`],
//! [`assign`]).
//!
//! # The nearest-level rule
//!
//! A value goes to the level at the smallest distance `|x - l|`, measured in f64 (the difference
//! of two f32 is exact there for any two values within a factor 2^29 of each other). A value
//! exactly halfway between two levels goes to the one of smaller magnitude (so symmetric levels
//! give `q(-x) = -q(x)`), and between two of equal magnitude (`x = 0` halfway between `-a` and
//! `a`) to the lower one. `+inf` goes to the largest level, `-inf` to the smallest, NaN where
//! `0.0` goes. Every function here (the k-means fitting included) uses this one rule, so
//! [`Clusters::assignment`] is what [`assign`] gives for [`Clusters::centroids`].
//!
//! # k-means in one dimension
//!
//! With the values sorted, the cells of sorted centroids are contiguous runs of the sorted
//! values, so one Lloyd step is `k` binary searches (a boundary between two neighbouring
//! centroids) and `k` means from f64 prefix sums: `O(k log n)` a step after one `O(n log n)`
//! sort. Non-finite values take no part in the fitting and are assigned by the rule above.
//!
//! A centroid whose cell is empty (possible after the linear initialisation or after a mean
//! step) is dropped and, while fewer than `k` centroids remain, a new one is placed at the value
//! farthest from its centroid (first such value in ascending order on ties). Each re-seed
//! strictly lowers the squared error, so the result has `min(k, distinct values)` distinct
//! centroids. The results are deterministic, bit for bit (no hashing, no threads; the seeded
//! k-means++ uses its own splitmix64).

use super::order::{from_total_order_key, sort_keys, total_order_key};

/// How k-means picks its first centroids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KMeansInit {
    /// k centroids evenly spaced over [min, max] (TF-MOT's recommended "linear" init; the default).
    #[default]
    Linear,
    /// k-means++ (Arthur & Vassilvitskii 2007): first centroid uniformly, each next one drawn with
    /// probability proportional to the squared distance to the nearest chosen; seeded,
    /// deterministic.
    PlusPlus {
        /// Seed of the splitmix64 generator that draws the centroids.
        seed: u64,
    },
}

/// A 1-D clustering of weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Clusters {
    /// Centroids, sorted ascending, distinct, at most k (fewer when the data has fewer distinct
    /// values); never empty for non-empty input (`[0.0]` when no input value is finite).
    pub centroids: Vec<f32>,
    /// For each input value, the index of its centroid: the nearest, ties and non-finite values
    /// as in [`nearest_level`] (see the module docs).
    pub assignment: Vec<u8>,
    /// Lloyd iterations (mean steps) run until the assignment stopped changing (or max_iter);
    /// 0 when the data has at most k distinct values (the centroids are those values).
    pub iterations: usize,
}

/// Lloyd's k-means in one dimension, iterated to convergence (assignment unchanged) or
/// max_iter. k in 1..=256.
///
/// With at most `k` distinct finite values the centroids are exactly those values (`-0.0` read
/// as `0.0`). Otherwise the centroids start from `init`, are settled (empty cells dropped and
/// re-seeded, see the module docs) and then refined by at most `max_iter` Lloyd steps; with
/// `max_iter = 0` the settled initial centroids are returned. Empty input gives no centroids.
///
/// # Panics
///
/// If `k` is not in `1..=256`, or `values` has more than `u32::MAX` elements.
pub fn kmeans_1d(values: &[f32], k: usize, init: KMeansInit, max_iter: usize) -> Clusters {
    assert!(
        (1..=256).contains(&k),
        "kmeans_1d: k = {k} is not in 1..=256"
    );
    assert!(
        u32::try_from(values.len()).is_ok(),
        "kmeans_1d: too many values"
    );
    // `+ 0.0` turns -0.0 into 0.0: one zero, whatever its sign.
    // Sorted as `(value's total-order key, index)` in one u64 (the crate's one float sort).
    let mut keys: Vec<u64> = (0u32..)
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| u64::from(total_order_key(v + 0.0)) << 32 | u64::from(i))
        .collect();
    sort_keys(&mut keys);
    // The sorted values, and where each came from.
    let (xs, from): (Vec<f32>, Vec<u32>) = keys
        .into_iter()
        .map(|k| (from_total_order_key((k >> 32) as u32), k as u32))
        .unzip();
    let (centroids, bounds, iterations) = if !xs.is_empty() {
        fit(&xs, k, init, max_iter)
    } else if values.is_empty() {
        (Vec::new(), vec![0], 0)
    } else {
        (vec![0.0], vec![0, 0], 0)
    };
    let mut assignment = vec![0u8; values.len()];
    for (j, cell) in bounds.windows(2).enumerate() {
        for &i in &from[cell[0]..cell[1]] {
            assignment[i as usize] = j as u8;
        }
    }
    for (a, &v) in assignment.iter_mut().zip(values) {
        if !v.is_finite() {
            *a = nearest_level(&centroids, v) as u8;
        }
    }
    Clusters {
        centroids,
        assignment,
        iterations,
    }
}

/// Power-of-two levels for `bits` (1..=8) covering `values`: 0 and ±2^e for the
/// (2^bits - 1) / 2 largest exponents e (at least 1 exponent), the largest being
/// 2^round(log2(max|v|)) (round in the log domain, so max|v| is nearest its level). Sorted
/// ascending. All-zero input: just [0.0].
///
/// Only finite values count towards `max|v|` (no finite non-zero value: `[0.0]`). Exponents are
/// kept in the normal f32 range `[-126, 127]`: the largest is clamped into it and the smallest
/// ones below `-126` are left out, so there are `1 + 2 * max(1, (2^bits - 1) / 2)` levels
/// unless that range cuts them short (e.g. 8 bits and `max|v|` below about `2^-0.5`).
///
/// # Panics
///
/// If `bits` is not in `1..=8`.
pub fn pow2_levels(values: &[f32], bits: u8) -> Vec<f32> {
    assert!(
        (1..=8).contains(&bits),
        "pow2_levels: bits = {bits} is not in 1..=8"
    );
    let max_abs = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if max_abs == 0.0 {
        return vec![0.0];
    }
    let exponents = (((1i32 << bits) - 1) / 2).max(1);
    let top = (f64::from(max_abs).log2().round() as i32).clamp(-126, 127);
    let bottom = (top - exponents + 1).max(-126);
    // 2^e for a normal exponent: the biased exponent alone, mantissa zero.
    let pow2 = |e: i32| f32::from_bits(((e + 127) as u32) << 23);
    let mut levels: Vec<f32> = (bottom..=top).rev().map(|e| -pow2(e)).collect();
    levels.push(0.0);
    levels.extend((bottom..=top).map(pow2));
    levels
}

/// Index of the level nearest to x in sorted `levels`, by binary search.
///
/// Ties go to the level of smaller magnitude, then to the lower index; `+inf` gives the last
/// index, `-inf` the first, NaN the index `0.0` gets (module docs). `levels` must be finite,
/// sorted ascending and (for a unique answer) distinct.
///
/// # Panics
///
/// If `levels` is empty.
pub fn nearest_level(levels: &[f32], x: f32) -> usize {
    assert!(!levels.is_empty(), "nearest_level: no levels");
    let x = if x.is_nan() { 0.0 } else { x };
    let p = levels.partition_point(|&l| l <= x);
    if p == 0 {
        0
    } else if p == levels.len() {
        p - 1
    } else if upper_wins(levels[p - 1], levels[p], x) {
        p
    } else {
        p - 1
    }
}

/// Assigns every value to its nearest level: (assignment, squared error sum as f64).
///
/// The rule is [`nearest_level`]'s; non-finite values are assigned by it but add nothing to the
/// error sum.
///
/// # Panics
///
/// If `levels` is empty or has more than 256 entries.
pub fn assign(levels: &[f32], values: &[f32]) -> (Vec<u8>, f64) {
    assert!(
        !levels.is_empty() && levels.len() <= 256,
        "assign: {} levels is not in 1..=256",
        levels.len()
    );
    let mut err = 0.0f64;
    let codes = values
        .iter()
        .map(|&v| {
            let i = nearest_level(levels, v);
            if v.is_finite() {
                let d = f64::from(v) - f64::from(levels[i]);
                err += d * d;
            }
            i as u8
        })
        .collect();
    (codes, err)
}

/// Whether `x` goes to `hi` rather than `lo` (`lo < hi`) under the nearest-level rule. Monotone
/// in `x` (false, then true), so it splits sorted values with one binary search.
#[inline]
fn upper_wins(lo: f32, hi: f32, x: f32) -> bool {
    let dl = f64::from(x) - f64::from(lo);
    let dh = f64::from(hi) - f64::from(x);
    dl > dh || (dl == dh && hi.abs() < lo.abs())
}

/// The cells of sorted, distinct centroids `cs` over sorted `xs`: cell `j` is
/// `xs[b[j]..b[j + 1]]`, `b.len() = cs.len() + 1`.
fn bounds(xs: &[f32], cs: &[f32]) -> Vec<usize> {
    let mut b = Vec::with_capacity(cs.len() + 1);
    b.push(0);
    for w in cs.windows(2) {
        let from = *b.last().unwrap_or(&0);
        b.push(from + xs[from..].partition_point(|&x| !upper_wins(w[0], w[1], x)));
    }
    b.push(xs.len());
    b
}

/// Fits sorted finite `xs` (non-empty): (centroids, cells, iterations).
fn fit(xs: &[f32], k: usize, init: KMeansInit, max_iter: usize) -> (Vec<f32>, Vec<usize>, usize) {
    let distinct = 1 + xs.windows(2).filter(|w| w[0] != w[1]).count();
    if distinct <= k {
        let mut cs = xs.to_vec();
        cs.dedup();
        let b = bounds(xs, &cs);
        return (cs, b, 0);
    }
    let mut prefix = Vec::with_capacity(xs.len() + 1);
    let mut sum = 0.0f64;
    prefix.push(sum);
    for &x in xs {
        sum += f64::from(x);
        prefix.push(sum);
    }
    let mut cs = match init {
        KMeansInit::Linear => linear_init(xs[0], xs[xs.len() - 1], k),
        KMeansInit::PlusPlus { seed } => plus_plus(xs, k, seed),
    };
    let mut b = settle(xs, &mut cs, k);
    let mut iterations = 0;
    while iterations < max_iter {
        iterations += 1;
        // Cells are contiguous and hold distinct values, so the (clamped) means increase strictly.
        let mut next: Vec<f32> = b
            .windows(2)
            .map(|c| {
                let mean = (prefix[c[1]] - prefix[c[0]]) / (c[1] - c[0]) as f64;
                (mean as f32).clamp(xs[c[0]], xs[c[1] - 1])
            })
            .collect();
        let nb = settle(xs, &mut next, k);
        cs = next;
        let unchanged = nb == b;
        b = nb;
        if unchanged {
            break;
        }
    }
    (cs, b, iterations)
}

/// `k` centroids evenly spaced over `[lo, hi]` (`k = 1`: the midpoint), duplicates removed.
fn linear_init(lo: f32, hi: f32, k: usize) -> Vec<f32> {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    if k == 1 {
        return vec![((lo + hi) / 2.0) as f32];
    }
    let mut cs: Vec<f32> = (0..k)
        .map(|i| (lo + (hi - lo) * (i as f64 / (k - 1) as f64)) as f32)
        .collect();
    cs.dedup();
    cs
}

/// Drops the centroids of empty cells and, while fewer than `k` remain, adds the value farthest
/// from its centroid (at most `2k` times, a guard: each addition lowers the error). Returns the
/// cells, none empty.
fn settle(xs: &[f32], cs: &mut Vec<f32>, k: usize) -> Vec<usize> {
    let mut reseeds = 0;
    loop {
        let b = bounds(xs, cs);
        if b.windows(2).any(|c| c[0] == c[1]) {
            let mut j = 0;
            cs.retain(|_| {
                j += 1;
                b[j - 1] < b[j]
            });
            continue;
        }
        if cs.len() < k && reseeds < 2 * k {
            let mut best = (0.0f64, 0.0f32);
            for (c, cell) in cs.iter().zip(b.windows(2)) {
                for x in [xs[cell[0]], xs[cell[1] - 1]] {
                    let d = (f64::from(x) - f64::from(*c)).powi(2);
                    if d > best.0 {
                        best = (d, x);
                    }
                }
            }
            if best.0 > 0.0 {
                let x = best.1;
                cs.insert(cs.partition_point(|&c| c < x), x);
                reseeds += 1;
                continue;
            }
        }
        return b;
    }
}

/// k-means++ seeding over sorted `xs` with more than `k` distinct values. Each draw walks the
/// cells' sums of squared distances, then one cell; only the cells next to the new centroid
/// are recomputed.
fn plus_plus(xs: &[f32], k: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed);
    let sq = |x: f32, c: f32| (f64::from(x) - f64::from(c)).powi(2);
    let first = xs[rng.below(xs.len())];
    let mut cs = vec![first];
    let mut d2: Vec<f64> = xs.iter().map(|&x| sq(x, first)).collect();
    let mut sums = vec![d2.iter().sum::<f64>()];
    let mut b = bounds(xs, &cs);
    while cs.len() < k {
        let total: f64 = sums.iter().sum();
        if total <= 0.0 {
            break;
        }
        let u = rng.unit() * total;
        let mut acc = 0.0;
        let mut cell = sums.iter().rposition(|&s| s > 0.0).unwrap_or(0);
        for (j, &s) in sums.iter().enumerate() {
            if s > 0.0 && acc + s > u {
                cell = j;
                break;
            }
            acc += s;
        }
        // The first value of the cell where the running sum passes u (d2 > 0 there), or on
        // rounding trouble the cell's last value with d2 > 0.
        let mut pick = b[cell];
        for (i, &d) in d2.iter().enumerate().take(b[cell + 1]).skip(b[cell]) {
            if d > 0.0 {
                pick = i;
                acc += d;
                if acc > u {
                    break;
                }
            }
        }
        let c = xs[pick];
        let p = cs.partition_point(|&v| v < c);
        cs.insert(p, c);
        sums.insert(p, 0.0);
        b = bounds(xs, &cs);
        for j in p.saturating_sub(1)..(p + 2).min(cs.len()) {
            let mut s = 0.0;
            for i in b[j]..b[j + 1] {
                d2[i] = sq(xs[i], cs[j]);
                s += d2[i];
            }
            sums[j] = s;
        }
    }
    cs
}

/// splitmix64 (Steele, Lea & Flood 2014): the seeding's whole randomness, same on every target.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-32 for any slice length).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`, 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 0 (the reference implementation's).
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn settle_reseeds_empty_cells_at_the_farthest_value() {
        let xs = [0.0, 0.1, 0.2, 5.0, 10.0];
        let mut cs = vec![0.1, 3.0, 7.0, 10.0];
        let b = settle(&xs, &mut cs, 4);
        // 7.0 is empty (5.0 ties between 3.0 and 7.0: the smaller magnitude), so it goes and 5.0
        // (farthest) comes; then 3.0 is empty and 0.0 (first of the farthest) comes.
        assert_eq!(cs, [0.0, 0.1, 5.0, 10.0]);
        assert_eq!(b, [0, 1, 3, 4, 5]);
    }

    #[test]
    fn plus_plus_picks_distinct_data_values() {
        let xs: Vec<f32> = (0..100).map(|i| (i / 10) as f32).collect();
        for seed in 0..20 {
            let cs = plus_plus(&xs, 10, seed);
            assert_eq!(cs, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        }
    }
}
