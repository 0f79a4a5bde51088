//! ONNX import: protobuf decoding and translation to the IR.
