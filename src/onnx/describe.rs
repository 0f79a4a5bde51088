//! What an ONNX file says about its image input before any import: the graph's name and its
//! run-time inputs with their dimensions as written (open ones as `None`). The metadata's
//! defaults are read from it ([`crate::model::ModelMetadata::resolve`]).

use super::proto::{DimensionValue, ModelProto};
use crate::{Error, Result};
use prost::Message;
use serde::Serialize;
use std::collections::HashSet;

/// A graph input as the file declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInput {
    /// The input's name.
    pub name: String,
    /// Its dimensions: `None` where the file leaves one open (a symbolic name, unknown or
    /// negative); empty if the file gives no shape.
    pub dims: Vec<Option<usize>>,
}

/// The parts of an ONNX file the metadata defaults come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDescription {
    /// `graph.name` (may be empty).
    pub graph_name: String,
    /// Run-time inputs: graph inputs that are not initializers.
    pub inputs: Vec<FileInput>,
}

/// Decodes just enough of `bytes` to describe the graph's name and run-time inputs.
pub fn describe(bytes: &[u8]) -> Result<FileDescription> {
    if bytes.is_empty() {
        return Err(Error::MalformedModel("empty file".into()));
    }
    let model = ModelProto::decode(bytes)
        .map_err(|e| Error::MalformedModel(format!("cannot decode ModelProto: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| Error::MalformedModel("model has no graph".into()))?;
    let constants: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph
        .input
        .iter()
        .filter(|vi| !constants.contains(vi.name.as_str()))
        .map(|vi| {
            let dims = vi
                .r#type
                .as_ref()
                .and_then(|t| t.tensor_type.as_ref())
                .and_then(|t| t.shape.as_ref())
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match d.value {
                            Some(DimensionValue::DimValue(v)) => usize::try_from(v).ok(),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            FileInput {
                name: vi.name.clone(),
                dims,
            }
        })
        .collect();
    Ok(FileDescription {
        graph_name: graph.name.clone(),
        inputs,
    })
}
