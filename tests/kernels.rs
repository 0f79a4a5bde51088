//! Kernel tests: every variant against naive reference loops written here, on random shapes
//! including odd sizes, with and without bias and clamps. On wasm32+simd128 the scalar and
//! SIMD128 variants are also compared with each other.
//!
//! Benchmarks (native, ignored): `cargo test --release --test kernels -- --ignored --nocapture`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::f32_dwconv::{f32_dwconv, f32_dwconv_scalar};
use quantscope::kernels::f32_gemm::{f32_gemm, GemmUkernel, PackedA};
use quantscope::kernels::f32_im2col::f32_im2col;
use quantscope::kernels::{ConvGeometry, Epilogue};

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
    /// Uniform in [-1, 1).
    fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.f32()).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Asserts `got` matches `want` to relative 1e-5 of the magnitude of the summed terms
/// (`scale[i]` = sum of |products|), which is what reordering a float sum can change.
fn assert_close(what: &str, got: &[f32], want: &[f32], scale: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = 1e-5 * s.max(1.0);
        assert!(
            (g - w).abs() <= tol,
            "{what}: element {i}: got {g}, want {w} (tol {tol})"
        );
    }
}

/// The epilogues tried on every shape: none, bias, bias + ReLU6, clamp only.
fn epilogues(bias: &[f32]) -> Vec<Epilogue<'_>> {
    vec![
        Epilogue::NONE,
        Epilogue {
            bias: Some(bias),
            ..Epilogue::NONE
        },
        Epilogue {
            bias: Some(bias),
            min: 0.0,
            max: 6.0,
        },
        Epilogue {
            bias: None,
            min: -0.5,
            max: 0.25,
        },
    ]
}

fn epi_ref(epi: &Epilogue, row: usize, acc: f64) -> f32 {
    let v = acc as f32 + epi.bias.map_or(0.0, |b| b[row]);
    v.max(epi.min).min(epi.max)
}

/// Naive GEMM in f64, with the per-element scale for the tolerance.
fn gemm_ref(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    epi: &Epilogue,
) -> (Vec<f32>, Vec<f32>) {
    let mut c = vec![0.0; m * n];
    let mut scale = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut acc, mut s) = (0.0f64, 0.0f64);
            for p in 0..k {
                let t = a[i * k + p] as f64 * b[p * n + j] as f64;
                acc += t;
                s += t.abs();
            }
            c[i * n + j] = epi_ref(epi, i, acc);
            scale[i * n + j] = s as f32 + epi.bias.map_or(0.0, |b| b[i].abs());
        }
    }
    (c, scale)
}

fn check_gemm(rng: &mut Rng, m: usize, k: usize, n: usize) {
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let bias = rng.vec(m);
    for epi in epilogues(&bias) {
        let (want, scale) = gemm_ref(&a, &b, m, k, n, &epi);
        let mut results = Vec::new();
        for &uk in GemmUkernel::ALL {
            let pa = PackedA::pack_for(uk, &a, m, k);
            assert_eq!((pa.m(), pa.k(), pa.ukernel()), (m, k, uk));
            let mut c = vec![f32::NAN; m * n];
            f32_gemm(&pa, &b, n, &mut c, &epi);
            assert_close(
                &format!("gemm {uk:?} m={m} k={k} n={n} {epi:?}"),
                &c,
                &want,
                &scale,
            );
            results.push(c);
        }
        // The default packing is one of the above.
        let mut c = vec![f32::NAN; m * n];
        f32_gemm(&PackedA::pack(&a, m, k), &b, n, &mut c, &epi);
        assert_close("gemm default", &c, &want, &scale);
        // Variants agree with each other (scalar vs SIMD128 on wasm).
        for r in &results[1..] {
            assert_close("gemm variants", r, &results[0], &scale);
        }
    }
}

#[test]
fn gemm_odd_shapes() {
    let mut rng = Rng::new(1);
    let sizes = [1, 3, 7, 17, 33, 100];
    for &m in &sizes {
        for &k in &sizes {
            for &n in &sizes {
                check_gemm(&mut rng, m, k, n);
            }
        }
    }
}

#[test]
fn gemm_blocking_edges() {
    // Shapes crossing the KC/MC/NC block boundaries and the n == 1 (GEMV) path.
    let mut rng = Rng::new(2);
    for &(m, k, n) in &[
        (97, 257, 49),
        (13, 600, 515),
        (200, 16, 1100),
        (1000, 300, 1),
        (5, 1, 9),
        (1, 513, 1),
        (37, 255, 2),
    ] {
        check_gemm(&mut rng, m, k, n);
    }
}

#[test]
fn gemm_random_shapes() {
    let mut rng = Rng::new(3);
    for _ in 0..40 {
        let (m, k, n) = (1 + rng.below(70), 1 + rng.below(300), 1 + rng.below(90));
        check_gemm(&mut rng, m, k, n);
    }
}

/// Naive `MR x NR` tile from k-major panels.
fn tile_ref<const MR: usize, const NR: usize>(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    let mut t = [[0.0f32; NR]; MR];
    for p in 0..a.len() / MR {
        for r in 0..MR {
            for j in 0..NR {
                t[r][j] = (t[r][j] as f64 + a[p * MR + r] as f64 * b[p * NR + j] as f64) as f32;
            }
        }
    }
    t
}

fn assert_tiles_close<const MR: usize, const NR: usize>(
    what: &str,
    got: &[[f32; NR]; MR],
    want: &[[f32; NR]; MR],
    kc: usize,
) {
    let (g, w): (Vec<f32>, Vec<f32>) = (got.concat(), want.concat());
    assert_close(what, &g, &w, &vec![kc as f32; g.len()]);
}

#[test]
fn gemm_microkernels_match_naive() {
    use quantscope::kernels::f32_gemm::{f32_gemm_4x8_scalar, f32_gemm_6x16_scalar};
    let mut rng = Rng::new(7);
    for kc in [0, 1, 2, 5, 16, 67, 256] {
        let (a4, b8) = (rng.vec(kc * 4), rng.vec(kc * 8));
        let want = tile_ref::<4, 8>(&a4, &b8);
        let scalar = f32_gemm_4x8_scalar(&a4, &b8);
        assert_tiles_close("4x8 scalar", &scalar, &want, kc);
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let simd = quantscope::kernels::f32_gemm::f32_gemm_4x8_simd128(&a4, &b8);
            assert_tiles_close("4x8 simd128", &simd, &want, kc);
            assert_tiles_close("4x8 scalar vs simd128", &simd, &scalar, kc);
        }
        let (a6, b16) = (rng.vec(kc * 6), rng.vec(kc * 16));
        let want = tile_ref::<6, 16>(&a6, &b16);
        assert_tiles_close("6x16 scalar", &f32_gemm_6x16_scalar(&a6, &b16), &want, kc);
    }
}

#[test]
fn gemm_ukernel_shapes() {
    for &uk in GemmUkernel::ALL {
        assert!(uk.mr() > 0 && uk.nr() > 0);
    }
    assert!(GemmUkernel::ALL.contains(&GemmUkernel::DEFAULT));
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    assert_eq!(GemmUkernel::DEFAULT, GemmUkernel::Simd128x4x8);
}

#[test]
fn dwconv_efficientnet_like() {
    // TF-style SAME padding (extra pad at the bottom/right) on larger planes, many channels.
    let mut rng = Rng::new(8);
    for &(c, hw, k, s) in &[
        (16, 40, 3, 1),
        (24, 40, 3, 2),
        (10, 28, 5, 2),
        (12, 14, 5, 1),
        (20, 7, 3, 1),
    ] {
        let (c, hw, k, s): (usize, usize, usize, usize) = (c, hw, k, s);
        let total = ((hw.div_ceil(s) - 1) * s + k).saturating_sub(hw);
        let pads = [total / 2, total / 2, total - total / 2, total - total / 2];
        let g = geometry(c, (hw, hw), (k, k), [s, s], [1, 1], pads).unwrap();
        assert_eq!((g.out_h, g.out_w), (hw.div_ceil(s), hw.div_ceil(s)));
        let input = rng.vec(c * hw * hw);
        let weights = rng.vec(c * k * k);
        let bias = rng.vec(c);
        let epi = Epilogue {
            bias: Some(&bias),
            min: 0.0,
            max: 6.0,
        };
        let mut got = vec![0.0; c * g.out_h * g.out_w];
        f32_dwconv(&g, &input, &weights, &epi, &mut got);
        // Reference: the naive loop of the original contract.
        for ch in 0..c {
            for i in 0..g.out_h {
                for j in 0..g.out_w {
                    let mut acc = 0.0f64;
                    for u in 0..k {
                        for v in 0..k {
                            acc += weights[(ch * k + u) * k + v] as f64
                                * at(&g, &input, ch, i, j, u, v) as f64;
                        }
                    }
                    let want = epi_ref(&epi, ch, acc);
                    let got = got[(ch * g.out_h + i) * g.out_w + j];
                    assert!(
                        (got - want).abs() <= 1e-5 * (k * k) as f32,
                        "c={ch} i={i} j={j}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn gemm_empty() {
    let bias = [1.0, 2.0];
    let epi = Epilogue {
        bias: Some(&bias),
        min: 0.0,
        max: 1.5,
    };
    let pa = PackedA::pack(&[], 2, 0);
    let mut c = vec![0.0; 6];
    f32_gemm(&pa, &[], 3, &mut c, &epi);
    assert_eq!(c, [1.0, 1.0, 1.0, 1.5, 1.5, 1.5]);
    let pa = PackedA::pack(&[1.0; 6], 2, 3);
    f32_gemm(&pa, &[], 0, &mut [], &epi);
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

/// Input value at padded position, zero outside.
fn at(g: &ConvGeometry, input: &[f32], c: usize, i: usize, j: usize, u: usize, v: usize) -> f32 {
    let y = (i * g.stride[0] + u * g.dilation[0]) as isize - g.pad[0] as isize;
    let x = (j * g.stride[1] + v * g.dilation[1]) as isize - g.pad[1] as isize;
    if y < 0 || x < 0 || y as usize >= g.in_h || x as usize >= g.in_w {
        0.0
    } else {
        input[(c * g.in_h + y as usize) * g.in_w + x as usize]
    }
}

/// The geometries tried for depthwise and im2col: 1x1/3x3/5x5 (and a 3x5), strides 1 and 2,
/// asymmetric pads, dilation 2, odd sizes.
fn conv_cases(rng: &mut Rng) -> Vec<ConvGeometry> {
    let mut out = Vec::new();
    for &(kh, kw) in &[(1, 1), (3, 3), (5, 5), (3, 5)] {
        for &s in &[1, 2] {
            for &d in &[1, 2] {
                for &(h, w) in &[(1, 1), (7, 7), (8, 13), (17, 10), (33, 34)] {
                    for pads in [
                        [0, 0, 0, 0],
                        [kh / 2, kw / 2, kh / 2, kw / 2],
                        [0, 1, 2, 0],
                        [2, 0, 1, 3],
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
    out
}

#[test]
fn dwconv_matches_reference() {
    let mut rng = Rng::new(4);
    for g in conv_cases(&mut rng) {
        let input = rng.vec(g.channels * g.in_h * g.in_w);
        let weights = rng.vec(g.channels * g.kh * g.kw);
        let bias = rng.vec(g.channels);
        for epi in epilogues(&bias) {
            let plane = g.out_h * g.out_w;
            let (mut want, mut scale) =
                (vec![0.0; g.channels * plane], vec![0.0; g.channels * plane]);
            for c in 0..g.channels {
                for i in 0..g.out_h {
                    for j in 0..g.out_w {
                        let (mut acc, mut s) = (0.0f64, 0.0f64);
                        for u in 0..g.kh {
                            for v in 0..g.kw {
                                let t = weights[(c * g.kh + u) * g.kw + v] as f64
                                    * at(&g, &input, c, i, j, u, v) as f64;
                                acc += t;
                                s += t.abs();
                            }
                        }
                        want[c * plane + i * g.out_w + j] = epi_ref(&epi, c, acc);
                        scale[c * plane + i * g.out_w + j] = s as f32 + bias[c].abs();
                    }
                }
            }
            let mut got = vec![f32::NAN; want.len()];
            f32_dwconv(&g, &input, &weights, &epi, &mut got);
            assert_close(&format!("dwconv {g:?} {epi:?}"), &got, &want, &scale);
            let mut scalar = vec![f32::NAN; want.len()];
            f32_dwconv_scalar(&g, &input, &weights, &epi, &mut scalar);
            assert_close(&format!("dwconv scalar {g:?}"), &scalar, &want, &scale);
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                let mut simd = vec![f32::NAN; want.len()];
                quantscope::kernels::f32_dwconv::f32_dwconv_simd128(
                    &g, &input, &weights, &epi, &mut simd,
                );
                assert_close(&format!("dwconv simd128 {g:?}"), &simd, &want, &scale);
                assert_close("dwconv scalar vs simd128", &simd, &scalar, &scale);
            }
        }
    }
}

#[test]
fn im2col_matches_reference() {
    let mut rng = Rng::new(5);
    for g in conv_cases(&mut rng) {
        let input = rng.vec(g.channels * g.in_h * g.in_w);
        let plane = g.out_h * g.out_w;
        let mut want = vec![0.0; g.channels * g.kh * g.kw * plane];
        for c in 0..g.channels {
            for u in 0..g.kh {
                for v in 0..g.kw {
                    for i in 0..g.out_h {
                        for j in 0..g.out_w {
                            want[((c * g.kh + u) * g.kw + v) * plane + i * g.out_w + j] =
                                at(&g, &input, c, i, j, u, v);
                        }
                    }
                }
            }
        }
        let mut got = vec![f32::NAN; want.len()];
        f32_im2col(&g, &input, &mut got);
        assert_eq!(got, want, "im2col {g:?}");
    }
}

/// Native micro-benchmark (GFLOP/s); no assertions on timing.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn bench_kernels() {
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
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        let bias = rng.vec(m);
        let epi = Epilogue {
            bias: Some(&bias),
            min: 0.0,
            max: 6.0,
        };
        for &uk in GemmUkernel::ALL {
            let pa = PackedA::pack_for(uk, &a, m, k);
            let mut c = vec![0.0; m * n];
            let t = time(|| f32_gemm(&pa, &b, n, &mut c, &epi));
            let gflops = 2.0 * (m * k * n) as f64 / t / 1e9;
            println!(
                "gemm {uk:?} m={m} k={k} n={n}: {:.1} us, {gflops:.1} GFLOP/s",
                t * 1e6
            );
        }
    }
    for &(c, hw, kk, s) in &[
        (32, 112, 3, 1),
        (96, 112, 3, 2),
        (144, 56, 3, 1),
        (144, 56, 5, 2),
        (240, 28, 5, 1),
        (672, 14, 5, 1),
        (1152, 7, 3, 1),
    ] {
        let g = geometry(c, (hw, hw), (kk, kk), [s, s], [1, 1], [kk / 2; 4]).unwrap();
        let input = rng.vec(c * hw * hw);
        let w = rng.vec(c * kk * kk);
        let bias = rng.vec(c);
        let epi = Epilogue {
            bias: Some(&bias),
            min: 0.0,
            max: 6.0,
        };
        let mut out = vec![0.0; c * g.out_h * g.out_w];
        let t = time(|| f32_dwconv(&g, &input, &w, &epi, &mut out));
        let gflops = 2.0 * (c * g.out_h * g.out_w * kk * kk) as f64 / t / 1e9;
        println!(
            "dwconv c={c} {hw}x{hw} k={kk} s={s}: {:.1} us, {gflops:.1} GFLOP/s",
            t * 1e6
        );
    }
    let g = geometry(3, (224, 224), (3, 3), [2, 2], [1, 1], [0, 0, 1, 1]).unwrap();
    let input = rng.vec(3 * 224 * 224);
    let mut cols = vec![0.0; 27 * g.out_h * g.out_w];
    let t = time(|| f32_im2col(&g, &input, &mut cols));
    println!("im2col stem 3x224x224 3x3 s2: {:.1} us", t * 1e6);
}

/// `f32x4.relaxed_madd` rounds once or twice, as the probe behind `f32x4_madd_fuses` says
/// (the int8 output stage's fused float form relies on it), on every input tried: the probe's
/// one case stands for the engine's behaviour on all of them.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[test]
fn relaxed_madd_rounds_as_probed() {
    use core::arch::wasm32::*;
    use quantscope::kernels::f32x4_madd_fuses;
    use quantscope::quant::f32_requant::fused_mul_add;
    let fuses = f32x4_madd_fuses();
    wasm_bindgen_test::console_log!("f32x4.relaxed_madd fuses: {fuses}");
    let mut rng = Rng::new(17);
    let mut differ = 0;
    for _ in 0..20_000 {
        // The output stage's operands: an integer, a scale in [1e-6, 3), MAGIC + zero point.
        let x: [f32; 4] =
            core::array::from_fn(|_| ((rng.next_u64() >> 39) as i64 - (1 << 24)) as f32);
        let s = 10f32.powf(3.25 * rng.f32() - 2.75);
        let off = 12_582_912.0 + (rng.next_u64() % 256) as f32 - 128.0;
        // SAFETY: 4 f32 are 16 bytes; the load accepts unaligned pointers.
        let vx = unsafe { v128_load(x.as_ptr().cast()) };
        let got = f32x4_relaxed_madd(vx, f32x4_splat(s), f32x4_splat(off));
        for (l, &xl) in x.iter().enumerate() {
            let lane = f32::from_bits(match l {
                0 => i32x4_extract_lane::<0>(got),
                1 => i32x4_extract_lane::<1>(got),
                2 => i32x4_extract_lane::<2>(got),
                _ => i32x4_extract_lane::<3>(got),
            } as u32);
            let (once, twice) = (fused_mul_add(xl, s, off), xl * s + off);
            differ += usize::from(once != twice);
            assert_eq!(lane, if fuses { once } else { twice }, "{xl} * {s} + {off}");
        }
    }
    // The two roundings differ on some of these inputs, so the comparison tells them apart.
    assert!(differ > 100, "{differ}");
}
