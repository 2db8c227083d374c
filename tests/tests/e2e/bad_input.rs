//! Bad input gets a clear error code and the right HTTP status, never a 500.

use api::config::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::{TestServer, assert_refused, error_code};
use crate::on_both_backends;

on_both_backends!(malformed_requests_get_clear_codes, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = Some(t.api_key.as_str());

    let (s, b) = server.post_raw(key, "application/json", b"{\"query\": ".to_vec()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");
    let (s, b) = server.post_raw(key, "application/json", b"[]".to_vec()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");
    let (s, b) = server.post_raw(key, "application/json", b"{\"query\": 42}".to_vec()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");
    let (s, b) = server.post_raw(key, "text/plain", b"{ tenant { slug } }".to_vec()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");

    let (s, b) = server.gql(key, "{ tenant { slug }", json!({})).await;
    assert_refused(s, &b, 400, "GRAPHQL_PARSE_FAILED");
    let (s, b) = server.gql(key, "{ tenant { slug secretColumn } }", json!({})).await;
    assert_refused(s, &b, 400, "GRAPHQL_VALIDATION_FAILED");
    // An unknown input field and a wrong type are refused before anything runs.
    let (s, b) = server
        .gql(
            key,
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:read\"], admin: true}) { secret } }",
            json!({}),
        )
        .await;
    assert_refused(s, &b, 400, "GRAPHQL_VALIDATION_FAILED");
    let (s, b) =
        server.gql(key, "query($n: Int) { apiKeys(first: $n) { edges { cursor } } }", json!({ "n": "ten" })).await;
    assert!(s == 400 && !error_code(&b).is_empty(), "{s} {b}");
    let (s, b) = server.gql(key, "{ apiKeys(first: 5000) { edges { cursor } } }", json!({})).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let (s, b) = server.gql(key, "{ apiKeys(after: \"not-a-cursor\") { edges { cursor } } }", json!({})).await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let (s, b) = server
        .gql(
            key,
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:everything\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    assert_eq!(b["errors"][0]["extensions"]["field"], "scopes", "{b}");
    let (s, b) = server
        .gql(
            key,
            "mutation { inviteMember(input: {email: \"not-an-email\", role: VIEWER}) { inviteToken } }",
            json!({}),
        )
        .await;
    assert_refused(s, &b, 400, "INVALID_INPUT");
    let (s, b) = server
        .gql(key, "mutation { inviteMember(input: {email: \"a@b.co\", role: EMPEROR}) { inviteToken } }", json!({}))
        .await;
    assert_refused(s, &b, 400, "GRAPHQL_VALIDATION_FAILED");
});

on_both_backends!(oversized_deep_and_wide_requests_are_refused, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = Some(t.api_key.as_str());

    let padding = "x".repeat(300 * 1024);
    let (s, b) = server.gql(key, &format!("{{ tenant {{ slug }} }} # {padding}"), json!({})).await;
    assert_refused(s, &b, 413, "PAYLOAD_TOO_LARGE");

    let mut deep = String::from("{ __schema { types { fields { type ");
    for _ in 0..15 {
        deep.push_str("{ ofType ");
    }
    deep.push_str("{ name }");
    deep.push_str(&" }".repeat(15));
    deep.push_str(" } } } }");
    let (s, b) = server.gql(key, &deep, json!({})).await;
    assert_refused(s, &b, 400, "QUERY_TOO_COMPLEX");

    let wide: String = (0..50).map(|i| format!("a{i}: tenant {{ slug }} ")).collect();
    let (s, b) = server.gql(key, &format!("{{ {wide} }}"), json!({})).await;
    assert_refused(s, &b, 400, "QUERY_TOO_COMPLEX");

    let batch: Vec<Value> = (0..20).map(|_| json!({ "query": "{ tenant { slug } }" })).collect();
    let (s, b) = server.post_raw(key, "application/json", serde_json::to_vec(&batch).unwrap()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");

    // A small batch works and answers in order.
    let batch = json!([{ "query": "{ tenant { slug } }" }, { "query": "{ viewer { kind } }" }]);
    let (s, b) = server.post_raw(key, "application/json", serde_json::to_vec(&batch).unwrap()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["data"]["tenant"]["slug"], t.slug.as_str());
    assert_eq!(b[1]["data"]["viewer"]["kind"], "API_KEY");
});

on_both_backends!(wrong_and_expired_tokens_get_401, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let session = server.login(&t).await;
    let member_id = session["member"]["id"].as_str().unwrap().to_owned();
    // A token the server signed, but already expired.
    let keys =
        domain::tenants::jwt::JwtKeys::new(server.settings.auth.jwt_secret.expose_secret().as_bytes(), 60).unwrap();
    let tenant_id: i64 = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = server.raw_db().await;
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "SELECT id FROM tenants WHERE slug = $1",
            _ => "SELECT id FROM tenants WHERE slug = ?",
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [t.slug.clone().into()]))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "id").unwrap()
    };
    let expired = keys.issue(&member_id, tenant_id, "owner", chrono::Utc::now().timestamp() - 3600).unwrap();
    let fresh = keys.issue(&member_id, tenant_id, "owner", chrono::Utc::now().timestamp()).unwrap();
    let (s, _) = server.gql(Some(&fresh), "{ viewer { kind } }", json!({})).await;
    assert_eq!(s, 200, "the control token works");
    let (s, b) = server.gql(Some(&expired), "{ viewer { kind } }", json!({})).await;
    assert_refused(s, &b, 401, "UNAUTHENTICATED");
    let (s, b) = server.post_raw(None, "application/json", b"{\"query\":\"{ tenant { slug } }\"}".to_vec()).await;
    assert_refused(s, &b, 401, "UNAUTHENTICATED");
});

on_both_backends!(mutations_over_get_are_refused, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/graphql", server.base_url))
        .query(&[("query", "mutation { revokeApiKey(id: \"00000000-0000-0000-0000-000000000000\") { id } }")])
        .bearer_auth(&t.api_key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let body: Value = response.json().await.unwrap();
    assert_refused(status, &body, 405, "METHOD_NOT_ALLOWED");
    let response = client
        .get(format!("{}/graphql", server.base_url))
        .query(&[("query", "{ tenant { slug } }")])
        .bearer_auth(&t.api_key)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["tenant"]["slug"], t.slug.as_str());
});

on_both_backends!(automatic_persisted_queries_follow_the_apollo_protocol, |server: &'static TestServer| async move {
    use sha2::Digest;
    let t = server.new_tenant().await;
    let key = Some(t.api_key.as_str());
    let query = "{ tenant { slug } }";
    let hash: String = sha2::Sha256::digest(query.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let by_hash = |hash: &str| json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });

    // A hash the server has not seen: the client must resend with the query.
    let body = serde_json::to_vec(&by_hash(&hash)).unwrap();
    let (s, b) = server.post_raw(key, "application/json", body.clone()).await;
    assert_refused(s, &b, 400, "PERSISTED_QUERY_NOT_FOUND");

    // A query whose hash does not match is refused and not remembered.
    let mut wrong = by_hash(&"0".repeat(64));
    wrong["query"] = json!(query);
    let (s, b) = server.post_raw(key, "application/json", serde_json::to_vec(&wrong).unwrap()).await;
    assert_refused(s, &b, 400, "BAD_REQUEST");
    let (s, b) = server.post_raw(key, "application/json", serde_json::to_vec(&by_hash(&"0".repeat(64))).unwrap()).await;
    assert_refused(s, &b, 400, "PERSISTED_QUERY_NOT_FOUND");

    // Query plus its hash registers it; the hash alone then runs it.
    let mut register = by_hash(&hash);
    register["query"] = json!(query);
    let (s, b) = server.post_raw(key, "application/json", serde_json::to_vec(&register).unwrap()).await;
    assert_eq!((s, &b["data"]["tenant"]["slug"]), (200, &json!(t.slug)), "{b}");
    let (s, b) = server.post_raw(key, "application/json", body).await;
    assert_eq!((s, &b["data"]["tenant"]["slug"]), (200, &json!(t.slug)), "{b}");
});
