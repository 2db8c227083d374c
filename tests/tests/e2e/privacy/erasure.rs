//! `eraseUser`: afterwards nothing about the person comes back from any query, their
//! vectors are gone from the served model, models that learnt from them are marked for
//! retraining, later data for the id is refused, and the audit log still verifies.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use super::{als, ok, recommend, seed, train};
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

const ERASE: &str = "mutation($u: String!) { eraseUser(userId: $u) { id subject interactionsDeleted modelsScrubbed modelsToRetrain requestedBy } }";

async fn count(server: &TestServer, sql: String) -> i64 {
    let db = server.raw_db().await;
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

on_both_backends!(after_erasure_nothing_about_the_person_comes_back, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let model = train(server, key, als()).await;
    ok(server, key, "mutation($id: ID!) { deployModel(id: $id) { id } }", json!({ "id": model })).await;
    assert_eq!(recommend(server, key, "a0").await["strategy"], "PERSONALIZED", "a trained vector serves a0 before");
    let before = ok(server, key, "{ statistics { counts { users interactions } } }", json!({})).await;

    let receipt = ok(server, key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(receipt["interactionsDeleted"], 8);
    assert_eq!(receipt["modelsScrubbed"], json!([model]));
    assert_eq!(receipt["modelsToRetrain"], json!([model]));
    assert_eq!(receipt["subject"].as_str().unwrap().len(), 64, "a pseudonym, not the id");
    assert!(receipt["requestedBy"].as_str().unwrap().starts_with("api_key:"));

    // Every way of asking about a0 now finds nothing.
    for query in ["{ endUser(id: \"a0\") { id } }", "{ exportUserData(userId: \"a0\") }"] {
        let (_, body) = server.gql(Some(key), query, json!({})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let users = ok(server, key, "{ endUsers(first: 100) { edges { node { id } } } }", json!({})).await;
    let ids: Vec<&Value> = users["endUsers"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert!(!ids.contains(&&json!("a0")) && ids.contains(&&json!("r0")), "{users}");
    let recs = recommend(server, key, "a0").await;
    assert_eq!(recs["strategy"], "POPULAR_FALLBACK", "{recs}");
    assert!(recs["fallbackReason"].is_string());
    let explained = ok(server, key, "{ explainRecommendation(userId: \"a0\", contentId: \"c1\") { contributions { contentId } fallbackReason } }", json!({})).await;
    assert_eq!(explained["explainRecommendation"]["contributions"], json!([]), "no history left to explain with");
    let after = ok(server, key, "{ statistics { counts { users interactions } } }", json!({})).await;
    assert_eq!(after["statistics"]["counts"]["interactions"], before["statistics"]["counts"]["interactions"].as_i64().unwrap() - 8);
    assert_eq!(after["statistics"]["counts"]["users"], before["statistics"]["counts"]["users"].as_i64().unwrap() - 1);
    // Others are untouched: r0 still gets their personal list.
    assert_eq!(recommend(server, key, "r0").await["strategy"], "PERSONALIZED");

    // The model that learnt from a0 is marked; the database holds nothing of theirs.
    let m = ok(server, key, "query($id: ID!) { model(id: $id) { needsRetraining } }", json!({ "id": model })).await;
    assert_eq!(m["model"]["needsRetraining"], true);
    let db = server.raw_db().await;
    let tid = crate::audit::tenant_row_id(&db, &t.slug).await;
    let user_rows = format!("SELECT id FROM end_users WHERE tenant_id = {tid} AND external_id = 'a0'");
    assert_eq!(count(server, format!("SELECT COUNT(*) AS n FROM interactions WHERE user_id IN ({user_rows})")).await, 0);
    let leftovers = format!(
        "SELECT COUNT(*) AS n FROM end_users WHERE tenant_id = {tid} AND external_id = 'a0' AND (country IS NOT NULL OR plan IS NOT NULL OR age_band IS NOT NULL OR attributes <> '{{}}')"
    );
    assert_eq!(count(server, leftovers).await, 0, "the profile is empty");

    // Later data under the same id is refused, not silently rebuilding the person.
    let e = json!([{ "eventId": "late-1", "userId": "a0", "contentId": "c1", "type": "PLAY" }]);
    let data = ok(server, key, "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted errors { code } } }", json!({ "e": e })).await;
    assert_eq!(data["recordInteractions"]["errors"][0]["code"], "CONFLICT", "{data}");
    let data = ok(server, key, "mutation { upsertEndUsers(users: [{id: \"a0\"}]) { accepted errors { code } } }", json!({})).await;
    assert_eq!(data["upsertEndUsers"]["errors"][0]["code"], "CONFLICT", "{data}");

    // Erasing again is harmless and answers with the same receipt; the receipt is kept.
    let again = ok(server, key, ERASE, json!({ "u": "a0" })).await["eraseUser"].clone();
    assert_eq!(again["id"], receipt["id"]);
    let receipts = ok(server, key, "{ erasureReceipts { edges { node { id subject } } } }", json!({})).await;
    assert_eq!(receipts["erasureReceipts"]["edges"][0]["node"]["id"], receipt["id"]);

    // The audit log records the erasure under the pseudonym, keeps the older events, and verifies.
    let events = crate::audit::all_events(server, key).await;
    let erased: Vec<_> = events.iter().filter(|e| e["action"] == "end_user.erased").collect();
    assert_eq!(erased.len(), 1);
    assert_eq!(erased[0]["target"], receipt["subject"]);
    assert_eq!(erased[0]["details"]["receipt"], receipt["id"]);
    assert!(events.iter().any(|e| e["action"] == "end_user.upserted" && e["target"] == receipt["subject"]));
    assert!(!serde_json::to_string(&events).unwrap().contains("\"a0\""), "the raw id never enters the log");
    let report = crate::audit::verify(server, key).await;
    assert_eq!(report["ok"], true, "{report}");
});

on_both_backends!(erasure_needs_privacy_manage, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let writer = crate::ingestion::key_with(server, key, &["users:write", "users:read"]).await;
    let (status, body) = server.gql(Some(&writer), ERASE, json!({ "u": "a0" })).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "FORBIDDEN"), "{body}");
    let (_, body) = server.gql(Some(key), ERASE, json!({ "u": "nobody" })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    ok(server, key, "{ endUser(id: \"a0\") { id } }", json!({})).await;
});
