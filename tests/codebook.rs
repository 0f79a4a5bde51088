//! Codebooks: 1-D k-means against known clusters and brute force, power-of-two levels, and the
//! nearest-level rule against an exhaustive search.

use quantscope::quant::codebook::{assign, kmeans_1d, nearest_level, pow2_levels, KMeansInit};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::time::Instant;

const INITS: [KMeansInit; 3] = [
    KMeansInit::Linear,
    KMeansInit::PlusPlus { seed: 1 },
    KMeansInit::PlusPlus { seed: 42 },
];

/// Laplace(0, 0.05) samples, the shape of trained conv weights.
fn laplacian(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random::<f64>() - 0.5;
            (-0.05 * u.signum() * (1.0 - 2.0 * u.abs()).ln()) as f32
        })
        .collect()
}

/// The nearest-level rule by exhaustive search: smallest f64 distance, then smaller magnitude,
/// then lower index; NaN as 0, +-inf to the last / first level.
fn brute_nearest(levels: &[f32], x: f32) -> usize {
    if x.is_infinite() {
        return if x > 0.0 { levels.len() - 1 } else { 0 };
    }
    let x = if x.is_nan() { 0.0 } else { f64::from(x) };
    let key = |i: usize| ((x - f64::from(levels[i])).abs(), levels[i].abs(), i);
    (0..levels.len())
        .min_by(|&a, &b| key(a).partial_cmp(&key(b)).unwrap())
        .unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_sorted_distinct(c: &[f32]) {
    assert!(
        c.windows(2).all(|w| w[0] < w[1]),
        "not sorted/distinct: {c:?}"
    );
}

#[test]
fn kmeans_recovers_four_tight_clusters() {
    let truth = [-1.0f32, -0.2, 0.3, 2.0];
    let mut rng = SmallRng::seed_from_u64(7);
    let values: Vec<f32> = (0..1000)
        .map(|i| truth[i % 4] + (rng.random::<f32>() - 0.5) * 0.04)
        .collect();
    for init in INITS {
        let c = kmeans_1d(&values, 4, init, 100);
        assert_eq!(c.centroids.len(), 4, "{init:?}");
        for (got, want) in c.centroids.iter().zip(truth) {
            assert!((got - want).abs() < 1e-2, "{init:?}: {:?}", c.centroids);
        }
        for (i, &a) in c.assignment.iter().enumerate() {
            assert_eq!(a as usize, i % 4, "{init:?}: value {i}");
        }
        assert!(c.iterations < 100);
    }
}

#[test]
fn kmeans_converges_deterministically_to_its_own_nearest_assignment() {
    let mut values = laplacian(20_000, 3);
    values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]);
    for init in INITS {
        for k in [2, 16, 256] {
            let c = kmeans_1d(&values, k, init, 1000);
            assert!(c.iterations > 0 && c.iterations < 1000, "{init:?} k={k}");
            assert_eq!(c.centroids.len(), k);
            assert_sorted_distinct(&c.centroids);
            let again = kmeans_1d(&values, k, init, 1000);
            assert_eq!(bits(&c.centroids), bits(&again.centroids));
            assert_eq!(c.assignment, again.assignment);
            assert_eq!(c.iterations, again.iterations);
            // The assignment is the nearest centroid, exactly as `assign` and brute force say.
            assert_eq!(assign(&c.centroids, &values).0, c.assignment);
            for (&v, &a) in values.iter().zip(&c.assignment).step_by(7) {
                assert_eq!(a as usize, brute_nearest(&c.centroids, v), "{v}");
            }
            let n = values.len();
            assert_eq!(c.assignment[n - 3] as usize, k - 1, "+inf: largest");
            assert_eq!(c.assignment[n - 2], 0, "-inf: smallest");
            assert_eq!(
                c.assignment[n - 4],
                c.assignment[n - 1],
                "NaN goes where 0 goes"
            );
            // Converged: each centroid is the mean of its cell (to f32 rounding).
            for (j, &cj) in c.centroids.iter().enumerate() {
                let cell: Vec<f64> = (0..n)
                    .filter(|&i| values[i].is_finite() && c.assignment[i] as usize == j)
                    .map(|i| f64::from(values[i]))
                    .collect();
                let mean = cell.iter().sum::<f64>() / cell.len() as f64;
                assert!((f64::from(cj) - mean).abs() <= 1e-6 * mean.abs().max(1e-3));
            }
        }
    }
}

#[test]
fn fewer_distinct_values_than_k_gives_exactly_those_values() {
    let distinct = [-1.5f32, -0.0, 0.25, 3.0];
    let values: Vec<f32> = (0..40).map(|i| distinct[(i * 7) % 4]).collect();
    for init in INITS {
        for k in [4, 5, 256] {
            let c = kmeans_1d(&values, k, init, 50);
            assert_eq!(bits(&c.centroids), bits(&[-1.5, 0.0, 0.25, 3.0]));
            assert_eq!(c.iterations, 0);
            for (i, &a) in c.assignment.iter().enumerate() {
                assert_eq!(a as usize, (i * 7) % 4);
            }
        }
        // One value short of k: every level is used.
        let c = kmeans_1d(&values, 3, init, 50);
        assert_eq!(c.centroids.len(), 3);
        assert_sorted_distinct(&c.centroids);
    }
}

#[test]
fn k1_gives_the_mean_and_edge_inputs() {
    let values = laplacian(10_001, 5);
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
    for init in INITS {
        let c = kmeans_1d(&values, 1, init, 10);
        assert_eq!(c.centroids.len(), 1);
        assert!((f64::from(c.centroids[0]) - mean).abs() < 1e-7, "{init:?}");
        assert!(c.assignment.iter().all(|&a| a == 0));
        assert_eq!(c.iterations, 1);
    }
    let empty = kmeans_1d(&[], 8, KMeansInit::Linear, 10);
    assert!(empty.centroids.is_empty() && empty.assignment.is_empty());
    let nan = kmeans_1d(&[f32::NAN, f32::INFINITY], 8, KMeansInit::Linear, 10);
    assert_eq!(nan.centroids, [0.0]);
    assert_eq!(nan.assignment, [0, 0]);
}

#[test]
fn kmeans_error_is_at_most_the_uniform_grids_at_4_bits() {
    let values = laplacian(50_000, 11);
    let (lo, hi) = values
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    // Affine int4: 16 levels over [min, max]. Symmetric int4: 15 levels S * [-7, 7].
    let affine: Vec<f32> = (0..16).map(|i| lo + (hi - lo) * i as f32 / 15.0).collect();
    let s = lo.abs().max(hi) / 7.0;
    let symmetric: Vec<f32> = (-7..=7).map(|i| i as f32 * s).collect();
    let grid_err = assign(&affine, &values)
        .1
        .min(assign(&symmetric, &values).1);
    for init in INITS {
        let c = kmeans_1d(&values, 16, init, 500);
        let (codes, err) = assign(&c.centroids, &values);
        assert_eq!(codes, c.assignment);
        assert!(err <= grid_err, "{init:?}: k-means {err} > grid {grid_err}");
        // On a heavy-tailed sample k-means is far better, not just no worse.
        assert!(err < 0.5 * grid_err, "{init:?}: {err} vs {grid_err}");
    }
}

#[test]
fn pow2_levels_are_symmetric_powers_of_two() {
    let values = laplacian(5_000, 13);
    let max_abs = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for b in 1..=8u8 {
        let levels = pow2_levels(&values, b);
        let exponents = ((1usize << b) - 1) / 2;
        // max|v| ~ 0.5: the 8-bit run loses the exponents below -126.
        let top_exponent = max_abs.log2().round() as i32;
        let want = 1 + 2 * exponents.clamp(1, (top_exponent + 127) as usize);
        assert_eq!(levels.len(), want, "bits {b}");
        assert_sorted_distinct(&levels);
        let mid = levels.len() / 2;
        assert_eq!(levels[mid].to_bits(), 0);
        for (i, &l) in levels.iter().enumerate() {
            assert_eq!(l, -levels[levels.len() - 1 - i]);
            if i != mid {
                assert_eq!(l.to_bits() & 0x007f_ffff, 0, "mantissa of {l}");
                assert!(l.is_normal());
                assert_eq!(l.abs().log2().fract(), 0.0);
            }
        }
        // Consecutive exponents, the largest nearest max|v| in the log domain.
        for w in levels[mid + 1..].windows(2) {
            assert_eq!(w[1], 2.0 * w[0]);
        }
        let top = *levels.last().unwrap();
        assert!((top.log2() - max_abs.log2()).abs() <= 0.5);
    }
}

#[test]
fn pow2_levels_edge_cases() {
    assert_eq!(pow2_levels(&[0.0, -0.0, 0.0], 4), [0.0]);
    assert_eq!(pow2_levels(&[], 4), [0.0]);
    assert_eq!(pow2_levels(&[f32::NAN, f32::INFINITY], 4), [0.0]);
    // Log-domain rounding: 0.7 -> 2^-1 (log2 0.7 = -0.51), 0.72 -> 2^0 (-0.47).
    assert_eq!(pow2_levels(&[0.7], 2), [-0.5, 0.0, 0.5]);
    assert_eq!(pow2_levels(&[-0.72, f32::NAN], 2), [-1.0, 0.0, 1.0]);
    assert_eq!(
        pow2_levels(&[3.0], 3),
        [-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0]
    );
    // Capped to normal f32: tiny data keeps a few levels, huge data tops out at 2^127.
    let tiny = pow2_levels(&[1e-37], 8);
    assert!(tiny.len() < 255 && tiny.iter().all(|l| *l == 0.0 || l.is_normal()));
    assert_eq!(tiny[tiny.len() / 2 + 1], f32::MIN_POSITIVE);
    let huge = pow2_levels(&[f32::MAX], 4);
    assert_eq!(*huge.last().unwrap(), 2f32.powi(127));
    assert_eq!(huge.len(), 15);
}

#[test]
fn nearest_level_matches_brute_force_including_midpoints() {
    let mut rng = SmallRng::seed_from_u64(17);
    for round in 0..500 {
        let n = rng.random_range(1..=40);
        // Dyadic levels (exact midpoints), some rounds symmetric.
        let mut levels: Vec<f32> = (0..n)
            .map(|_| rng.random_range(-512i32..=512) as f32 / 64.0)
            .collect();
        if round % 3 == 0 {
            let neg: Vec<f32> = levels.iter().map(|l| -l).collect();
            levels.extend(neg);
        }
        levels.sort_by(f32::total_cmp);
        levels.dedup_by(|a, b| a == b);
        let mut xs = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0];
        xs.extend(levels.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        xs.extend(levels.iter().copied());
        xs.extend((0..50).map(|_| rng.random_range(-10.0f32..10.0)));
        for &x in &xs {
            assert_eq!(
                nearest_level(&levels, x),
                brute_nearest(&levels, x),
                "{x} in {levels:?}"
            );
        }
    }
    // The rule spelled out.
    assert_eq!(nearest_level(&[0.0, 2.0], 1.0), 0);
    assert_eq!(nearest_level(&[-2.0, 0.0], -1.0), 1);
    assert_eq!(nearest_level(&[-1.0, 1.0], 0.0), 0);
    assert_eq!(nearest_level(&[-1.0, 1.0], f32::NAN), 0);
    assert_eq!(nearest_level(&[-3.0, 1.0, 5.0], -1.0), 1);
    assert_eq!(nearest_level(&[-3.0, 1.0, 5.0], 3.0), 1);
    assert_eq!(nearest_level(&[7.0], -1e30), 0);
}

#[test]
fn assign_sums_the_squared_error_of_finite_values() {
    let levels = [-1.0f32, 0.0, 0.5, 2.0];
    let values = [-3.0f32, 0.25, 0.3, 1.25, 9.0, f32::NAN, f32::NEG_INFINITY];
    let (codes, err) = assign(&levels, &values);
    assert_eq!(codes, [0, 1, 2, 2, 3, 1, 0]);
    let want = 4.0 + 0.0625 + 0.04 + 0.5625 + 49.0;
    assert!((err - want).abs() < 1e-6, "{err}");
}

/// A layer the size of EfficientNet's largest (1.3M weights) converges; prints the time
/// (`--nocapture`; a measurement, not asserted).
#[test]
fn large_layer_converges() {
    let values = laplacian(1_300_000, 19);
    for (init, k) in [
        (KMeansInit::Linear, 16),
        (KMeansInit::PlusPlus { seed: 5 }, 16),
        (KMeansInit::Linear, 256),
        (KMeansInit::PlusPlus { seed: 5 }, 256),
    ] {
        let t = Instant::now();
        let c = kmeans_1d(&values, k, init, 100_000);
        let dt = t.elapsed();
        eprintln!(
            "kmeans_1d 1.3M values, k={k}, {init:?}: {} iterations, {dt:?}",
            c.iterations
        );
        assert_eq!(c.centroids.len(), k);
        // Steps are O(k log n), so even the hundreds to thousands a dense layer needs to reach
        // an unchanged assignment cost less than the sort.
        assert!(c.iterations < 100_000);
    }
    let levels = pow2_levels(&values, 4);
    let t = Instant::now();
    let (codes, _) = assign(&levels, &values);
    eprintln!(
        "assign 1.3M values to {} levels: {:?}",
        levels.len(),
        t.elapsed()
    );
    assert_eq!(codes.len(), values.len());
}
