//! Validation of tenant-uploaded models: the published signature, the refusal of
//! external data, and a probe run in the sandbox. Above `onnx`, `runtime` and
//! `sandbox`, which it uses.

use std::collections::{BTreeMap, BTreeSet};

use ndarray::Array2;
use prost::Message;

use crate::error::{InferenceError, Result};
use crate::onnx::proto::tensor_proto::DataType;
use crate::onnx::proto::tensor_shape_proto::dimension;
use crate::onnx::proto::{ModelProto, ValueInfoProto, type_proto};
use crate::onnx::{ModelSignature, SCORES_OUTPUT, SignatureKind, refuse_external_data};
use crate::runtime::{OnnxScorer, OrtRuntime};
use crate::sandbox::{SandboxConfig, SandboxedScorer};

/// Rows of the probe batch: more than one, so a model that hard-codes batch size 1 fails.
const PROBE_ROWS: usize = 2;

/// What an upload must look like.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSignature {
    /// Factor or history input.
    pub kind: SignatureKind,
    /// Input columns: factor count for factor models; ignored for history models, whose
    /// input width is the catalog size.
    pub factors: usize,
    /// Catalog size: the number of scores per row (and the history width).
    pub n_items: usize,
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
}

impl ExpectedSignature {
    fn input_width(&self) -> usize {
        match self.kind {
            SignatureKind::Factor => self.factors,
            SignatureKind::History => self.n_items,
        }
    }
}

/// [`validate_model`] for a model from outside the service: its probe runs in a sandboxed
/// worker under `sandbox`'s memory and time limits, never in this process. A refusal by
/// the sandbox itself (not the model's fault) is [`InferenceError::SandboxUnavailable`].
pub fn validate_uploaded(
    bytes: &[u8],
    expected: &ExpectedSignature,
    sandbox: &SandboxConfig,
) -> Result<ModelSignature> {
    validate_probed(bytes, expected, Some(sandbox))
}

/// Checks that `bytes` is an ONNX model with the expected signature and that ONNX Runtime
/// can run it: loads it, feeds a probe batch and checks the scores' shape and finiteness.
/// Needs [`OrtRuntime::init`] to have been called. Each refusal is its own error variant.
/// The probe runs in this process: for models the service made; uploads go through
/// [`validate_uploaded`].
pub fn validate_model(bytes: &[u8], expected: &ExpectedSignature) -> Result<ModelSignature> {
    validate_probed(bytes, expected, None)
}

fn validate_probed(
    bytes: &[u8],
    expected: &ExpectedSignature,
    sandbox: Option<&SandboxConfig>,
) -> Result<ModelSignature> {
    if bytes.len() > expected.max_bytes {
        return Err(InferenceError::ModelTooLarge { size: bytes.len(), limit: expected.max_bytes });
    }
    let model = decode(bytes)?;
    refuse_external_data(&model)?;
    let graph = model.graph.as_ref().ok_or_else(|| not_onnx("the file has no graph"))?;
    let input_name = expected.kind.input_name();

    // IR < 4 lists initializers among the inputs; those are not inputs a caller feeds.
    let initializers: BTreeSet<&str> = graph.initializer.iter().filter_map(|t| t.name.as_deref()).collect();
    let fed: Vec<&ValueInfoProto> =
        graph.input.iter().filter(|v| !initializers.contains(v.name.as_deref().unwrap_or(""))).collect();
    let input = fed.iter().find(|v| v.name.as_deref() == Some(input_name)).ok_or_else(|| {
        InferenceError::MissingInput { expected: input_name.to_string(), found: names(fed.iter().copied()) }
    })?;
    let extra: Vec<&ValueInfoProto> = fed.iter().copied().filter(|v| v.name.as_deref() != Some(input_name)).collect();
    if !extra.is_empty() {
        return Err(InferenceError::UnexpectedInputs {
            expected: input_name.to_string(),
            names: names(extra.into_iter()),
        });
    }
    let output = graph.output.iter().find(|v| v.name.as_deref() == Some(SCORES_OUTPUT)).ok_or_else(|| {
        InferenceError::MissingOutput { expected: SCORES_OUTPUT.to_string(), found: names(graph.output.iter()) }
    })?;
    check_matrix(input, expected.input_width())?;
    check_matrix(output, expected.n_items)?;

    probe(bytes, expected, sandbox)?;

    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.as_deref().unwrap_or("").is_empty() || o.domain.as_deref() == Some("ai.onnx"))
        .filter_map(|o| o.version)
        .max()
        .unwrap_or(0);
    let metadata: BTreeMap<String, String> = model
        .metadata_props
        .iter()
        .map(|p| (p.key.clone().unwrap_or_default(), p.value.clone().unwrap_or_default()))
        .collect();
    Ok(ModelSignature {
        kind: expected.kind,
        input_width: expected.input_width(),
        n_items: expected.n_items,
        opset,
        producer: model.producer_name.clone().filter(|s| !s.is_empty()),
        metadata,
    })
}

fn decode(bytes: &[u8]) -> Result<ModelProto> {
    if bytes.is_empty() {
        return Err(not_onnx("the file is empty"));
    }
    let model = ModelProto::decode(bytes).map_err(|e| not_onnx(&format!("the protobuf does not decode ({e})")))?;
    // Protobuf decoding is permissive: random bytes can parse as a message of unknown
    // fields. A real model names its IR version and at least one operator set.
    if model.ir_version.unwrap_or(0) <= 0 {
        return Err(not_onnx("no IR version"));
    }
    if model.opset_import.is_empty() {
        return Err(not_onnx("no operator set import"));
    }
    Ok(model)
}

fn not_onnx(reason: &str) -> InferenceError {
    InferenceError::NotOnnx { reason: reason.to_string() }
}

fn names<'a>(values: impl Iterator<Item = &'a ValueInfoProto>) -> String {
    let list: Vec<String> = values.map(|v| format!("`{}`", v.name.as_deref().unwrap_or(""))).collect();
    if list.is_empty() { "none".to_string() } else { list.join(", ") }
}

/// Checks a float32 rank-2 `[N, width]` declaration; a symbolic or missing second
/// dimension is accepted here and checked by the probe.
fn check_matrix(v: &ValueInfoProto, width: usize) -> Result<()> {
    let name = v.name.clone().unwrap_or_default();
    let tensor = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t,
        _ => {
            return Err(InferenceError::WrongElementType {
                name,
                expected: "a float32 tensor".into(),
                found: "a non-tensor type".into(),
            });
        }
    };
    let elem = tensor.elem_type.unwrap_or(0);
    if elem != DataType::Float as i32 {
        let found =
            DataType::try_from(elem).map_or_else(|_| format!("type code {elem}"), |d| d.as_str_name().to_lowercase());
        return Err(InferenceError::WrongElementType { name, expected: "float".into(), found });
    }
    let expected_text = format!("[N, {width}]");
    let Some(shape) = tensor.shape.as_ref() else {
        return Ok(());
    };
    let dims: Vec<Option<i64>> = shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(dimension::Value::DimValue(n)) => Some(n),
            _ => None,
        })
        .collect();
    let found = format!(
        "[{}]",
        dims.iter().map(|d| d.map_or_else(|| "?".to_string(), |n| n.to_string())).collect::<Vec<_>>().join(", ")
    );
    let wrong =
        || InferenceError::WrongShape { name: name.clone(), expected: expected_text.clone(), found: found.clone() };
    if dims.len() != 2 {
        return Err(wrong());
    }
    // A fixed batch size would break batched scoring; only a dynamic one is accepted.
    if dims[0].is_some_and(|n| n >= 0) {
        return Err(wrong());
    }
    if dims[1].is_some_and(|n| n != width as i64) {
        return Err(wrong());
    }
    Ok(())
}

fn probe(bytes: &[u8], expected: &ExpectedSignature, sandbox: Option<&SandboxConfig>) -> Result<()> {
    let width = expected.input_width();
    // Plausible inputs: small factor values, or a history of a few items.
    let input = Array2::from_shape_fn((PROBE_ROWS, width), |(r, c)| match expected.kind {
        SignatureKind::Factor => 0.01 * ((r * 7 + c * 3) % 11) as f32,
        SignatureKind::History => f32::from(u8::from((c + r) % 5 == 0)),
    });
    let probe_failed = |e: InferenceError| InferenceError::ProbeFailed { reason: e.to_string() };
    let scores = match sandbox {
        None => OnnxScorer::new(OrtRuntime::get()?, bytes, 1)?.score(input.view()).map_err(probe_failed)?,
        // One run of the whole probe, the worker's start included, within the timeout.
        Some(config) => SandboxedScorer::new(config.clone(), bytes.to_vec(), expected.n_items)
            .score(input.view())
            .map_err(|e| match e {
                InferenceError::ModelLoad { .. } | InferenceError::SandboxUnavailable { .. } => e,
                other => probe_failed(other),
            })?,
    };
    let want = vec![PROBE_ROWS, expected.n_items];
    if scores.shape() != want.as_slice() {
        return Err(InferenceError::ProbeWrongShape { expected: want, found: scores.shape().to_vec() });
    }
    let bad = scores.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(InferenceError::ProbeNotFinite { count: bad });
    }
    Ok(())
}
