//! Weight quantization under a [`Scheme`]: per output channel (default) or per tensor, at 1..8
//! bits, with uniform, k-means or power-of-two levels. Every weight becomes a **code** (what is
//! stored, `b` bits) and every code an **effective integer** `e` through its row's table, so
//! that the real value is
//!
//! ```text
//! w'[c, i] = S_w[c] e[c, i]          e = q - Z_w            (uniform: q = clamp(round(w / S) + Z))
//!                                    e = round(C[c, j] / S_w[c])   (codebook C, code j; |e| <= 127)
//! ```
//!
//! Symmetric uniform weights use the narrow range (`Z_w = 0`, `S_w = max|w| / (2^(b-1) - 1)`);
//! per channel, a channel of small weights keeps its own fine grid, per tensor every channel
//! shares the grid of the largest weight, and depthwise filters lose most of their codes
//! (Krishnamoorthi 2018). Below 8 bits a min/max range spends most levels on rare outliers,
//! so [`Clipping::Mse`] picks the range `c [min, max]` (`c <= 1`) of least squared error.
//!
//! Non-uniform levels are a float codebook per channel ([`codebook`](super::codebook): k-means
//! weight sharing, powers of two) rounded to int8 codes `e` on the grid `S_w = max|C| / 127`
//! (powers of two: `S_w = max|C| / 64`, so up to 7 exponents are exact codes). The integer
//! pipeline multiplies `e`; the clustering error (`w` against `C`) and the codebook's rounding
//! error (`C` against `S_w e`) are reported apart.

use super::codebook::{kmeans_1d, pow2_levels, KMeansInit};
use super::scheme::{Clipping, Levels, Scheme};
use super::QuantParams;
use crate::kernels::qs8_unpack::{pack_codes, CodeBits};

/// Lloyd iterations at most (k-means stops earlier once no weight changes cluster).
const KMEANS_MAX_ITER: usize = 10_000;
/// Seed of k-means++ (results are deterministic).
const KMEANS_SEED: u64 = 0x5eed;

/// A quantized weight tensor `[rows, cols]` (rows are output channels), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeights {
    /// Effective integers `e`, row-major `[rows, cols]`: `w' = scale(row) * e`.
    pub data: Vec<i8>,
    /// One scale per row (per channel) or a single scale (per tensor).
    pub scales: Vec<f32>,
    /// Output channels.
    pub rows: usize,
    /// How the weights were quantized.
    pub scheme: Scheme,
    /// The stored code of every weight (`0..2^b`), row-major; empty for uniform grids stored in
    /// a byte (5..8 bits), whose code is `e + Z - qmin` ([`code`](Self::code)).
    pub codes: Vec<u8>,
    /// Decoding tables, `2^b` entries per row: `e = tables[row * 2^b + code]`; kept for codes
    /// of at most 4 bits (the packed kernels look them up) and for codebooks, empty otherwise.
    pub tables: Vec<i8>,
    /// Uniform grids: the weight zero point of each scale (0 when symmetric).
    pub zero_points: Vec<i32>,
    /// Codebooks: the float levels before rounding, `2^b` per row (padded with the last level);
    /// empty for uniform grids.
    pub float_levels: Vec<f32>,
}

impl QuantizedWeights {
    /// 8-bit symmetric weights of row-major `w` with `rows` output channels (min/max range).
    pub fn quantize(w: &[f32], rows: usize, per_channel: bool) -> QuantizedWeights {
        Self::quantize_scheme(w, rows, &Scheme::int8(per_channel), &[])
    }

    /// Quantizes row-major `w` of `rows` output channels under `scheme`, with a smallest
    /// allowed scale per row (`min_scale` empty: none). A channel of near-zero weights would
    /// otherwise get a scale so fine that its bias (in units of `S_x S_w`) or its
    /// requantization multiplier leaves int32.
    pub fn quantize_scheme(
        w: &[f32],
        rows: usize,
        scheme: &Scheme,
        min_scale: &[f32],
    ) -> QuantizedWeights {
        let cols = w.len().checked_div(rows).unwrap_or(0);
        let per_channel = scheme.per_channel();
        let groups: Vec<&[f32]> = if per_channel {
            w.chunks_exact(cols.max(1)).take(rows).collect()
        } else {
            vec![w]
        };
        let floor_of = |g: usize| {
            if per_channel {
                min_scale.get(g).copied().unwrap_or(0.0)
            } else {
                min_scale.iter().copied().fold(0.0, f32::max)
            }
        };
        let k = 1usize << scheme.weight_bits;
        let quantized: Vec<Group> = groups
            .iter()
            .enumerate()
            .map(|(g, values)| match scheme.levels {
                Levels::Uniform => uniform_group(values, scheme, floor_of(g)),
                Levels::KMeans { plus_plus } => {
                    let init = if plus_plus {
                        KMeansInit::PlusPlus { seed: KMEANS_SEED }
                    } else {
                        KMeansInit::Linear
                    };
                    let c = kmeans_1d(values, k, init, KMEANS_MAX_ITER);
                    codebook_group(c.centroids, c.assignment, 127.0, floor_of(g), k)
                }
                Levels::Pow2 => {
                    let levels = pow2_levels(values, scheme.weight_bits);
                    let (codes, _) = super::codebook::assign(&levels, values);
                    codebook_group(levels, codes, 64.0, floor_of(g), k)
                }
            })
            .collect();
        let row_group = |r: usize| if per_channel { r } else { 0 };
        let mut out = QuantizedWeights {
            data: Vec::with_capacity(w.len()),
            scales: quantized.iter().map(|g| g.scale).collect(),
            rows,
            scheme: *scheme,
            codes: quantized
                .iter()
                .flat_map(|g| g.codes.iter().copied())
                .collect(),
            tables: Vec::with_capacity(rows * k),
            zero_points: quantized.iter().map(|g| g.zero_point).collect(),
            float_levels: Vec::new(),
        };
        for r in 0..rows {
            let g = &quantized[row_group(r)];
            out.tables.extend_from_slice(&g.table);
            out.float_levels.extend_from_slice(&g.float_levels);
        }
        out.data = out
            .codes
            .iter()
            .enumerate()
            .map(|(i, &c)| out.tables[(i / cols.max(1)) * k + c as usize])
            .collect();
        if scheme.levels == Levels::Uniform && scheme.container_bits() == 8 {
            // A byte per weight already: the effective integers are the codes, shifted.
            out.codes = Vec::new();
            out.tables = Vec::new();
        }
        out
    }

    /// The stored code of weight `i` (row-major).
    pub fn code(&self, i: usize) -> u8 {
        match self.codes.get(i) {
            Some(&c) => c,
            None => {
                let group = if self.scales.len() == 1 {
                    0
                } else {
                    i / self.cols().max(1)
                };
                let z = self.zero_points.get(group).copied().unwrap_or(0);
                (self.data[i] as i32 + z - self.scheme.weight_range().qmin()) as u8
            }
        }
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.data.len().checked_div(self.rows).unwrap_or(0)
    }

    /// True when each row has its own scale.
    pub fn per_channel(&self) -> bool {
        self.scales.len() == self.rows && self.rows > 1
    }

    /// Scale of `row`.
    pub fn scale(&self, row: usize) -> f32 {
        if self.scales.len() == 1 {
            self.scales[0]
        } else {
            self.scales[row]
        }
    }

    /// Decoding table of `row` (`2^b` effective integers, by code); codes of at most 4 bits
    /// and codebooks only (see [`tables`](Self::tables)).
    pub fn table(&self, row: usize) -> &[i8] {
        let k = 1usize << self.scheme.weight_bits;
        &self.tables[row * k..][..k]
    }

    /// The real values the codes stand for.
    pub fn dequantize(&self) -> Vec<f32> {
        let cols = self.cols().max(1);
        self.data
            .iter()
            .enumerate()
            .map(|(i, &q)| self.scale(i / cols) * q as f32)
            .collect()
    }

    /// Bits one stored code takes: 2, 4 or 8 (1-bit codes in 2 bits, 3-bit in 4, 5..7-bit in 8).
    pub fn code_bits(&self) -> u8 {
        self.scheme.container_bits()
    }

    /// The container of the codes when it is narrower than a byte (1..2-bit codes in 2 bits,
    /// 3..4-bit codes in 4); `None` for codes stored a byte each.
    pub fn packed_code_bits(&self) -> Option<CodeBits> {
        match self.code_bits() {
            2 => Some(CodeBits::Two),
            4 => Some(CodeBits::Four),
            _ => None,
        }
    }

    /// The codes as stored: packed `code_bits()` to a byte, low bits first (8 bits: one byte
    /// per code, the effective integer for uniform symmetric grids, the index otherwise).
    pub fn packed_codes(&self) -> Vec<u8> {
        match self.packed_code_bits() {
            Some(bits) => pack_codes(&self.codes, bits),
            None => (0..self.data.len()).map(|i| self.code(i)).collect(),
        }
    }

    /// Bytes of the stored weights, by part (biases are the layer's, not counted here).
    pub fn stored_bytes(&self) -> WeightBytes {
        let groups = self.scales.len();
        WeightBytes {
            codes: (self.data.len() * self.code_bits() as usize).div_ceil(8),
            scales: 4 * groups,
            zero_points: if self.scheme.weight_symmetric {
                0
            } else {
                groups
            },
            codebooks: if self.float_levels.is_empty() {
                0
            } else {
                groups << self.scheme.weight_bits
            },
        }
    }

    /// Codebooks: the float level of every weight before the codebook is rounded to int8 (the
    /// clustering alone); `None` for uniform grids.
    pub fn clustered(&self) -> Option<Vec<f32>> {
        if self.float_levels.is_empty() {
            return None;
        }
        let (cols, k) = (self.cols().max(1), 1usize << self.scheme.weight_bits);
        Some(
            self.codes
                .iter()
                .enumerate()
                .map(|(i, &c)| self.float_levels[(i / cols) * k + c as usize])
                .collect(),
        )
    }

    /// `sum_i e[row, i]` per row: the zero-point term `Z_x * sum_k w[m, k]` of Jacob et al.
    /// (2018) eq. 8, computed once at load.
    pub fn row_sums(&self) -> Vec<i32> {
        self.data
            .chunks_exact(self.cols().max(1))
            .take(self.rows)
            .map(|r| r.iter().map(|&q| q as i32).sum())
            .collect()
    }
}

/// Bytes of stored weights, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WeightBytes {
    /// The codes, packed (`code_bits` per weight).
    pub codes: usize,
    /// An f32 scale per channel (or one per tensor).
    pub scales: usize,
    /// An int8 zero point per scale (asymmetric weights only).
    pub zero_points: usize,
    /// Codebooks: `2^b` int8 values per channel (or one per tensor).
    pub codebooks: usize,
}

impl WeightBytes {
    /// All parts.
    pub fn total(&self) -> usize {
        self.codes + self.scales + self.zero_points + self.codebooks
    }
}

/// One quantized group (a channel, or the tensor).
struct Group {
    scale: f32,
    zero_point: i32,
    codes: Vec<u8>,
    /// `2^b` effective integers by code.
    table: Vec<i8>,
    /// Codebooks: the float levels by code.
    float_levels: Vec<f32>,
}

/// `p` with its scale raised to `floor` (zero point kept).
fn floored(p: QuantParams, floor: f32) -> QuantParams {
    if p.scale < floor {
        QuantParams { scale: floor, ..p }
    } else {
        p
    }
}

/// A uniform grid over the clipped range of `values`.
fn uniform_group(values: &[f32], scheme: &Scheme, floor: f32) -> Group {
    let (lo, hi) = finite_min_max(values);
    let c = match scheme.clipping {
        Clipping::MinMax => 1.0,
        Clipping::Mse => mse_clip_ratio(values, |c| scheme.weight_params(c * lo, c * hi)),
    };
    let p = floored(scheme.weight_params(c * lo, c * hi), floor);
    let qmin = p.range.qmin();
    let codes = values
        .iter()
        .map(|&x| (p.quantize(x) as i32 - qmin) as u8)
        .collect();
    let table = (0..1i32 << scheme.weight_bits)
        .map(|u| (u + qmin - p.zero_point).clamp(-127, 127) as i8)
        .collect();
    Group {
        scale: p.scale,
        zero_point: p.zero_point,
        codes,
        table,
        float_levels: Vec::new(),
    }
}

/// `[min, max]` of the finite values (`(0, 0)` when none).
fn finite_min_max(values: &[f32]) -> (f32, f32) {
    let (lo, hi) = values
        .iter()
        .filter(|x| x.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if lo > hi {
        (0.0, 0.0)
    } else {
        (lo, hi)
    }
}

/// The clipping ratio `c` in `(0, 1]` whose grid `params(c)` gives `values` the least squared
/// error: 40 ratios from 1 down to 0.22, then 10 around the best (ties keep the wider range).
pub(crate) fn mse_clip_ratio(values: &[f32], params: impl Fn(f32) -> QuantParams) -> f32 {
    let error = |c: f32| {
        let p = params(c);
        values
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| {
                let d = (x - p.dequantize(p.quantize(x))) as f64;
                d * d
            })
            .sum::<f64>()
    };
    let best_of = |candidates: &mut dyn Iterator<Item = f32>| {
        candidates
            .map(|c| (c, error(c)))
            .fold((1.0f32, f64::INFINITY), |best, (c, e)| {
                if e < best.1 {
                    (c, e)
                } else {
                    best
                }
            })
    };
    let (coarse, _) = best_of(&mut (0..40).map(|i| 1.0 - i as f32 / 50.0));
    let (fine, _) = best_of(
        &mut (-5..=5)
            .map(|i| coarse + i as f32 / 250.0)
            .filter(|&c| c > 0.0 && c <= 1.0),
    );
    fine
}

/// A float codebook `levels` (codes `codes` into it) rounded to int8 on the grid
/// `S = max|level| / top` (raised to `floor`); tables padded to `k` entries.
fn codebook_group(levels: Vec<f32>, codes: Vec<u8>, top: f32, floor: f32, k: usize) -> Group {
    let absmax = levels.iter().fold(0f32, |m, &l| m.max(l.abs()));
    let scale = if absmax > f32::MIN_POSITIVE && absmax.is_finite() {
        absmax / top
    } else {
        1.0
    }
    .max(floor);
    let last = levels.last().copied().unwrap_or(0.0);
    let float_levels: Vec<f32> = (0..k)
        .map(|j| levels.get(j).copied().unwrap_or(last))
        .collect();
    let table = float_levels
        .iter()
        .map(|&l| super::round_ties_away(l / scale).clamp(-127.0, 127.0) as i8)
        .collect();
    Group {
        scale,
        zero_point: 0,
        codes,
        table,
        float_levels,
    }
}

/// Signal-to-quantization-noise ratio in dB: `10 log10(sum r^2 / sum (r - q)^2)`
/// (`inf` when identical).
pub fn sqnr_db(reference: &[f32], approx: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (&r, &q) in reference.iter().zip(approx) {
        signal += (r as f64) * (r as f64);
        noise += (r as f64 - q as f64).powi(2);
    }
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}
