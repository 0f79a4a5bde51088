//! The quantization math against exact references computed in wider integers and f64.

use quantscope::quant::{
    round_ties_away, rounding_divide_by_pot, saturating_rounding_doubling_high_mul, Multiplier,
    QuantParams, QuantRange,
};
use rand::{rngs::SmallRng, Rng, SeedableRng};

/// floor(a / b) for b > 0.
fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

#[test]
fn doubling_high_mul_rounds_half_up_and_saturates() {
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
        1 << 29
    );
    // a*b*2 / 2^32 = 0.5 rounds up to 1, -0.5 rounds up to 0.
    assert_eq!(saturating_rounding_doubling_high_mul(1 << 15, 1 << 15), 1);
    assert_eq!(
        saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15),
        0
    );
    let mut rng = SmallRng::seed_from_u64(1);
    for _ in 0..100_000 {
        let (a, b): (i32, i32) = (rng.random(), rng.random());
        if a == i32::MIN && b == i32::MIN {
            continue;
        }
        // round(a b / 2^31), ties towards +inf.
        let want = floor_div(a as i128 * b as i128 + (1 << 30), 1 << 31);
        assert_eq!(
            saturating_rounding_doubling_high_mul(a, b) as i128,
            want,
            "{a} * {b}"
        );
    }
}

#[test]
fn divide_by_power_of_two_rounds_half_away_from_zero() {
    assert_eq!(rounding_divide_by_pot(5, 1), 3);
    assert_eq!(rounding_divide_by_pot(-5, 1), -3);
    assert_eq!(rounding_divide_by_pot(-6, 2), -2);
    assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    let mut rng = SmallRng::seed_from_u64(2);
    for _ in 0..100_000 {
        let x: i32 = rng.random();
        let e: u32 = rng.random_range(0..=31);
        let want = if e == 0 {
            x as i128
        } else {
            let (half, d) = (1i128 << (e - 1), 1i128 << e);
            let mag = floor_div((x as i128).abs() + half, d);
            if x < 0 {
                -mag
            } else {
                mag
            }
        };
        assert_eq!(rounding_divide_by_pot(x, e) as i128, want, "{x} / 2^{e}");
    }
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

#[test]
fn apply_is_within_the_double_rounding_bound() {
    // The high multiply rounds to an integer that still carries n = -shift fraction bits, then
    // the shift rounds again: |apply(acc) - acc M| <= 0.5 + 0.5 * 2^-n (0.5 for left shifts).
    let mut rng = SmallRng::seed_from_u64(4);
    for _ in 0..100_000 {
        let m = 10f64.powf(rng.random_range(-5.0..0.5));
        let q = Multiplier::from_f64(m).unwrap();
        let acc: i32 = rng.random_range(-(1 << 24)..(1 << 24));
        let got = q.apply(acc) as f64;
        let real = acc as f64 * q.to_f64();
        let bound = 0.5 + 0.5 * 2f64.powi(q.shift.min(0)) + 1e-9;
        assert!(
            (got - real).abs() <= bound,
            "{acc} * {m} ({q:?}): {got} vs {real}"
        );
    }
    // Without a right shift the result is the nearest integer, ties towards +inf.
    let two_and_a_half = Multiplier::from_f64(2.5).unwrap();
    assert_eq!(two_and_a_half.apply(-3), -7); // -7.5
    assert_eq!(two_and_a_half.apply(3), 8); // 7.5
    assert_eq!(two_and_a_half.apply(-5), -12); // -12.5
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
