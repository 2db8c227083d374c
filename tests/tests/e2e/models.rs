//! The model lifecycle end to end: ingest, train in the background, evaluate, deploy,
//! serve through ONNX Runtime with filters and fold-in, roll back, refuse bad uploads,
//! and never serve one tenant another's model.

use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

/// Two taste clusters: "action" movies from Studio A and "romance" series from Studio B.
/// Users a0..a29 watch mostly action, r0..r29 mostly romance.
pub(crate) async fn seed(server: &TestServer, key: &str) -> usize {
    let contents: Vec<Value> = (0..40)
        .map(|i| {
            let action = i < 20;
            json!({
                "id": format!("c{i}"),
                "kind": if action { "MOVIE" } else { "SERIES" },
                "title": format!("{} {i}", if action { "Explosions" } else { "Hearts" }),
                "genres": [if action { "Action" } else { "Romance" }],
                "provider": if action { "Studio A" } else { "Studio B" },
            })
        })
        .collect();
    let (_, body) = server
        .gql(
            Some(key),
            "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { errors { index message } } }",
            json!({ "c": contents }),
        )
        .await;
    assert_eq!(body["data"]["upsertContents"]["errors"], json!([]), "{body}");
    let mut events = Vec::new();
    for u in 0..60 {
        let (prefix, base) = if u < 30 { ("a", 0) } else { ("r", 20) };
        let user = format!("{prefix}{}", u % 30);
        for j in 0..8 {
            let item = base + (u * 7 + j * 3) % 20;
            events.push(json!({ "eventId": format!("e-{user}-{j}"), "userId": user, "contentId": format!("c{item}"), "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }));
        }
    }
    let n = events.len();
    let (_, body) = server
        .gql(Some(key), "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted errors { index message } } }", json!({ "e": events }))
        .await;
    assert_eq!(body["data"]["recordInteractions"]["accepted"], n, "{body}");
    n
}

pub(crate) async fn train(server: &TestServer, key: &str, input: Value) -> String {
    let (_, body) = server
        .gql(
            Some(key),
            "mutation($i: TrainModelInput!) { trainModel(input: $i) { model { id status } job { id status } } }",
            json!({ "i": input }),
        )
        .await;
    let job = body["data"]["trainModel"]["job"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let model = body["data"]["trainModel"]["model"]["id"].as_str().unwrap().to_owned();
    for _ in 0..240 {
        let (_, body) = server
            .gql(Some(key), "query($id: ID!) { job(id: $id) { status progress error } }", json!({ "id": job }))
            .await;
        match body["data"]["job"]["status"].as_str() {
            Some("SUCCEEDED") => return model,
            Some("FAILED") | Some("CANCELLED") => panic!("training ended badly: {body}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    }
    panic!("training did not finish in time");
}

pub(crate) async fn recommend(server: &TestServer, key: &str, user: &str, filter: Value) -> Value {
    let (status, body) = server
        .gql(
            Some(key),
            "query($u: String!, $f: RecommendationFilterInput) { recommendations(userId: $u, first: 5, filter: $f) { strategy modelId items { rank score contentId content { genres provider kind } } } }",
            json!({ "u": user, "f": filter }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["recommendations"].clone()
}

fn genres(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["content"]["genres"][0].as_str().unwrap().to_owned()).collect()
}

on_both_backends!(train_deploy_serve_and_roll_back, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let n_events = seed(server, key).await;

    // Before any deployment: a non-personalized answer that says so.
    let before = recommend(server, key, "a0", json!(null)).await;
    assert_eq!(before["strategy"], "POPULAR_FALLBACK");

    let als = train(server, key, json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 10 } })).await;
    let (_, body) = server
        .gql(Some(key), "query($id: ID!) { model(id: $id) { status active metrics { ndcg recall k evaluatedUsers } dataSnapshot { interactions users items } parameters } }", json!({ "id": als }))
        .await;
    let model = &body["data"]["model"];
    assert_eq!(model["status"], "READY", "{body}");
    assert_eq!(model["active"], false);
    assert_eq!(model["dataSnapshot"]["interactions"], n_events);
    assert_eq!(model["dataSnapshot"]["items"], 40);
    assert_eq!(model["metrics"]["evaluatedUsers"], 60);
    assert!(model["metrics"]["ndcg"].as_f64().unwrap() > 0.2, "clustered data is easy: {body}");

    let (_, body) =
        server.gql(Some(key), "mutation($id: ID!) { deployModel(id: $id) { active } }", json!({ "id": als })).await;
    assert_eq!(body["data"]["deployModel"]["active"], true, "{body}");

    // A trained user gets their cluster, nothing they have seen.
    let recs = recommend(server, key, "a0", json!(null)).await;
    assert_eq!(recs["strategy"], "PERSONALIZED", "{recs}");
    assert_eq!(recs["modelId"], als.as_str());
    assert_eq!(recs["items"].as_array().unwrap().len(), 5);
    assert!(genres(&recs).iter().filter(|g| *g == "Action").count() >= 4, "{recs}");
    let (_, seen) = server
        .gql(
            Some(key),
            "{ endUser(id: \"a0\") { interactions(first: 50) { edges { node { contentId } } } } }",
            json!({}),
        )
        .await;
    let seen: Vec<String> = seen["data"]["endUser"]["interactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["contentId"].as_str().unwrap().to_owned())
        .collect();
    assert!(!seen.is_empty());
    for item in recs["items"].as_array().unwrap() {
        assert!(!seen.contains(&item["contentId"].as_str().unwrap().to_owned()), "seen item recommended: {recs}");
    }
    let with_seen = recommend(server, key, "a0", json!({ "excludeSeen": false })).await;
    assert!(
        with_seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| seen.contains(&i["contentId"].as_str().unwrap().to_owned())),
        "{with_seen}"
    );

    // Every filter holds.
    let romance = recommend(server, key, "a0", json!({ "genres": ["Romance"] })).await;
    assert!(genres(&romance).iter().all(|g| g == "Romance") && !genres(&romance).is_empty(), "{romance}");
    let series = recommend(server, key, "a0", json!({ "kinds": ["SERIES"] })).await;
    assert!(series["items"].as_array().unwrap().iter().all(|i| i["content"]["kind"] == "SERIES"), "{series}");
    let studio_b = recommend(server, key, "a0", json!({ "providers": ["Studio B"] })).await;
    assert!(studio_b["items"].as_array().unwrap().iter().all(|i| i["content"]["provider"] == "Studio B"), "{studio_b}");
    let past = recommend(server, key, "a0", json!({ "availableAt": "1990-01-01T00:00:00Z" })).await;
    assert!(!past["items"].as_array().unwrap().is_empty(), "no window set: always available");

    // A user newer than the model is folded in from their history, at once.
    let events: Vec<Value> = (0..4).map(|i| json!({ "eventId": format!("new-{i}"), "userId": "newcomer", "contentId": format!("c{}", 20 + i), "type": "LIKE" })).collect();
    server
        .gql(
            Some(key),
            "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
            json!({ "e": events }),
        )
        .await;
    let fresh = recommend(server, key, "newcomer", json!(null)).await;
    assert_eq!(fresh["strategy"], "FOLD_IN", "{fresh}");
    assert!(genres(&fresh).iter().filter(|g| *g == "Romance").count() >= 4, "{fresh}");
    let unknown = recommend(server, key, "nobody-at-all", json!(null)).await;
    assert_eq!(unknown["strategy"], "POPULAR_FALLBACK");

    let (_, similar) = server
        .gql(
            Some(key),
            "{ similarContent(contentId: \"c3\", first: 5) { strategy items { content { genres } } } }",
            json!({}),
        )
        .await;
    let similar = &similar["data"]["similarContent"];
    assert_eq!(similar["strategy"], "MODEL_SIMILARITY", "{similar}");
    assert!(genres(similar).iter().filter(|g| *g == "Action").count() >= 4, "{similar}");

    // A worse model needs an explicit flag; deploy and rollback switch atomically while
    // requests are in flight.
    let popular = train(server, key, json!({ "algorithm": "MOST_POPULAR" })).await;
    let (_, body) =
        server.gql(Some(key), "mutation($id: ID!) { deployModel(id: $id) { active } }", json!({ "id": popular })).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let load = (0..4).map(|_| {
        let key = key.to_owned();
        tokio::spawn(async move {
            let mut models = Vec::new();
            for _ in 0..15 {
                let recs = recommend(server, &key, "a1", json!(null)).await;
                assert_eq!(recs["items"].as_array().unwrap().len(), 5, "{recs}");
                models.push(recs["modelId"].as_str().unwrap_or("").to_owned());
            }
            models
        })
    });
    let load: Vec<_> = load.collect();
    let (_, body) = server
        .gql(
            Some(key),
            "mutation($id: ID!) { deployModel(id: $id, allowWorse: true) { active } }",
            json!({ "id": popular }),
        )
        .await;
    assert_eq!(body["data"]["deployModel"]["active"], true, "{body}");
    let (_, body) = server.gql(Some(key), "mutation { rollbackModel { id active } }", json!({})).await;
    assert_eq!(body["data"]["rollbackModel"]["id"], als.as_str(), "{body}");
    for task in load {
        for model in task.await.unwrap() {
            assert!(model == als || model == popular, "every answer comes from one of the two models, whole: {model}");
        }
    }
    let after = recommend(server, key, "a0", json!(null)).await;
    assert_eq!(after["modelId"], als.as_str());

    // A new event and a deletion change the very next answer: writes invalidate what
    // serving keeps in memory, no timer is involved.
    let ids = |recs: &Value| {
        recs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["contentId"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let top = ids(&after)[0].clone();
    let event = json!([{ "eventId": "a0-just-now", "userId": "a0", "contentId": top, "type": "VIEW" }]);
    server
        .gql(
            Some(key),
            "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }",
            json!({ "e": event }),
        )
        .await;
    let after_event = recommend(server, key, "a0", json!(null)).await;
    assert!(!ids(&after_event).contains(&top), "just seen, so excluded: {after_event}");
    let next = ids(&after_event)[0].clone();
    server
        .gql(Some(key), "mutation($i: [String!]!) { deleteContents(ids: $i) { deleted } }", json!({ "i": [next] }))
        .await;
    let after_delete = recommend(server, key, "a0", json!(null)).await;
    assert!(!ids(&after_delete).contains(&next), "deleted, so gone: {after_delete}");
    assert_eq!(after_delete["items"].as_array().unwrap().len(), 5);

    // Tenant B sees none of it.
    let b = server.new_tenant().await;
    let (_, body) =
        server.gql(Some(&b.api_key), "query($id: ID!) { model(id: $id) { id } }", json!({ "id": als })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let (_, body) =
        server.gql(Some(&b.api_key), "mutation($id: ID!) { deployModel(id: $id) { id } }", json!({ "id": als })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let theirs = recommend(server, &b.api_key, "a0", json!(null)).await;
    assert_eq!(theirs["strategy"], "POPULAR_FALLBACK");
    assert_eq!(theirs["items"], json!([]), "B has no catalog, so nothing of A's can appear");
    let (_, body) = server.gql(Some(&b.api_key), "{ models { edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["models"]["edges"], json!([]));
});

on_both_backends!(bad_uploads_and_training_requests_are_refused, |server: &'static TestServer| async move {
    use base64::Engine;
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let upload = "mutation($i: UploadModelInput!) { uploadModel(input: $i) { id } }";
    let not_onnx = base64::engine::general_purpose::STANDARD.encode(b"definitely not an onnx file");
    let (status, body) = server
        .gql(Some(key), upload, json!({ "i": { "name": "mine", "onnxBase64": not_onnx, "itemIds": ["a", "b"] } }))
        .await;
    assert_eq!((status, error_code(&body).as_str()), (400, "INVALID_INPUT"), "{body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("onnx"),
        "the reason is given: {body}"
    );
    let (_, body) =
        server.gql(Some(key), upload, json!({ "i": { "name": "mine", "onnxBase64": "%%%", "itemIds": ["a"] } })).await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let (_, body) = server
        .gql(Some(key), upload, json!({ "i": { "name": "mine", "onnxBase64": not_onnx, "itemIds": ["a", "a"] } }))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    let (_, body) = server
        .gql(Some(key), "mutation { trainModel(input: {algorithm: ALS, parameters: {factors: 0, regularization: 0.1, alpha: 1, iterations: 5}}) { job { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let (_, body) = server
        .gql(
            Some(key),
            "mutation { trainModel(input: {algorithm: ALS, parameters: {factors: 8}}) { job { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    // Training with no data fails as a job, with a reason, and deploys nothing.
    let (_, body) = server
        .gql(Some(key), "mutation { trainModel(input: {algorithm: MOST_POPULAR}) { job { id } } }", json!({}))
        .await;
    let job = body["data"]["trainModel"]["job"]["id"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for _ in 0..100 {
        let (_, body) =
            server.gql(Some(key), "query($id: ID!) { job(id: $id) { status error } }", json!({ "id": job })).await;
        last = body["data"]["job"].clone();
        if last["status"] == "FAILED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "FAILED", "{last}");
    assert!(last["error"].as_str().unwrap().contains("no interactions"), "{last}");
    let (_, body) = server.gql(Some(key), "mutation { rollbackModel { id } }", json!({})).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
});
