//! An uploaded model cannot make the server read its own files: a tensor whose data
//! lives "outside the model" is refused at upload, by name, wherever it hides.

use base64::Engine;
use inference::onnx::graph::{Dim, float_value_info, node};
use inference::onnx::proto::tensor_proto::{DataLocation, DataType};
use inference::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    ValueInfoProto, attribute_proto,
};
use prost::Message;
use serde_json::json;

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

const ITEMS: i64 = 2;

fn leak(name: &str, location: &str) -> TensorProto {
    let entry = |k: &str, v: &str| StringStringEntryProto { key: Some(k.into()), value: Some(v.into()) };
    TensorProto {
        name: Some(name.into()),
        dims: vec![1, ITEMS],
        data_type: Some(DataType::Float as i32),
        data_location: Some(DataLocation::External as i32),
        external_data: vec![entry("location", location), entry("length", "8")],
        ..Default::default()
    }
}

fn matrix(name: &str) -> ValueInfoProto {
    float_value_info(name, &[Dim::Symbolic("N"), Dim::Fixed(ITEMS as usize)])
}

fn op(kind: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) -> NodeProto {
    node(kind, &format!("{kind}_{output}"), inputs, &[output], attributes)
}

/// `scores = user_history + leak`, the leaked tensor coming from `leak_graph`.
fn upload_bytes(leak_graph: GraphProto) -> String {
    let mut graph = leak_graph;
    graph.input = vec![matrix("user_history")];
    graph.output = vec![matrix("scores")];
    graph.node.push(op("Add", &["user_history", "leak"], "scores", vec![]));
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(graph),
        ..Default::default()
    };
    base64::engine::general_purpose::STANDARD.encode(model.encode_to_vec())
}

on_both_backends!(
    uploads_that_point_at_server_files_are_refused_by_tensor_name,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        // Real files next to the server: this crate's manifest (relative to the working
        // directory the server runs in) and an absolute path to the same file.
        let absolute = std::env::current_dir().unwrap().join("Cargo.toml").display().to_string();
        let upload = "mutation($i: UploadModelInput!) { uploadModel(input: $i) { id } }";
        for location in ["Cargo.toml", absolute.as_str(), "../tests/Cargo.toml"] {
            let in_initializer = GraphProto { initializer: vec![leak("leak", location)], ..Default::default() };
            let then_branch = GraphProto {
                initializer: vec![leak("hidden_in_if", location)],
                node: vec![op("Identity", &["hidden_in_if"], "then_out", vec![])],
                output: vec![matrix("then_out")],
                ..Default::default()
            };
            let graph_attr = |name: &str, g: GraphProto| AttributeProto {
                name: Some(name.into()),
                r#type: Some(attribute_proto::AttributeType::Graph as i32),
                g: Some(g),
                ..Default::default()
            };
            let mut else_branch = then_branch.clone();
            else_branch.output = vec![matrix("else_out")];
            else_branch.node[0].output = vec!["else_out".into()];
            let cond = TensorProto {
                name: Some("cond".into()),
                data_type: Some(DataType::Bool as i32),
                int32_data: vec![1],
                ..Default::default()
            };
            let in_if = GraphProto {
                initializer: vec![cond],
                node: vec![op(
                    "If",
                    &["cond"],
                    "leak",
                    vec![graph_attr("then_branch", then_branch), graph_attr("else_branch", else_branch)],
                )],
                ..Default::default()
            };
            for (tensor, graph) in [("leak", in_initializer), ("hidden_in_if", in_if)] {
                let input = json!({ "name": "exfiltrate", "onnxBase64": upload_bytes(graph), "itemIds": ["a", "b"] });
                let (status, body) = server.gql(Some(&t.api_key), upload, json!({ "i": input })).await;
                assert_eq!((status, error_code(&body).as_str()), (400, "INVALID_INPUT"), "{location}: {body}");
                let message = body["errors"][0]["message"].as_str().unwrap();
                assert!(message.contains(tensor) && message.contains("outside the model"), "{location}: {message}");
            }
        }
        let (_, body) =
            server.gql(Some(&t.api_key), "{ models(first: 10) { edges { node { id } } } }", json!({})).await;
        assert_eq!(body["data"]["models"]["edges"].as_array().map(Vec::len), Some(0), "nothing was registered: {body}");
    }
);
