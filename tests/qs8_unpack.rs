//! Low-bit weight containers: pack/unpack round trips, the panel and row-major decoders against
//! reference loops written here (plain index arithmetic), and on wasm32+simd128 the SIMD128
//! panel decoder against the scalar one, bit for bit. Random codes and tables (full i8 range).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use quantscope::kernels::qs8_unpack::{
    pack_codes, qs8_panel_decode, qs8_panel_decode_scalar, qs8_rows_decode, unpack_codes, CodeBits,
    PanelLuts,
};

/// xorshift: deterministic on every target.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// `len` codes below `2^bits`.
    fn codes(&mut self, len: usize, bits: CodeBits) -> Vec<u8> {
        let n = 1u64 << bits.bits();
        (0..len).map(|_| (self.next() % n) as u8).collect()
    }
    fn table(&mut self) -> [i8; 16] {
        core::array::from_fn(|_| self.next() as i8)
    }
}

const WIDTHS: [CodeBits; 2] = [CodeBits::Two, CodeBits::Four];

/// The layout written out: code `i` at byte `i / (8 / bits)`, bit `(i % (8 / bits)) * bits`.
fn code_ref(packed: &[u8], bits: u32, i: usize) -> usize {
    let per = (8 / bits) as usize;
    let byte = packed[i / per];
    usize::from((byte >> ((i % per) as u32 * bits)) & ((1u8 << bits) - 1))
}

#[test]
fn pack_unpack_round_trip() {
    let mut rng = Rng::new(1);
    for bits in WIDTHS {
        let b = bits.bits();
        let per = (8 / b) as usize;
        for len in 0..70 {
            let codes = rng.codes(len, bits);
            let packed = pack_codes(&codes, bits);
            assert_eq!(packed.len(), len.div_ceil(per), "{bits:?} len {len}");
            for (i, &c) in codes.iter().enumerate() {
                assert_eq!(
                    code_ref(&packed, b, i),
                    usize::from(c),
                    "{bits:?} len {len} i {i}"
                );
            }
            // Trailing bits of the last byte are zero.
            if len % per != 0 {
                let used = (len % per) as u32 * b;
                assert_eq!(packed[len / per] >> used, 0, "{bits:?} len {len} tail");
            }
            assert_eq!(
                unpack_codes(&packed, bits, len),
                codes,
                "{bits:?} len {len}"
            );
            // A prefix unpacks from the same bytes.
            let half = len / 2;
            assert_eq!(
                unpack_codes(&packed, bits, half),
                codes[..half],
                "{bits:?} {len}"
            );
        }
    }
}

/// Random tables for a 4-row panel; the first one also gets the extremes.
fn random_luts(rng: &mut Rng) -> PanelLuts {
    let mut luts: PanelLuts = core::array::from_fn(|_| rng.table());
    luts[0][0] = -128;
    luts[0][1] = 127;
    luts
}

/// `out[pos] = luts[row][code]` with `row = (pos / 2) % 4`, spelled out.
fn panel_ref(codes: &[u8], luts: &PanelLuts) -> Vec<i16> {
    let mut out = vec![0i16; codes.len()];
    for p in 0..codes.len() / 8 {
        for (r, lut) in luts.iter().enumerate() {
            for t in 0..2 {
                let pos = (p * 4 + r) * 2 + t;
                out[pos] = lut[codes[pos] as usize] as i16;
            }
        }
    }
    out
}

#[test]
fn panel_decode_matches_reference() {
    let mut rng = Rng::new(2);
    for bits in WIDTHS {
        for len in (8..=200).step_by(8) {
            for _ in 0..3 {
                let codes = rng.codes(len, bits);
                let luts = random_luts(&mut rng);
                let want = panel_ref(&codes, &luts);
                let mut packed = pack_codes(&codes, bits);
                let mut out = vec![i16::MIN; len];
                qs8_panel_decode_scalar(&packed, bits, &luts, &mut out);
                assert_eq!(out, want, "scalar {bits:?} len {len}");
                let mut out = vec![i16::MIN; len];
                qs8_panel_decode(&packed, bits, &luts, &mut out);
                assert_eq!(out, want, "dispatch {bits:?} len {len}");
                // Bytes past the codes are not read.
                packed.extend_from_slice(&[0xA5; 9]);
                let mut out = vec![i16::MIN; len];
                qs8_panel_decode(&packed, bits, &luts, &mut out);
                assert_eq!(out, want, "dispatch {bits:?} len {len} longer packed");
            }
        }
    }
}

/// `out[pos] = luts[row][code]` with `row = (pos / 4) % 4` (int8 k quads), spelled out.
fn panel_ref_c4(codes: &[u8], luts: &PanelLuts) -> Vec<i8> {
    let mut out = vec![0i8; codes.len()];
    for q in 0..codes.len() / 16 {
        for (r, lut) in luts.iter().enumerate() {
            for t in 0..4 {
                let pos = (q * 4 + r) * 4 + t;
                out[pos] = lut[codes[pos] as usize];
            }
        }
    }
    out
}

/// Decoding into int8 k quads (the usdot kernel's panels): scalar, dispatch and, on
/// wasm32+simd128, SIMD128 against the reference, every code in every row position included.
#[test]
fn panel_decode_c4_matches_reference() {
    let mut rng = Rng::new(5);
    for bits in WIDTHS {
        let n = 1usize << bits.bits();
        let all: Vec<u8> = (0..16 * n).map(|i| ((i / 16 + i) % n) as u8).collect();
        let mut cases: Vec<Vec<u8>> = (0..=272)
            .step_by(16)
            .map(|len| rng.codes(len, bits))
            .collect();
        cases.push(all);
        for codes in cases {
            let len = codes.len();
            let luts = random_luts(&mut rng);
            let want = panel_ref_c4(&codes, &luts);
            let packed = pack_codes(&codes, bits);
            let mut out = vec![i8::MIN; len];
            qs8_panel_decode_scalar(&packed, bits, &luts, &mut out);
            assert_eq!(out, want, "scalar {bits:?} len {len}");
            let mut out = vec![i8::MIN; len];
            qs8_panel_decode(&packed, bits, &luts, &mut out);
            assert_eq!(out, want, "dispatch {bits:?} len {len}");
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                use quantscope::kernels::qs8_unpack::qs8_panel_decode_simd128;
                let mut out = vec![i8::MAX; len];
                qs8_panel_decode_simd128(&packed, bits, &luts, &mut out);
                assert_eq!(out, want, "simd128 {bits:?} len {len}");
            }
        }
    }
}

#[test]
fn panel_decode_empty() {
    let luts = [[0i8; 16]; 4];
    for bits in WIDTHS {
        let mut out: [i16; 0] = [];
        qs8_panel_decode_scalar(&[], bits, &luts, &mut out);
        qs8_panel_decode(&[], bits, &luts, &mut out);
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn panel_decode_simd128_matches_scalar() {
    use quantscope::kernels::qs8_unpack::qs8_panel_decode_simd128;
    let mut rng = Rng::new(3);
    for bits in WIDTHS {
        for len in (0..=264).step_by(8) {
            for _ in 0..4 {
                let codes = rng.codes(len, bits);
                let luts = random_luts(&mut rng);
                let packed = pack_codes(&codes, bits);
                let mut scalar = vec![0i16; len];
                qs8_panel_decode_scalar(&packed, bits, &luts, &mut scalar);
                let mut simd = vec![i16::MAX; len];
                qs8_panel_decode_simd128(&packed, bits, &luts, &mut simd);
                assert_eq!(simd, scalar, "{bits:?} len {len}");
            }
        }
        // Every code in every row position: codes 0..2^bits repeated over 4 rows.
        let n = 1usize << bits.bits();
        let codes: Vec<u8> = (0..8 * n).map(|i| ((i / 8 + i) % n) as u8).collect();
        let luts = random_luts(&mut rng);
        let packed = pack_codes(&codes, bits);
        let mut scalar = vec![0i16; codes.len()];
        qs8_panel_decode_scalar(&packed, bits, &luts, &mut scalar);
        let mut simd = vec![0i16; codes.len()];
        qs8_panel_decode_simd128(&packed, bits, &luts, &mut simd);
        assert_eq!(simd, scalar, "{bits:?} all codes");
        assert_eq!(scalar, panel_ref(&codes, &luts), "{bits:?} all codes");
    }
}

#[test]
fn rows_decode_matches_reference() {
    let mut rng = Rng::new(4);
    for bits in WIDTHS {
        for cols in [1, 9, 25, 3, 16] {
            for rows in [0, 1, 2, 3, 5, 8, 13] {
                let codes = rng.codes(rows * cols, bits);
                let luts: Vec<[i8; 16]> = (0..rows).map(|_| rng.table()).collect();
                let packed = pack_codes(&codes, bits);
                let mut want = vec![0i8; rows * cols];
                for r in 0..rows {
                    for i in 0..cols {
                        want[r * cols + i] = luts[r][codes[r * cols + i] as usize];
                    }
                }
                let mut out = vec![i8::MIN; rows * cols];
                qs8_rows_decode(&packed, bits, &luts, cols, &mut out);
                assert_eq!(out, want, "{bits:?} rows {rows} cols {cols}");
            }
        }
    }
}
