//! Accuracy bookkeeping (`quantscope::eval`) and fake quantization (`quant::fake`): the
//! formulas on hand-made cases, and `evaluate` end to end on a classifier.

use quantscope::data::{idx::Images, Dataset};
use quantscope::eval::{argmax, changed, Tally};
use quantscope::quant::fake::{fake_quant_activations, fake_quant_weights, RangeTracker};
use quantscope::quant::{QuantParams, QuantRange, Scheme, VariantSpec};

#[test]
fn tally_counts_accuracy_agreement_per_class_and_confusion() {
    let mut t = Tally::new(3);
    // (label, answer, fp32's answer)
    for &(y, p, f) in &[
        (0, 0, 0),
        (0, 1, 0),
        (1, 1, 1),
        (2, 2, 1),
        (2, 0, 0),
        (1, 1, 2),
    ] {
        t.add(y, p, Some(f)).unwrap();
    }
    let r = t.report("w4a4");
    assert_eq!(r.variant, "w4a4");
    assert_eq!(r.images, 6);
    assert_eq!(r.accuracy, 4.0 / 6.0);
    assert_eq!(r.agreement, Some(3.0 / 6.0));
    assert_eq!(r.per_class, vec![0.5, 1.0, 0.5]);
    assert_eq!(
        r.confusion,
        vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]
    );
    let total: u32 = r.confusion.iter().flatten().sum();
    assert_eq!(total as usize, r.images);
    // Without a reference there is no agreement; an unknown class is an error, not a panic.
    let mut solo = Tally::new(2);
    solo.add(1, 1, None).unwrap();
    assert_eq!(solo.report("fp32").agreement, None);
    assert!(solo.add(2, 0, None).is_err());
    assert!(solo.add(0, 5, None).is_err());
    assert!(solo.add(0, 0, Some(9)).is_err());
    assert_eq!(solo.images(), 1);
}

#[test]
fn argmax_and_changed() {
    assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
    assert_eq!(argmax(&[]), 0);
    assert_eq!(changed(&[1, 2, 3, 4], &[1, 0, 3, 5]), vec![1, 3]);
}

#[test]
fn dataset_from_idx_names_the_bad_file() {
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend([0u8; 8]);
    let labels = vec![0, 0, 8, 1, 0, 0, 0, 2, 1, 0];
    let names = vec!["a".to_string(), "b".to_string()];
    let d = Dataset::from_idx(&images, &labels, names.clone()).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.take(1).len(), 1);
    assert_eq!(d.take(9).len(), 2);
    let e = Dataset::from_idx(&images[..20], &labels, names.clone()).unwrap_err();
    assert!(e.to_string().contains("image file"), "{e}");
    let e = Dataset::from_idx(&images, &labels[..9], names).unwrap_err();
    assert!(e.to_string().contains("label"), "{e}");
    let _ = Images {
        count: 0,
        rows: 0,
        cols: 0,
        pixels: vec![],
    };
}

#[test]
fn fake_weights_lie_on_the_engine_grid_and_the_ste_blocks_clipped_ones() {
    // Two channels; w4 with MSE clipping clips the outlier 9.0 of channel 0.
    let mut w: Vec<f32> = (0..64)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 10.0)
        .collect();
    w[5] = 9.0;
    let scheme = match VariantSpec::parse("w4a8").unwrap() {
        VariantSpec::Static(s) => s,
        _ => unreachable!(),
    };
    let f = fake_quant_weights(&w, 2, &scheme);
    assert!(!f.pass[5], "the clipped outlier gets no gradient");
    for ch in 0..2 {
        let vals = &f.values[ch * 32..(ch + 1) * 32];
        // Symmetric 4-bit: levels -7S..7S, and the clipped weights sit on +-7S.
        let s = vals.iter().fold(0f32, |m, v| m.max(v.abs())) / 7.0;
        for (i, v) in (ch * 32..).zip(vals) {
            let q = v / s;
            assert!(
                (q - q.round()).abs() < 1e-4 && q.abs() <= 7.0 + 1e-4,
                "{v} on {s}"
            );
            assert_eq!(
                f.pass[i],
                w[i].abs() <= 7.0 * s * (1.0 + 1e-6),
                "weight {i}"
            );
        }
    }
    // k-means levels cover every weight: the STE passes everything.
    let km = VariantSpec::parse("w2a8-kmeans").unwrap();
    let f = fake_quant_weights(&w, 2, km.scheme().unwrap());
    assert!(f.pass.iter().all(|&p| p));
    let levels: std::collections::BTreeSet<u32> =
        f.values[..32].iter().map(|v| v.to_bits()).collect();
    assert!(levels.len() <= 4);
}

#[test]
fn fake_activations_round_to_the_grid_and_block_outside_it() {
    let p = QuantParams::asymmetric(-1.0, 3.0, QuantRange::full(4));
    // S = 4/15, Z = round(-8 + 3.75) = -4: the grid is [-16/15, 44/15].
    let mut x = vec![-2.0, -1.0, 0.0, 0.1, 1.26, 2.9, 3.0];
    let mut pass = Vec::new();
    fake_quant_activations(&mut x, &p, &mut pass);
    assert_eq!(pass, vec![false, true, true, true, true, true, false]);
    for v in &x {
        let q = v / p.scale + p.zero_point as f32;
        assert!((q - q.round()).abs() < 1e-4, "{v}");
    }
    assert_eq!(x[2], 0.0, "zero is exact");
    assert_eq!(x[0], p.dequantize(p.range.qmin() as i8));
}

#[test]
fn range_tracker_is_a_moving_average_then_frozen() {
    let mut r = RangeTracker::new(0.5);
    assert_eq!(r.params(&Scheme::W8A8), None);
    r.observe(&[0.0, 2.0]);
    assert_eq!(r.range, Some((0.0, 2.0)));
    r.observe(&[-2.0, 4.0, f32::NAN]);
    assert_eq!(r.range, Some((-1.0, 3.0)));
    r.frozen = true;
    r.observe(&[-100.0, 100.0]);
    assert_eq!(r.range, Some((-1.0, 3.0)));
    assert_eq!(RangeTracker::fixed(0.0, 6.0).range, Some((0.0, 6.0)));
}
