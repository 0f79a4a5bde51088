//! The `threads` feature's parallel kernels against the sequential path: bit-identical results
//! for GEMM, GEMV (n = 1), depthwise convolution and the whole EfficientNet-Lite0.
//!
//! The sequential path is the same code run inside a one-thread rayon pool (the kernels never
//! split work there); the parallel runs use 2-4 thread pools. Run with
//! `cargo test --features threads --test threads`.
#![cfg(feature = "threads")]

use quantscope::classifier::{Classifier, QuantizeOptions, Variant};
use quantscope::ir::Tensor;
use quantscope::kernels::f32_dwconv::f32_dwconv;
use quantscope::kernels::f32_gemm::{f32_gemm, GemmUkernel, PackedA};
use quantscope::kernels::team;
use quantscope::kernels::{ConvGeometry, Epilogue};
use quantscope::model::ModelMetadata;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

/// `f` in a pool of `threads`: inside a [`team`] (as in a model run, where regions are split
/// finer) at even thread counts, through rayon's pool directly at odd ones.
fn install<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    pool(threads).install(|| if threads % 2 == 0 { team(f) } else { f() })
}

fn random(rng: &mut SmallRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Bitwise equality (so -0.0 vs 0.0 or NaN payloads would count as differences).
fn assert_bits_eq(what: &str, seq: &[f32], par: &[f32]) {
    assert_eq!(seq.len(), par.len(), "{what}: lengths");
    for (i, (s, p)) in seq.iter().zip(par).enumerate() {
        assert_eq!(s.to_bits(), p.to_bits(), "{what}: element {i}: {s} vs {p}");
    }
}

/// `f32_gemm` in a pool of `threads`.
fn gemm_in(threads: usize, a: &PackedA, b: &[f32], n: usize, epi: &Epilogue) -> Vec<f32> {
    let mut c = vec![f32::NAN; a.m() * n];
    install(threads, || f32_gemm(a, b, n, &mut c, epi));
    c
}

#[test]
fn gemm_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(7);
    // (m, k, n): odd sizes, several KC blocks, column splits (large n) and row splits (small n).
    let shapes = [
        (16, 32, 12544),
        (37, 300, 529),
        (96, 24, 3136),
        (113, 513, 49),
        (1280, 320, 49),
        (7, 1000, 77),
        (200, 3, 1001),
        (61, 129, 196),
    ];
    for &(m, k, n) in &shapes {
        let a = random(&mut rng, m * k);
        let b = random(&mut rng, k * n);
        let bias = random(&mut rng, m);
        for epi in [
            Epilogue::NONE,
            Epilogue {
                bias: Some(&bias),
                min: 0.0,
                max: 6.0,
            },
        ] {
            for &uk in GemmUkernel::ALL {
                let pa = PackedA::pack_for(uk, &a, m, k);
                let seq = gemm_in(1, &pa, &b, n, &epi);
                for threads in [2, 3, 4] {
                    let par = gemm_in(threads, &pa, &b, n, &epi);
                    assert_bits_eq(&format!("gemm {m}x{k}x{n} {uk:?} {threads}t"), &seq, &par);
                }
            }
        }
    }
}

#[test]
fn gemv_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(11);
    for &(m, k) in &[(1000, 1280), (1001, 517), (997, 1333), (4099, 64)] {
        let a = random(&mut rng, m * k);
        let x = random(&mut rng, k);
        let bias = random(&mut rng, m);
        let epi = Epilogue {
            bias: Some(&bias),
            min: f32::NEG_INFINITY,
            max: f32::INFINITY,
        };
        for &uk in GemmUkernel::ALL {
            let pa = PackedA::pack_for(uk, &a, m, k);
            let seq = gemm_in(1, &pa, &x, 1, &epi);
            for threads in [2, 3, 4] {
                let par = gemm_in(threads, &pa, &x, 1, &epi);
                assert_bits_eq(&format!("gemv {m}x{k} {uk:?} {threads}t"), &seq, &par);
            }
        }
    }
}

fn geometry(channels: usize, in_hw: usize, k: usize, stride: usize, pad: usize) -> ConvGeometry {
    let out = (in_hw + 2 * pad - k) / stride + 1;
    ConvGeometry {
        channels,
        in_h: in_hw,
        in_w: in_hw + 1, // non-square, so rows and columns cannot be swapped by mistake
        out_h: out,
        out_w: (in_hw + 1 + 2 * pad - k) / stride + 1,
        kh: k,
        kw: k,
        stride: [stride, stride],
        dilation: [1, 1],
        pad: [pad, pad],
    }
}

#[test]
fn im2col_parallel_is_identical() {
    use quantscope::kernels::f32_im2col::im2col;
    let mut rng = SmallRng::seed_from_u64(17);
    // The stem (3 channels, 3x3, stride 2) and a wider 5x5.
    for g in [geometry(3, 224, 3, 2, 1), geometry(9, 60, 5, 1, 2)] {
        let input: Vec<i8> = (0..g.channels * g.in_h * g.in_w)
            .map(|_| rng.random_range(-128..=127))
            .collect();
        let run = |threads: usize| {
            let mut cols = vec![0i8; g.channels * g.kh * g.kw * g.out_h * g.out_w];
            install(threads, || im2col(&g, &input, -7, &mut cols));
            cols
        };
        let seq = run(1);
        for threads in [2, 3, 4] {
            assert!(seq == run(threads), "im2col {g:?} {threads}t");
        }
    }
}

#[test]
fn dwconv_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(13);
    let geometries = [
        geometry(32, 112, 3, 1, 1),
        geometry(97, 57, 3, 2, 1),
        geometry(143, 28, 5, 1, 2),
        geometry(1153, 7, 5, 1, 2),
        geometry(241, 15, 5, 2, 2),
        geometry(3, 200, 3, 1, 1),
    ];
    for g in &geometries {
        let input = random(&mut rng, g.channels * g.in_h * g.in_w);
        let weights = random(&mut rng, g.channels * g.kh * g.kw);
        let bias = random(&mut rng, g.channels);
        let epi = Epilogue {
            bias: Some(&bias),
            min: 0.0,
            max: 6.0,
        };
        let run = |threads: usize| {
            let mut out = vec![f32::NAN; g.channels * g.out_h * g.out_w];
            install(threads, || f32_dwconv(g, &input, &weights, &epi, &mut out));
            out
        };
        let seq = run(1);
        for threads in [2, 3, 4] {
            assert_bits_eq(&format!("dwconv {g:?} {threads}t"), &seq, &run(threads));
        }
    }
}

/// `QUANTSCOPE_MODEL`, else `models/efficientnet-lite0.onnx` in the crate.
fn model_path() -> PathBuf {
    std::env::var_os("QUANTSCOPE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/efficientnet-lite0.onnx")
        })
}

#[test]
fn efficientnet_logits_parallel_are_bit_identical() {
    let path = model_path();
    if !path.exists() {
        // The kernel tests above still cover every parallel path; `make models` provides it.
        eprintln!(
            "skipping: {} is missing (set QUANTSCOPE_MODEL)",
            path.display()
        );
        return;
    }
    let meta = std::fs::read_to_string(path.with_extension("json")).expect("metadata JSON");
    let classifier = Classifier::new(
        &std::fs::read(&path).unwrap(),
        ModelMetadata::from_json(&meta).unwrap(),
    )
    .unwrap();
    let shape = classifier.metadata().input.shape.clone();
    let len = shape.iter().product();
    let input = Tensor::from_shape_vec(shape, random(&mut SmallRng::seed_from_u64(17), len))
        .expect("input shape");
    let logits = |threads: usize| install(threads, || classifier.logits(&input).unwrap());
    let seq = logits(1);
    assert_eq!(seq.len(), 1000);
    assert_bits_eq("efficientnet 2t", &seq, &logits(2));

    // The int8 variants (calibrated on the input itself) split the same way.
    for variant in [Variant::INT8, Variant::INT8_DYNAMIC] {
        let options = QuantizeOptions {
            variant,
            ..Default::default()
        };
        let q = classifier
            .quantize(&options, std::slice::from_ref(&input), &mut |_, _| {})
            .unwrap();
        let logits = |threads: usize| install(threads, || q.logits(&input).unwrap());
        let seq = logits(1);
        for threads in [2, 3] {
            assert_bits_eq(
                &format!("efficientnet {variant} {threads}t"),
                &seq,
                &logits(threads),
            );
        }
    }
}
