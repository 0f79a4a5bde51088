//! Image decoding and preprocessing into model input tensors.
