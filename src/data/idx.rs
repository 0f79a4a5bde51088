//! IDX files (the MNIST format), gzip-compressed or not.
//!
//! A big-endian header: two zero bytes, the element type (`0x08`: unsigned byte, the only one
//! used here), the number of dimensions, then each dimension as a u32; the elements follow in
//! row-major order. Labels are `0x00000801` `[n]`, images `0x00000803` `[n, rows, cols]`.

use crate::{Error, Result};
use std::io::Read;

/// Largest decompressed file accepted (the 60k training images are 47 MB).
const MAX_BYTES: u64 = 1 << 30;

/// Grey images of one size, 0 (white background in MNIST-style data: 0 is no ink) .. 255.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Height.
    pub rows: usize,
    /// Width.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

impl Images {
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// The bytes, inflated when they are gzip (magic `1f 8b`).
fn inflate(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.into());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Data(format!("not a readable gzip file: {e}")))?;
    if out.len() as u64 > MAX_BYTES {
        return Err(Error::Data(format!(
            "more than {} MB once decompressed",
            MAX_BYTES >> 20
        )));
    }
    Ok(out.into())
}

/// The dimensions and the data of an IDX file of unsigned bytes with `rank` dimensions.
fn parse(bytes: &[u8], rank: u8, what: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = inflate(bytes)?;
    let header = 4 + 4 * usize::from(rank);
    let magic = [0, 0, 0x08, rank];
    if bytes.len() >= 4 && bytes[..4] != magic {
        return Err(Error::Data(format!(
            "{what}: not an IDX file of unsigned bytes with {rank} dimension(s): magic {:02x?}, \
             expected {magic:02x?}",
            &bytes[..4]
        )));
    }
    if bytes.len() < header {
        return Err(Error::Data(format!(
            "{what}: truncated header ({} bytes, an IDX header of rank {rank} has {header})",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n as u64 <= MAX_BYTES)
        .ok_or_else(|| Error::Data(format!("{what}: dimensions {dims:?} are too large")))?;
    let data = &bytes[header..];
    if data.len() != expected {
        return Err(Error::Data(format!(
            "{what}: {} bytes of data, dimensions {dims:?} need {expected}{}",
            data.len(),
            if data.len() < expected {
                " (truncated file)"
            } else {
                ""
            }
        )));
    }
    // The decompressed buffer is reused (the training images are 47 MB); raw input is copied.
    let data = match bytes {
        std::borrow::Cow::Owned(mut all) => {
            all.drain(..header);
            all
        }
        std::borrow::Cow::Borrowed(all) => all[header..].to_vec(),
    };
    Ok((dims, data))
}

/// Reads an IDX label file (`0x00000801`, `[n]`), gzip or not.
pub fn read_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    Ok(parse(bytes, 1, "labels")?.1)
}

/// Reads an IDX image file (`0x00000803`, `[n, rows, cols]`), gzip or not.
pub fn read_images(bytes: &[u8]) -> Result<Images> {
    let (dims, pixels) = parse(bytes, 3, "images")?;
    Ok(Images {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}
