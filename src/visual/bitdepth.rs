//! The image analogy of quantization: the same photo with fewer bits per pixel.
//!
//! ```text
//! b bits per channel   L = 2^b levels   code = round(v (L - 1) / 255)   v' = round(code 255 / (L - 1))
//! 8 bits per pixel     "3-3-2": 3 bits red, 3 green, 2 blue (256 colours, like a GIF palette)
//! 1-bit black & white  Y = 0.299 R + 0.587 G + 0.114 B (BT.601 luma)   Y' = 255 if Y >= 128 else 0
//! Floyd-Steinberg      the error Y - Y' goes to the unvisited neighbours, 7/16 right,
//!                      3/16 below left, 5/16 below, 1/16 below right: local means survive
//! PSNR                 10 log10(255^2 / MSE) dB over every channel sample (inf if identical)
//! raw size             ceil(width height bits_per_pixel / 8) bytes (no header, no compression)
//! grey b bits          one channel, the pixel's grey (its luma, rounded) on 2^b levels as above
//! ```
//!
//! A grey picture (every pixel R = G = B, e.g. a Fashion-MNIST image) gets the grey series
//! instead: 8 bits per pixel down to 1, where three colour channels would only repeat one.
//!
//! Fewer levels per channel is what int8 does to a tensor: a uniform grid, rounding to the
//! nearest level. Dithering keeps local averages right at the cost of a larger per-pixel
//! error: the eye averages neighbours, so it looks better while PSNR need not improve.

use crate::{Error, Result};
use image::RgbImage;
use serde::Serialize;

/// The keys of [`bit_depth_series`], in order.
pub const BIT_DEPTH_KEYS: [&str; 9] = [
    "rgb8",
    "rgb5",
    "rgb4",
    "rgb3",
    "rgb332",
    "rgb2",
    "rgb1",
    "bw",
    "bw-dither",
];

/// The keys of [`bit_depth_series`] for a grey picture, in order.
pub const GREY_BIT_DEPTH_KEYS: [&str; 8] = [
    "grey8",
    "grey6",
    "grey5",
    "grey4",
    "grey3",
    "grey2",
    "bw",
    "bw-dither",
];

/// True when every pixel is grey (R = G = B).
pub fn is_grey(img: &RgbImage) -> bool {
    img.pixels().all(|p| p[0] == p[1] && p[1] == p[2])
}

/// Each channel reduced to `bits` (1..=8) bits: `2^bits` evenly spaced levels mapped back to
/// `0..=255` (8 bits: identity; 1 bit: 0 or 255).
pub fn reduce_bits(img: &RgbImage, bits: u8) -> Result<RgbImage> {
    reduce_channel_bits(img, [bits; 3])
}

/// Red, green and blue reduced to `bits[0]`, `bits[1]`, `bits[2]` (each 1..=8) bits, as
/// [`reduce_bits`] does per channel; `[3, 3, 2]` is the 256-colour "3-3-2" palette.
pub fn reduce_channel_bits(img: &RgbImage, bits: [u8; 3]) -> Result<RgbImage> {
    let mut luts = Vec::with_capacity(3);
    for b in bits {
        super::grid::check_bits(b, 1, "reduce_bits")?;
        let top = (1u32 << b) - 1;
        let lut: Vec<u8> = (0u32..256)
            .map(|v| {
                let code = (v * top + 127) / 255;
                ((code * 255 + top / 2) / top) as u8
            })
            .collect();
        luts.push(lut);
    }
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for (c, lut) in p.0.iter_mut().zip(&luts) {
            *c = lut[*c as usize];
        }
    }
    Ok(out)
}

/// One grey channel at `bits` (1..=8) bits: each pixel's luma, rounded (a grey pixel keeps
/// its value), on the levels of [`reduce_bits`].
pub fn reduce_grey_bits(img: &RgbImage, bits: u8) -> Result<RgbImage> {
    let mut grey = img.clone();
    for p in grey.pixels_mut() {
        let y = if p[0] == p[1] && p[1] == p[2] {
            p[0]
        } else {
            luma(p).round().clamp(0.0, 255.0) as u8
        };
        *p = image::Rgb([y; 3]);
    }
    reduce_bits(&grey, bits)
}

/// BT.601 luma of one pixel, `0..=255`.
#[inline]
pub fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// 1-bit black and white: luma thresholded at 128, with Floyd-Steinberg error diffusion when
/// `dither` (scanning rows left to right). The result is gray (R = G = B in {0, 255}).
pub fn black_and_white(img: &RgbImage, dither: bool) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut y: Vec<f32> = img.pixels().map(luma).collect();
    let mut out = RgbImage::new(img.width(), img.height());
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let old = y[i];
            let new = if old >= 128.0 { 255.0 } else { 0.0 };
            out.put_pixel(c as u32, r as u32, image::Rgb([new as u8; 3]));
            if dither {
                let e = old - new;
                if c + 1 < w {
                    y[i + 1] += e * 7.0 / 16.0;
                }
                if r + 1 < h {
                    if c > 0 {
                        y[i + w - 1] += e * 3.0 / 16.0;
                    }
                    y[i + w] += e * 5.0 / 16.0;
                    if c + 1 < w {
                        y[i + w + 1] += e * 1.0 / 16.0;
                    }
                }
            }
        }
    }
    out
}

/// PSNR of `b` against `a` in dB over every channel sample (`inf` when identical);
/// `Error::Input` when the sizes differ.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> Result<f64> {
    if a.dimensions() != b.dimensions() {
        return Err(Error::Input(format!(
            "psnr of images of different sizes: {:?} and {:?}",
            a.dimensions(),
            b.dimensions()
        )));
    }
    let n = a.as_raw().len();
    let se: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = x as i64 - y as i64;
            (d * d) as u64
        })
        .sum();
    Ok(if se == 0 || n == 0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / (se as f64 / n as f64)).log10()
    })
}

/// Uncompressed bytes of a `width x height` image at `bits_per_pixel`:
/// `ceil(width height bits_per_pixel / 8)`.
pub fn raw_bytes(width: u32, height: u32, bits_per_pixel: u32) -> usize {
    (width as u128 * height as u128 * bits_per_pixel as u128).div_ceil(8) as usize
}

/// One step of the bit-depth series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BitDepthEntry {
    /// Key for [`bit_depth_image`] (one of [`BIT_DEPTH_KEYS`]).
    pub key: &'static str,
    /// Human label, e.g. `4 bits per channel (12-bit colour)`.
    pub label: String,
    /// Bits per stored channel (the largest, for 3-3-2).
    pub bits_per_channel: u8,
    /// Channels stored (3 colour, 1 black and white).
    pub channels: u8,
    /// Bits per pixel: the sum over the stored channels.
    pub bits_per_pixel: u32,
    /// [`raw_bytes`] at `bits_per_pixel`.
    pub raw_bytes: usize,
    /// [`psnr`] against the original, dB (`inf` for the original).
    pub psnr_db: f64,
}

/// How an entry of the series stores a pixel.
enum Storage {
    /// Bits of red, green and blue.
    Colour([u8; 3]),
    /// One luma bit, with or without dithering.
    BlackAndWhite { dither: bool },
    /// Bits of one grey channel.
    Grey(u8),
}

impl Storage {
    fn bits_per_pixel(&self) -> u32 {
        match self {
            Storage::Colour(b) => b.iter().map(|&b| b as u32).sum(),
            Storage::BlackAndWhite { .. } => 1,
            Storage::Grey(b) => u32::from(*b),
        }
    }
}

fn entry_meta(key: &str) -> Option<(Storage, String)> {
    Some(match key {
        "bw" => (
            Storage::BlackAndWhite { dither: false },
            "1-bit black and white (threshold)".into(),
        ),
        "bw-dither" => (
            Storage::BlackAndWhite { dither: true },
            "1-bit black and white (Floyd-Steinberg dithering)".into(),
        ),
        "rgb332" => (
            Storage::Colour([3, 3, 2]),
            "8-bit colour: 3 bits red, 3 green, 2 blue (256 colours)".into(),
        ),
        _ if key.starts_with("grey") => {
            let b: u8 = key.strip_prefix("grey")?.parse().ok()?;
            if !GREY_BIT_DEPTH_KEYS.contains(&key) {
                return None;
            }
            let label = if b == 8 {
                "original: 8-bit grey (256 levels)".into()
            } else {
                format!("{b}-bit grey ({} levels)", 1u32 << b)
            };
            (Storage::Grey(b), label)
        }
        _ => {
            let b: u8 = key.strip_prefix("rgb")?.parse().ok()?;
            if !BIT_DEPTH_KEYS.contains(&key) {
                return None;
            }
            let label = if b == 8 {
                "original: 8 bits per channel (24-bit colour)".into()
            } else {
                format!(
                    "{b} bit{} per channel ({}-bit colour, {} levels per channel)",
                    if b == 1 { "" } else { "s" },
                    3 * b,
                    1u32 << b
                )
            };
            (Storage::Colour([b; 3]), label)
        }
    })
}

/// The image of the series entry `key` (one of [`BIT_DEPTH_KEYS`] or
/// [`GREY_BIT_DEPTH_KEYS`]); `Error::Input` naming the key otherwise.
pub fn bit_depth_image(img: &RgbImage, key: &str) -> Result<RgbImage> {
    match entry_meta(key) {
        Some((Storage::BlackAndWhite { dither }, _)) => Ok(black_and_white(img, dither)),
        Some((Storage::Colour(bits), _)) => reduce_channel_bits(img, bits),
        Some((Storage::Grey(bits), _)) => reduce_grey_bits(img, bits),
        None => Err(Error::Input(format!(
            "unknown bit-depth key '{key}', expected one of {BIT_DEPTH_KEYS:?} or \
             {GREY_BIT_DEPTH_KEYS:?}"
        ))),
    }
}

/// The original (8 bits per channel), then 5, 4 and 3 bits per channel, 8 bits per pixel
/// (3-3-2), 2 and 1 bits per channel, then 1-bit
/// black and white without and with dithering: sizes and PSNR against the original (colour
/// PSNR, so black and white also pays for the lost colour). A grey picture ([`is_grey`]) gets
/// [`GREY_BIT_DEPTH_KEYS`] instead: 8, 6, 5, 4, 3 and 2 bits of grey, then black and white.
pub fn bit_depth_series(img: &RgbImage) -> Vec<BitDepthEntry> {
    let keys: &[&'static str] = if is_grey(img) {
        &GREY_BIT_DEPTH_KEYS
    } else {
        &BIT_DEPTH_KEYS
    };
    keys.iter()
        .filter_map(|&key| {
            let (storage, label) = entry_meta(key)?;
            let out = bit_depth_image(img, key).ok()?;
            let bits_per_pixel = storage.bits_per_pixel();
            let (bits_per_channel, channels) = match storage {
                Storage::Colour(b) => (b.into_iter().max().unwrap_or(0), 3),
                Storage::BlackAndWhite { .. } => (1, 1),
                Storage::Grey(b) => (b, 1),
            };
            Some(BitDepthEntry {
                key,
                label,
                bits_per_channel,
                channels,
                bits_per_pixel,
                raw_bytes: raw_bytes(img.width(), img.height(), bits_per_pixel),
                psnr_db: psnr(img, &out).ok()?,
            })
        })
        .collect()
}
