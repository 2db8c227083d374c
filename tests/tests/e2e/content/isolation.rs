//! Tenant isolation of every content query: search (all modes), the embedding status,
//! tag suggestions and both insights see only the caller's tenant.

use serde_json::json;

use super::{SEARCH, STATUS, embedded};
use crate::helpers::{TestServer, error_code};
use crate::on_tiny_model_servers;

on_tiny_model_servers!(content_queries_see_only_their_tenant, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let b = server.new_tenant().await;
    let items = json!([
        { "id": "secret", "kind": "MOVIE", "title": "Robot Galaxy", "genres": ["Sci-Fi"], "tags": ["robots"], "description": "A robot crosses the galaxy." },
        { "id": "other", "kind": "MOVIE", "title": "Robot Kitchen", "genres": ["Comedy"], "description": "A robot learns to cook." },
    ]);
    server.upsert_contents(&a.api_key, items).await;
    server
        .upsert_users(
            &a.api_key,
            json!([{ "id": "u1", "country": "FR" }, { "id": "u2", "country": "FR" }, { "id": "u3", "country": "FR" }]),
        )
        .await;
    server
        .record(&a.api_key, json!((1..=3).map(|u| json!({ "eventId": format!("e{u}"), "userId": format!("u{u}"), "contentId": "secret", "type": "PLAY" })).collect::<Vec<_>>()))
        .await;
    embedded(server, &a.api_key).await;
    // B has one item of its own, so its semantic index is not empty.
    server.upsert_contents(&b.api_key, json!([{ "id": "mine", "kind": "MOVIE", "title": "Robot Island" }])).await;
    embedded(server, &b.api_key).await;

    for mode in ["KEYWORD", "SEMANTIC", "HYBRID"] {
        let data = server.ok(&b.api_key, SEARCH, json!({ "q": "Robot Galaxy", "mode": mode, "first": 10 })).await;
        let ids: Vec<_> =
            data["searchContent"].as_array().unwrap().iter().map(|h| h["content"]["id"].clone()).collect();
        assert_eq!(ids, vec![json!("mine")], "{mode}: {data}");
    }
    let status = server.ok(&b.api_key, STATUS, json!({})).await["contentEmbeddingStatus"].clone();
    assert_eq!(status["embedded"].as_i64(), Some(1), "{status}");

    for query in [
        "{ suggestTags(contentId: \"secret\") { label } }",
        "{ contentInsights(contentId: \"secret\") { audienceSize } }",
    ] {
        let (_, body) = server.gql(Some(&b.api_key), query, json!({})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    // A's audience is not B's: B's segment of the same country is empty (suppressed).
    let data = server
        .ok(
            &b.api_key,
            "{ audienceInsights(segment: {countries: [\"FR\"]}) { segmentSize items { content { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["audienceInsights"], json!({ "segmentSize": null, "items": [] }), "{data}");
    // A still sees its own.
    let data = server.ok(&a.api_key, "{ contentInsights(contentId: \"secret\") { audienceSize } }", json!({})).await;
    assert_eq!(data["contentInsights"]["audienceSize"].as_i64(), Some(3), "{data}");
});
