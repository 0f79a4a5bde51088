//! The int8 lookup kernel: every code through a random table, on odd lengths; the SIMD128
//! kernel (wasm32+simd128) against the scalar one bit for bit.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::qs8_lut::{qs8_lut, qs8_lut_scalar};

#[path = "common/xorshift.rs"]
mod xorshift;

fn bytes(seed: u64, n: usize) -> Vec<i8> {
    xorshift::Rng(seed).bytes(n)
}

#[test]
fn lookup_gives_the_table_entry_of_every_code() {
    let table: [i8; 256] = bytes(1, 256).try_into().unwrap();
    // Every code, in order, then random codes at lengths around the 16-lane step.
    let every: Vec<i8> = (0..=255u8).map(|c| c as i8).collect();
    let mut y = vec![0; 256];
    qs8_lut(&table, &every, &mut y);
    for (c, &v) in every.iter().zip(&y) {
        assert_eq!(v, table[*c as u8 as usize], "code {c}");
    }
    for n in [0, 1, 15, 16, 17, 31, 33, 100, 1000] {
        let x = bytes(n as u64 + 7, n);
        let (mut fast, mut slow) = (vec![0; n], vec![0; n]);
        qs8_lut(&table, &x, &mut fast);
        qs8_lut_scalar(&table, &x, &mut slow);
        assert_eq!(fast, slow, "length {n}");
        assert!(slow
            .iter()
            .zip(&x)
            .all(|(&v, &c)| v == table[c as u8 as usize]));
    }
}
