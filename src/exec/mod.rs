//! Executors: run an IR graph on tensors.
