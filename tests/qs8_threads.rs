//! The `threads` feature's parallel int8 kernels against the sequential path: bit-identical
//! results for GEMM (column and row splits), GEMV (n = 1) and depthwise convolution, with both
//! output stages.
//!
//! The sequential path is the same code run inside a one-thread rayon pool (the kernels never
//! split work there); the parallel runs use 2-4 thread pools. Run with
//! `cargo test --features threads --test qs8_threads`.
#![cfg(feature = "threads")]

use quantscope::kernels::qs8_dwconv::{qs8_dwconv, qs8_dwconv_f32};
use quantscope::kernels::qs8_gemm::{qs8_gemm, qs8_gemm_f32, PackedQA, QGemmUkernel};
use quantscope::kernels::qs8_requant::{Dequant, FloatForms, Requant};
use quantscope::kernels::qs8_unpack::CodeBits;
use quantscope::kernels::ConvGeometry;
use quantscope::kernels::{f32x4_madd_fuses, team};
use quantscope::quant::f32_requant::F32Requant;
use quantscope::quant::Multiplier;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

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

fn random_i8(rng: &mut SmallRng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.random()).collect()
}

/// Per-row output-stage parameters, owned.
struct Params {
    bias: Vec<i32>,
    mult: Vec<Multiplier>,
    scale: Vec<f32>,
    fbias: Vec<f32>,
    /// Float forms of the requantization (zero point -5, ReLU), where exact.
    forms: Vec<Option<F32Requant>>,
}

impl Params {
    fn random(rng: &mut SmallRng, rows: usize) -> Self {
        let mult: Vec<Multiplier> = (0..rows)
            .map(|_| Multiplier::from_f64(rng.random_range(1e-4..2.0)).expect("multiplier"))
            .collect();
        Params {
            bias: (0..rows).map(|_| rng.random_range(-40000..40000)).collect(),
            forms: F32Requant::for_rows(&mult, None, -5, -5, 127, f32x4_madd_fuses()),
            mult,
            scale: (0..rows).map(|_| rng.random_range(0.0..1e-3)).collect(),
            fbias: (0..rows).map(|_| rng.random_range(-2.0..2.0)).collect(),
        }
    }
    fn requant(&self) -> Requant<'_> {
        Requant {
            bias: &self.bias,
            multiplier: &self.mult,
            zero_point: -5,
            min: -5,
            max: 127,
            float_forms: FloatForms::checked(&self.forms, &self.mult, -5, -5, 127),
        }
    }
    fn dequant(&self) -> Dequant<'_> {
        Dequant {
            bias: &self.bias,
            scale: &self.scale,
            fbias: &self.fbias,
            min: f32::NEG_INFINITY,
            max: f32::INFINITY,
        }
    }
}

/// Bitwise equality (so -0.0 vs 0.0 or NaN payloads would count as differences).
fn assert_bits_eq(what: &str, seq: &[f32], par: &[f32]) {
    assert_eq!(seq.len(), par.len(), "{what}: lengths");
    for (i, (s, p)) in seq.iter().zip(par).enumerate() {
        assert_eq!(s.to_bits(), p.to_bits(), "{what}: element {i}: {s} vs {p}");
    }
}

/// Both output stages of one product in a pool of `threads`.
fn gemm_in(threads: usize, a: &PackedQA, b: &[i8], n: usize, p: &Params) -> (Vec<i8>, Vec<f32>) {
    let mut c = vec![0x55i8; a.m() * n];
    let mut cf = vec![f32::NAN; a.m() * n];
    install(threads, || {
        qs8_gemm(a, b, n, &mut c, &p.requant());
        qs8_gemm_f32(a, b, n, &mut cf, &p.dequant());
    });
    (c, cf)
}

fn check_gemm(rng: &mut SmallRng, m: usize, k: usize, n: usize) {
    let a = random_i8(rng, m * k);
    let b = random_i8(rng, k * n);
    let p = Params::random(rng, m);
    // The same shapes with 4-bit and 2-bit packed codes (decoded per panel in each task).
    let codes: Vec<u8> = (0..m * k).map(|_| rng.random_range(0..16)).collect();
    let tables: Vec<[i8; 16]> = (0..m)
        .map(|_| core::array::from_fn(|_| rng.random_range(-127..=127)))
        .collect();
    let two: Vec<u8> = codes.iter().map(|c| c & 3).collect();
    for uk in QGemmUkernel::all() {
        let packings = [
            ("int8", PackedQA::pack_for(uk, &a, m, k)),
            (
                "4-bit",
                PackedQA::pack_codes_for(uk, &codes, &tables, CodeBits::Four, m, k),
            ),
            (
                "2-bit",
                PackedQA::pack_codes_for(uk, &two, &tables, CodeBits::Two, m, k),
            ),
        ];
        for (kind, pa) in &packings {
            let (seq, seq_f) = gemm_in(1, pa, &b, n, &p);
            for threads in [2, 3, 4] {
                let (par, par_f) = gemm_in(threads, pa, &b, n, &p);
                let what = format!("qs8_gemm {kind} {m}x{k}x{n} {uk:?} {threads}t");
                assert_eq!(seq, par, "{what}");
                assert_bits_eq(&what, &seq_f, &par_f);
            }
        }
        // The codes (decoded once per call under threads) equal the int8 kernel on the same
        // integers.
        for (kind, codes, pa) in [
            ("4-bit", &codes, &packings[1].1),
            ("2-bit", &two, &packings[2].1),
        ] {
            let decoded: Vec<i8> = codes
                .iter()
                .enumerate()
                .map(|(i, &c)| tables[i / k][c as usize])
                .collect();
            let int8 = PackedQA::pack_for(uk, &decoded, m, k);
            for threads in [1, 2] {
                let what = format!("{kind} codes vs int8 {m}x{k}x{n} {uk:?} {threads}t");
                let (want, want_f) = gemm_in(threads, &int8, &b, n, &p);
                let (got, got_f) = gemm_in(threads, pa, &b, n, &p);
                assert_eq!(got, want, "{what}");
                assert_bits_eq(&what, &got_f, &want_f);
            }
        }
    }
}

#[test]
fn qs8_gemm_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(7);
    // (m, k, n): odd sizes, column splits (large n) and row splits (small n).
    for &(m, k, n) in &[
        (16, 32, 12544),
        (37, 301, 529),
        (96, 24, 3136),
        (113, 513, 49),
        (1152, 192, 49),
        (7, 1000, 77),
        (200, 3, 1001),
        (61, 129, 196),
    ] {
        check_gemm(&mut rng, m, k, n);
    }
}

#[test]
fn qs8_gemv_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(11);
    for &(m, k) in &[(1000, 1280), (1001, 517), (997, 1333), (4099, 64)] {
        check_gemm(&mut rng, m, k, 1);
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
fn qs8_dwconv_parallel_is_bit_identical() {
    let mut rng = SmallRng::seed_from_u64(13);
    for g in &[
        geometry(32, 112, 3, 1, 1),
        geometry(97, 57, 3, 2, 1),
        geometry(143, 28, 5, 1, 2),
        geometry(1153, 7, 5, 1, 2),
        geometry(241, 15, 5, 2, 2),
        geometry(3, 200, 3, 1, 1),
    ] {
        let x = random_i8(&mut rng, g.channels * g.in_h * g.in_w);
        let w = random_i8(&mut rng, g.channels * g.kh * g.kw);
        let p = Params::random(&mut rng, g.channels);
        let pad = rng.random::<i8>();
        let len = g.channels * g.out_h * g.out_w;
        let run = |threads: usize| {
            let mut y = vec![0x55i8; len];
            let mut yf = vec![f32::NAN; len];
            install(threads, || {
                qs8_dwconv(g, &x, pad, &w, &p.requant(), &mut y);
                qs8_dwconv_f32(g, &x, pad, &w, &p.dequant(), &mut yf);
            });
            (y, yf)
        };
        let (seq, seq_f) = run(1);
        for threads in [2, 3, 4] {
            let (par, par_f) = run(threads);
            let what = format!("qs8_dwconv {g:?} {threads}t");
            assert_eq!(seq, par, "{what}");
            assert_bits_eq(&what, &seq_f, &par_f);
        }
    }
}

#[test]
fn f32_qs8_vcvt_parallel_is_bit_identical() {
    use quantscope::kernels::f32_qs8_vcvt::{f32_qs8_vcvt, Scaling};
    use quantscope::kernels::params::{QuantParams, QuantRange};
    let mut rng = SmallRng::seed_from_u64(17);
    // The int8 graph's input (3 x 224 x 224) and an odd length; values past the range too.
    for len in [150_528, 100_003] {
        let src: Vec<f32> = (0..len).map(|_| rng.random_range(-3.0f32..3.0)).collect();
        let p = QuantParams::asymmetric(-2.1, 2.6, QuantRange::FULL);
        for scaling in [Scaling::Divide, Scaling::Reciprocal] {
            let run = |threads: usize| {
                let mut dst = vec![0x55i8; len];
                install(threads, || f32_qs8_vcvt(&p, scaling, &src, &mut dst));
                dst
            };
            let seq = run(1);
            for threads in [2, 3, 4] {
                assert_eq!(
                    seq,
                    run(threads),
                    "f32_qs8_vcvt {len} {scaling:?} {threads}t"
                );
            }
        }
    }
}
