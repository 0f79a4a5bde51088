//! Image bytes -> `image::decode` -> `image::preprocess` to a small model tensor: any input
//! must give `Ok` or `Err`, never a panic or an allocation past the decoder's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope::model::{Preprocess, Resize};

fuzz_target!(|bytes: &[u8]| {
    // Images up to 64 K pixels: the decoders and the header limit run as in `decode` (50 MP),
    // while what only makes a run slow (decoding and resizing megapixels, 350 runs/s at 50 MP
    // and 590 at 1 MP under ASan) is cut; tests/malformed.rs covers the large ones.
    let Ok(img) = quantscope::image::decode_at_most(bytes, 1 << 16) else {
        return;
    };
    // Small sizes keep the resize cheap; odd ones exercise the crop offsets, one non-square
    // and stretched, one grey.
    let p = Preprocess {
        resize_shorter: Some(19),
        mean: [127.0, 127.0, 127.0],
        std: [128.0, 128.0, 128.0],
        ..Preprocess::default()
    };
    let t = quantscope::image::preprocess(&img, &p, 17, 17, 3);
    assert_eq!(t.shape(), &[1, 3, 17, 17]);
    let stretch = Preprocess {
        resize: Resize::Stretch,
        ..p
    };
    let t = quantscope::image::preprocess(&img, &stretch, 5, 23, 1);
    assert_eq!(t.shape(), &[1, 1, 5, 23]);
});
