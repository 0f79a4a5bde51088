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
    /// File-system errors of the native CLI and tests.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
