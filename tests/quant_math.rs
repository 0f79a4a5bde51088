//! The quantization math against exact references computed in wider integers and f64.

use quantscope::quant::{round_ties_away, Multiplier, QuantParams, QuantRange};
use rand::{rngs::SmallRng, Rng, SeedableRng};

/// floor(a / b) for b > 0.
fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

#[test]
fn multiplier_represents_the_real_value() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-30, 1e30] {
        assert_eq!(Multiplier::from_f64(bad), None, "{bad}");
    }
    assert_eq!(
        Multiplier::from_f64(0.5),
        Some(Multiplier {
            m0: 1 << 30,
            shift: 0
        })
    );
    assert_eq!(
        Multiplier::from_f64(1.0),
        Some(Multiplier {
            m0: 1 << 30,
            shift: 1
        })
    );
    let mut rng = SmallRng::seed_from_u64(3);
    for _ in 0..10_000 {
        let m = 10f64.powf(rng.random_range(-6.0..2.0));
        let q = Multiplier::from_f64(m).unwrap();
        assert!((1 << 30..=i32::MAX).contains(&q.m0), "{m}: {q:?}");
        assert!(((q.to_f64() - m) / m).abs() <= 2f64.powi(-31), "{m}: {q:?}");
    }
}

/// A random multiplier: log-uniform over 1e-6..1e6 (shifts from -19 to 20), some exactly a
/// power of two (the ties then fall on integers plus one half).
fn random_multiplier(rng: &mut SmallRng) -> Multiplier {
    if rng.random_range(0..8) == 0 {
        return Multiplier {
            m0: 1 << 30,
            shift: rng.random_range(-31..=30),
        };
    }
    Multiplier::from_f64(10f64.powf(rng.random_range(-6.0..6.0))).unwrap()
}

#[test]
fn apply_rounds_the_exact_product_once() {
    // round(acc * m0 / 2^(31 - shift)), ties towards +inf, saturated: computed in i128.
    let mut rng = SmallRng::seed_from_u64(4);
    for i in 0..200_000 {
        let q = random_multiplier(&mut rng);
        let acc: i32 = match i % 3 {
            0 => rng.random(),
            1 => rng.random_range(-(1 << 16)..(1 << 16)),
            _ => rng.random_range(-64..64),
        };
        let t = 31 - q.shift;
        let exact = floor_div(acc as i128 * q.m0 as i128 + (1i128 << (t - 1)), 1i128 << t);
        let want = exact.clamp(i32::MIN as i128, i32::MAX as i128);
        assert_eq!(q.apply(acc) as i128, want, "{acc} * {q:?}");
        // Within half a step of the real product (unless saturated).
        if exact == want {
            let real = acc as f64 * q.to_f64();
            assert!((want as f64 - real).abs() <= 0.5 + 1e-9 * real.abs().max(1.0));
        }
    }
    // Ties go towards +inf.
    let two_and_a_half = Multiplier::from_f64(2.5).unwrap();
    assert_eq!(two_and_a_half.apply(-3), -7); // -7.5
    assert_eq!(two_and_a_half.apply(3), 8); // 7.5
    assert_eq!(two_and_a_half.apply(-5), -12); // -12.5
    let quarter = Multiplier::from_f64(0.25).unwrap();
    assert_eq!(quarter.apply(2), 1); // 0.5
    assert_eq!(quarter.apply(-2), 0); // -0.5
    assert_eq!(quarter.apply(-6), -1); // -1.5
                                       // Saturation, both ways.
    let big = Multiplier::from_f64(1e6).unwrap();
    assert_eq!(big.apply(i32::MAX), i32::MAX);
    assert_eq!(big.apply(i32::MIN), i32::MIN);
}

#[test]
fn requantize_is_unchanged_by_clamping_to_the_input_limit() {
    // The kernels compute on `acc.clamp(-L, L)`, L = input_limit, in 32 bits: the definition
    // must not see the difference, and the clamped product must fit comfortably.
    let mut rng = SmallRng::seed_from_u64(5);
    for i in 0..200_000 {
        let q = random_multiplier(&mut rng);
        let limit = q.input_limit();
        assert!(limit >= 1);
        let acc: i32 = match i % 4 {
            0 => rng.random(),
            1 => limit.saturating_add(rng.random_range(-3..=3)),
            2 => limit
                .saturating_neg()
                .saturating_add(rng.random_range(-3..=3)),
            _ => rng.random_range(-(1 << 20)..(1 << 20)),
        };
        let zp = rng.random_range(-128..=127);
        let (lo, hi) = {
            let (a, b) = (rng.random::<i8>(), rng.random::<i8>());
            (a.min(b), a.max(b))
        };
        let clamped = acc.clamp(-limit, limit);
        assert_eq!(
            q.requantize(acc, zp, lo, hi),
            q.requantize(clamped, zp, lo, hi),
            "{acc} * {q:?}, limit {limit}"
        );
        let y = q.apply(clamped) as i64;
        let bound = if q.shift > 17 { 1 << 30 } else { 1 << 17 };
        assert!(y.abs() <= bound, "{clamped} * {q:?} = {y}");
    }
}

#[test]
fn requantize_adds_the_zero_point_and_clamps() {
    let q = Multiplier::from_f64(0.25).unwrap();
    assert_eq!(q.requantize(40, -5, -128, 127), 5); // 40 * 0.25 - 5
    assert_eq!(q.requantize(4000, 0, -128, 127), 127);
    assert_eq!(q.requantize(-4000, 0, -128, 127), -128);
    // ReLU6 with S_out = 6/255, Z_out = -128: the codes [-128, 127] are exactly [0, 6].
    assert_eq!(q.requantize(-400, -128, -128, 127), -128);
}

#[test]
fn asymmetric_params_represent_zero_exactly() {
    let p = QuantParams::asymmetric(-1.0, 3.0, QuantRange::FULL);
    assert!((p.scale - 4.0 / 255.0).abs() < 1e-9);
    assert_eq!(p.zero_point, -64); // round(-128 + 1 / (4/255)) = round(-64.25)
    assert_eq!(p.quantize(0.0), -64);
    assert_eq!(p.dequantize(p.quantize(0.0)), 0.0);
    assert_eq!(p.quantize(3.0), 127);
    assert_eq!(p.quantize(-1.0), -128);
    // A range not containing zero is widened to include it.
    let pos = QuantParams::asymmetric(2.0, 6.0, QuantRange::FULL);
    assert_eq!(pos.zero_point, -128);
    assert_eq!(pos.dequantize(-128), 0.0);
    // Degenerate ranges do not divide by zero.
    assert_eq!(
        QuantParams::asymmetric(0.0, 0.0, QuantRange::FULL).scale,
        1.0
    );
}

#[test]
fn symmetric_narrow_params_round_trip_within_half_a_step() {
    let p = QuantParams::symmetric(2.54, QuantRange::NARROW);
    assert_eq!(p.zero_point, 0);
    assert!((p.scale - 0.02).abs() < 1e-7);
    assert_eq!(p.quantize(2.54), 127);
    assert_eq!(p.quantize(-2.54), -127);
    assert_eq!(p.quantize(-10.0), -127); // narrow range: -128 is never used
    let mut rng = SmallRng::seed_from_u64(5);
    for _ in 0..10_000 {
        let r: f32 = rng.random_range(-2.54..2.54);
        assert!(
            (p.dequantize(p.quantize(r)) - r).abs() <= p.scale / 2.0 + 1e-6,
            "{r}"
        );
    }
}

/// The trunc-based rounding the quantizers use is `f32::round` bit for bit: ties, the floats
/// next to ties, large and tiny magnitudes, signed zeros, infinities, NaN, and random values.
#[test]
fn round_ties_away_is_f32_round() {
    let mut xs = vec![
        0.0f32,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
    ];
    xs.extend([f32::MIN_POSITIVE, 8_388_607.5, 8_388_608.0, 16_777_215.0]);
    for k in -300i32..=300 {
        let tie = k as f32 + 0.5;
        for x in [
            tie,
            tie.next_up(),
            tie.next_down(),
            k as f32,
            (k as f32).next_up(),
        ] {
            xs.extend([x, -x]);
        }
    }
    let mut rng = SmallRng::seed_from_u64(11);
    for _ in 0..200_000 {
        xs.push(f32::from_bits(rng.random::<u32>()));
        xs.push(rng.random_range(-300.0f32..300.0));
    }
    for x in xs {
        let (got, want) = (round_ties_away(x), x.round());
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "round({x:e}) = {want:e}, got {got:e}"
        );
    }
}
