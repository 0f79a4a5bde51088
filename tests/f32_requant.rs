//! The float form of requantization ([`F32Requant`]) against the integer definition
//! ([`Multiplier::requantize`]): where the check accepts a form it agrees on every input tried
//! (exhaustively over the non-saturating range for some channels), and where it refuses one the
//! difference it reports is real.

use quantscope::kernels::qs8_gemm::{qs8_gemm, PackedQA};
use quantscope::kernels::qs8_requant::{FloatForms, Requant};
use quantscope::quant::f32_requant::{fused_mul_add, row_reaches, F32Requant, ALL_INPUTS};
use quantscope::quant::Multiplier;
use rand::{rngs::SmallRng, Rng, SeedableRng};

/// A random requantization: multiplier log-uniform in [1e-5, 2], zero point, and a clamp that
/// is the full range, a ReLU or random.
fn random_case(rng: &mut SmallRng) -> (Multiplier, i32, i8, i8) {
    let m = Multiplier::from_f64(10f64.powf(rng.random_range(-5.0..2f64.log10()))).unwrap();
    let zp = rng.random_range(-128..=127);
    let (min, max) = match rng.random_range(0..3) {
        0 => (-128, 127),
        1 => (zp as i8, 127),
        _ => {
            let (a, b) = (rng.random::<i8>(), rng.random::<i8>());
            (a.min(b), a.max(b))
        }
    };
    (m, zp, min, max)
}

/// Inputs worth trying for `m`: extremes, around 0, and random ones within and beyond the range
/// where the output moves (`|x| <= 300 / M`).
fn inputs(rng: &mut SmallRng, m: Multiplier) -> Vec<i32> {
    let reach = (300.0 / m.to_f64()).min(i32::MAX as f64) as i32;
    let mut xs = vec![i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX];
    xs.extend((0..2000).map(|_| rng.random_range(-reach..=reach)));
    xs.extend((0..200).map(|_| rng.random::<i32>()));
    xs
}

#[test]
fn accepted_forms_agree_and_refused_ones_really_differ() {
    let mut rng = SmallRng::seed_from_u64(7);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..2000 {
        let (m, zp, min, max) = random_case(&mut rng);
        let form = F32Requant::candidate(m, zp, min, max);
        match form.find_difference() {
            Some(x) => {
                refused += 1;
                assert_ne!(
                    form.requantize(x),
                    m.requantize(x, zp, min, max),
                    "{m:?} zp {zp} [{min}, {max}]: reported difference at {x} is not one"
                );
            }
            None => {
                accepted += 1;
                for x in inputs(&mut rng, m) {
                    assert_eq!(
                        form.requantize(x),
                        m.requantize(x, zp, min, max),
                        "{m:?} zp {zp} [{min}, {max}] at {x}"
                    );
                }
            }
        }
    }
    // Both outcomes occur, so neither branch above is vacuous (2000 cases: about 1400 / 600).
    assert!(
        accepted > 1000 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn accepted_forms_agree_on_every_input_that_is_not_saturated() {
    // Every x with |x| <= 2^23 (beyond it these multipliers saturate), so every threshold.
    let mut rng = SmallRng::seed_from_u64(3);
    let mut checked = 0;
    while checked < 6 {
        let m = Multiplier::from_f64(rng.random_range(2e-4..2e-2)).unwrap();
        let (zp, min, max) = (rng.random_range(-128..=127), -128, 127);
        let Some(form) = F32Requant::for_multiplier(m, zp, min, max, ALL_INPUTS, false) else {
            continue;
        };
        assert_eq!(form.of, (m, zp, min, max));
        assert_eq!(form.requantize(-(1 << 23)), min);
        assert_eq!(form.requantize(1 << 23), max);
        for x in -(1 << 23)..=(1 << 23) {
            assert_eq!(
                form.requantize(x),
                m.requantize(x, zp, min, max),
                "{m:?} zp {zp} at {x}"
            );
        }
        checked += 1;
    }
}

#[test]
fn searching_nearby_scales_and_nudges_accepts_more_channels() {
    let mut rng = SmallRng::seed_from_u64(5);
    let cases: Vec<_> = (0..1000).map(|_| random_case(&mut rng)).collect();
    let nearest = cases
        .iter()
        .filter(|&&(m, zp, lo, hi)| {
            F32Requant::candidate(m, zp, lo, hi)
                .find_difference()
                .is_none()
        })
        .count();
    let searched = cases
        .iter()
        .filter(|&&(m, zp, lo, hi)| {
            F32Requant::for_multiplier(m, zp, lo, hi, ALL_INPUTS, false).is_some_and(|f| {
                f.is_checked() && f.find_difference().is_none() && f.of == (m, zp, lo, hi)
            })
        })
        .count();
    assert!(
        searched > nearest,
        "{searched} with nearby scales and nudges vs {nearest}"
    );
    // A zero point outside int8 or an empty clamp has no form.
    let m = Multiplier::from_f64(0.01).unwrap();
    assert!(F32Requant::for_multiplier(m, 200, -128, 127, ALL_INPUTS, false).is_none());
    assert!(F32Requant::for_multiplier(m, 0, 5, -5, ALL_INPUTS, false).is_none());
}

/// The one-row requantization by `mult` with zero point 0, full clamp and `forms`.
fn one_row<'a>(mult: &'a [Multiplier], forms: &'a [Option<F32Requant>]) -> Requant<'a> {
    Requant {
        bias: &[0],
        multiplier: mult,
        zero_point: 0,
        min: -128,
        max: 127,
        float_forms: FloatForms::checked(forms, mult, 0, -128, 127),
    }
}

/// A 1x2 by 2x1 product through `qs8_gemm` with `req`.
fn gemm_1x2x1(req: &Requant) {
    qs8_gemm(&PackedQA::pack(&[1, 2], 1, 2), &[3, 4], 1, &mut [0], req);
}

#[test]
#[should_panic(expected = "float form is not checked")]
fn an_unchecked_form_is_refused() {
    let m = Multiplier::from_f64(0.01).unwrap();
    one_row(&[m], &[Some(F32Requant::candidate(m, 0, -128, 127))]);
}

#[test]
#[should_panic(expected = "made for another requantization")]
fn a_form_made_for_another_zero_point_is_refused() {
    let m = Multiplier::from_f64(0.01).unwrap();
    let form = F32Requant::for_multiplier(m, 5, -128, 127, ALL_INPUTS, false);
    assert!(form.is_some());
    one_row(&[m], &[form]);
}

/// Forms checked for one requantization, in a `Requant` with another zero point, clamp or
/// multipliers (equal values in another slice included): the kernels refuse them.
#[test]
fn kernels_refuse_forms_checked_against_another_requantization() {
    let m = Multiplier::from_f64(0.01).unwrap();
    let form = F32Requant::for_multiplier(m, 0, -128, 127, ALL_INPUTS, false);
    assert!(form.is_some());
    let (forms, mult, other_mult) = ([form], [m], [m]);
    let good = one_row(&mult, &forms);
    let run = |req: &Requant| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gemm_1x2x1(req)))
            .map_err(|e| e.downcast_ref::<String>().cloned().unwrap_or_default())
    };
    assert!(run(&good).is_ok());
    for (what, req) in [
        (
            "zero point",
            Requant {
                zero_point: 1,
                ..good
            },
        ),
        ("clamp", Requant { min: 0, ..good }),
        (
            "multipliers",
            Requant {
                multiplier: &other_mult,
                ..good
            },
        ),
    ] {
        let err = run(&req).expect_err(what);
        assert!(
            err.contains("float forms checked against another requantization"),
            "{what}: {err}"
        );
    }
}

#[test]
fn fused_mul_add_rounds_once_like_fma() {
    // Halfway between two f32 after the f64 sum, the exact sum just below it: rounding the
    // f64 sum again (ties to even) would go up to 1 + 2^-22.
    let (a, b, c) = (
        1.0 + 2f32.powi(-18),
        2f32.powi(-24) * (1.0 - 2f32.powi(-18)),
        1.0 + f32::EPSILON,
    );
    let twice = (f64::from(a) * f64::from(b) + f64::from(c)) as f32;
    assert_eq!(fused_mul_add(a, b, c), 1.0 + f32::EPSILON);
    assert_ne!(twice, fused_mul_add(a, b, c));
    assert_eq!(fused_mul_add(a, b, c), a.mul_add(b, c));
    // The output stage's operands (an integer, a scale, MAGIC + zero point), and any floats.
    let mut rng = SmallRng::seed_from_u64(11);
    for _ in 0..200_000 {
        let x = rng.random_range(-(1 << 26)..=(1 << 26)) as f32;
        let s = 10f32.powf(rng.random_range(-6.0..0.5));
        let off = 12_582_912.0 + rng.random_range(-128..=127) as f32;
        assert_eq!(fused_mul_add(x, s, off), x.mul_add(s, off), "{x} {s} {off}");
        let [a, b, c] = [0; 3].map(|_| f32::from_bits(rng.random::<u32>() & 0xbfff_ffff));
        let (want, got) = (a.mul_add(b, c), fused_mul_add(a, b, c));
        assert!(
            want == got || (want.is_nan() && got.is_nan()),
            "{a} {b} {c}"
        );
    }
}

#[test]
fn accepted_fused_forms_agree_and_refused_ones_really_differ() {
    let mut rng = SmallRng::seed_from_u64(13);
    let (mut fused, mut unfused, mut neither) = (0, 0, 0);
    for _ in 0..1000 {
        let (m, zp, min, max) = random_case(&mut rng);
        let Some(form) = F32Requant::for_multiplier(m, zp, min, max, ALL_INPUTS, true) else {
            // Refused: the nearest scale really differs somewhere.
            let nearest = F32Requant::fused_candidate(m, zp, min, max);
            let x = nearest.find_difference().expect("refused, so a difference");
            assert_ne!(nearest.requantize(x), m.requantize(x, zp, min, max));
            match F32Requant::for_multiplier(m, zp, min, max, ALL_INPUTS, false) {
                Some(_) => unfused += 1,
                None => neither += 1,
            }
            continue;
        };
        fused += 1;
        assert!(form.is_checked() && form.is_fused() && form.of == (m, zp, min, max));
        for x in inputs(&mut rng, m) {
            assert_eq!(
                form.requantize(x),
                m.requantize(x, zp, min, max),
                "{m:?} zp {zp} [{min}, {max}] at {x}"
            );
        }
        // The rows of a layer: fused where it can be, else unfused.
        let rows = F32Requant::for_rows(&[m], None, zp, min, max, true);
        assert_eq!(rows[0], Some(form));
    }
    // Both outcomes occur, so neither branch is vacuous.
    assert!(
        fused > 500 && unfused + neither > 20,
        "{fused} fused, {unfused} unfused only, {neither} neither"
    );
}

#[test]
fn row_reaches_are_the_sums_extremes() {
    let mut rng = SmallRng::seed_from_u64(19);
    for _ in 0..20 {
        let (w, bias) = (
            [rng.random::<i8>(), rng.random::<i8>()],
            rng.random_range(-9999..9999),
        );
        let sums = (-128..=127).flat_map(|x0: i32| {
            (-128..=127).map(move |x1: i32| bias + i32::from(w[0]) * x0 + i32::from(w[1]) * x1)
        });
        let (lo, hi) = sums.fold((i32::MAX, i32::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
        assert_eq!(row_reaches(&w, 2, &[bias]), [(lo, hi)], "{w:?} {bias}");
    }
    // Sums that could leave int32 (and wrap in the kernels) get every input.
    assert_eq!(
        row_reaches(&[127; 4], 2, &[i32::MAX, 0]),
        [ALL_INPUTS, (-32512, 32258)]
    );
}

#[test]
fn forms_checked_on_a_reach_agree_on_all_of_it_and_accept_more() {
    let mut rng = SmallRng::seed_from_u64(23);
    let (mut whole, mut within) = ([0; 2], [0; 2]);
    for _ in 0..600 {
        let (m, zp, min, max) = random_case(&mut rng);
        // A 3x3 depthwise row's reach: 9 weights.
        let w: Vec<i8> = (0..9).map(|_| rng.random()).collect();
        let reach = row_reaches(&w, 9, &[rng.random_range(-40000..40000)])[0];
        for (f, fused) in [false, true].into_iter().enumerate() {
            let search = |reach| F32Requant::for_multiplier(m, zp, min, max, reach, fused);
            whole[f] += usize::from(search(ALL_INPUTS).is_some());
            let Some(form) = search(reach) else {
                continue;
            };
            within[f] += 1;
            assert_eq!((form.reach(), form.is_fused()), (reach, fused));
            for x in reach.0..=reach.1 {
                assert_eq!(
                    form.requantize(x),
                    m.requantize(x, zp, min, max),
                    "{m:?} at {x}"
                );
            }
        }
    }
    assert!(
        within[0] > whole[0] && within[1] > whole[1],
        "{within:?} vs {whole:?}"
    );
}
