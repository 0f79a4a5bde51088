//! int8 Add: the scalar kernel against the real-valued sum (within one code), and the table
//! of results (the kernel) against the scalar kernel on every pair of codes and on tensors
//! split across threads.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::qs8_add::{qs8_add, qs8_add_scalar, QAdd, QAddTable};
use quantscope::quant::Multiplier;

#[path = "common/xorshift.rs"]
mod xorshift;
use xorshift::Rng;

/// Scales `(S_a, S_b, S_y)` and zero points, as the lowering builds them.
fn params(rng: &mut Rng) -> (QAdd, [f64; 3], [i32; 3]) {
    let s = [
        10f64.powf(-3.0 + 2.0 * rng.unit()),
        10f64.powf(-3.0 + 2.0 * rng.unit()),
        10f64.powf(-2.5 + 2.0 * rng.unit()),
    ];
    let z = [rng.i8() as i32, rng.i8() as i32, rng.i8() as i32];
    let twice_max = 2.0 * s[0].max(s[1]);
    let m = |v: f64| Multiplier::from_f64(v).unwrap();
    let p = QAdd {
        a: (m(s[0] / twice_max), z[0]),
        b: (m(s[1] / twice_max), z[1]),
        out: (m(twice_max / ((1u64 << 20) as f64 * s[2])), z[2]),
        left_shift: 20,
        clamp: (i8::MIN, i8::MAX),
    };
    (p, s, z)
}

#[test]
fn scalar_add_is_the_real_sum_within_one_code() {
    let mut rng = Rng(0x5eed);
    for _ in 0..200 {
        let (p, s, z) = params(&mut rng);
        let a: Vec<i8> = (0..64).map(|_| rng.i8()).collect();
        let b: Vec<i8> = (0..64).map(|_| rng.i8()).collect();
        let mut y = vec![0i8; 64];
        qs8_add_scalar(&p, &a, &b, &mut y);
        for i in 0..64 {
            let real = s[0] * (a[i] as i32 - z[0]) as f64 + s[1] * (b[i] as i32 - z[1]) as f64;
            let want = (z[2] as f64 + real / s[2]).round().clamp(-128.0, 127.0);
            assert!(
                (y[i] as f64 - want).abs() <= 1.0,
                "{p:?}: a {} b {} -> {} want {want}",
                a[i],
                b[i],
                y[i]
            );
        }
    }
}

#[test]
fn the_add_table_holds_every_pairs_result() {
    let mut rng = Rng(0x7ab1e);
    for _ in 0..4 {
        let (p, _, _) = params(&mut rng);
        let table = QAddTable::new(&p);
        for a in i8::MIN..=i8::MAX {
            for b in i8::MIN..=i8::MAX {
                assert_eq!(table.get(a, b), p.apply(a, b), "{p:?}: a {a} b {b}");
            }
        }
        // The table kernel over tensors (odd lengths, and long enough to split in threads).
        for len in [0usize, 1, 17, 20_000] {
            let a: Vec<i8> = (0..len).map(|_| rng.i8()).collect();
            let b: Vec<i8> = (0..len).map(|_| rng.i8()).collect();
            let (mut want, mut got) = (vec![0i8; len], vec![0i8; len]);
            qs8_add_scalar(&p, &a, &b, &mut want);
            qs8_add(&table, &a, &b, &mut got);
            assert_eq!(got, want, "len {len}, {p:?}");
        }
    }
}
