//! Image bytes -> `image::decode` -> `image::preprocess` to a small model tensor: any input
//! must give `Ok` or `Err`, never a panic or an allocation past the decoder's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope::model::Preprocess;

fuzz_target!(|bytes: &[u8]| {
    let Ok(img) = quantscope::image::decode(bytes) else {
        return;
    };
    // Small sizes keep the resize cheap; odd ones exercise the crop offsets.
    let p = Preprocess {
        resize_shorter: 19,
        crop: 17,
        mean: [127.0, 127.0, 127.0],
        std: [128.0, 128.0, 128.0],
    };
    let t = quantscope::image::preprocess(&img, &p);
    assert_eq!(t.shape(), &[1, 3, 17, 17]);
});
