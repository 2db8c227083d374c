//! `POST /models/upload`: models larger than a GraphQL body can carry upload, serve and
//! stay in their tenant; strangers, keys without `models:manage` and oversized bodies
//! are refused with the right status and code, the last without reading on.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::helpers::{Dataset, TestServer, assert_error, error_code, movie};
use crate::on_both_backends;

const BOUNDARY: &str = "marquee-e2e-5f1d3c";

/// A multipart form with the given parts (name, content type, bytes).
fn form(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content_type, bytes) in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn upload_form(metadata: &Value, model: &[u8]) -> Vec<u8> {
    form(&[
        ("metadata", "application/json", metadata.to_string().as_bytes()),
        ("model", "application/octet-stream", model),
    ])
}

/// POSTs a form to /models/upload; the status, the JSON body and the x-request-id header.
async fn post_upload(server: &TestServer, token: Option<&str>, body: Vec<u8>) -> (u16, Value, String) {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let answer = server.post("/models/upload", token, &[], &content_type, body).await;
    let request_id = answer.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (answer.status, answer.body, request_id)
}

/// A history model over `n` items where history item j recommends item j + 1, so its
/// answers are easy to predict; 4 n^2 bytes of weights.
fn next_item_model(n: usize) -> Vec<u8> {
    let mut weights = ndarray::Array2::<f32>::zeros((n, n));
    for j in 0..n {
        weights[[j, (j + 1) % n]] = 1.0;
    }
    inference::onnx::export_history_model(weights.view(), "uploaded").unwrap()
}

fn catalog(n: usize) -> Dataset {
    Dataset { contents: (0..n).map(|i| movie(&format!("c{i}"), &format!("Film {i}"))).collect(), ..Dataset::default() }
}

on_both_backends!(
    a_model_larger_than_a_graphql_body_uploads_serves_and_stays_in_its_tenant,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        let n = 800;
        server.seed(key, &catalog(n)).await;
        let model = next_item_model(n);
        let two_mib = 2 * 1024 * 1024;
        assert!(model.len() > two_mib, "{} bytes", model.len());
        assert!(
            model.len() * 4 / 3 > api::config::Settings::default().graphql.max_body_bytes,
            "base64 of it cannot fit a GraphQL body"
        );

        let item_ids: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let (status, body, request_id) =
            post_upload(server, Some(key), upload_form(&json!({ "name": "next item", "itemIds": item_ids }), &model))
                .await;
        assert_eq!(status, 200, "{body}");
        let uploaded = &body["data"]["uploadModel"];
        assert_eq!(uploaded["algorithm"], "UPLOADED", "{body}");
        assert_eq!(uploaded["status"], "READY", "{body}");
        assert_eq!(uploaded["dataSnapshot"]["items"], n, "{body}");
        let id = uploaded["id"].as_str().unwrap().to_owned();

        // Audited as uploadModel is, under this request's id.
        let (_, events) = server
            .gql(
                Some(key),
                "{ auditEvents(filter: {action: \"model.uploaded\"}) { edges { node { requestId target outcome } } } }",
                json!({}),
            )
            .await;
        let events = events["data"]["auditEvents"]["edges"].as_array().unwrap().clone();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["node"]["target"], id.as_str());
        assert_eq!(events[0]["node"]["requestId"], request_id.as_str());

        server.deploy(key, &id, false).await;
        let r =
            server.record(key, json!([{ "eventId": "p-1", "userId": "p", "contentId": "c41", "type": "PLAY" }])).await;
        assert_eq!(r["accepted"], 1, "{r}");
        let (_, body) = server
            .gql(
                Some(key),
                "{ recommendations(userId: \"p\", first: 3) { strategy modelId items { contentId } } }",
                json!({}),
            )
            .await;
        let recs = &body["data"]["recommendations"];
        assert_eq!(recs["strategy"], "UPLOADED_MODEL", "{body}");
        assert_eq!(recs["modelId"], id.as_str());
        assert_eq!(recs["items"][0]["contentId"], "c42", "the uploaded weights decide: {body}");

        // Another tenant can neither see, deploy nor be served by it.
        let b = server.new_tenant().await;
        let (_, body) =
            server.gql(Some(&b.api_key), "query($id: ID!) { model(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        let (_, body) = server
            .gql(Some(&b.api_key), "mutation($id: ID!) { deployModel(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        let (_, body) = server.gql(Some(&b.api_key), "{ models { edges { node { id } } } }", json!({})).await;
        assert_eq!(body["data"]["models"]["edges"], json!([]), "{body}");
    }
);

on_both_backends!(uploads_need_models_manage_and_a_well_formed_form, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let model = next_item_model(3);
    let good = upload_form(&json!({ "name": "small", "itemIds": ["a", "b", "c"] }), &model);

    let (status, body, _) = post_upload(server, None, good.clone()).await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");
    let (status, body, _) = post_upload(server, Some("mq_live_not-a-real-key"), good.clone()).await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");
    let reader = server.key_with(key, &["catalog:read", "recommendations:read"]).await;
    let (status, body, _) = post_upload(server, Some(&reader), good.clone()).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (_, body) = server.gql(Some(key), "{ models { edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["models"]["edges"], json!([]), "nothing was stored: {body}");

    // The same refusals as uploadModel, naming the part or field at fault.
    let (status, body, _) =
        post_upload(server, Some(key), upload_form(&json!({ "name": "x", "itemIds": ["a"] }), b"not onnx at all"))
            .await;
    assert_error(status, &body, 400, "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "model", "{body}");
    let (status, body, _) =
        post_upload(server, Some(key), upload_form(&json!({ "name": "x", "itemIds": ["a", "a", "b"] }), &model)).await;
    assert_error(status, &body, 400, "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "itemIds", "{body}");
    let only_model = form(&[("model", "application/octet-stream", &model)]);
    let (status, body, _) = post_upload(server, Some(key), only_model).await;
    assert_error(status, &body, 400, "INVALID_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "metadata", "{body}");
    let (status, body, _) = post_upload(
        server,
        Some(key),
        form(&[("metadata", "application/json", b"{\"name\": 1}"), ("model", "application/octet-stream", &model)]),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_INPUT");
    let (status, body, _) = post_upload(server, Some(key), b"raw bytes, no form".to_vec()).await;
    assert_error(status, &body, 400, "BAD_REQUEST");

    // A small one goes through.
    let (status, body, _) = post_upload(server, Some(key), good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["uploadModel"]["algorithm"], "UPLOADED", "{body}");
});

/// Sends a request head (and, for chunked bodies, up to `send_mib` MiB of one form
/// part) on a plain socket, and returns the status line and body of the answer. The
/// writer runs beside the reader, so an early answer is read while bytes still flow.
fn raw_upload(port: u16, key: &str, content_length: Option<u64>, send_mib: usize) -> (String, String, usize) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let length = match content_length {
        Some(n) => format!("Content-Length: {n}\r\n"),
        None => "Transfer-Encoding: chunked\r\n".to_owned(),
    };
    let head = format!(
        "POST /models/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n{length}\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let chunked = content_length.is_none();
    let sent = std::thread::spawn(move || {
        if !chunked {
            return 0;
        }
        let part = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model\"; filename=\"m.onnx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let mib = vec![7u8; 1024 * 1024];
        let mut sent = 0;
        let mut chunk = |bytes: &[u8]| {
            writer
                .write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
                .and_then(|_| writer.write_all(bytes))
                .and_then(|_| writer.write_all(b"\r\n"))
        };
        if chunk(part.as_bytes()).is_err() {
            return 0;
        }
        for _ in 0..send_mib {
            if chunk(&mib).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length: ").and_then(|v| v.trim().parse::<usize>().ok())
            });
            if length.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let sent = sent.join().unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or("").to_owned(), body.to_owned(), sent)
}

on_both_backends!(an_upload_past_the_limit_is_refused_without_reading_on, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.clone();
    let port: u16 = server.base_url.rsplit(':').next().unwrap().parse().unwrap();
    let limit = api::config::Settings::default().models.max_upload_bytes;

    // Announced too large: refused on the head, before a byte of the body.
    let announced = (limit as u64) * 2;
    let k = key.clone();
    let (status, body, _) =
        tokio::task::spawn_blocking(move || raw_upload(port, &k, Some(announced), 0)).await.unwrap();
    assert!(status.contains(" 413 "), "{status} {body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE"), "{body}");

    // Streamed without a length: refused once the model part passes the limit, while
    // the client is still sending.
    let send_mib = limit / (1024 * 1024) + 32;
    let (status, body, sent) =
        tokio::task::spawn_blocking(move || raw_upload(port, &key, None, send_mib)).await.unwrap();
    assert!(status.contains(" 413 "), "{status} {body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE") && body.contains("max_upload_bytes"), "{body}");
    assert!(sent < send_mib, "the server stopped reading before the client finished ({sent} of {send_mib} MiB)");
});
