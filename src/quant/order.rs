//! Sorting floats by their total order, through one sort of `u64` keys.
//!
//! Each `sort_by` with its own comparator is a separate copy of the standard library's sort in
//! the wasm builds (3-8 KB each); the crate's float sorts all go through [`sort_keys`] instead.

/// `x`'s bits mapped so that unsigned order is [`f32::total_cmp`]'s order: negative values
/// have all bits flipped (larger magnitude, smaller key), the others only the sign bit.
pub(crate) fn total_order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

/// The inverse of [`total_order_key`].
pub(crate) fn from_total_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// Sorts `keys` ascending: the one sort instantiation the float sorts share.
pub(crate) fn sort_keys(keys: &mut [u64]) {
    keys.sort_unstable();
}

/// Sorts `v` ascending by [`f32::total_cmp`] (equal keys are the same bits, so stability
/// cannot matter).
pub(crate) fn sort_total(v: &mut [f32]) {
    let mut keys: Vec<u64> = v.iter().map(|&x| u64::from(total_order_key(x))).collect();
    sort_keys(&mut keys);
    for (x, k) in v.iter_mut().zip(keys) {
        *x = from_total_order_key(k as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_as_total_cmp() {
        let xs = [
            f32::NEG_INFINITY,
            -f32::MAX,
            -1.5,
            -f32::MIN_POSITIVE,
            -1e-45,
            -0.0,
            0.0,
            1e-45,
            1.0,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
            -f32::NAN,
        ];
        for &a in &xs {
            assert_eq!(
                from_total_order_key(total_order_key(a)).to_bits(),
                a.to_bits()
            );
            for &b in &xs {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn sort_total_matches_sort_by_total_cmp() {
        let mut v: Vec<f32> = (0..500u32)
            .map(|i| ((i * 7919) % 263) as f32 * if i % 3 == 0 { -0.25 } else { 0.5 })
            .chain([-0.0, 0.0, f32::NAN, f32::INFINITY, -f32::INFINITY])
            .collect();
        let mut want = v.clone();
        want.sort_by(f32::total_cmp);
        sort_total(&mut v);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v), bits(&want));
    }
}
