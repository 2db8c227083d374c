//! The embedding pipeline on the tiny model: items are embedded in the background after
//! upserts, re-embedded when their text changes, dropped with the item; semantic and
//! hybrid search read the embeddings and say why each hit matched.

use serde_json::json;

use super::{SEARCH, STATUS, embedded};
use crate::helpers::{TestServer, query_value};
use crate::on_tiny_model_servers;

fn items() -> serde_json::Value {
    json!([
        { "id": "a", "kind": "MOVIE", "title": "Robot Galaxy", "genres": ["Sci-Fi"], "description": "A robot crosses the galaxy." },
        { "id": "b", "kind": "MOVIE", "title": "Garden Love", "genres": ["Romance"], "description": "Two gardeners fall in love." },
        { "id": "c", "kind": "SERIES", "title": "Robot Kitchen", "genres": ["Comedy"], "tags": ["robots"], "description": "A robot learns to cook." },
    ])
}

on_tiny_model_servers!(
    items_are_embedded_in_the_background_and_follow_their_item,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.upsert_contents(key, items()).await;
        let status = embedded(server, key).await;
        assert_eq!((status["embedded"].as_i64(), status["failed"].as_i64()), (Some(3), Some(0)), "{status}");
        assert!(status["modelKey"].as_str().is_some_and(|k| !k.is_empty()), "{status}");

        let db = server.raw_db().await;
        let hash_of = |id: &str| {
            format!(
                "SELECT e.source_hash AS h FROM content_embeddings e JOIN content_items c ON c.id = e.item_id WHERE c.external_id = '{id}' AND c.tenant_id = (SELECT id FROM tenants WHERE slug = '{}')",
                t.slug
            )
        };
        let before: String = query_value(&db, "h", hash_of("a")).await;
        let dims: i32 = query_value(&db, "d", format!("SELECT MAX(dims) AS d FROM content_embeddings e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = '{}'", t.slug)).await;
        assert!(dims > 0);

        // A changed description queues the item again; an unchanged upsert does not.
        let mut changed = items();
        changed[0]["description"] = json!("A robot crosses the galaxy to find its maker.");
        server.upsert_contents(key, changed).await;
        embedded(server, key).await;
        let after: String = query_value(&db, "h", hash_of("a")).await;
        assert_ne!(before, after, "the new text was embedded");

        // Deleting drops the embedding in the same transaction.
        server.ok(key, "mutation { deleteContents(ids: [\"b\"]) { deleted } }", json!({})).await;
        let status = server.ok(key, STATUS, json!({})).await["contentEmbeddingStatus"].clone();
        assert_eq!(status["embedded"].as_i64(), Some(2), "{status}");
        let data = server.ok(key, SEARCH, json!({ "q": "love in the garden", "mode": "SEMANTIC", "first": 10 })).await;
        let ids: Vec<_> =
            data["searchContent"].as_array().unwrap().iter().map(|h| h["content"]["id"].clone()).collect();
        assert_eq!(ids.len(), 2, "{data}");
        assert!(!ids.contains(&json!("b")), "{data}");
        // Upserting the deleted item again brings it back, and it is embedded again.
        server.upsert_contents(key, items()).await;
        let status = embedded(server, key).await;
        assert_eq!(status["embedded"].as_i64(), Some(3), "{status}");
    }
);

on_tiny_model_servers!(semantic_and_hybrid_hits_say_why_they_matched, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.upsert_contents(key, items()).await;
    embedded(server, key).await;
    let data = server.ok(key, SEARCH, json!({ "q": "robot", "mode": "SEMANTIC", "first": 3 })).await;
    let hits = data["searchContent"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{data}");
    for (i, hit) in hits.iter().enumerate() {
        assert_eq!(hit["rank"].as_i64(), Some(i as i64 + 1));
        assert_eq!(hit["semantic"]["rank"].as_i64(), Some(i as i64 + 1));
        let cosine = hit["semantic"]["cosine"].as_f64().unwrap();
        assert!((-1.0..=1.0001).contains(&cosine) && (hit["score"].as_f64().unwrap() - cosine).abs() < 1e-6, "{hit}");
        assert!(hit["keyword"].is_null());
    }
    let data = server.ok(key, SEARCH, json!({ "q": "robot", "mode": "HYBRID", "first": 3 })).await;
    let hits = data["searchContent"].as_array().unwrap();
    // Both robot items match the word and the meaning: both ranks, fused by 1/(60+rank).
    for hit in hits.iter().filter(|h| h["content"]["id"] != "b") {
        let (k, s) = (hit["keyword"]["rank"].as_f64().unwrap(), hit["semantic"]["rank"].as_f64().unwrap());
        let fused = 1.0 / (60.0 + k) + 1.0 / (60.0 + s);
        assert!((hit["score"].as_f64().unwrap() - fused).abs() < 1e-9, "{hit}");
    }
    assert!(hits.iter().take(2).all(|h| h["content"]["id"] != "b"), "items matching both lists come first: {data}");
    // Filters apply before the top k.
    let data = server
        .ok(key, "{ searchContent(query: \"robot\", mode: SEMANTIC, filter: {kinds: [SERIES]}, first: 5) { content { id } } }", json!({}))
        .await;
    assert_eq!(data["searchContent"], json!([{ "content": { "id": "c" } }]));

    // Tag suggestions: from the tenant's vocabulary, never a label the item has.
    let data = server
        .ok(key, "{ suggestTags(contentId: \"a\", first: 5) { label kind confidence supportingItems } }", json!({}))
        .await;
    let tags = data["suggestTags"].as_array().unwrap();
    assert!(!tags.is_empty(), "{data}");
    for tag in tags {
        assert!(["Romance", "Comedy", "robots"].contains(&tag["label"].as_str().unwrap()), "{tag}");
        let c = tag["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{tag}");
    }
});
