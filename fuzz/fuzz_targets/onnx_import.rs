//! ONNX bytes -> `onnx::describe` and the metadata defaults it gives -> `onnx::load_model` ->
//! float executor -> one run on zeros when the graph is small: any input must give `Ok` or
//! `Err`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope::exec::float::FloatExecutor;
use quantscope::ir::Tensor;
use quantscope::onnx::{load_model, ImportOptions};

/// Graphs whose values hold more elements than this are built but not run (keeps exec/s up).
const RUN_LIMIT: usize = 1 << 16;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(file) = quantscope::onnx::describe(bytes) {
        let _ = quantscope::model::ModelMetadata::default().resolve(&file);
    }
    let Ok(graph) = load_model(bytes, &ImportOptions::default()) else {
        return;
    };
    let elements: usize = graph
        .values
        .iter()
        .map(|v| v.shape.iter().product::<usize>())
        .sum();
    let inputs: Vec<Tensor> = graph
        .inputs
        .iter()
        .map(|&i| Tensor::zeros(graph.shape(i).to_vec()))
        .collect();
    let Ok(exec) = FloatExecutor::new(graph) else {
        return;
    };
    if elements <= RUN_LIMIT {
        let _ = exec.run(&inputs);
    }
});
