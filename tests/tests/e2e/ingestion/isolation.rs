//! Every new query and mutation sees and changes only the caller's tenant.

use serde_json::json;

use super::*;
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

on_both_backends!(ingestion_is_isolated_between_tenants, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let b = server.new_tenant().await;
    let (ka, kb) = (a.api_key.as_str(), b.api_key.as_str());
    // B holds data under the same ids A will use.
    server.upsert_contents(kb, json!([{ "id": "same", "kind": "MOVIE", "title": "B's", "genres": ["Bgenre"], "tags": ["btag"], "provider": "BP" }])).await;
    server.ok(kb, UPSERT_USERS, json!({ "u": [{ "id": "user", "plan": "b-plan" }] })).await;
    server.record(kb, json!([{ "eventId": "ev", "userId": "user", "contentId": "same", "type": "LIKE" }])).await;
    server.ok(kb, "mutation { updateTenantSettings(input: {eventWeights: [{type: VIEW, weight: 9}]}) { defaultConsentAnalytics } }", json!({})).await;

    // A reads nothing of B's.
    let (_, body) = server.gql(Some(ka), "{ content(id: \"same\") { title } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let (_, body) = server.gql(Some(ka), "{ endUser(id: \"user\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    for filter in [
        json!(null),
        json!({ "genre": "Bgenre" }),
        json!({ "tag": "btag" }),
        json!({ "provider": "BP" }),
        json!({ "text": "B" }),
    ] {
        let d = server
            .ok(
                ka,
                "query($f: ContentFilterInput) { contents(filter: $f) { edges { node { id } } } }",
                json!({ "f": filter }),
            )
            .await;
        assert_eq!(d["contents"]["edges"], json!([]), "{filter}");
    }
    let d = server.ok(ka, "{ endUsers { edges { node { id } } } tenantSettings { eventWeights { type weight } } statistics { counts { items users interactions } topContent { content { id } } genres { genre } kinds { kind } eventTypes { type } interactionsPerDay { count } } }", json!({})).await;
    assert_eq!(d["endUsers"]["edges"], json!([]));
    assert!(
        d["tenantSettings"]["eventWeights"].as_array().unwrap().contains(&json!({ "type": "VIEW", "weight": 1.0 }))
    );
    let s = &d["statistics"];
    assert_eq!(s["counts"], json!({ "items": 0, "users": 0, "interactions": 0 }));
    assert_eq!(
        (s["topContent"].clone(), s["genres"].clone(), s["kinds"].clone(), s["eventTypes"].clone()),
        (json!([]), json!([]), json!([]), json!([]))
    );
    assert!(s["interactionsPerDay"].as_array().unwrap().iter().all(|d| d["count"] == 0));

    // A's writes never touch B's rows: an event on B's item is unknown content in A.
    let r =
        server.record(ka, json!([{ "eventId": "ev", "userId": "user", "contentId": "same", "type": "LIKE" }])).await;
    assert_eq!((r["accepted"].as_i64(), r["errors"][0]["code"].as_str()), (Some(0), Some("NOT_FOUND")), "{r}");
    let d = server.ok(ka, "mutation { deleteContents(ids: [\"same\"]) { deleted notFound } }", json!({})).await;
    assert_eq!(d["deleteContents"]["deleted"].as_i64(), Some(0));
    // The same ids live independently in A.
    let r = server.upsert_contents(ka, json!([movie("same", "A's")])).await;
    assert_eq!(r["created"].as_i64(), Some(1), "{r}");
    let r =
        server.record(ka, json!([{ "eventId": "ev", "userId": "user", "contentId": "same", "type": "VIEW" }])).await;
    assert_eq!(
        (r["accepted"].as_i64(), r["usersCreated"].as_i64()),
        (Some(1), Some(1)),
        "same event id, other tenant: {r}"
    );
    server.ok(ka, UPSERT_USERS, json!({ "u": [{ "id": "user", "plan": "a-plan" }] })).await;

    // B still sees exactly its own.
    let d = server.ok(kb, "{ content(id: \"same\") { title } endUser(id: \"user\") { plan interactions { edges { node { type } } } } statistics { counts { items users interactions } } tenantSettings { eventWeights { type weight } } }", json!({})).await;
    assert_eq!(d["content"]["title"], "B's");
    assert_eq!(d["endUser"]["plan"], "b-plan");
    assert_eq!(d["endUser"]["interactions"]["edges"], json!([{ "node": { "type": "LIKE" } }]));
    assert_eq!(d["statistics"]["counts"], json!({ "items": 1, "users": 1, "interactions": 1 }));
    assert!(
        d["tenantSettings"]["eventWeights"].as_array().unwrap().contains(&json!({ "type": "VIEW", "weight": 9.0 }))
    );
});

/// On PostgreSQL the new tables are under row-level security too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_row_level_security_covers_ingestion_tables() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let Some(server) = crate::helpers::server(crate::helpers::Backend::Postgres) else { return };
    let a = server.new_tenant().await;
    server
        .upsert_contents(
            &a.api_key,
            json!([{ "id": "x", "kind": "MOVIE", "title": "X", "genres": ["G"], "tags": ["T"] }]),
        )
        .await;
    server.record(&a.api_key, json!([{ "eventId": "e", "userId": "u", "contentId": "x", "type": "VIEW" }])).await;
    let db = server.raw_db().await;
    for table in ["content_items", "content_genres", "content_tags", "end_users", "interactions"] {
        let tx = db.begin().await.unwrap();
        tx.execute_unprepared(&format!("SET LOCAL ROLE {}", migrations::APP_ROLE)).await.unwrap();
        let row = tx
            .query_one_raw(Statement::from_string(DbBackend::Postgres, format!("SELECT count(*) AS n FROM {table}")))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(n, 0, "{table}: no tenant set, no rows");
    }
}
