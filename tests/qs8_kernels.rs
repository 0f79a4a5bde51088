//! int8 kernel tests: every variant against naive int32 reference loops written here, on
//! random shapes including odd sizes, with random per-row multipliers, zero points and clamps.
//! Integer sums are exact, so every comparison is exact (bitwise for f32 outputs). On
//! wasm32+simd128 the scalar and SIMD128 variants are also compared with each other.
//!
//! Benchmarks (ignored): natively `cargo test --release --test qs8_kernels -- --ignored
//! --nocapture`; in node append `-- --include-ignored bench` to the wasm test command.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::f32_im2col::im2col;
use quantscope::kernels::f32_qs8_vcvt::{f32_qs8_vcvt, f32_qs8_vcvt_scalar, Scaling};
use quantscope::kernels::f32_rminmax::{f32_rminmax, f32_rminmax_scalar};
use quantscope::kernels::qs8_dwconv::{
    qs8_dwconv, qs8_dwconv_f32, qs8_dwconv_f32_scalar, qs8_dwconv_prepared, qs8_dwconv_scalar,
    Qs8DwFilters,
};
use quantscope::kernels::qs8_gemm::{qs8_gemm, qs8_gemm_f32, PackedQA, QGemmUkernel};
use quantscope::kernels::qs8_peak::qs8_dot_peak;
use quantscope::kernels::qs8_requant::{Dequant, FloatForms, Requant};
use quantscope::kernels::qs8_unpack::CodeBits;
use quantscope::kernels::{f32x4_madd_fuses, ConvGeometry};
use quantscope::quant::f32_requant::{row_reaches, F32Requant};
use quantscope::quant::{Multiplier, QuantParams, QuantRange};

/// Tiny xorshift generator: deterministic and dependency-free on every target.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in [lo, hi].
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next_u64() % (hi as i64 - lo as i64 + 1) as u64) as i32
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn i8s(&mut self, len: usize) -> Vec<i8> {
        (0..len).map(|_| self.next_u64() as i8).collect()
    }
    /// A valid multiplier, log-uniform in [1e-4, 2] (so some are above 1: left shifts).
    fn multiplier(&mut self) -> Multiplier {
        let m = 10f64.powf(-4.0 + self.unit() * (4.0 + 2f64.log10()));
        Multiplier::from_f64(m).expect("valid multiplier")
    }
}

/// Per-row output-stage parameters, owned.
struct Params {
    bias: Vec<i32>,
    mult: Vec<Multiplier>,
    scale: Vec<f32>,
    fbias: Vec<f32>,
}

impl Params {
    fn random(rng: &mut Rng, rows: usize) -> Self {
        Params {
            bias: (0..rows).map(|_| rng.range(-40000, 40000)).collect(),
            mult: (0..rows).map(|_| rng.multiplier()).collect(),
            scale: (0..rows).map(|_| (rng.unit() * 1e-3) as f32).collect(),
            fbias: (0..rows).map(|_| (rng.unit() * 4.0 - 2.0) as f32).collect(),
        }
    }

    /// Requantizations tried: no clamp, ReLU (min = zero point), a random narrow clamp; each
    /// with float forms ([`with_float_forms`]).
    fn requants(&self, rng: &mut Rng) -> Vec<Requant<'_>> {
        let zp = rng.range(-128, 127);
        let (lo, hi) = {
            let (a, b) = (rng.range(-128, 127), rng.range(-128, 127));
            (a.min(b) as i8, a.max(b) as i8)
        };
        let base = Requant {
            bias: &self.bias,
            multiplier: &self.mult,
            zero_point: zp,
            min: -128,
            max: 127,
            float_forms: FloatForms::NONE,
        };
        vec![
            with_float_forms(base),
            with_float_forms(Requant {
                min: zp as i8,
                ..base
            }),
            with_float_forms(Requant {
                zero_point: rng.range(-128, 127),
                min: lo,
                max: hi,
                ..base
            }),
        ]
    }

    /// Dequantizations tried: no clamp, ReLU6-like.
    fn dequants(&self) -> Vec<Dequant<'_>> {
        let base = Dequant {
            bias: &self.bias,
            scale: &self.scale,
            fbias: &self.fbias,
            min: f32::NEG_INFINITY,
            max: f32::INFINITY,
        };
        vec![
            base,
            Dequant {
                min: 0.0,
                max: 6.0,
                ..base
            },
        ]
    }
}

/// `req` with float forms: none for rows `3i`, the unfused form for rows `3i + 1` and, where
/// the engine fuses `f32x4.relaxed_madd`, the fused form for rows `3i + 2` (else the unfused):
/// the SIMD128 kernels then run every form side by side (the forms are leaked: a few per test).
fn with_float_forms(req: Requant<'_>) -> Requant<'_> {
    let rows = |fused| {
        F32Requant::for_rows(
            req.multiplier,
            None,
            req.zero_point,
            req.min,
            req.max,
            fused,
        )
    };
    let (unfused, fused) = (rows(false), rows(f32x4_madd_fuses()));
    let forms: Vec<_> = (0..unfused.len())
        .map(|r| match r % 3 {
            0 => None,
            1 => unfused[r],
            _ => fused[r],
        })
        .collect();
    Requant {
        float_forms: FloatForms::checked(
            Vec::leak(forms),
            req.multiplier,
            req.zero_point,
            req.min,
            req.max,
        ),
        ..req
    }
}

/// The definition of requantization, spelled out (not through `Requant::apply`).
fn requant_ref(req: &Requant, row: usize, acc: i32) -> i8 {
    req.multiplier[row].requantize(
        acc.wrapping_add(req.bias[row]),
        req.zero_point,
        req.min,
        req.max,
    )
}

/// [`requant_ref`] of the sums `acc`, `per_row` a row (a GEMM's columns, or a convolution's
/// outputs of one channel).
fn requant_rows_ref(req: &Requant, acc: &[i32], per_row: usize) -> Vec<i8> {
    acc.iter()
        .enumerate()
        .map(|(i, &v)| requant_ref(req, i / per_row, v))
        .collect()
}

fn dequant_ref(deq: &Dequant, row: usize, acc: i32) -> f32 {
    let v = (acc + deq.bias[row]) as f32 * deq.scale[row] + deq.fbias[row];
    v.max(deq.min).min(deq.max)
}

/// Naive int32 GEMM accumulators `[m, n]`.
fn gemm_acc(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|p| i32::from(a[i * k + p]) * i32::from(b[p * n + j]))
                .sum();
        }
    }
    c
}

fn assert_i8_eq(what: &str, got: &[i8], want: &[i8]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!("{what}: element {i}: got {}, want {}", got[i], want[i]);
    }
}

fn assert_f32_bits_eq(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    if let Some(i) = got
        .iter()
        .zip(want)
        .position(|(g, w)| g.to_bits() != w.to_bits())
    {
        panic!("{what}: element {i}: got {}, want {}", got[i], want[i]);
    }
}

fn check_gemm(rng: &mut Rng, m: usize, k: usize, n: usize) {
    let a = rng.i8s(m * k);
    check_gemm_of(rng, &a, None, m, k, n);
}

/// Random `b`-bit codes and a random decoding table per row (entries in -127..=127).
fn random_codes(rng: &mut Rng, bits: CodeBits, m: usize, k: usize) -> (Vec<u8>, Vec<[i8; 16]>) {
    let codes = (0..m * k)
        .map(|_| rng.below(1 << bits.bits()) as u8)
        .collect();
    let tables = (0..m)
        .map(|_| core::array::from_fn(|_| rng.range(-127, 127) as i8))
        .collect();
    (codes, tables)
}

/// The same product with A stored as packed codes: every microkernel, every output stage,
/// bit-identical to the int8 kernels on the decoded weights (and to the reference).
fn check_lowbit_gemm(rng: &mut Rng, bits: CodeBits, m: usize, k: usize, n: usize) {
    let (codes, tables) = random_codes(rng, bits, m, k);
    let a: Vec<i8> = codes
        .iter()
        .enumerate()
        .map(|(i, &c)| tables[i / k.max(1)][c as usize])
        .collect();
    check_gemm_of(rng, &a, Some((bits, &codes, &tables)), m, k, n);
}

type Codes<'a> = (CodeBits, &'a [u8], &'a [[i8; 16]]);

/// Every packing of `a` (int8, and the codes when given) against the reference.
fn check_gemm_of(rng: &mut Rng, a: &[i8], codes: Option<Codes>, m: usize, k: usize, n: usize) {
    let b = rng.i8s(k * n);
    let params = Params::random(rng, m);
    let acc = gemm_acc(a, &b, m, k, n);
    let row = |idx: usize| idx / n;
    let mut packed: Vec<PackedQA> = QGemmUkernel::all()
        .iter()
        .map(|&uk| {
            let pa = PackedQA::pack_for(uk, a, m, k);
            assert_eq!((pa.m(), pa.k(), pa.ukernel()), (m, k, uk));
            pa
        })
        .collect();
    packed.push(PackedQA::pack(a, m, k));
    if let Some((bits, codes, tables)) = codes {
        for uk in QGemmUkernel::all() {
            let pa = PackedQA::pack_codes_for(uk, codes, tables, bits, m, k);
            assert_eq!((pa.m(), pa.k(), pa.ukernel()), (m, k, uk));
            // Packed codes plus 16 table bytes per row (4-row panels), not 2 bytes per weight
            // (and c4's row offsets).
            let panels = m.div_ceil(4);
            let kp = k.next_multiple_of(uk.kr());
            let offsets = if uk.kr() == 4 { 4 * m } else { 0 };
            assert_eq!(
                pa.bytes(),
                bits.bytes_for(panels * 4 * kp) + 64 * panels + offsets
            );
            packed.push(pa);
        }
    }
    for req in params.requants(rng) {
        let want: Vec<i8> = acc
            .iter()
            .enumerate()
            .map(|(i, &v)| requant_ref(&req, row(i), v))
            .collect();
        for pa in &packed {
            let mut c = vec![0x55i8; m * n];
            qs8_gemm(pa, &b, n, &mut c, &req);
            let what = format!(
                "qs8_gemm {:?} ({} B) m={m} k={k} n={n} {req:?}",
                pa.ukernel(),
                pa.bytes()
            );
            assert_i8_eq(&what, &c, &want);
        }
    }
    for deq in params.dequants() {
        let want: Vec<f32> = acc
            .iter()
            .enumerate()
            .map(|(i, &v)| dequant_ref(&deq, row(i), v))
            .collect();
        for pa in &packed {
            let mut c = vec![f32::NAN; m * n];
            qs8_gemm_f32(pa, &b, n, &mut c, &deq);
            let what = format!(
                "qs8_gemm_f32 {:?} ({} B) m={m} k={k} n={n}",
                pa.ukernel(),
                pa.bytes()
            );
            assert_f32_bits_eq(&what, &c, &want);
        }
    }
}

#[test]
fn qs8_gemm_odd_shapes() {
    let mut rng = Rng::new(1);
    let sizes = [1, 3, 7, 17, 33];
    for &m in &sizes {
        for &k in &sizes {
            for &n in &sizes {
                check_gemm(&mut rng, m, k, n);
            }
        }
    }
}

#[test]
fn qs8_gemm_random_shapes() {
    let mut rng = Rng::new(2);
    for _ in 0..40 {
        let (m, k, n) = (1 + rng.below(70), 1 + rng.below(300), 1 + rng.below(90));
        check_gemm(&mut rng, m, k, n);
    }
    // Shapes of EfficientNet-Lite0 layers (small n) and ones crossing the B block.
    for &(m, k, n) in &[
        (65, 1152, 7),
        (1000, 1280, 1),
        (37, 1281, 1),
        (16, 32, 4099),
        (8, 2, 70000),
        (5, 1, 9),
        // A last column panel of 1-3 columns (the matrix-vector tail): n = 49 as in the 7x7
        // layers, and a tail of 2 in the second B block (k = 40: blocks of 6560 columns).
        (12, 1152, 49),
        (9, 40, 6586),
        (6, 24, 50),
        // Strips of 256 columns: a tail of 1 starting the second strip, of 3 in the third,
        // odd k; and a second B block (k = 16: 8192 columns) that is only a tail of 3.
        (5, 24, 257),
        (7, 3, 515),
        (6, 16, 8195),
    ] {
        check_gemm(&mut rng, m, k, n);
    }
}

/// The microkernels themselves, bit for bit against each other and the definition, with
/// starting values near the int32 limits (the sums wrap).
#[test]
fn qs8_gemm_ukernels_agree() {
    use quantscope::kernels::qs8_gemm::qs8_gemm_4x8c2_scalar;
    let mut rng = Rng::new(23);
    for pairs in [0, 1, 2, 3, 8, 12, 96] {
        let a: Vec<i16> = rng.i8s(pairs * 8).into_iter().map(i16::from).collect();
        let b: Vec<i16> = rng.i8s(pairs * 16).into_iter().map(i16::from).collect();
        let init = [i32::MAX - 5, i32::MIN + 7, rng.next_u64() as i32, 0];
        let want: [[i32; 8]; 4] = core::array::from_fn(|r| {
            core::array::from_fn(|j| {
                (0..2 * pairs).fold(init[r], |s, i| {
                    let (p, t) = (i / 2, i % 2);
                    let prod =
                        i32::from(a[(p * 4 + r) * 2 + t]) * i32::from(b[(p * 8 + j) * 2 + t]);
                    s.wrapping_add(prod)
                })
            })
        });
        assert_eq!(
            qs8_gemm_4x8c2_scalar(&a, &b, &init),
            want,
            "scalar, {pairs} pairs"
        );
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            use quantscope::kernels::qs8_gemm::qs8_gemm_4x8c2_simd128;
            assert_eq!(
                qs8_gemm_4x8c2_simd128(&a, &b, &init),
                want,
                "simd128, {pairs} pairs"
            );
        }
    }
}

/// The c4 (usdot) microkernels bit for bit against the definition: int8 weights times
/// activations plus 128 as u8, the extremes of both included, from starting values near the
/// int32 limits.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
#[test]
fn qs8_gemm_c4_ukernels_agree() {
    use quantscope::kernels::qs8_gemm::qs8_gemm_4x8c4_scalar;
    let mut rng = Rng::new(29);
    for quads in [0, 1, 2, 3, 8, 12, 96] {
        let mut a = rng.i8s(quads * 16);
        let mut b: Vec<u8> = rng.i8s(quads * 32).into_iter().map(|v| v as u8).collect();
        if quads == 3 {
            a.fill(-128);
            b.fill(255);
        }
        let init = [i32::MAX - 5, i32::MIN + 7, rng.next_u64() as i32, 0];
        let want: [[i32; 8]; 4] = core::array::from_fn(|r| {
            core::array::from_fn(|j| {
                (0..4 * quads).fold(init[r], |s, i| {
                    let (q, t) = (i / 4, i % 4);
                    let prod =
                        i32::from(a[(q * 4 + r) * 4 + t]) * i32::from(b[(q * 8 + j) * 4 + t]);
                    s.wrapping_add(prod)
                })
            })
        });
        assert_eq!(
            qs8_gemm_4x8c4_scalar(&a, &b, &init),
            want,
            "scalar, {quads} quads"
        );
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        if quantscope::kernels::qs8_gemm::usdot_exact() {
            use quantscope::kernels::qs8_gemm::qs8_gemm_4x8c4_usdot_relaxed;
            assert_eq!(
                qs8_gemm_4x8c4_usdot_relaxed(&a, &b, &init),
                want,
                "usdot, {quads} quads"
            );
        }
    }
}

/// Packed 2- and 4-bit codes: odd shapes (odd k, rows not a multiple of 4, 1-3 column tails,
/// the matrix-vector path at n = 1) and EfficientNet-like ones.
#[test]
fn qs8_gemm_lowbit_codes_match_int8() {
    let mut rng = Rng::new(21);
    for bits in [CodeBits::Two, CodeBits::Four] {
        for &m in &[1, 3, 5, 17] {
            for &k in &[1, 2, 7, 33] {
                for &n in &[1, 3, 9, 50] {
                    check_lowbit_gemm(&mut rng, bits, m, k, n);
                }
            }
        }
        for &(m, k, n) in &[
            (1000, 1280, 1),
            (65, 1152, 7),
            (12, 1152, 49),
            (24, 144, 3136),
        ] {
            check_lowbit_gemm(&mut rng, bits, m, k, n);
        }
    }
}

#[test]
fn qs8_gemm_extreme_values() {
    // All -128 (the largest products) with long k, and all 127: accumulators near +-2^24.
    for &v in &[-128i8, 127] {
        let (m, k, n) = (5, 1025, 11);
        let a = vec![v; m * k];
        let b = vec![-128i8; k * n];
        let mut rng = Rng::new(3);
        let params = Params::random(&mut rng, m);
        let acc = gemm_acc(&a, &b, m, k, n);
        for req in params.requants(&mut rng) {
            let want = requant_rows_ref(&req, &acc, n);
            for uk in QGemmUkernel::all() {
                let mut c = vec![0i8; m * n];
                qs8_gemm(&PackedQA::pack_for(uk, &a, m, k), &b, n, &mut c, &req);
                assert_i8_eq(&format!("extreme {v} {uk:?}"), &c, &want);
            }
        }
    }
}

#[test]
fn qs8_gemm_empty() {
    let mult = [Multiplier::from_f64(0.5).unwrap(); 3];
    let req = Requant {
        bias: &[10, -10, 1000],
        multiplier: &mult,
        zero_point: 3,
        min: -128,
        max: 127,
        float_forms: FloatForms::NONE,
    };
    for uk in QGemmUkernel::all() {
        // k = 0: the output stage of a zero accumulator.
        let pa = PackedQA::pack_for(uk, &[], 3, 0);
        let mut c = vec![0i8; 3 * 2];
        qs8_gemm(&pa, &[], 2, &mut c, &req);
        assert_eq!(c, [8, 8, -2, -2, 127, 127], "{uk:?}");
        // n = 0 and m = 0: nothing to do.
        let pa = PackedQA::pack_for(uk, &[1; 6], 3, 2);
        qs8_gemm(&pa, &[], 0, &mut [], &req);
        let pa = PackedQA::pack_for(uk, &[], 0, 5);
        qs8_gemm(&pa, &[1; 10], 2, &mut [], &req);
    }
}

/// int32 accumulators at and near the edges the requantization steps care about (the int32
/// limits, zero, the rounding shift's and the f32 mantissa's powers of two).
const EXTREME_ACCUMULATORS: [i32; 11] = [
    i32::MIN,
    i32::MIN + 1,
    i32::MAX,
    i32::MAX - 1,
    0,
    1,
    -1,
    1 << 30,
    -(1 << 30),
    (1 << 24) + 3,
    -(1 << 24) - 5,
];

/// The output stages on extreme accumulators: with k = 0 (GEMM) or zero weights (depthwise)
/// every accumulator is the row's bias, so biases reach the vectorised stores directly.
#[test]
fn requant_extremes_through_kernels() {
    let mut rng = Rng::new(11);
    let extremes = [EXTREME_ACCUMULATORS.as_slice(), &[65535, -65536]].concat();
    let mut mult: Vec<Multiplier> = Vec::new();
    for shift in -31..=30 {
        for m0 in [1 << 30, (1 << 30) + 12345, i32::MAX] {
            mult.push(Multiplier { m0, shift });
        }
    }
    mult.extend((0..100).map(|_| rng.multiplier()));
    let m = mult.len() * extremes.len();
    let mult: Vec<Multiplier> = mult
        .iter()
        .flat_map(|&x| std::iter::repeat_n(x, extremes.len()))
        .collect();
    let bias: Vec<i32> = (0..m)
        .map(|i| match i % 3 {
            0 => extremes[i % extremes.len()],
            1 => rng.next_u64() as i32,
            _ => rng.range(-70000, 70000) >> (i % 9),
        })
        .collect();
    for (zp, lo, hi) in [
        (0, -128, 127),
        (-128, -128, 127),
        (127, -3, 100),
        (-7, -7, 127),
    ] {
        let req = with_float_forms(Requant {
            bias: &bias,
            multiplier: &mult,
            zero_point: zp,
            min: lo,
            max: hi,
            float_forms: FloatForms::NONE,
        });
        let n = 9;
        let want: Vec<i8> = (0..m * n).map(|i| requant_ref(&req, i / n, 0)).collect();
        for uk in QGemmUkernel::all() {
            let mut c = vec![0x55i8; m * n];
            qs8_gemm(&PackedQA::pack_for(uk, &[], m, 0), &[], n, &mut c, &req);
            assert_i8_eq(&format!("k = 0 {uk:?} zp={zp}"), &c, &want);
        }
        let g = geometry(m, (3, 9), (1, 1), [1, 1], [1, 1], [0, 0, 0, 0]).expect("geometry");
        let want: Vec<i8> = (0..m * 27).map(|i| requant_ref(&req, i / 27, 0)).collect();
        let (x, w) = (rng.i8s(m * 27), vec![0i8; m]);
        let mut y = vec![0x55i8; m * 27];
        qs8_dwconv(&g, &x, 0, &w, &req, &mut y);
        assert_i8_eq(&format!("zero weights zp={zp}"), &y, &want);
        qs8_dwconv_scalar(&g, &x, 0, &w, &req, &mut y);
        assert_i8_eq(&format!("zero weights scalar zp={zp}"), &y, &want);
    }
}

#[test]
fn qs8_gemm_ukernel_shapes() {
    for uk in QGemmUkernel::all() {
        assert!(uk.mr() > 0 && uk.nr() % 4 == 0, "{uk:?}");
    }
    assert!(QGemmUkernel::all().contains(&QGemmUkernel::best()));
}

/// The SIMD128 requantization against `Multiplier::requantize`, lane by lane, on random and
/// extreme accumulators and every shift.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn requant_simd128_matches_scalar() {
    use core::arch::wasm32::*;
    use quantscope::kernels::qs8_requant::RequantSimd128;
    let mut rng = Rng::new(4);
    let extremes = EXTREME_ACCUMULATORS;
    let mut mults: Vec<Multiplier> = (0..200).map(|_| rng.multiplier()).collect();
    for shift in -31..=30 {
        for m0 in [1 << 30, (1 << 30) + 12345, i32::MAX] {
            mults.push(Multiplier { m0, shift });
        }
    }
    for m in mults {
        let (zp, lo, hi) = (rng.range(-128, 127), rng.range(-128, 0), rng.range(0, 127));
        let q = RequantSimd128::new(m, zp, lo as i8, hi as i8);
        // The int32 input nearest to where the exact product `x m0 2^(shift - 31)` is `v`.
        let input_for = |v: f64| -> i32 {
            let x = v * 2f64.powi(31 - m.shift) / f64::from(m.m0);
            x.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
        };
        for round in 0..16 {
            let acc: [i32; 16] = core::array::from_fn(|i| match round {
                0 => extremes[i % extremes.len()],
                1 => rng.next_u64() as i32,
                // Ties of the rounding (results k + 1/2, both signs), and their neighbours.
                8..=11 => {
                    let k = f64::from(rng.range(-300, 300)) + 0.5;
                    input_for(k).saturating_add(i as i32 % 5 - 2)
                }
                // Around the input limit the kernel clamps to, and the 16-bit saturation of
                // the narrowing (|result| near 2^15).
                12 => {
                    let l = m.input_limit();
                    let l = if i % 2 == 0 { l } else { l.saturating_neg() };
                    l.saturating_add(i as i32 % 5 - 2)
                }
                13 => {
                    let v = if i % 2 == 0 { 32768.0 } else { -32768.0 };
                    input_for(v + f64::from(rng.range(-3, 3)) / 2.0)
                        .saturating_add(i as i32 % 3 - 1)
                }
                // Small inputs.
                14 => i as i32 - 8,
                // Values whose scaled result is near the int8 range.
                _ => rng.range(-70000, 70000) >> (i % 8),
            });
            let v: [v128; 4] = core::array::from_fn(|i| {
                i32x4(acc[4 * i], acc[4 * i + 1], acc[4 * i + 2], acc[4 * i + 3])
            });
            let want: [i8; 16] = acc.map(|a| m.requantize(a, zp, lo as i8, hi as i8));
            let got16: [i8; 16] = unsafe { core::mem::transmute(q.apply16(v)) };
            assert_eq!(got16, want, "apply16 {m:?} zp={zp} acc={acc:?}");
            let got8: [i8; 16] = unsafe { core::mem::transmute(q.apply8(v[0], v[1])) };
            assert_eq!(got8[..8], want[..8], "apply8 {m:?} zp={zp} acc={acc:?}");
            // `multiply` alone is `apply` where that does not saturate: for M < 1.
            for (i, &vi) in v.iter().enumerate().filter(|_| m.shift <= 0) {
                let got: [i32; 4] = unsafe { core::mem::transmute(q.multiply(vi)) };
                let want: [i32; 4] = core::array::from_fn(|l| m.apply(acc[4 * i + l]));
                assert_eq!(got, want, "multiply {m:?}");
            }
        }
    }
}

/// The SIMD128 float form against its scalar steps (`F32Requant::requantize`), on extreme and
/// random inputs: unchecked candidates (any scale: `w` negative at the low end for large
/// ones; fused ones where the engine fuses, their `fma` against `fused_mul_add`) and the
/// checked forms of random multipliers (some nudged), with and without clamps.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn f32_requant_simd128_matches_scalar() {
    use core::arch::wasm32::*;
    use quantscope::kernels::qs8_requant::F32RequantSimd128;
    let mut rng = Rng::new(29);
    let extremes = EXTREME_ACCUMULATORS;
    let mut forms = Vec::new();
    for shift in -31..=30 {
        let m = Multiplier {
            m0: rng.range(1 << 30, i32::MAX),
            shift,
        };
        let zp = rng.range(-128, 127);
        for (lo, hi) in [(-128, 127), (zp as i8, 127), (-100, 6)] {
            forms.push(F32Requant::candidate(m, zp, lo, hi));
            if f32x4_madd_fuses() {
                forms.push(F32Requant::fused_candidate(m, zp, lo, hi));
            }
        }
    }
    // Nudged forms are the rarer ones (scale moves are tried first): keep looking for them.
    let mut nudged = 0;
    for _ in 0..20000 {
        let zp = rng.range(-128, 127);
        let clamp = if rng.below(2) == 0 {
            (-128, 127)
        } else {
            (zp as i8, 127)
        };
        if let Some(f) = F32Requant::for_multiplier(
            rng.multiplier(),
            zp,
            clamp.0,
            clamp.1,
            quantscope::quant::f32_requant::ALL_INPUTS,
            false,
        ) {
            if !format!("{f:?}").contains("nudge: 0.0,") {
                nudged += 1;
                forms.push(f);
            } else if forms.len() < 300 {
                forms.push(f);
            }
        }
        if nudged == 30 {
            break;
        }
    }
    assert!(nudged > 0, "no nudged form found");
    // `apply8` computes one kind per build (fused in the relaxed one; the GEMM tests run the
    // other kind through the row stores).
    let forms: Vec<_> = forms
        .into_iter()
        .filter(F32RequantSimd128::apply8_takes)
        .collect();
    // (None where the relaxed build runs on an engine that does not fuse: no fused forms.)
    let unfusing = cfg!(target_feature = "relaxed-simd") && !f32x4_madd_fuses();
    assert!(
        forms.len() > 150 || unfusing,
        "{} forms of apply8's kind",
        forms.len()
    );
    for f in &forms {
        let q = F32RequantSimd128::new(f);
        let (m, zp, lo, hi) = f.of;
        // Around every level's threshold (where a nudge or scale move matters), extremes and
        // random values.
        let mut xs: Vec<i32> = (i32::from(lo) + 1..=i32::from(hi))
            .flat_map(|y| {
                let t = ((f64::from(y - zp) - 0.5) / m.to_f64()).ceil();
                let t = t.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
                (-2..=2).map(move |d| t.saturating_add(d))
            })
            .collect();
        xs.extend(extremes);
        xs.extend((0..64).map(|i| rng.next_u64() as i32 >> (i % 31)));
        for x in xs.chunks(8) {
            let x: [i32; 8] = core::array::from_fn(|i| x.get(i).copied().unwrap_or(0));
            let v0 = i32x4(x[0], x[1], x[2], x[3]);
            let v1 = i32x4(x[4], x[5], x[6], x[7]);
            let got: [i8; 16] = unsafe { core::mem::transmute(q.apply8(v0, v1)) };
            let want = x.map(|x| f.requantize(x));
            assert_eq!(got[..8], want, "{f:?} x={x:?}");
        }
    }
}

/// The SIMD128 requantization against `Multiplier::requantize` on dense runs of consecutive
/// accumulators (every rounding case, ties included), for every shift.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn requant_simd128_matches_scalar_dense() {
    use core::arch::wasm32::*;
    use quantscope::kernels::qs8_requant::RequantSimd128;
    let mut rng = Rng::new(5);
    for shift in -31..=30 {
        for m0 in [
            1 << 30,
            (1 << 30) + 1,
            rng.range(1 << 30, i32::MAX),
            i32::MAX,
        ] {
            let m = Multiplier { m0, shift };
            let (zp, lo, hi) = (rng.range(-128, 127), rng.range(-128, 0), rng.range(0, 127));
            let q = RequantSimd128::new(m, zp, lo as i8, hi as i8);
            // Around 0, around the int8 range's ends, and a random stretch.
            let span = (300.0 * 2f64.powi(31 - shift) / f64::from(m0)).min(1e9) as i32;
            for start in [
                -2048,
                span - 1024,
                -span - 1024,
                rng.range(-1 << 30, 1 << 30),
            ] {
                for base in (start..start + 2048).step_by(16) {
                    let acc: [i32; 16] = core::array::from_fn(|i| base.saturating_add(i as i32));
                    let v: [v128; 4] = core::array::from_fn(|i| {
                        i32x4(acc[4 * i], acc[4 * i + 1], acc[4 * i + 2], acc[4 * i + 3])
                    });
                    let want: [i8; 16] = acc.map(|a| m.requantize(a, zp, lo as i8, hi as i8));
                    let got: [i8; 16] = unsafe { core::mem::transmute(q.apply16(v)) };
                    assert_eq!(got, want, "apply16 {m:?} zp={zp} from {base}");
                    if m.shift <= 0 {
                        let got: [i32; 4] = unsafe { core::mem::transmute(q.multiply(v[1])) };
                        let want: [i32; 4] = core::array::from_fn(|l| m.apply(acc[4 + l]));
                        assert_eq!(got, want, "multiply {m:?} from {}", base + 4);
                    }
                }
            }
        }
    }
}

/// Geometry from kernel, stride, dilation and pads `[top, left, bottom, right]`.
fn geometry(
    channels: usize,
    (in_h, in_w): (usize, usize),
    (kh, kw): (usize, usize),
    stride: [usize; 2],
    dilation: [usize; 2],
    pads: [usize; 4],
) -> Option<ConvGeometry> {
    let eh = (kh - 1) * dilation[0] + 1;
    let ew = (kw - 1) * dilation[1] + 1;
    let (ph, pw) = (in_h + pads[0] + pads[2], in_w + pads[1] + pads[3]);
    if ph < eh || pw < ew {
        return None;
    }
    Some(ConvGeometry {
        channels,
        in_h,
        in_w,
        out_h: (ph - eh) / stride[0] + 1,
        out_w: (pw - ew) / stride[1] + 1,
        kh,
        kw,
        stride,
        dilation,
        pad: [pads[0], pads[1]],
    })
}

/// A square `c`-channel depthwise geometry: `hw x hw` input, `k x k` filter, stride `s`, TF
/// SAME padding (EfficientNet-Lite0's layers).
fn same_geometry(c: usize, hw: usize, k: usize, s: usize) -> ConvGeometry {
    geometry(
        c,
        (hw, hw),
        (k, k),
        [s, s],
        [1, 1],
        same_pads((hw, hw), k, s),
    )
    .expect("geometry")
}

/// TF SAME padding `[top, left, bottom, right]` for a square kernel and stride (the extra
/// pixel goes after: asymmetric for even inputs at stride 2).
fn same_pads((h, w): (usize, usize), k: usize, s: usize) -> [usize; 4] {
    let total = |n: usize| ((n.div_ceil(s) - 1) * s + k).saturating_sub(n);
    let (th, tw) = (total(h), total(w));
    [th / 2, tw / 2, th - th / 2, tw - tw / 2]
}

/// Input value at padded position, `pad_value` outside.
#[allow(clippy::too_many_arguments)]
fn at(g: &ConvGeometry, x: &[i8], pad: i8, c: usize, i: usize, j: usize, u: usize, v: usize) -> i8 {
    let y = (i * g.stride[0] + u * g.dilation[0]) as isize - g.pad[0] as isize;
    let xx = (j * g.stride[1] + v * g.dilation[1]) as isize - g.pad[1] as isize;
    if y < 0 || xx < 0 || y as usize >= g.in_h || xx as usize >= g.in_w {
        pad
    } else {
        x[(c * g.in_h + y as usize) * g.in_w + xx as usize]
    }
}

/// The geometries tried for depthwise and im2col: 1x1/3x3/5x5 (and a 3x5), strides 1 and 2,
/// symmetric, asymmetric and TF SAME pads, dilation 2, odd widths (1, 5, 7, 113).
fn conv_cases(rng: &mut Rng) -> Vec<ConvGeometry> {
    let mut out = Vec::new();
    for &(kh, kw) in &[(1, 1), (3, 3), (5, 5), (3, 5)] {
        for &s in &[1, 2] {
            for &d in &[1, 2] {
                for &(h, w) in &[(1, 1), (7, 5), (8, 7), (17, 10), (6, 113), (12, 12)] {
                    for pads in [
                        [0, 0, 0, 0],
                        [kh / 2, kw / 2, kh / 2, kw / 2],
                        [0, 1, 2, 0],
                        [2, 0, 1, 3],
                        same_pads((h, w), kh.max(kw), s),
                    ] {
                        let channels = 1 + rng.below(4);
                        if let Some(g) = geometry(channels, (h, w), (kh, kw), [s, s], [d, d], pads)
                        {
                            out.push(g);
                        }
                    }
                }
            }
        }
    }
    // Mixed strides/dilations per axis.
    out.extend(geometry(3, (11, 12), (3, 3), [2, 1], [1, 2], [1, 0, 0, 1]));
    out.extend(geometry(2, (9, 20), (5, 5), [1, 2], [2, 1], [2, 2, 2, 2]));
    // Wide filters: 7 columns (two tap quads in the usdot kernel, the first full), then two
    // past the usdot kernel: 11 columns, and 7 at stride and dilation 2, whose taps for 4
    // outputs span 19 columns.
    out.extend(geometry(3, (9, 21), (2, 7), [1, 1], [1, 1], [1, 3, 0, 3]));
    out.extend(geometry(2, (5, 30), (2, 11), [1, 1], [1, 1], [0, 5, 1, 5]));
    out.extend(geometry(2, (6, 40), (1, 7), [1, 2], [1, 2], [0, 3, 0, 3]));
    out
}

/// Where the relaxed-SIMD usdot depthwise kernel runs exactly (the engine's dot is exact and
/// the kernel covers `g`), its output for input `x` (padded with `pad`), filters `w` and `req`
/// is `want`.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
fn assert_usdot_dwconv(
    g: &ConvGeometry,
    (x, pad, w): (&[i8], i8, &[i8]),
    req: &Requant,
    want: &[i8],
) {
    use quantscope::kernels::qs8_dwconv::{qs8_dwconv_usdot_covers, qs8_dwconv_usdot_relaxed};
    if quantscope::kernels::qs8_gemm::usdot_exact() && qs8_dwconv_usdot_covers(g) {
        let mut got = vec![0x55i8; want.len()];
        qs8_dwconv_usdot_relaxed(g, x, pad, w, req, &mut got);
        assert_i8_eq(&format!("qs8_dwconv_usdot_relaxed {g:?}"), &got, want);
    }
}

/// The relaxed-SIMD usdot depthwise kernel covers every geometry of [`conv_cases`] but the
/// last two (more than 8 filter columns; taps past one 16-byte load), which `qs8_dwconv`
/// computes with the pair kernel.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[test]
fn qs8_dwconv_usdot_covers_all_but_the_widest_taps() {
    use quantscope::kernels::qs8_dwconv::qs8_dwconv_usdot_covers;
    let cases = conv_cases(&mut Rng::new(7));
    let (rest, wide) = cases.split_at(cases.len() - 2);
    assert!(rest.iter().all(qs8_dwconv_usdot_covers));
    assert!(!wide.iter().any(qs8_dwconv_usdot_covers), "{wide:?}");
}

/// Naive depthwise int32 accumulators `[C, out_h, out_w]`.
fn dwconv_acc(g: &ConvGeometry, x: &[i8], pad: i8, w: &[i8]) -> Vec<i32> {
    let mut acc = Vec::with_capacity(g.channels * g.out_h * g.out_w);
    for c in 0..g.channels {
        for i in 0..g.out_h {
            for j in 0..g.out_w {
                let mut sum = 0i32;
                for u in 0..g.kh {
                    for v in 0..g.kw {
                        sum += i32::from(w[(c * g.kh + u) * g.kw + v])
                            * i32::from(at(g, x, pad, c, i, j, u, v));
                    }
                }
                acc.push(sum);
            }
        }
    }
    acc
}

#[test]
fn qs8_dwconv_matches_reference() {
    let mut rng = Rng::new(7);
    for g in conv_cases(&mut rng) {
        let x = rng.i8s(g.channels * g.in_h * g.in_w);
        let w = rng.i8s(g.channels * g.kh * g.kw);
        let pad = rng.range(-128, 127) as i8;
        let params = Params::random(&mut rng, g.channels);
        let acc = dwconv_acc(&g, &x, pad, &w);
        let plane = g.out_h * g.out_w;
        // Prepared once, then run with every output stage (as a model's layer, run after run).
        let filters = Qs8DwFilters::new(&g, &w);
        assert_eq!(filters.weights(), &w[..]);
        for req in params.requants(&mut rng) {
            let want = requant_rows_ref(&req, &acc, plane);
            let mut got = vec![0x55i8; want.len()];
            qs8_dwconv(&g, &x, pad, &w, &req, &mut got);
            assert_i8_eq(&format!("qs8_dwconv {g:?} {req:?}"), &got, &want);
            let mut got = vec![0x55i8; want.len()];
            qs8_dwconv_prepared(&g, &x, pad, &filters, &req, &mut got);
            assert_i8_eq(&format!("qs8_dwconv_prepared {g:?} {req:?}"), &got, &want);
            let mut scalar = vec![0x55i8; want.len()];
            qs8_dwconv_scalar(&g, &x, pad, &w, &req, &mut scalar);
            assert_i8_eq(&format!("qs8_dwconv_scalar {g:?}"), &scalar, &want);
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                let mut simd = vec![0x55i8; want.len()];
                quantscope::kernels::qs8_dwconv::qs8_dwconv_simd128(
                    &g, &x, pad, &w, &req, &mut simd,
                );
                assert_i8_eq(&format!("qs8_dwconv_simd128 {g:?}"), &simd, &scalar);
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            assert_usdot_dwconv(&g, (&x, pad, &w), &req, &scalar);
        }
        for deq in params.dequants() {
            let want: Vec<f32> = acc
                .iter()
                .enumerate()
                .map(|(i, &v)| dequant_ref(&deq, i / plane, v))
                .collect();
            let mut got = vec![f32::NAN; want.len()];
            qs8_dwconv_f32(&g, &x, pad, &w, &deq, &mut got);
            assert_f32_bits_eq(&format!("qs8_dwconv_f32 {g:?}"), &got, &want);
            let mut scalar = vec![f32::NAN; want.len()];
            qs8_dwconv_f32_scalar(&g, &x, pad, &w, &deq, &mut scalar);
            assert_f32_bits_eq(&format!("qs8_dwconv_f32_scalar {g:?}"), &scalar, &want);
        }
    }
}

#[test]
fn qs8_dwconv_efficientnet_like() {
    // EfficientNet-Lite0's depthwise layers (channels cut down), TF SAME padding.
    let mut rng = Rng::new(8);
    for &(c, hw, k, s) in &[
        (5, 112, 3, 1),
        (3, 112, 3, 2),
        (4, 56, 3, 1),
        (3, 56, 5, 2),
        (4, 28, 5, 1),
        (3, 14, 5, 1),
        (3, 14, 5, 2),
        (5, 7, 5, 1),
        (6, 7, 3, 1),
    ] {
        let g = same_geometry(c, hw, k, s);
        let x = rng.i8s(c * hw * hw);
        let w = rng.i8s(c * k * k);
        let pad = rng.range(-128, 127) as i8;
        let params = Params::random(&mut rng, c);
        let acc = dwconv_acc(&g, &x, pad, &w);
        let plane = g.out_h * g.out_w;
        let req = params.requants(&mut rng)[1];
        let want = requant_rows_ref(&req, &acc, plane);
        let mut got = vec![0i8; want.len()];
        qs8_dwconv(&g, &x, pad, &w, &req, &mut got);
        assert_i8_eq(&format!("qs8_dwconv {g:?}"), &got, &want);
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        assert_usdot_dwconv(&g, (&x, pad, &w), &req, &want);
    }
}

/// Forms checked only on each row's reach ([`row_reaches`]: what its int8 inputs can sum to,
/// as the executor makes them), through the depthwise kernel and the GEMM, with inputs that
/// hit the reaches' ends: bit-identical to the integer definition. Where the engine fuses,
/// every row gets a fused form (multipliers re-drawn until it does).
#[test]
fn kernels_with_forms_checked_on_row_reaches() {
    let mut rng = Rng::new(21);
    for &(c, hw, kk, s) in &[(6, 28, 3, 1), (5, 14, 5, 2), (7, 7, 5, 1)] {
        let g = same_geometry(c, hw, kk, s);
        let w = rng.i8s(c * kk * kk);
        // Planes of random values, and of each end of int8.
        let mut x = rng.i8s(c * hw * hw);
        x[..hw * hw].fill(127);
        x[hw * hw..2 * hw * hw].fill(-128);
        let pad = rng.range(-128, 127) as i8;
        let rows = ReachCheckedRows::new(&mut rng, &w, kk * kk);
        let req = rows.requant();
        let plane = g.out_h * g.out_w;
        let acc = dwconv_acc(&g, &x, pad, &w);
        rows.assert_within_reaches(&acc, plane);
        let want = requant_rows_ref(&req, &acc, plane);
        let mut got = vec![0x55i8; want.len()];
        qs8_dwconv(&g, &x, pad, &w, &req, &mut got);
        assert_i8_eq(&format!("qs8_dwconv {g:?}"), &got, &want);
    }
    let (m, k) = (13, 37);
    let a = rng.i8s(m * k);
    // Per row, the columns that reach its sums' ends (127 where the weight is positive, -128
    // where negative, and the reverse), then random columns.
    let n = 2 * m + 9;
    let mut b = rng.i8s(k * n);
    for r in 0..m {
        for t in 0..k {
            let hi = if a[r * k + t] > 0 { 127 } else { -128 };
            b[t * n + 2 * r] = hi;
            b[t * n + 2 * r + 1] = if hi == 127 { -128 } else { 127 };
        }
    }
    let rows = ReachCheckedRows::new(&mut rng, &a, k);
    let req = rows.requant();
    let acc = gemm_acc(&a, &b, m, k, n);
    rows.assert_within_reaches(&acc, n);
    // The reach-end columns reach both ends of every row's reach.
    for (r, &(lo, hi)) in rows.reaches.iter().enumerate() {
        let bias = rows.params.bias[r];
        assert_eq!(acc[r * n + 2 * r] + bias, hi, "row {r}");
        assert_eq!(acc[r * n + 2 * r + 1] + bias, lo, "row {r}");
    }
    let want = requant_rows_ref(&req, &acc, n);
    let mut c = vec![0x55i8; m * n];
    qs8_gemm(&PackedQA::pack(&a, m, k), &b, n, &mut c, &req);
    assert_i8_eq("qs8_gemm", &c, &want);
}

/// Output stages for the rows of `w` (`[rows, k]`) with a ReLU clamp and forms checked on the
/// rows' reaches: fused ones where the engine fuses, else unfused (multipliers in Lite0's
/// range, re-drawn until the row has one).
struct ReachCheckedRows {
    params: Params,
    zero_point: i32,
    reaches: Vec<(i32, i32)>,
    forms: Vec<Option<F32Requant>>,
}

impl ReachCheckedRows {
    fn new(rng: &mut Rng, w: &[i8], k: usize) -> Self {
        let mut params = Params::random(rng, w.len() / k);
        let zp = rng.range(-128, 127);
        let reaches = row_reaches(w, k, &params.bias);
        let fuses = f32x4_madd_fuses();
        let mut draw = || Multiplier::from_f64(10f64.powf(-4.0 + 2.0 * rng.unit())).unwrap();
        let form = |m, reach| F32Requant::for_rows(&[m], Some(&[reach]), zp, zp as i8, 127, fuses);
        for (m, &reach) in params.mult.iter_mut().zip(&reaches) {
            *m = draw();
            while form(*m, reach)[0].is_none_or(|f| f.is_fused() != fuses) {
                *m = draw();
            }
        }
        let forms = F32Requant::for_rows(&params.mult, Some(&reaches), zp, zp as i8, 127, fuses);
        assert!(forms
            .iter()
            .all(|f| f.is_some_and(|f| f.is_fused() == fuses)));
        ReachCheckedRows {
            params,
            zero_point: zp,
            reaches,
            forms,
        }
    }

    /// Every sum plus bias lies in its row's reach (`acc`: rows of `per_row` sums): what the
    /// forms' exactness rests on.
    fn assert_within_reaches(&self, acc: &[i32], per_row: usize) {
        for (i, &a) in acc.iter().enumerate() {
            let (row, (lo, hi)) = (i / per_row, self.reaches[i / per_row]);
            let v = a + self.params.bias[row];
            assert!((lo..=hi).contains(&v), "row {row}: {v} outside {lo}..={hi}");
        }
    }

    fn requant(&self) -> Requant<'_> {
        Requant {
            bias: &self.params.bias,
            multiplier: &self.params.mult,
            zero_point: self.zero_point,
            min: self.zero_point as i8,
            max: 127,
            float_forms: FloatForms::checked(
                &self.forms,
                &self.params.mult,
                self.zero_point,
                self.zero_point as i8,
                127,
            ),
        }
    }
}

#[test]
fn qs8_dwconv_padding_contributes_zero() {
    // With bias = -Z_x * sum(w), padding (read as Z_x) contributes exactly nothing: the
    // result equals the zero-padded product of (x - Z_x).
    let mut rng = Rng::new(9);
    let g = geometry(3, (9, 10), (5, 5), [2, 2], [1, 1], [1, 2, 2, 1]).expect("geometry");
    let x = rng.i8s(3 * 90);
    let w = rng.i8s(3 * 25);
    let zx = -37i8;
    let bias: Vec<i32> = (0..3)
        .map(|c| -i32::from(zx) * w[c * 25..][..25].iter().map(|&v| i32::from(v)).sum::<i32>())
        .collect();
    let (scale, fbias) = (vec![1.0f32; 3], vec![0.0f32; 3]);
    let deq = Dequant {
        bias: &bias,
        scale: &scale,
        fbias: &fbias,
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };
    let mut got = vec![0.0f32; 3 * g.out_h * g.out_w];
    qs8_dwconv_f32(&g, &x, zx, &w, &deq, &mut got);
    // x - Z_x may not fit int8: the reference centres in i32.
    let mut k = 0;
    for c in 0..3 {
        for i in 0..g.out_h {
            for j in 0..g.out_w {
                let mut sum = 0i32;
                for u in 0..5 {
                    for v in 0..5 {
                        let xv = at(&g, &x, zx, c, i, j, u, v);
                        sum += i32::from(w[c * 25 + u * 5 + v]) * (i32::from(xv) - i32::from(zx));
                    }
                }
                assert_eq!(got[k], sum as f32, "c={c} i={i} j={j}");
                k += 1;
            }
        }
    }
}

#[test]
fn im2col_int8_pads_with_zero_point() {
    let mut rng = Rng::new(10);
    for g in conv_cases(&mut rng) {
        let x = rng.i8s(g.channels * g.in_h * g.in_w);
        let pad = rng.range(-128, 127) as i8;
        let plane = g.out_h * g.out_w;
        let mut want = Vec::with_capacity(g.channels * g.kh * g.kw * plane);
        for c in 0..g.channels {
            for u in 0..g.kh {
                for v in 0..g.kw {
                    for i in 0..g.out_h {
                        for j in 0..g.out_w {
                            want.push(at(&g, &x, pad, c, i, j, u, v));
                        }
                    }
                }
            }
        }
        let mut got = vec![0x55i8; want.len()];
        im2col(&g, &x, pad, &mut got);
        assert_i8_eq(&format!("im2col {g:?}"), &got, &want);
    }
}

#[test]
fn qs8_dot_peak_counts_multiply_adds() {
    assert_eq!(qs8_dot_peak(0), 0);
    let per = qs8_dot_peak(1);
    assert!(per > 0);
    assert_eq!(qs8_dot_peak(1000), 1000 * per);
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn bench_qs8_kernels() {
    use std::time::Instant;
    fn time<F: FnMut()>(mut f: F) -> f64 {
        f();
        let mut best = f64::INFINITY;
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < 0.5 {
            let t = Instant::now();
            f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        best
    }
    let mut rng = Rng::new(6);
    for &(m, k, n) in &[
        (96, 16, 12544),
        (1152, 192, 49),
        (320, 1152, 49),
        (144, 24, 3136),
        (40, 240, 784),
        (1280, 320, 49),
        (256, 256, 256),
        (1000, 1280, 1),
    ] {
        let a = rng.i8s(m * k);
        let b = rng.i8s(k * n);
        let params = Params::random(&mut rng, m);
        let req = params.requants(&mut rng)[1];
        for uk in QGemmUkernel::all() {
            let pa = PackedQA::pack_for(uk, &a, m, k);
            let mut c = vec![0i8; m * n];
            let t = time(|| qs8_gemm(&pa, &b, n, &mut c, &req));
            let gops = 2.0 * (m * k * n) as f64 / t / 1e9;
            println!(
                "qs8_gemm {uk:?} m={m} k={k} n={n}: {:.1} us, {gops:.1} GOP/s",
                t * 1e6
            );
        }
    }
    for &(c, hw, kk, s) in DW_SHAPES {
        let g = same_geometry(c, hw, kk, s);
        let x = rng.i8s(c * hw * hw);
        let w = rng.i8s(c * kk * kk);
        let params = Params::random(&mut rng, c);
        let req = params.requants(&mut rng)[1];
        let mut y = vec![0i8; c * g.out_h * g.out_w];
        let t = time(|| qs8_dwconv(&g, &x, 3, &w, &req, &mut y));
        let gops = 2.0 * (c * g.out_h * g.out_w * kk * kk) as f64 / t / 1e9;
        println!(
            "qs8_dwconv {c}x{hw}x{hw} k={kk} s={s}: {:.1} us, {gops:.1} GOP/s",
            t * 1e6
        );
    }
}

/// EfficientNet-Lite0's depthwise layers `(channels, size, kernel, stride)` for the benchmarks.
#[allow(dead_code)]
const DW_SHAPES: &[(usize, usize, usize, usize)] = &[
    (32, 112, 3, 1),
    (96, 112, 3, 2),
    (144, 56, 3, 1),
    (144, 56, 5, 2),
    (240, 28, 5, 1),
    (672, 14, 5, 1),
    (1152, 7, 3, 1),
];

/// GOP/s of the int8 kernels in the wasm runtime (timed with `Date.now()`), and the
/// `qs8_dot_peak` ceiling.
#[cfg(target_arch = "wasm32")]
#[test]
#[ignore]
fn bench_qs8_kernels_wasm() {
    use wasm_bindgen_test::console_log;
    fn time<F: FnMut()>(mut f: F) -> f64 {
        f();
        let (start, mut runs) = (js_sys::Date::now(), 0u32);
        while js_sys::Date::now() - start < 500.0 {
            f();
            runs += 1;
        }
        (js_sys::Date::now() - start) / 1e3 / f64::from(runs)
    }
    let t = time(|| {
        qs8_dot_peak(1 << 20);
    });
    console_log!(
        "qs8_dot_peak: {:.1} GOP/s",
        2.0 * qs8_dot_peak(0).max(qs8_dot_peak(1) << 20) as f64 / t / 1e9
    );
    let mut rng = Rng::new(6);
    for &(m, k, n) in &[
        (96, 16, 12544),
        (1152, 192, 49),
        (320, 1152, 49),
        (256, 256, 256),
        (1000, 1280, 1),
    ] {
        let a = rng.i8s(m * k);
        let b = rng.i8s(k * n);
        let params = Params::random(&mut rng, m);
        let req = params.requants(&mut rng)[1];
        // The forms a model's layer gets (every row with one, as exec makes them).
        let forms = F32Requant::for_weight_rows(&params.mult, (&a, k), &params.bias, 3, -128, 127);
        let model_req = Requant {
            bias: &params.bias,
            multiplier: &params.mult,
            zero_point: 3,
            min: -128,
            max: 127,
            float_forms: FloatForms::checked(&forms, &params.mult, 3, -128, 127),
        };
        for uk in QGemmUkernel::all() {
            let pa = PackedQA::pack_for(uk, &a, m, k);
            let mut c = vec![0i8; m * n];
            let t = time(|| qs8_gemm(&pa, &b, n, &mut c, &req));
            let gops = 2.0 * (m * k * n) as f64 / t / 1e9;
            let t = time(|| qs8_gemm(&pa, &b, n, &mut c, &model_req));
            let model = 2.0 * (m * k * n) as f64 / t / 1e9;
            console_log!(
                "qs8_gemm {uk:?} m={m} k={k} n={n}: {gops:.1} GOP/s (a model's forms {model:.1})"
            );
        }
    }
    for &(c, hw, kk, s) in DW_SHAPES {
        let g = same_geometry(c, hw, kk, s);
        let x = rng.i8s(c * hw * hw);
        let w = rng.i8s(c * kk * kk);
        let params = Params::random(&mut rng, c);
        let req = params.requants(&mut rng)[1];
        let mut y = vec![0i8; c * g.out_h * g.out_w];
        let t = time(|| qs8_dwconv(&g, &x, 3, &w, &req, &mut y));
        let gops = 2.0 * (c * g.out_h * g.out_w * kk * kk) as f64 / t / 1e9;
        let mut yf = vec![0f32; c * g.out_h * g.out_w];
        let deq = params.dequants()[1];
        let tf = time(|| qs8_dwconv_f32(&g, &x, 3, &w, &deq, &mut yf));
        let gops_f = gops * t / tf;
        console_log!(
            "qs8_dwconv {c}x{hw}x{hw} k={kk} s={s}: {gops:.1} GOP/s (f32 output {gops_f:.1})"
        );
    }
}

/// int8 depthwise on every EfficientNet-Lite0 layer shape in the wasm runtime, timed as the
/// best of ~20 ms batches (robust to a shared machine), and the network's depthwise total.
#[cfg(target_arch = "wasm32")]
#[test]
#[ignore]
fn bench_qs8_dwconv_lite0_wasm() {
    use wasm_bindgen_test::console_log;
    fn best<F: FnMut()>(mut f: F) -> f64 {
        f();
        let start = js_sys::Date::now();
        let mut k = 1u32;
        loop {
            let t0 = js_sys::Date::now();
            for _ in 0..k {
                f();
            }
            if js_sys::Date::now() - t0 >= 20.0 || k >= 1 << 20 {
                break;
            }
            k *= 2;
        }
        let mut best = f64::INFINITY;
        while js_sys::Date::now() - start < 800.0 {
            let t0 = js_sys::Date::now();
            for _ in 0..k {
                f();
            }
            best = best.min((js_sys::Date::now() - t0) / f64::from(k));
        }
        best / 1e3
    }
    let mut rng = Rng::new(11);
    let (mut total, mut total_f, mut total_p) = (0.0, 0.0, 0.0);
    for &(c, hw, kk, s, count) in quantscope::wasm::LITE0_DEPTHWISE_LAYERS {
        let g = same_geometry(c, hw, kk, s);
        let x = rng.i8s(c * hw * hw);
        let w = rng.i8s(c * kk * kk);
        let params = Params::random(&mut rng, c);
        // ReLU-like clamp, every row with the form the executor would give it.
        let req = params.requants(&mut rng)[1];
        let forms = F32Requant::for_rows(
            req.multiplier,
            Some(&row_reaches(&w, kk * kk, req.bias)),
            req.zero_point,
            req.min,
            req.max,
            f32x4_madd_fuses(),
        );
        let req = Requant {
            float_forms: FloatForms::checked(
                &forms,
                req.multiplier,
                req.zero_point,
                req.min,
                req.max,
            ),
            ..req
        };
        let mut y = vec![0i8; c * g.out_h * g.out_w];
        // Filters prepared once, as a model's layer is.
        let filters = Qs8DwFilters::new(&g, &w);
        let t = best(|| qs8_dwconv_prepared(&g, &x, 3, &filters, &req, &mut y));
        let deq = params.dequants()[1];
        let mut yf = vec![0f32; c * g.out_h * g.out_w];
        let tf = best(|| qs8_dwconv_f32(&g, &x, 3, &w, &deq, &mut yf));
        // The pair kernel beside the usdot kernel that qs8_dwconv picks where it runs.
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        let tp = best(|| {
            quantscope::kernels::qs8_dwconv::qs8_dwconv_simd128(&g, &x, 3, &w, &req, &mut y)
        });
        #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
        let tp = t;
        let ops = 2.0 * (c * g.out_h * g.out_w * kk * kk) as f64;
        total += t * count as f64;
        total_f += tf * count as f64;
        total_p += tp * count as f64;
        console_log!(
            "lite0 dw {c}x{hw}x{hw} k={kk} s={s} (x{count}): {:.3} ms {:.1} GOP/s (pair kernel {:.1}, f32 output {:.1})",
            t * 1e3,
            ops / t / 1e9,
            ops / tp / 1e9,
            ops / tf / 1e9
        );
    }
    console_log!(
        "lite0 dw total: {:.2} ms (pair kernel {:.2} ms, f32 output {:.2} ms)",
        total * 1e3,
        total_p * 1e3,
        total_f * 1e3
    );
}

/// The f32 -> int8 conversions against `QuantParams::quantize` and `quantize_slice` (the
/// scalar twins are those): rounding ties, values beyond the range, infinities, NaN, odd lengths.
#[test]
fn f32_qs8_vcvt_matches_quantize() {
    let mut rng = Rng::new(21);
    for (min, max, range) in [
        (-2.0f32, 2.5, QuantRange::FULL),
        (0.0, 6.0, QuantRange::FULL),
        (-1.0, 1.0, QuantRange::NARROW),
    ] {
        let p = QuantParams::asymmetric(min, max, range);
        let mut src: Vec<f32> = (0..1001)
            .map(|i| match i % 5 {
                // Exactly on and next to rounding ties.
                0 => (rng.range(-140, 140) as f32 + 0.5) * p.scale,
                1 => f32::from_bits(((rng.range(-140, 140) as f32 + 0.5) * p.scale).to_bits() + 1),
                2 => (rng.unit() as f32 * 2.0 - 1.0) * 4.0 * max.abs().max(min.abs()),
                3 => (rng.unit() as f32 - 0.5) * 1e9,
                _ => (rng.unit() as f32 * (max - min)) + min,
            })
            .collect();
        src.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            f32::MAX,
            f32::MIN,
        ]);
        for len in [0, 1, 7, 8, 9, 63, src.len()] {
            let src = &src[..len];
            let want: Vec<i8> = src.iter().map(|&r| p.quantize(r)).collect();
            let mut want_recip = vec![0i8; len];
            p.quantize_slice(src, &mut want_recip);
            for (scaling, want) in [(Scaling::Divide, &want), (Scaling::Reciprocal, &want_recip)] {
                let mut got = vec![0x55i8; len];
                f32_qs8_vcvt(&p, scaling, src, &mut got);
                assert_eq!(&got, want, "{scaling:?} {range:?} [{min}, {max}] len {len}");
                f32_qs8_vcvt_scalar(&p, scaling, src, &mut got);
                assert_eq!(&got, want, "scalar {scaling:?} {range:?} len {len}");
            }
        }
    }
}

/// The range scan of dynamic quantization against `f32::min`/`f32::max` folds: NaN ignored,
/// infinities kept, odd lengths, empty.
#[test]
fn f32_rminmax_matches_the_fold() {
    let fold = |x: &[f32]| {
        x.iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    };
    let mut rng = Rng::new(23);
    let mut x: Vec<f32> = (0..1001)
        .map(|_| ((rng.unit() - 0.5) * 200.0) as f32)
        .collect();
    for len in [0, 1, 7, 8, 9, 64, 1001] {
        let got = f32_rminmax(&x[..len]);
        let want = x[..len]
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        assert_eq!(got, want, "len {len}");
        assert_eq!(f32_rminmax_scalar(&x[..len]), want, "scalar len {len}");
    }
    // NaN anywhere is skipped; infinities count; all-NaN gives the empty range.
    x[3] = f32::NAN;
    x[500] = f32::NAN;
    let finite = f32_rminmax(&x);
    assert!(finite.0.is_finite() && finite.1.is_finite(), "{finite:?}");
    assert_eq!(finite, fold(&x));
    x[700] = f32::INFINITY;
    x[9] = f32::NEG_INFINITY;
    assert_eq!(f32_rminmax(&x), (f32::NEG_INFINITY, f32::INFINITY));
    assert_eq!(
        f32_rminmax(&[f32::NAN; 17]),
        (f32::INFINITY, f32::NEG_INFINITY)
    );
}
