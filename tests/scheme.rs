//! The quantization scheme: the variant spec grammar, and weights at every width and level
//! kind (codes, decoding tables, codebooks, clipping, stored bytes).
#![cfg(not(target_arch = "wasm32"))]

use quantscope::quant::weights::{sqnr_db, QuantizedWeights};
use quantscope::quant::{Clipping, Granularity, Levels, Scheme, VariantSpec};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[test]
fn specs_round_trip_and_aliases() {
    for spec in [
        "fp32",
        "fp16",
        "w8a8",
        "w4a8",
        "w4a8-kmeans",
        "w4a8-kmeans++",
        "w2a8-pow2",
        "w8a8-tensor",
        "w8a4",
        "w1a8-kmeans",
        "w4a8-minmax",
        "w8a8-mse",
        "w4a8-wasym",
        "w8a8-sym",
        "w8a8-dynamic",
        "w4a8-tensor-dynamic",
        "w3a6-pow2-tensor-sym",
    ] {
        let v = VariantSpec::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(v.to_string(), spec, "canonical form of {spec}");
        assert_eq!(VariantSpec::parse(&v.to_string()).unwrap(), v);
    }
    let alias = |a: &str, b: &str| {
        assert_eq!(
            VariantSpec::parse(a).unwrap(),
            VariantSpec::parse(b).unwrap(),
            "{a} = {b}"
        )
    };
    alias("int8", "w8a8");
    alias("int8-static", "w8a8");
    alias("INT8-static-tensor", "w8a8-tensor");
    alias("int8-dynamic", "w8a8-dynamic");
    alias("w4a8-tensor-kmeans", "w4a8-kmeans-tensor");
    assert_eq!(VariantSpec::parse("w8a8").unwrap(), VariantSpec::INT8);
    let w4 = VariantSpec::parse("w4a8").unwrap();
    let s = w4.scheme().unwrap();
    assert_eq!((s.weight_bits, s.act_bits), (4, 8));
    assert_eq!(
        s.clipping,
        Clipping::Mse,
        "below 8 bits the range minimises the error"
    );
    assert_eq!(
        VariantSpec::INT8.scheme().unwrap().clipping,
        Clipping::MinMax
    );
    assert_eq!(
        VariantSpec::parse("w2a8-pow2")
            .unwrap()
            .scheme()
            .unwrap()
            .levels,
        Levels::Pow2
    );
}

#[test]
fn bad_specs_say_the_grammar() {
    for (spec, says) in [
        ("w9a8", "weight bits"),
        ("w4a3", "activation bits"),
        ("w1a8", "weight bits"),
        ("w0a8-kmeans", "weight bits"),
        ("w4a8-banana", "unknown suffix -banana"),
        ("w1a8-pow2", "at least 2 bits"),
        ("w4a8-kmeans-pow2", "more than one kind of levels"),
        ("w4a8-tensor-tensor", "twice"),
        ("w8a8-wasym", "asymmetric weights"),
        ("w4a4-dynamic", "-dynamic"),
        ("int4", "w<bits>a<bits>"),
        ("wxa8", "not a number"),
        ("", "w<bits>a<bits>"),
    ] {
        let e = VariantSpec::parse(spec).unwrap_err().to_string();
        assert!(e.contains(says), "'{spec}': {e}");
        assert!(
            e.contains("w<2..8>a<4..8>"),
            "'{spec}' error gives the grammar: {e}"
        );
    }
}

/// Heavy-tailed weights (Laplacian) with a few outliers, `rows x cols`.
fn weights(rng: &mut SmallRng, rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| {
            let u: f32 = rng.random_range(-0.5f32..0.5);
            let x = -u.signum() * (1.0 - 2.0 * u.abs()).max(1e-6).ln() * 0.05;
            let row_scale = 1.0 + (i / cols) as f32;
            if rng.random_range(0..100) == 0 {
                x * 8.0 * row_scale
            } else {
                x * row_scale
            }
        })
        .collect()
}

fn schemes() -> Vec<Scheme> {
    let mut out = Vec::new();
    for bits in 1..=8u8 {
        for levels in [
            Levels::Uniform,
            Levels::KMeans { plus_plus: false },
            Levels::KMeans { plus_plus: true },
            Levels::Pow2,
        ] {
            for granularity in [Granularity::Channel, Granularity::Tensor] {
                for weight_symmetric in [true, false] {
                    let s = Scheme {
                        weight_bits: bits,
                        levels,
                        granularity,
                        weight_symmetric,
                        ..Scheme::uniform(8, 8).unwrap()
                    };
                    if let Ok(s) = s.checked() {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_width_and_level_kind_decodes_through_its_tables() {
    let mut rng = SmallRng::seed_from_u64(3);
    let (rows, cols) = (5, 37);
    let w = weights(&mut rng, rows, cols);
    let all = schemes();
    assert!(all.len() > 60, "{} schemes", all.len());
    for s in all {
        let q = QuantizedWeights::quantize_scheme(&w, rows, &s, &[]);
        let k = 1usize << s.weight_bits;
        // Bytes of uniform codes are their shifted effective integers: no codes or tables kept.
        let bytewise = s.levels == Levels::Uniform && s.container_bits() == 8;
        assert_eq!(q.codes.len(), if bytewise { 0 } else { w.len() }, "{s:?}");
        assert_eq!(q.tables.len(), if bytewise { 0 } else { rows * k }, "{s:?}");
        for (i, &e) in q.data.iter().enumerate() {
            let c = q.code(i);
            assert!(
                (c as usize) < k,
                "{s:?}: code {c} of {} bits",
                s.weight_bits
            );
            if bytewise {
                let z = q.zero_points[if s.per_channel() { i / cols } else { 0 }];
                assert_eq!(
                    c as i32 + s.weight_range().qmin() - z,
                    e as i32,
                    "{s:?}: {i}"
                );
            } else {
                assert_eq!(q.table(i / cols)[c as usize], e, "{s:?}: weight {i}");
            }
            assert!(e != i8::MIN, "{s:?}: -128 is never an effective weight");
        }
        assert_eq!(q.scales.len(), if s.per_channel() { rows } else { 1 });
        // Per channel, a row uses at most 2^b distinct values (2^b - 1 symmetric uniform).
        for r in 0..rows {
            let mut distinct: Vec<i8> = q.data[r * cols..][..cols].to_vec();
            distinct.sort();
            distinct.dedup();
            let most = if s.levels == Levels::Uniform && s.weight_symmetric {
                k - 1
            } else {
                k
            };
            assert!(distinct.len() <= most, "{s:?}: row {r} has {distinct:?}");
        }
        // Stored: packed codes of the container width, and the packing round-trips.
        let bytes = q.stored_bytes();
        let container = s.container_bits() as usize;
        assert_eq!(q.code_bits() as usize, container);
        assert_eq!(bytes.codes, (w.len() * container).div_ceil(8), "{s:?}");
        let packed = q.packed_codes();
        assert_eq!(packed.len(), bytes.codes);
        for i in 0..q.data.len() {
            let c = q.code(i);
            let per = 8 / container;
            let got = (packed[i / per] >> ((i % per) * container)) & ((1 << container) - 1) as u8;
            assert_eq!(got, c, "{s:?}: packed code {i}");
        }
        let codebook = !matches!(s.levels, Levels::Uniform);
        assert_eq!(bytes.codebooks > 0, codebook, "{s:?}");
        assert_eq!(bytes.zero_points > 0, !s.weight_symmetric, "{s:?}");
        assert_eq!(q.clustered().is_some(), codebook);
    }
}

#[test]
fn more_bits_less_error_and_8_bits_is_todays_int8() {
    let mut rng = SmallRng::seed_from_u64(5);
    let (rows, cols) = (8, 64);
    let w = weights(&mut rng, rows, cols);
    for levels in [Levels::Uniform, Levels::KMeans { plus_plus: false }] {
        let mut last = f64::NEG_INFINITY;
        for bits in 2..=8u8 {
            let s = Scheme {
                weight_bits: bits,
                levels,
                ..Scheme::uniform(bits, 8).unwrap()
            };
            let q = QuantizedWeights::quantize_scheme(&w, rows, &s, &[]);
            let sqnr = sqnr_db(&w, &q.dequantize());
            // Past 5 bits a k-means codebook holds nearly every value of a 64-weight row, and
            // rounding the codebook to int8 is what is left.
            let gain = if bits <= 5 { 0.5 } else { -0.01 };
            assert!(
                sqnr > last + gain,
                "{levels:?} {bits} bits: {sqnr:.2} dB after {last:.2}"
            );
            last = sqnr;
        }
    }
    let today = QuantizedWeights::quantize(&w, rows, true);
    let w8a8 = QuantizedWeights::quantize_scheme(&w, rows, &Scheme::W8A8, &[]);
    assert_eq!(today, w8a8);
    for (r, row) in w.chunks(cols).enumerate() {
        let absmax = row.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert_eq!(
            w8a8.scales[r],
            absmax / 127.0,
            "row {r}: min/max symmetric scale"
        );
    }
}

#[test]
fn mse_clipping_beats_min_max_below_8_bits() {
    let mut rng = SmallRng::seed_from_u64(9);
    let (rows, cols) = (16, 144);
    let w = weights(&mut rng, rows, cols);
    for bits in [2u8, 3, 4] {
        let mse = Scheme::uniform(bits, 8).unwrap();
        let minmax = Scheme {
            clipping: Clipping::MinMax,
            ..mse
        };
        let e = |s: &Scheme| {
            sqnr_db(
                &w,
                &QuantizedWeights::quantize_scheme(&w, rows, s, &[]).dequantize(),
            )
        };
        let (a, b) = (e(&mse), e(&minmax));
        assert!(
            a > b + 0.5,
            "{bits} bits: mse {a:.2} dB vs minmax {b:.2} dB"
        );
    }
}

#[test]
fn power_of_two_levels_are_powers_of_two() {
    let mut rng = SmallRng::seed_from_u64(13);
    let (rows, cols) = (6, 50);
    let w = weights(&mut rng, rows, cols);
    for bits in 2..=4u8 {
        for granularity in [Granularity::Channel, Granularity::Tensor] {
            let s = Scheme {
                weight_bits: bits,
                levels: Levels::Pow2,
                granularity,
                ..Scheme::W8A8
            };
            let q = QuantizedWeights::quantize_scheme(&w, rows, &s, &[]);
            for &l in &q.float_levels {
                assert!(
                    l == 0.0 || (l.abs().log2().fract() == 0.0),
                    "{bits} bits: level {l} is not 0 or +-2^e"
                );
            }
            // Up to 7 exponents are exact int8 codes: 64, 32, ..., 1 (S = largest / 64).
            for &e in &q.tables {
                assert!(
                    e == 0 || (e.unsigned_abs().is_power_of_two() && e.unsigned_abs() <= 64),
                    "{bits} bits: code {e}"
                );
            }
            let clustered = q.clustered().unwrap();
            assert_eq!(
                sqnr_db(&clustered, &q.dequantize()),
                f64::INFINITY,
                "no rounding error in the codebook"
            );
        }
    }
}

#[test]
fn kmeans_shares_values_and_separates_its_two_errors() {
    // Four tight clusters per channel: 2-bit k-means finds them; 1-bit merges pairs.
    let centres = [-0.8f32, -0.1, 0.25, 0.9];
    let mut rng = SmallRng::seed_from_u64(17);
    let (rows, cols) = (3, 200);
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| centres[i % 4] * (1 + i / cols) as f32 + rng.random_range(-1e-3f32..1e-3))
        .collect();
    let s = Scheme {
        weight_bits: 2,
        levels: Levels::KMeans { plus_plus: false },
        ..Scheme::W8A8
    };
    let q = QuantizedWeights::quantize_scheme(&w, rows, &s, &[]);
    for r in 0..rows {
        for (j, &c) in centres.iter().enumerate() {
            let got = q.float_levels[r * 4 + j];
            let want = c * (1 + r) as f32;
            assert!(
                (got - want).abs() < 2e-3,
                "row {r} centroid {j}: {got} vs {want}"
            );
        }
    }
    let clustered = q.clustered().unwrap();
    let clustering = sqnr_db(&w, &clustered);
    let rounding = sqnr_db(&clustered, &q.dequantize());
    assert!(
        clustering > 40.0,
        "clustering error small: {clustering:.1} dB"
    );
    assert!(
        rounding.is_finite() && rounding > 30.0,
        "int8 codebook rounding: {rounding:.1} dB"
    );
}
