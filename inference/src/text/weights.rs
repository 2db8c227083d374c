//! Reading a BERT checkpoint from a `model.safetensors` file.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{InferenceError, Result};

/// The float32 tensors of a checkpoint, by name without the optional `bert.` prefix
/// (Hugging Face's `BertModel` saves without it, some task heads with it).
pub(super) struct Weights {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

fn unusable(reason: impl Into<String>) -> InferenceError {
    InferenceError::TextModel { reason: reason.into() }
}

impl Weights {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| InferenceError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&bytes).map_err(|e| match e {
            InferenceError::TextModel { reason } => unusable(format!("{}: {reason}", path.display())),
            other => other,
        })
    }

    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| unusable(format!("not a safetensors file ({e})")))?;
        let mut tensors = HashMap::new();
        for (name, view) in file.tensors() {
            // Integer buffers such as `position_ids` are not weights.
            if view.dtype() != Dtype::F32 {
                if name.ends_with(".weight") || name.ends_with(".bias") {
                    return Err(unusable(format!(
                        "tensor `{name}` is {:?}; only float32 checkpoints are supported",
                        view.dtype()
                    )));
                }
                continue;
            }
            let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let key = name.strip_prefix("bert.").unwrap_or(&name).to_string();
            tensors.insert(key, (view.shape().to_vec(), values));
        }
        Ok(Self { tensors })
    }

    /// A tensor that must exist, with its shape checked when `shape` is given.
    pub fn get(&self, name: &str, shape: Option<&[usize]>) -> Result<(&[usize], &[f32])> {
        let (dims, values) =
            self.tensors.get(name).ok_or_else(|| unusable(format!("the checkpoint has no tensor `{name}`")))?;
        if let Some(expected) = shape
            && dims.as_slice() != expected
        {
            return Err(unusable(format!("tensor `{name}` has shape {dims:?}, expected {expected:?}")));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(unusable(format!("tensor `{name}` contains NaN or infinite values")));
        }
        Ok((dims, values))
    }

    /// How many `encoder.layer.{i}` blocks the checkpoint has.
    pub fn layer_count(&self) -> usize {
        (0..)
            .take_while(|i| self.tensors.contains_key(&format!("encoder.layer.{i}.attention.self.query.weight")))
            .count()
    }
}
