//! `Model.exportOnnx()`: a static variant as an ONNX QDQ model (see [`crate::export`]).

use super::{js_error, Model};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Model {
    /// The ONNX bytes (QDQ form, opset 21; uniform weights of at most 4 bits as INT4) of this
    /// static variant, for onnxruntime and other runtimes. Rejects fp32, fp16 and dynamic
    /// variants, which have no fixed activation quantization to write.
    #[wasm_bindgen(js_name = exportOnnx)]
    pub fn export_onnx(&self) -> Result<Vec<u8>, JsError> {
        let variant = self.classifier.variant();
        let exec = self.classifier.int8_executor().ok_or_else(|| {
            JsError::new(&format!(
                "exportOnnx writes a static variant (integer-only, calibrated: w<b>a<b>...) as \
                 ONNX QDQ; {variant} is not static: build one with quantize({{ variant: \
                 \"w8a8\" }}) or withRanges first"
            ))
        })?;
        crate::export::export_qdq(exec.quantized()).map_err(js_error)
    }
}
