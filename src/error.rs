//! One error type for every layer; each variant's message names the problem.

/// Everything that can go wrong between bytes on disk and logits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not a well-formed ONNX model (truncated, bad protobuf, dangling names).
    #[error("malformed ONNX model: {0}")]
    MalformedModel(String),
    /// The model is well formed but uses something quantscope does not execute.
    #[error("unsupported ONNX: node '{node}' ({op_type}): {what}")]
    Unsupported {
        /// Node name (or a generated `op_type#index` when the node has none).
        node: String,
        /// ONNX op type, e.g. `Conv`.
        op_type: String,
        /// What exactly is unsupported, e.g. `attribute 'auto_pad' = "VALID2"`.
        what: String,
    },
    /// A shape rule failed: inputs that cannot go together.
    #[error("shape error in node '{node}': {what}")]
    Shape {
        /// Node name.
        node: String,
        /// What does not fit.
        what: String,
    },
    /// An image that cannot be decoded or is too large.
    #[error("image: {0}")]
    Image(String),
    /// A tensor or argument handed to the engine that does not fit the model.
    #[error("invalid input: {0}")]
    Input(String),
    /// Model metadata (labels, preprocessing) that is missing or inconsistent.
    #[error("model metadata: {0}")]
    Metadata(String),
    /// A dataset file (IDX images or labels) that cannot be read.
    #[error("dataset: {0}")]
    Data(String),
    /// File-system errors of the native CLI and tests.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A shape as a user reads it, `[1, 3, 224, 224]`, for error messages (not Rust debug text).
pub fn shape_text(dims: &[usize]) -> String {
    partial_shape_text(dims.iter().map(Some))
}

/// A shape with dimensions that may be unknown (symbolic or missing), as `[1, 3, ?, ?]`.
pub fn partial_shape_text<D: std::fmt::Display>(
    dims: impl IntoIterator<Item = Option<D>>,
) -> String {
    let dims: Vec<String> = dims
        .into_iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_as_lists_with_unknown_dims_as_question_marks() {
        assert_eq!(shape_text(&[1, 3, 224, 224]), "[1, 3, 224, 224]");
        assert_eq!(shape_text(&[]), "[]");
        assert_eq!(
            partial_shape_text([Some(1), Some(3), None, None]),
            "[1, 3, ?, ?]"
        );
    }
}
