//! Bytes -> RGB pixels, with a size limit checked from the header.

use crate::{Error, Result};
use image::{ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Largest image accepted, in pixels (50 megapixels).
pub const MAX_PIXELS: u64 = 50_000_000;

const FORMATS: &str = "JPEG, PNG, WebP, GIF or BMP";

/// Decodes an encoded image into 8-bit RGB (alpha is dropped; GIF gives its first frame).
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    decode_at_most(bytes, MAX_PIXELS)
}

/// [`decode`] with a lower limit than [`MAX_PIXELS`] (the fuzz target keeps each run cheap
/// with it; the limit is checked from the header either way).
pub fn decode_at_most(bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    let max_pixels = max_pixels.min(MAX_PIXELS);
    if bytes.is_empty() {
        return Err(Error::Image("the file is empty".into()));
    }
    let format = image::guess_format(bytes)
        .map_err(|_| Error::Image(format!("not a recognised image: expected {FORMATS}")))?;
    if !cfg!(feature = "decoders") {
        return Err(Error::Image(format!(
            "this build of the engine decodes no image files (the {format:?} file is for the \
             browser to decode): pass RGBA pixels"
        )));
    }
    if !matches!(
        format,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp
    ) {
        return Err(Error::Image(format!(
            "{format:?} images are not supported: expected {FORMATS}"
        )));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| Error::Image(format!("cannot read the {format:?} header: {e}")))?;
    check_size(w, h, max_pixels)?;
    reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // RGBA f32 intermediates of the largest accepted image, with room to spare.
    limits.max_alloc = Some(max_pixels * 16);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| Error::Image(format!("cannot decode the {format:?} image ({w}x{h}): {e}")))?;
    Ok(img.to_rgb8())
}

/// Wraps raw RGBA pixels (as from a canvas `ImageData`) as RGB.
pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<RgbImage> {
    check_size(width, height, MAX_PIXELS)?;
    let expected = width as usize * height as usize * 4;
    if rgba.len() != expected {
        return Err(Error::Image(format!(
            "RGBA data has {} bytes, {width}x{height} needs {expected}",
            rgba.len()
        )));
    }
    // Alpha dropped by hand: `DynamicImage::to_rgb8` brings colour-space code (12 KB of wasm)
    // to do the same for 8-bit sRGB.
    let rgb = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| Error::Image("RGBA buffer does not match its size".into()))
}

fn check_size(w: u32, h: u32, max_pixels: u64) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(Error::Image(format!("the image is empty ({w}x{h})")));
    }
    let pixels = w as u64 * h as u64;
    if pixels > max_pixels {
        return Err(Error::Image(format!(
            "the image is {w}x{h} = {:.1} MP, above the {} MP limit",
            pixels as f64 / 1e6,
            max_pixels as f64 / 1e6
        )));
    }
    Ok(())
}
