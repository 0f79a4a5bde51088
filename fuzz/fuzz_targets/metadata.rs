//! Metadata JSON -> `ModelMetadata::from_json` -> `resolve` against a file whose input leaves
//! the batch, height and width open: any text must give `Ok` or `Err`, never a panic; what
//! it accepts must be usable (one image of 1 or 3 channels, positive sides within the limit,
//! a resize no smaller than the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope::model::{ModelMetadata, MAX_RESIZE};
use quantscope::onnx::{FileDescription, FileInput};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(m) = ModelMetadata::from_json(text) else {
        return;
    };
    let file = FileDescription {
        graph_name: "fuzz".into(),
        inputs: vec![FileInput {
            name: "input".into(),
            dims: vec![None, Some(3), None, None],
        }],
    };
    if let Ok(r) = m.resolve(&file) {
        let (h, w) = r.input_size();
        assert!(h > 0 && w > 0 && h <= MAX_RESIZE && w <= MAX_RESIZE);
        assert!(matches!(r.input_channels(), 1 | 3));
        if let Some(s) = r.preprocess.resize_shorter {
            assert!(s >= h.min(w));
        }
    }
});
