//! The model lifecycle end to end: ingest, train in the background, evaluate, deploy,
//! serve through ONNX Runtime with filters and fold-in, roll back, refuse bad uploads,
//! and never serve one tenant another's model.

use serde_json::{Value, json};

use crate::helpers::{TestServer, assert_error, error_code, two_clusters};
use crate::on_both_backends;

fn genres(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["content"]["genres"][0].as_str().unwrap().to_owned()).collect()
}

on_both_backends!(train_deploy_serve_and_roll_back, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let data = two_clusters();
    let n_events = data.events.len();
    assert_eq!(server.seed(key, &data).await, n_events as u64);

    // Before any deployment: a non-personalized answer that says so.
    let before = server.recommend(key, "a0", json!(null)).await;
    assert_eq!(before["strategy"], "POPULAR_FALLBACK");

    let als = server.train(key, json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 10 } })).await.model;
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

    server.deploy(key, &als, false).await;

    // A trained user gets their cluster, nothing they have seen.
    let recs = server.recommend(key, "a0", json!(null)).await;
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
    let with_seen = server.recommend(key, "a0", json!({ "excludeSeen": false })).await;
    assert!(
        with_seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| seen.contains(&i["contentId"].as_str().unwrap().to_owned())),
        "{with_seen}"
    );

    // Every filter holds.
    let romance = server.recommend(key, "a0", json!({ "genres": ["Romance"] })).await;
    assert!(genres(&romance).iter().all(|g| g == "Romance") && !genres(&romance).is_empty(), "{romance}");
    let series = server.recommend(key, "a0", json!({ "kinds": ["SERIES"] })).await;
    assert!(series["items"].as_array().unwrap().iter().all(|i| i["content"]["kind"] == "SERIES"), "{series}");
    let studio_b = server.recommend(key, "a0", json!({ "providers": ["Studio B"] })).await;
    assert!(studio_b["items"].as_array().unwrap().iter().all(|i| i["content"]["provider"] == "Studio B"), "{studio_b}");
    let past = server.recommend(key, "a0", json!({ "availableAt": "1990-01-01T00:00:00Z" })).await;
    assert!(!past["items"].as_array().unwrap().is_empty(), "no window set: always available");

    // A user newer than the model is folded in from their history, at once.
    let events: Vec<Value> = (0..4).map(|i| json!({ "eventId": format!("new-{i}"), "userId": "newcomer", "contentId": format!("c{}", 20 + i), "type": "LIKE" })).collect();
    server.record(key, json!(events)).await;
    let fresh = server.recommend(key, "newcomer", json!(null)).await;
    assert_eq!(fresh["strategy"], "FOLD_IN", "{fresh}");
    assert!(genres(&fresh).iter().filter(|g| *g == "Romance").count() >= 4, "{fresh}");
    let unknown = server.recommend(key, "nobody-at-all", json!(null)).await;
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
    let popular = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await.model;
    let (_, body) =
        server.gql(Some(key), "mutation($id: ID!) { deployModel(id: $id) { active } }", json!({ "id": popular })).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let load = (0..4).map(|_| {
        let key = key.to_owned();
        tokio::spawn(async move {
            let mut models = Vec::new();
            for _ in 0..15 {
                let recs = server.recommend(&key, "a1", json!(null)).await;
                assert_eq!(recs["items"].as_array().unwrap().len(), 5, "{recs}");
                models.push(recs["modelId"].as_str().unwrap_or("").to_owned());
            }
            models
        })
    });
    let load: Vec<_> = load.collect();
    server.deploy(key, &popular, true).await;
    let (_, body) = server.gql(Some(key), "mutation { rollbackModel { id active } }", json!({})).await;
    assert_eq!(body["data"]["rollbackModel"]["id"], als.as_str(), "{body}");
    for task in load {
        for model in task.await.unwrap() {
            assert!(model == als || model == popular, "every answer comes from one of the two models, whole: {model}");
        }
    }
    let after = server.recommend(key, "a0", json!(null)).await;
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
    server.record(key, event).await;
    let after_event = server.recommend(key, "a0", json!(null)).await;
    assert!(!ids(&after_event).contains(&top), "just seen, so excluded: {after_event}");
    let next = ids(&after_event)[0].clone();
    server
        .gql(Some(key), "mutation($i: [String!]!) { deleteContents(ids: $i) { deleted } }", json!({ "i": [next] }))
        .await;
    let after_delete = server.recommend(key, "a0", json!(null)).await;
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
    let theirs = server.recommend(&b.api_key, "a0", json!(null)).await;
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
    assert_error(status, &body, 400, "INVALID_INPUT");
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
    let training = server.start_training(key, json!({ "algorithm": "MOST_POPULAR" })).await;
    let last = server.job_outcome(key, &training.job).await;
    assert_eq!(last["status"], "FAILED", "{last}");
    assert!(last["error"].as_str().unwrap().contains("no interactions"), "{last}");
    let (_, body) = server.gql(Some(key), "mutation { rollbackModel { id } }", json!({})).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
});
