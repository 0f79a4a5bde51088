//! The teaching page's data (`quantscope::visual`): grids, staircases and buckets with known
//! answers, the image bit-depth analogy, deflate sizes, and on EfficientNet-Lite0 the layer
//! list, per-tensor vs per-channel SQNR, SQNR against bits, exactness at 8 bits and sizes.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use image::{Rgb, RgbImage};
use quantscope::classifier::Classifier;
use quantscope::ir::Graph;
use quantscope::model::ModelMetadata;
use quantscope::quant::lower::activation_params as engine_activation_params;
use quantscope::quant::weights::QuantizedWeights;
use quantscope::quant::{QuantParams, QuantRange};
use quantscope::visual::*;
use std::sync::OnceLock;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

// ---------------------------------------------------------------- grids, staircase, bucket

#[test]
fn grids_match_the_engine_at_8_bits() {
    for absmax in [0.0f32, 1e-3, 0.7, 3.0, 250.0] {
        let g = Grid::symmetric(absmax, 8).unwrap();
        let p = QuantParams::symmetric(absmax, QuantRange::NARROW);
        assert_eq!(g, Grid::from_params(&p));
        for r in [-300.0f32, -1.0, -0.3, 0.0, 0.0049, 0.5, 2.9, 1e9] {
            assert_eq!(g.quantize(r), p.quantize(r) as i32, "absmax {absmax} r {r}");
        }
    }
    for (lo, hi) in [
        (-1.0f32, 3.0),
        (0.0, 6.0),
        (-2.5, -0.5),
        (0.0, 0.0),
        (0.3, 0.3),
    ] {
        let g = activation_params(lo, hi, 8).unwrap();
        assert_eq!(g, Grid::from_params(&engine_activation_params(lo, hi)));
    }
}

#[test]
fn asymmetric_grid_at_4_bits() {
    // [-1, 3] on [-8, 7]: S = 4 / 15, Z = round(-8 + 1 / S) = round(-4.25) = -4.
    let g = activation_params(-1.0, 3.0, 4).unwrap();
    assert_eq!((g.qmin, g.qmax, g.zero_point), (-8, 7, -4));
    assert!(close(g.scale, 4.0 / 15.0));
    assert_eq!(g.quantize(0.0), -4);
    assert_eq!(g.round_trip(0.0), 0.0, "zero is exact");
    assert_eq!(g.levels(), 16);
    assert!(activation_params(1.0, -1.0, 4).is_err());
    assert!(activation_params(-1.0, 1.0, 0).is_err());
    assert!(activation_params(-1.0, 1.0, 9).is_err());
    assert_eq!(activation_params(-1.0, 1.0, 1).unwrap().levels(), 2);
}

#[test]
fn grid_arguments_are_checked() {
    assert!(
        Grid::symmetric(1.0, 1).is_err(),
        "1-bit symmetric has no nonzero level"
    );
    assert!(Grid::symmetric(1.0, 9).is_err());
    assert!(Grid::new(0.0, 0, -1, 1).is_err());
    assert!(Grid::new(f32::NAN, 0, -1, 1).is_err());
    assert!(Grid::new(1.0, 0, 1, 1).is_err());
    assert!(Grid::new(1.0, 5, -1, 1).is_err());
    assert!(Grid::new(1.0, 0, -129, 1).is_err());
    assert!(Grid::new(0.1, 0, 0, 255).is_ok(), "unsigned grids are fine");
}

/// 3 bits symmetric over [-1.5, 1.5]: S = 0.5, codes -3..=3.
fn grid3() -> Grid {
    let g = Grid::symmetric(1.5, 3).unwrap();
    assert_eq!((g.qmin, g.qmax, g.zero_point), (-3, 3, 0));
    assert!(close(g.scale, 0.5));
    g
}

#[test]
fn staircase_samples_codes_and_edges() {
    let g = grid3();
    let s = staircase(&g, -3.0, 3.0, 13).unwrap();
    assert_eq!(s.x.len(), 13);
    assert_eq!((s.x[0], s.x[12]), (-3.0, 3.0));
    // x = -3, -2.5, ..., 3: r / S = -6, -5, ..., 6, rounded then clamped to [-3, 3].
    assert_eq!(s.code, vec![-3, -3, -3, -3, -2, -1, 0, 1, 2, 3, 3, 3, 3]);
    for (&q, &d) in s.code.iter().zip(&s.dequantized) {
        assert_eq!(d, 0.5 * q as f32);
    }
    assert_eq!(s.edges, vec![-1.25, -0.75, -0.25, 0.25, 0.75, 1.25]);
    assert_eq!(s.clip, (-1.5, 1.5));
    let inner = staircase(&g, -0.5, 0.5, 3).unwrap();
    assert_eq!(inner.edges, vec![-0.25, 0.25]);
    assert!(staircase(&g, 1.0, 1.0, 10).is_err());
    assert!(staircase(&g, 0.0, f32::INFINITY, 10).is_err());
    assert!(staircase(&g, 0.0, 1.0, 1).is_err());
}

#[test]
fn buckets_inside_at_the_edges_and_clipped() {
    let g = grid3();
    let b = bucket(&g, 0.74);
    assert_eq!((b.code, b.dequantized, b.clipped), (1, 0.5, false));
    assert!(close(b.error, 0.24));
    assert_eq!((b.bucket_lo, b.bucket_hi), (0.25, 0.75));
    assert_eq!(bucket(&g, 0.76).code, 2);
    // Ties round away from zero, as the engine's f32::round.
    assert_eq!(bucket(&g, 0.25).code, 1);
    assert_eq!(bucket(&g, -0.25).code, -1);
    // The edge code's own bucket reaches 1.75: not clipped up to there.
    let b = bucket(&g, 1.7);
    assert_eq!((b.code, b.clipped), (3, false));
    assert_eq!((b.bucket_lo, b.bucket_hi), (1.25, 1.75));
    let b = bucket(&g, 1.76);
    assert_eq!((b.code, b.dequantized, b.clipped), (3, 1.5, true));
    let b = bucket(&g, -10.0);
    assert_eq!((b.code, b.dequantized, b.clipped), (-3, -1.5, true));
    assert!(close(b.error, -8.5));
    // Asymmetric: the zero point's bucket is centred on 0.
    let a = activation_params(0.0, 6.0, 8).unwrap();
    let b = bucket(&a, 0.0);
    assert_eq!((b.code, b.dequantized), (-128, 0.0));
    assert!(bucket(&a, -0.1).clipped);
    assert!(!bucket(&a, 6.0).clipped);
}

// ---------------------------------------------------------------- images

/// 256 x 4: every value in each channel, rows in different channel orders.
fn gradient() -> RgbImage {
    RgbImage::from_fn(256, 4, |x, y| {
        let v = x as u8;
        match y {
            0 => Rgb([v, v, v]),
            1 => Rgb([v, 255 - v, v / 2]),
            2 => Rgb([255 - v, v / 3, v]),
            _ => Rgb([v / 4, v, 255 - v]),
        }
    })
}

#[test]
fn reduce_bits_levels() {
    let img = gradient();
    let one = reduce_bits(&img, 1).unwrap();
    assert!(one.as_raw().iter().all(|&v| v == 0 || v == 255));
    let two = reduce_bits(&img, 2).unwrap();
    assert!(two.as_raw().iter().all(|v| [0u8, 85, 170, 255].contains(v)));
    let mut seen = [false; 256];
    for &v in reduce_bits(&img, 3).unwrap().as_raw() {
        seen[v as usize] = true;
    }
    assert_eq!(seen.iter().filter(|&&s| s).count(), 8);
    let eight = reduce_bits(&img, 8).unwrap();
    assert_eq!(eight, img);
    assert_eq!(psnr(&img, &eight).unwrap(), f64::INFINITY);
    // Rounding to the nearest level: 127 -> 0 and 128 -> 255 at 1 bit.
    let px = RgbImage::from_fn(2, 1, |x, _| Rgb([127 + x as u8; 3]));
    assert_eq!(
        reduce_bits(&px, 1).unwrap().as_raw(),
        &vec![0, 0, 0, 255, 255, 255]
    );
    assert!(reduce_bits(&img, 0).is_err());
    assert!(reduce_bits(&img, 9).is_err());
}

#[test]
fn psnr_of_a_known_difference() {
    let a = RgbImage::from_pixel(10, 10, Rgb([0, 0, 0]));
    let b = RgbImage::from_pixel(10, 10, Rgb([10, 10, 10]));
    // MSE 100: 10 log10(255^2 / 100).
    let want = 10.0 * (65025.0f64 / 100.0).log10();
    assert!((psnr(&a, &b).unwrap() - want).abs() < 1e-9);
    // One sample off by 255 in 300: MSE 255^2 / 300.
    let mut c = a.clone();
    c.put_pixel(3, 3, Rgb([255, 0, 0]));
    assert!((psnr(&a, &c).unwrap() - 10.0 * 300f64.log10()).abs() < 1e-9);
    let err = psnr(&a, &RgbImage::new(10, 11)).unwrap_err().to_string();
    assert!(err.contains("different sizes"), "{err}");
}

fn mean_luma(img: &RgbImage) -> f64 {
    img.pixels().map(|p| luma(p) as f64).sum::<f64>() / (img.width() * img.height()) as f64
}

#[test]
fn dithering_keeps_the_mean_luma() {
    for level in [40u8, 100, 200] {
        let gray = RgbImage::from_pixel(64, 64, Rgb([level; 3]));
        let plain = black_and_white(&gray, false);
        let dith = black_and_white(&gray, true);
        let want = if level >= 128 { 255.0 } else { 0.0 };
        assert_eq!(mean_luma(&plain), want, "threshold: one colour");
        assert!(
            (mean_luma(&dith) - level as f64).abs() < 3.0,
            "dithered mean {} for {level}",
            mean_luma(&dith)
        );
        assert!(dith.as_raw().iter().all(|&v| v == 0 || v == 255));
    }
    let ramp = RgbImage::from_fn(128, 128, |x, y| Rgb([(x + y) as u8; 3]));
    let dith = black_and_white(&ramp, true);
    let plain = black_and_white(&ramp, false);
    let (m, md, mp) = (mean_luma(&ramp), mean_luma(&dith), mean_luma(&plain));
    assert!((md - m).abs() < 2.0, "ramp: dithered {md} vs {m}");
    assert!(
        (md - m).abs() < (mp - m).abs(),
        "dithering beats the threshold: {md} {mp} {m}"
    );
}

#[test]
fn raw_sizes() {
    assert_eq!(raw_bytes(3, 3, 1), 2);
    assert_eq!(raw_bytes(640, 480, 24), 921_600);
    assert_eq!(raw_bytes(640, 480, 1), 38_400);
    assert_eq!(raw_bytes(0, 480, 24), 0);
}

fn check_series(img: &RgbImage) -> Vec<BitDepthEntry> {
    let s = bit_depth_series(img);
    assert_eq!(
        s.iter().map(|e| e.key).collect::<Vec<_>>(),
        BIT_DEPTH_KEYS.to_vec()
    );
    assert_eq!(
        s.iter().map(|e| e.bits_per_pixel).collect::<Vec<_>>(),
        vec![24, 15, 12, 9, 8, 6, 3, 1, 1]
    );
    assert_eq!(s[0].psnr_db, f64::INFINITY);
    for w in s[..7].windows(2) {
        assert!(w[0].psnr_db > w[1].psnr_db, "{w:?}");
    }
    for e in &s {
        assert_eq!(
            e.raw_bytes,
            raw_bytes(img.width(), img.height(), e.bits_per_pixel)
        );
        let out = bit_depth_image(img, e.key).unwrap();
        assert_eq!(psnr(img, &out).unwrap(), e.psnr_db);
    }
    let err = bit_depth_image(img, "rgb7").unwrap_err().to_string();
    assert!(err.contains("rgb7"), "{err}");
    s
}

#[test]
fn bit_depth_series_of_a_gradient() {
    check_series(&gradient());
}

#[test]
fn bit_depth_series_of_coffee() {
    let bytes = std::fs::read(common::root().join("samples/coffee.png")).unwrap();
    let img = quantscope::image::decode(&bytes).unwrap();
    println!("coffee.png {}x{}", img.width(), img.height());
    for e in check_series(&img) {
        println!(
            "{:<10} {:>2} bpp {:>9} bytes PSNR {:6.2} dB  {}",
            e.key, e.bits_per_pixel, e.raw_bytes, e.psnr_db, e.label
        );
    }
}

#[test]
fn bit_depth_series_of_a_grey_picture() {
    // A grey picture gets 8 bits of grey down to 1, not 24-bit colour.
    let img = RgbImage::from_fn(28, 28, |x, y| Rgb([((x * 9 + y * 3) % 256) as u8; 3]));
    assert!(quantscope::visual::is_grey(&img));
    let s = bit_depth_series(&img);
    assert_eq!(
        s.iter().map(|e| e.key).collect::<Vec<_>>(),
        quantscope::visual::GREY_BIT_DEPTH_KEYS.to_vec()
    );
    assert_eq!(
        s.iter().map(|e| e.bits_per_pixel).collect::<Vec<_>>(),
        vec![8, 6, 5, 4, 3, 2, 1, 1]
    );
    assert!(s.iter().all(|e| e.channels == 1));
    assert_eq!(s[0].psnr_db, f64::INFINITY);
    assert_eq!(s[0].raw_bytes, 28 * 28);
    for w in s[..7].windows(2) {
        assert!(w[0].psnr_db > w[1].psnr_db, "{w:?}");
    }
    for e in &s {
        let out = bit_depth_image(&img, e.key).unwrap();
        assert!(quantscope::visual::is_grey(&out), "{}", e.key);
        let levels: std::collections::BTreeSet<u8> = out.pixels().map(|p| p[0]).collect();
        assert!(
            levels.len() <= 1 << e.bits_per_pixel,
            "{}: {}",
            e.key,
            levels.len()
        );
    }
    // 1-bit grey is the black-and-white threshold.
    assert_eq!(
        bit_depth_image(&img, "bw").unwrap(),
        quantscope::visual::reduce_grey_bits(&img, 1).unwrap()
    );
    // A colour picture keeps the colour series; grey keys work on it too (its luma).
    assert_eq!(bit_depth_series(&gradient())[0].key, "rgb8");
    assert!(quantscope::visual::is_grey(
        &bit_depth_image(&gradient(), "grey4").unwrap()
    ));
    let err = bit_depth_image(&img, "grey7").unwrap_err().to_string();
    assert!(err.contains("grey7"), "{err}");
}

#[test]
fn deflate_of_zeros_is_tiny() {
    let zeros = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let (z, r) = (deflate_size(&zeros), deflate_size(&random));
    println!("deflate level {DEFLATE_LEVEL}: 1 MiB zeros -> {z} bytes, random -> {r}");
    assert!(z < 10_000, "{z}");
    assert!(r > (1 << 20) - 1000, "{r}");
}

// ---------------------------------------------------------------- EfficientNet-Lite0

fn graph() -> &'static Graph {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER
        .get_or_init(|| {
            let model = common::model_path();
            let meta = std::fs::read_to_string(model.with_extension("json")).unwrap();
            Classifier::new(
                &std::fs::read(&model).unwrap(),
                ModelMetadata::from_json(&meta).unwrap(),
            )
            .unwrap()
        })
        .graph()
}

fn first(pred: impl Fn(&LayerEntry) -> bool) -> LayerEntry {
    layer_list(graph()).into_iter().find(pred).unwrap()
}

#[test]
fn layer_list_of_efficientnet_lite0() {
    let layers = layer_list(graph());
    assert_eq!(layers.len(), 50);
    assert_eq!(layers.iter().filter(|l| l.op == "Conv").count(), 49);
    assert_eq!(layers.iter().filter(|l| l.op == "Gemm").count(), 1);
    let dw = layers.iter().filter(|l| l.depthwise).count();
    println!("{dw} depthwise layers");
    assert!(dw > 0);
    let params: usize = layers.iter().map(|l| l.parameters).sum();
    println!("{params} parameters in Conv/Gemm layers");
    for l in &layers {
        let w: usize = l.weight_shape.iter().product();
        assert!(l.parameters >= w && l.parameters <= w + l.weight_shape[0]);
    }
}

/// w8a8 (min/max, symmetric): the drawn grid rounds every weight of its channel exactly as
/// the engine's quantized weights say, per channel and per tensor.
#[test]
fn eight_bit_grid_rounds_as_the_engine() {
    for lw in all_layer_weights(graph()) {
        for spec in ["w8a8", "w8a8-tensor"] {
            let scheme = weight_scheme(spec).unwrap();
            let q = fake_quantize(&lw.weights, lw.rows, &scheme).unwrap();
            let engine = QuantizedWeights::quantize_scheme(&lw.weights, lw.rows, &scheme, &[]);
            assert_eq!(q, engine, "{} {spec}", lw.entry.name);
            let deq = q.dequantize();
            let cols = lw.cols();
            for row in [0, lw.rows / 2, lw.rows - 1] {
                let Rounding::Grid(g) = Rounding::of_row(&q, row) else {
                    panic!("a uniform grid")
                };
                for i in 0..cols {
                    let w = lw.weights[row * cols + i];
                    assert_eq!(g.round_trip(w), deq[row * cols + i], "{}", lw.entry.name);
                }
            }
        }
    }
}

fn view(layer: &str, spec: &str, bins: usize) -> LayerView {
    layer_view(graph(), layer, &weight_scheme(spec).unwrap(), bins).unwrap()
}

#[test]
fn layer_view_of_a_depthwise_layer() {
    let dw = first(|l| l.depthwise);
    let n: usize = dw.weight_shape.iter().product();
    for bits in 2..=8u8 {
        for tensor in ["", "-tensor"] {
            let per_channel = tensor.is_empty();
            let v = view(&dw.name, &format!("w{bits}a8-minmax{tensor}"), 64);
            assert_eq!(v.levels.len(), (1usize << bits) - 1);
            assert_eq!(v.levels_kind, "uniform");
            assert!(v.centroids.is_empty() && v.clustering_sqnr_db.is_none());
            assert_eq!(v.histogram.counts.len(), 64);
            assert_eq!(v.histogram.counts.iter().sum::<u32>() as usize, n);
            assert_eq!(v.error_histogram.counts.iter().sum::<u32>() as usize, n);
            assert_eq!(v.channel_ranges.len(), dw.weight_shape[0]);
            assert_eq!(
                v.scales.len(),
                if per_channel { dw.weight_shape[0] } else { 1 }
            );
            assert_eq!(v.grid_channel.is_some(), per_channel);
            // No clipping on a max-abs grid: the error is at most half the largest step.
            assert!(v.max_abs_error <= v.grid.scale / 2.0 * 1.0001);
            assert_eq!(v.clip.1, v.grid.scale * v.grid.qmax as f32);
            let (lo, hi) = v
                .channel_ranges
                .iter()
                .fold((0f32, 0f32), |(a, b), r| (a.min(r.0), b.max(r.1)));
            assert!(
                close(v.clip.1, lo.abs().max(hi)),
                "the grid spans the widest channel: {:?} vs {lo} {hi}",
                v.clip
            );
            // The engine's default below 8 bits clips (MSE): never a worse SQNR.
            if bits < 8 {
                let mse = view(&dw.name, &format!("w{bits}a8{tensor}"), 8);
                assert_eq!(mse.clipping, "mse");
                assert!(mse.sqnr_db >= v.sqnr_db - 1e-9, "{bits} bits {tensor}");
                assert!(mse.clip.1 <= v.clip.1 * 1.0001);
            }
        }
    }
    let v = view(&dw.name, "w8a8", 16);
    println!("{}: all-zero channels {:?}", dw.name, v.zero_channels);
    for &c in &v.zero_channels {
        assert_eq!(v.channel_ranges[c], (0.0, 0.0));
        assert_eq!(v.scales[c], 1.0, "the engine's placeholder");
    }
    let json = serde_json::to_string(&view(&dw.name, "w4a8", 16)).unwrap();
    assert!(json.contains("\"error_histogram\""));
    assert!(!json.contains("simulated"));
}

/// k-means and power-of-two levels: the view draws the drawn channel's real levels (the
/// codebook rounded to int8), its float centroids, and splits the error into clustering and
/// the codebook's rounding.
#[test]
fn codebook_views_draw_the_real_levels() {
    let pw = first(|l| l.op == "Conv" && l.weight_shape[2..] == [1, 1] && !l.depthwise);
    let lw = layer_weights(graph(), &pw.name).unwrap();
    for spec in [
        "w4a8-kmeans",
        "w4a8-kmeans-tensor",
        "w2a8-pow2",
        "w1a8-kmeans",
    ] {
        let scheme = weight_scheme(spec).unwrap();
        let v = view(&pw.name, spec, 32);
        let q = QuantizedWeights::quantize_scheme(&lw.weights, lw.rows, &scheme, &[]);
        let row = v.grid_channel.unwrap_or(0);
        let k = 1usize << scheme.weight_bits;
        let mut want: Vec<f32> = q
            .table(row)
            .iter()
            .map(|&e| q.scale(row) * e as f32)
            .collect();
        want.sort_by(f32::total_cmp);
        want.dedup();
        assert_eq!(v.levels, want, "{spec}");
        let mut centroids = q.float_levels[row * k..][..k].to_vec();
        centroids.dedup();
        assert_eq!(v.centroids, centroids, "{spec}");
        assert!(v.levels.len() <= k);
        let (c, r) = (v.clustering_sqnr_db.unwrap(), v.codebook_sqnr_db.unwrap());
        println!(
            "{spec}: SQNR {:.2} dB, clustering {c:.2} dB, codebook rounding {r:.2} dB, {} levels",
            v.sqnr_db,
            v.levels.len()
        );
        assert!(
            r > c,
            "{spec}: rounding a codebook to int8 costs less than clustering"
        );
        assert_eq!(v.stored_bytes, q.stored_bytes());
        assert_eq!(v.spec, spec, "canonical spec");
    }
    // At 4 bits k-means beats the uniform grid (the levels go where the weights are).
    let (km, uni) = (view(&pw.name, "w4a8-kmeans", 8), view(&pw.name, "w4a8", 8));
    assert!(
        km.sqnr_db > uni.sqnr_db,
        "{} vs {}",
        km.sqnr_db,
        uni.sqnr_db
    );
}

#[test]
fn per_channel_beats_per_tensor_and_sqnr_grows_with_bits() {
    let dw = first(|l| l.depthwise);
    let pw = first(|l| l.op == "Conv" && l.weight_shape[2..] == [1, 1] && !l.depthwise);
    let fc = first(|l| l.op == "Gemm");
    for layer in [&dw, &pw, &fc] {
        println!(
            "{} {:?} depthwise {}",
            layer.name, layer.weight_shape, layer.depthwise
        );
        let mut last = [f64::NEG_INFINITY; 2];
        for bits in 2..=8u8 {
            let t = view(&layer.name, &format!("w{bits}a8-minmax-tensor"), 8).sqnr_db;
            let c = view(&layer.name, &format!("w{bits}a8-minmax"), 8).sqnr_db;
            println!("  {bits} bits: per tensor {t:6.2} dB, per channel {c:6.2} dB");
            assert!(c >= t - 1e-9, "per channel never loses: {bits} bits");
            assert!(t > last[0] && c > last[1], "SQNR grows with bits");
            last = [t, c];
        }
    }
    let t = view(&dw.name, "w8a8-tensor", 8).sqnr_db;
    let c = view(&dw.name, "w8a8", 8).sqnr_db;
    assert!(
        c > t + 3.0,
        "depthwise: per channel {c} dB vs per tensor {t} dB"
    );
}

#[test]
fn layer_view_arguments_are_checked() {
    let dw = first(|l| l.depthwise);
    let w8 = weight_scheme("w8a8").unwrap();
    let err = layer_view(graph(), "no-such-layer", &w8, 16)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-layer"), "{err}");
    for spec in ["w1a8", "w9a8", "w0a8-kmeans"] {
        let err = weight_scheme(spec).unwrap_err().to_string();
        assert!(err.contains("bits"), "{err}");
    }
    for spec in ["fp32", "fp16", "int9", "w4"] {
        assert!(weight_scheme(spec).is_err(), "{spec}");
    }
    let bad = quantscope::quant::Scheme {
        weight_bits: 9,
        ..w8
    };
    assert!(layer_view(graph(), &dw.name, &bad, 16).is_err());
    assert!(layer_view(graph(), &dw.name, &w8, 0).is_err());
    assert!(layer_view(graph(), &dw.name, &w8, 1 << 20).is_err());
}

const SPECS: &[&str] = &[
    "w8a8",
    "w8a8-tensor",
    "w4a8",
    "w4a8-kmeans",
    "w2a8",
    "w2a8-pow2",
    "w6a8-wasym",
];

#[test]
fn variant_sizes_of_efficientnet_lite0() {
    let t = std::time::Instant::now();
    let s = variant_sizes(graph(), SPECS).unwrap();
    println!(
        "{} weights, {} biases, {} channels, deflate level {} in {:?}",
        s.weights,
        s.biases,
        s.channels,
        s.deflate_level,
        t.elapsed()
    );
    for v in &s.variants {
        println!(
            "{:<12} {:>2} bits raw {:>9} deflate {:>9} ratio {:.3} {:?}",
            v.name, v.code_bits, v.raw_bytes, v.deflate_bytes, v.ratio, v.parts
        );
    }
    let names: Vec<&str> = s.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names[..2], ["fp32", "fp16"]);
    assert_eq!(names[2..], SPECS[..]);
    let by = |n: &str| s.variants.iter().find(|v| v.name == n).unwrap();
    let (fp32, fp16, int8) = (by("fp32"), by("fp16"), by("w8a8"));
    assert_eq!(fp32.raw_bytes, 4 * (s.weights + s.biases));
    assert_eq!(2 * fp16.raw_bytes, fp32.raw_bytes);
    assert_eq!(int8.raw_bytes, s.weights + 4 * s.biases + 4 * s.channels);
    let q = int8.raw_bytes as f64 / fp32.raw_bytes as f64;
    assert!((0.25..0.27).contains(&q), "int8 / fp32 = {q}");
    assert!(int8.ratio > fp32.ratio, "int8 compresses better than fp32");
    assert!(fp32.ratio < 1.2, "floats barely compress: {}", fp32.ratio);
    for v in &s.variants {
        let p = v.parts;
        assert_eq!(
            p.codes + p.scales + p.zero_points + p.codebooks + p.biases,
            v.raw_bytes,
            "{}",
            v.name
        );
    }
    // Packed codes: 4 bits take half of 8, 2 bits a quarter (rounded up per layer).
    let codes = |n: &str| by(n).parts.codes as f64;
    assert!((codes("w4a8") / codes("w8a8") - 0.5).abs() < 0.01);
    assert!((codes("w2a8") / codes("w8a8") - 0.25).abs() < 0.01);
    assert_eq!(
        by("w8a8-tensor").parts.scales,
        4 * 50,
        "one scale per layer"
    );
    assert_eq!(by("w4a8-kmeans").parts.codebooks, 16 * s.channels);
    assert_eq!(by("w2a8-pow2").parts.codebooks, 4 * s.channels);
    assert_eq!(by("w6a8-wasym").parts.zero_points, s.channels);
    assert_eq!(by("w6a8-wasym").code_bits, 8);
    assert!(by("w4a8").raw_bytes < int8.raw_bytes && by("w2a8").raw_bytes < by("w4a8").raw_bytes);
    // Aliases and duplicates collapse; a bad spec is an error naming the grammar.
    let s2 = variant_sizes(graph(), &["int8", "w8a8", "fp16"]).unwrap();
    assert_eq!(s2.variants.len(), 3);
    let err = variant_sizes(graph(), &["w9a8"]).unwrap_err().to_string();
    assert!(err.contains("w<2..8>a<4..8>"), "{err}");
}

#[test]
fn static_int8_sizes_match_the_layout() {
    // Any ranges do for sizes: every value in [-8, 8].
    let g = graph();
    let ranges = g
        .values
        .iter()
        .map(|v| (v.name.clone(), (-8.0f32, 8.0f32)))
        .collect();
    let q = quantscope::quant::lower::quantize_static(
        g,
        &ranges,
        &quantscope::quant::LayerSchemes::default(),
    )
    .unwrap();
    let s = quantized_sizes(&q);
    let sizes = variant_sizes(g, &["w8a8"]).unwrap();
    println!(
        "{:<11} raw {:>9} deflate {:>9} ratio {:.3}",
        s.name, s.raw_bytes, s.deflate_bytes, s.ratio
    );
    assert_eq!(s.name, "w8a8");
    assert_eq!(s.raw_bytes, sizes.variants[2].raw_bytes);
    let fp32 = &sizes.variants[0];
    assert!(s.ratio > fp32.ratio, "{} vs {}", s.ratio, fp32.ratio);
}

#[test]
fn three_three_two_keeps_8_reds_8_greens_4_blues() {
    let img = bit_depth_image(&gradient(), "rgb332").unwrap();
    let distinct = |c: usize| {
        let mut v: Vec<u8> = img.pixels().map(|p| p.0[c]).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    assert_eq!(distinct(0).len(), 8);
    assert_eq!(distinct(1).len(), 8);
    assert_eq!(distinct(2), vec![0, 85, 170, 255]);
    let e = bit_depth_series(&gradient())
        .into_iter()
        .find(|e| e.key == "rgb332")
        .unwrap();
    assert_eq!((e.bits_per_pixel, e.raw_bytes), (8, 256 * 4));
}

/// The staircase's cheap rounding (one channel quantized) is the one the layer view draws,
/// over the histogram's range, for every layer, both granularities and a few schemes.
#[test]
fn layer_rounding_is_the_rounding_of_the_layer_view() {
    for layer in layer_list(graph()) {
        for spec in ["w2a8", "w5a8-minmax", "w8a8", "w3a8-kmeans", "w2a8-pow2"] {
            for tensor in ["", "-tensor"] {
                let scheme = weight_scheme(&format!("{spec}{tensor}")).unwrap();
                let v = layer_view(graph(), &layer.name, &scheme, 1).unwrap();
                let (r, range) = layer_rounding(graph(), &layer.name, &scheme).unwrap();
                let what = format!("{} {spec}{tensor}", layer.name);
                assert_eq!(r.grid(), v.grid, "{what}");
                assert_eq!(r.levels(), v.levels, "{what}");
                assert_eq!(r.centroids(), v.centroids, "{what}");
                assert_eq!(range, (v.histogram.lo, v.histogram.hi), "{what}");
                let (grid, _) = layer_grid(graph(), &layer.name, &scheme).unwrap();
                assert_eq!(grid, v.grid);
            }
        }
    }
    let w8 = weight_scheme("w8a8").unwrap();
    assert!(layer_grid(graph(), "no.such.layer", &w8).is_err());
}

/// A codebook's staircase: a real goes to its nearest float level and comes back as that
/// level rounded to int8; thresholds lie halfway between levels.
#[test]
fn codebook_staircase_and_bucket() {
    // Levels -1, 0, 0.5, 2 on S = 2 / 127.
    let c = Codebook::new(
        &[-1.0, 0.0, 0.5, 2.0, 2.0],
        &[-64, 0, 32, 127, 127],
        2.0 / 127.0,
    );
    assert_eq!(c.float_levels.len(), 4, "padding left out");
    let s = staircase(&c, -3.0, 3.0, 7).unwrap();
    assert_eq!(s.code, vec![0, 0, 0, 1, 2, 3, 3]);
    assert_eq!(s.edges, vec![-0.5, 0.25, 1.25]);
    assert!(close(s.dequantized[5], 2.0));
    let b = bucket(&c, 0.3);
    assert_eq!((b.code, b.clipped), (2, false));
    assert_eq!((b.bucket_lo, b.bucket_hi), (0.25, 1.25));
    assert!(close(b.dequantized, 32.0 * 2.0 / 127.0));
    // Beyond the top level's mirrored half gap (2 + 0.75): clipped.
    assert!(!bucket(&c, 2.7).clipped);
    assert!(bucket(&c, 2.8).clipped);
    assert!(bucket(&c, -1.6).clipped);
}
