//! Image decoding and preprocessing: formats, limits, and what the tensor holds.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use image::{ImageFormat, Rgb, RgbImage};
use quantscope::image::{decode, from_rgba, preprocess, resize_and_crop};
use quantscope::model::{Channels, Preprocess, Resize};
use quantscope::Error;
use std::io::Cursor;

const P: Preprocess = Preprocess {
    resize: Resize::Crop,
    resize_shorter: Some(256),
    crop: None,
    mean: [127.0; 3],
    std: [128.0; 3],
    channels: Channels::Rgb,
};

fn encode(img: &RgbImage, f: ImageFormat) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, f).unwrap();
    buf.into_inner()
}

fn image_error(bytes: &[u8]) -> String {
    match decode(bytes) {
        Err(Error::Image(m)) => m,
        other => panic!("expected an image error, got {other:?}"),
    }
}

#[test]
fn every_supported_format_decodes_to_the_same_pixels() {
    let img = RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8 * 40, y as u8 * 80, 7]));
    for f in [
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::WebP,
        ImageFormat::Gif,
    ] {
        let back = decode(&encode(&img, f)).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        assert_eq!(back.dimensions(), (5, 3), "{f:?}");
        if f != ImageFormat::Gif {
            // GIF quantises to a palette; the others are lossless here.
            assert_eq!(back, img, "{f:?}");
        }
    }
    let jpeg = decode(&encode(&img, ImageFormat::Jpeg)).unwrap();
    assert_eq!(jpeg.dimensions(), (5, 3));
}

#[test]
fn the_sample_photos_decode() {
    for p in common::samples() {
        let img = decode(&std::fs::read(&p).unwrap()).unwrap();
        assert!(img.width() >= 224 && img.height() >= 224, "{}", p.display());
    }
}

#[test]
fn bad_bytes_get_errors_that_name_the_problem() {
    assert!(image_error(b"").contains("empty"));
    assert!(image_error(b"hello, not an image at all").contains("not a recognised image"));
    let png = encode(&RgbImage::new(64, 64), ImageFormat::Png);
    let truncated = image_error(&png[..png.len() / 2]);
    assert!(
        truncated.contains("Png") && truncated.contains("64x64"),
        "{truncated}"
    );
    // A TIFF is an image, but not one of ours.
    let tiff = image_error(b"II*\0\x08\0\0\0");
    assert!(tiff.contains("Tiff images are not supported"), "{tiff}");
}

#[test]
fn a_huge_image_is_refused_from_its_header() {
    // A BMP header claiming 20000 x 20000 pixels (400 MP) and no pixel data.
    let (w, h) = (20_000i32, 20_000i32);
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&(54u32 + 3 * (w * h) as u32).to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&w.to_le_bytes());
    bmp.extend_from_slice(&h.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    let msg = image_error(&bmp);
    assert!(
        msg.contains("20000x20000") && msg.contains("50 MP limit"),
        "{msg}"
    );
}

#[test]
fn rgba_input_checks_its_length() {
    assert!(from_rgba(2, 2, vec![0; 16]).is_ok());
    assert!(matches!(from_rgba(2, 2, vec![0; 15]), Err(Error::Image(m)) if m.contains("15 bytes")));
}

#[test]
fn resize_keeps_aspect_and_crops_the_centre() {
    // 512 x 256, left half black, right half white: after resizing to 512x256 -> 512 x 256 (no
    // change: shorter side already 256) the centre 224 crop spans columns 144..368, so the
    // crop's columns 0..112 are black and 112..224 white.
    let img = RgbImage::from_fn(
        512,
        256,
        |x, _| if x < 256 { Rgb([0; 3]) } else { Rgb([255; 3]) },
    );
    let sq = resize_and_crop(&img, &P, 224, 224);
    assert_eq!(sq.dimensions(), (224, 224));
    assert_eq!(sq.get_pixel(111, 100), &Rgb([0; 3]));
    assert_eq!(sq.get_pixel(112, 100), &Rgb([255; 3]));
    // A small image is enlarged: 100 x 50 -> 512 x 256.
    let small = RgbImage::from_pixel(100, 50, Rgb([10, 20, 30]));
    assert_eq!(
        resize_and_crop(&small, &P, 224, 224).dimensions(),
        (224, 224)
    );
}

#[test]
fn preprocess_normalises_into_nchw() {
    let img = RgbImage::from_pixel(300, 260, Rgb([255, 127, 0]));
    let t = preprocess(&img, &P, 224, 224, 3);
    assert_eq!(t.shape(), &[1, 3, 224, 224]);
    // (255 - 127) / 128 = 1, (127 - 127) / 128 = 0, (0 - 127) / 128 = -0.9921875
    assert_eq!(t[[0, 0, 5, 7]], 1.0);
    assert_eq!(t[[0, 1, 100, 200]], 0.0);
    assert_eq!(t[[0, 2, 223, 0]], -0.9921875);
}

#[test]
fn non_square_inputs_cover_the_box_then_cut_its_centre() {
    // 400 x 300 into a 48 x 192 (H x W) input, shorter side 48 -> 48 (no margin): the image is
    // scaled to cover 192 x 48, i.e. by 192 / 400 to 192 x 144, and the centre 48 rows kept.
    let img = RgbImage::from_fn(400, 300, |_, y| Rgb([if y < 150 { 0 } else { 255 }; 3]));
    let p = Preprocess {
        resize_shorter: Some(48),
        ..P
    };
    let cut = resize_and_crop(&img, &p, 48, 192);
    assert_eq!(cut.dimensions(), (192, 48));
    // Rows 48..96 of the 144-row image: 0..24 black (above the middle), 24..48 white.
    assert_eq!(cut.get_pixel(100, 20), &Rgb([0; 3]));
    assert_eq!(cut.get_pixel(100, 28), &Rgb([255; 3]));
    let t = preprocess(&img, &p, 48, 192, 3);
    assert_eq!(t.shape(), &[1, 3, 48, 192]);
    // Stretch keeps everything: the top half of the rows black, the bottom white.
    let stretch = Preprocess {
        resize: Resize::Stretch,
        ..P
    };
    let all = resize_and_crop(&img, &stretch, 48, 192);
    assert_eq!(all.dimensions(), (192, 48));
    assert_eq!(all.get_pixel(10, 2), &Rgb([0; 3]));
    assert_eq!(all.get_pixel(10, 45), &Rgb([255; 3]));
}

#[test]
fn bgr_and_grey_inputs_take_their_channels() {
    let img = RgbImage::from_pixel(64, 64, Rgb([255, 127, 0]));
    let bgr = Preprocess {
        channels: Channels::Bgr,
        ..P
    };
    let t = preprocess(&img, &bgr, 32, 32, 3);
    // Channel 0 is blue: (0 - 127) / 128.
    assert_eq!(t[[0, 0, 3, 3]], -0.9921875);
    assert_eq!(t[[0, 2, 3, 3]], 1.0);
    let grey = Preprocess {
        mean: [0.0; 3],
        std: [1.0; 3],
        ..P
    };
    let t = preprocess(&img, &grey, 28, 28, 1);
    assert_eq!(t.shape(), &[1, 1, 28, 28]);
    let luma = 0.299f32 * 255.0 + 0.587 * 127.0;
    assert!(
        (t[[0, 0, 10, 10]] - luma).abs() < 1e-3,
        "{}",
        t[[0, 0, 10, 10]]
    );
}
