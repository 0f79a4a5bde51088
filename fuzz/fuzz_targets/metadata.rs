//! Metadata JSON -> `ModelMetadata::from_json`: any text must give `Ok` or `Err`, never a
//! panic; what it accepts must be usable (labels present, crop within the resize).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope::model::ModelMetadata;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(m) = ModelMetadata::from_json(text) {
        assert!(!m.labels.is_empty());
        assert!(m.preprocess.crop > 0 && m.preprocess.crop <= m.preprocess.resize_shorter);
    }
});
