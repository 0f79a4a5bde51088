//! The packings the int8 GEMM driver runs over, one type each, so that one driver serves
//! every microkernel:
//!
//! - [`C2`] (dot16x2): A and B as i16, k in pairs; the sums are `sum_k a b` exactly.
//! - [`C4`] (usdot): A as int8, B as `x + 128` in u8 ([`pack::to_u8`]), k in quads; the
//!   microkernels compute `sum_k a (x + 128)`, so each row starts from its offset
//!   `-128 sum_k a[row, k]` ([`PackedQA::offset`]) and the sums come out the same.

use super::{pack, PackedQA, Panels};
use crate::kernels::qs8_unpack::PanelValue;
use std::cell::RefCell;
use std::thread::LocalKey;

/// A packing of the int8 GEMM: element types, group size and the pieces of the driver that
/// depend on them.
pub(super) trait Layout: 'static {
    /// Packed A (weights) values.
    type A: PanelValue + Default + Send + Sync + 'static;
    /// Packed B (activations) values.
    type B: Copy + Default + Send + Sync + 'static;

    /// Packs columns `jc..jc + nc` of row-major `b [k, n]` into `NR`-column panels.
    fn pack_b<const NR: usize>(
        b: &[i8],
        n: usize,
        k: usize,
        cols: (usize, usize),
        dst: &mut [Self::B],
    );

    /// A's panel `pi` (`MR` rows), decoded into `scratch` if need be.
    fn panel<'a, const MR: usize>(
        a: &'a PackedQA,
        pi: usize,
        scratch: &'a mut Vec<Self::A>,
    ) -> &'a [Self::A];

    /// Column `j` of a packed `NR`-column panel of `kp` steps, as the i32 groups (one k group
    /// each) that [`Layout::gemv_panel`] splats.
    fn column<const NR: usize>(panel: &[Self::B], j: usize, kp: usize) -> Vec<i32>;

    /// A column of int8 values as those groups.
    fn x_groups(x: &[i8]) -> Vec<i32>;

    /// One `MR`-row panel times one column of groups (SIMD128 when `simd` and `MR == 4`).
    fn gemv_panel<const MR: usize>(panel: &[Self::A], groups: &[i32], simd: bool) -> [i32; MR];

    /// Panels of ready values.
    #[cfg(feature = "threads")]
    fn from_values(values: Vec<Self::A>) -> Panels;

    /// The values of `panels`, if ready values.
    #[cfg(feature = "threads")]
    fn into_values(panels: Panels) -> Option<Vec<Self::A>>;

    /// The thread-local buffer of panels decoded from codes for a parallel product.
    #[cfg(feature = "threads")]
    fn decoded() -> &'static LocalKey<RefCell<Vec<Self::A>>>;

    /// The thread-local buffer of packed B blocks.
    fn b_pack() -> &'static LocalKey<RefCell<Vec<Self::B>>>;

    /// The thread-local buffer of all of B's blocks, packed once for a parallel product.
    #[cfg(feature = "threads")]
    fn b_all() -> &'static LocalKey<RefCell<Vec<Self::B>>>;
}

/// The [`Layout`] items that only name its value types and its [`Panels`] variant: panel
/// access, and the thread-local buffers (one set per layout).
macro_rules! storage {
    ($a:ty, $b:ty, $variant:ident) => {
        #[inline(always)]
        fn panel<'a, const MR: usize>(
            a: &'a PackedQA,
            pi: usize,
            scratch: &'a mut Vec<$a>,
        ) -> &'a [$a] {
            a.panel::<$a, MR>(pi, scratch, |d| match d {
                Panels::$variant(v) => Some(v),
                _ => None,
            })
        }

        #[cfg(feature = "threads")]
        fn from_values(values: Vec<$a>) -> Panels {
            Panels::$variant(values)
        }

        #[cfg(feature = "threads")]
        fn into_values(panels: Panels) -> Option<Vec<$a>> {
            match panels {
                Panels::$variant(v) => Some(v),
                _ => None,
            }
        }

        #[cfg(feature = "threads")]
        fn decoded() -> &'static LocalKey<RefCell<Vec<$a>>> {
            thread_local!(static BUF: RefCell<Vec<$a>> = const { RefCell::new(Vec::new()) });
            &BUF
        }

        fn b_pack() -> &'static LocalKey<RefCell<Vec<$b>>> {
            thread_local!(static BUF: RefCell<Vec<$b>> = const { RefCell::new(Vec::new()) });
            &BUF
        }

        #[cfg(feature = "threads")]
        fn b_all() -> &'static LocalKey<RefCell<Vec<$b>>> {
            thread_local!(static BUF: RefCell<Vec<$b>> = const { RefCell::new(Vec::new()) });
            &BUF
        }
    };
}

/// The dot16x2 packing (i16 k pairs).
pub(super) struct C2;

impl Layout for C2 {
    type A = i16;
    type B = i16;
    storage!(i16, i16, I16);

    #[inline(always)]
    fn pack_b<const NR: usize>(
        b: &[i8],
        n: usize,
        k: usize,
        cols: (usize, usize),
        dst: &mut [i16],
    ) {
        pack::pack_b::<NR>(b, n, k, cols, dst)
    }

    fn column<const NR: usize>(panel: &[i16], j: usize, kp: usize) -> Vec<i32> {
        (0..kp / 2)
            .map(|p| pair(panel[(p * NR + j) * 2], panel[(p * NR + j) * 2 + 1]))
            .collect()
    }

    fn x_groups(x: &[i8]) -> Vec<i32> {
        x.chunks(2)
            .map(|p| pair(p[0].into(), p.get(1).map_or(0, |&v| v.into())))
            .collect()
    }

    #[inline(always)]
    fn gemv_panel<const MR: usize>(panel: &[i16], groups: &[i32], simd: bool) -> [i32; MR] {
        let _ = simd;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if simd && MR == 4 {
            let acc = super::simd128::qgemv_4c2_simd128(panel, groups);
            return core::array::from_fn(|r| acc[r]);
        }
        let mut acc = [0i32; MR];
        for (ap, &g) in panel.chunks_exact(2 * MR).zip(groups) {
            let (x0, x1) = (i32::from(g as i16), i32::from((g >> 16) as i16));
            for r in 0..MR {
                acc[r] += i32::from(ap[2 * r]) * x0 + i32::from(ap[2 * r + 1]) * x1;
            }
        }
        acc
    }
}

/// Two i16 as the i32 `lo | hi << 16` (what `v128.load32_splat` of a pair gives).
fn pair(lo: i16, hi: i16) -> i32 {
    i32::from(lo as u16) | (i32::from(hi) << 16)
}

#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
pub(super) use c4::C4;

#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
mod c4 {
    use super::*;

    /// The usdot packing (int8 A, `x + 128` u8 B, k quads).
    pub(in crate::kernels::qs8_gemm) struct C4;

    impl Layout for C4 {
        type A = i8;
        type B = u8;
        storage!(i8, u8, I8);

        #[inline(always)]
        fn pack_b<const NR: usize>(
            b: &[i8],
            n: usize,
            k: usize,
            cols: (usize, usize),
            dst: &mut [u8],
        ) {
            pack::pack_b_c4::<NR>(b, n, k, cols, dst)
        }

        fn column<const NR: usize>(panel: &[u8], j: usize, kp: usize) -> Vec<i32> {
            (0..kp / 4)
                .map(|q| quad(panel[(q * NR + j) * 4..][..4].try_into().expect("4 bytes")))
                .collect()
        }

        fn x_groups(x: &[i8]) -> Vec<i32> {
            x.chunks(4)
                .map(|q| {
                    quad(core::array::from_fn(|t| {
                        q.get(t).map_or(0, |&v| pack::to_u8(v))
                    }))
                })
                .collect()
        }

        #[inline(always)]
        fn gemv_panel<const MR: usize>(panel: &[i8], groups: &[i32], simd: bool) -> [i32; MR] {
            let _ = simd;
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            if simd && MR == 4 {
                let acc = super::super::usdot::qgemv_4c4_usdot_relaxed(panel, groups);
                return core::array::from_fn(|r| acc[r]);
            }
            let mut acc = [0i32; MR];
            for (ap, &g) in panel.chunks_exact(4 * MR).zip(groups) {
                let u = g.to_le_bytes().map(i32::from);
                for r in 0..MR {
                    acc[r] += (0..4).map(|t| i32::from(ap[4 * r + t]) * u[t]).sum::<i32>();
                }
            }
            acc
        }
    }

    /// Four bytes as the little-endian i32 a `v128.load32_splat` of them gives.
    fn quad(b: [u8; 4]) -> i32 {
        i32::from_le_bytes(b)
    }
}
