//! int8 Mul: the scalar kernel against the real-valued product (within one code), and the
//! kernel (SIMD128 on wasm32+simd128) against the scalar one, bit for bit, on random scales,
//! zero points, block sizes and odd lengths.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::qs8_mul::{qs8_mul, qs8_mul_scalar, QMul};
use quantscope::quant::Multiplier;

#[path = "common/xorshift.rs"]
mod xorshift;
use xorshift::Rng;

/// Scales `(S_a, S_b, S_y)`, zero points, and the kernel's constants.
fn params(rng: &mut Rng) -> (QMul, [f64; 3], [i32; 3]) {
    let s = [
        10f64.powf(-3.0 + 2.0 * rng.unit()),
        10f64.powf(-3.0 + 2.0 * rng.unit()),
        10f64.powf(-4.0 + 2.0 * rng.unit()),
    ];
    let z = [rng.i8() as i32, rng.i8() as i32, rng.i8() as i32];
    let p = QMul {
        a_zero: z[0],
        b_zero: z[1],
        out: (Multiplier::from_f64(s[0] * s[1] / s[2]).unwrap(), z[2]),
        clamp: (i8::MIN, i8::MAX),
    };
    (p, s, z)
}

#[test]
fn scalar_mul_is_the_real_product_within_one_code() {
    let mut rng = Rng(0x5eed);
    for _ in 0..200 {
        let (p, s, z) = params(&mut rng);
        let (a, b) = (rng.bytes(64), rng.bytes(8));
        let mut y = vec![0i8; 64];
        qs8_mul_scalar(&p, &a, &b, 8, &mut y);
        for i in 0..64 {
            let real = s[0] * (a[i] as i32 - z[0]) as f64 * s[1] * (b[i / 8] as i32 - z[1]) as f64;
            let want = (z[2] as f64 + real / s[2]).round().clamp(-128.0, 127.0);
            assert!(
                (y[i] as f64 - want).abs() <= 1.0,
                "{p:?}: {} -> {want}",
                y[i]
            );
        }
    }
}

#[test]
fn mul_kernel_matches_scalar_bit_for_bit() {
    let mut rng = Rng(0x3a1);
    for (len, block) in [
        (0, 1),
        (1, 1),
        (17, 1),
        (100, 1),
        (49 * 8, 49),
        (64, 16),
        (1000, 1000),
        (37, 5),
    ] {
        for _ in 0..20 {
            let (p, _, _) = params(&mut rng);
            let a = rng.bytes(len);
            let b = rng.bytes(len.div_ceil(block).max(1));
            let (mut want, mut got) = (vec![0i8; len], vec![0i8; len]);
            qs8_mul_scalar(&p, &a, &b, block, &mut want);
            qs8_mul(&p, &a, &b, block, &mut got);
            assert_eq!(got, want, "{p:?} len {len} block {block}");
        }
    }
}
