use serde_json::json;

use super::*;
use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

on_both_backends!(upserting_contents_is_idempotent_and_keeps_good_rows, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let batch = json!([
        { "id": "m1", "kind": "MOVIE", "title": "Heat", "genres": ["Crime", "Drama", "Crime"], "tags": ["heist"],
          "provider": "Warner", "creators": ["Michael Mann"], "releaseDate": "1995-12-15", "durationSeconds": 10200,
          "language": "en", "maturityRating": "R", "attributes": { "imdb": "tt0113277" } },
        { "id": "bad", "kind": "MOVIE", "title": "" },
        { "id": "s1", "kind": "SERIES", "title": "The Wire", "genres": ["Drama"] },
        { "id": "bad2", "kind": "GAME", "title": "Game", "language": "not a language" },
    ]);
    let r = server.upsert_contents(key, batch.clone()).await;
    assert_eq!((r["accepted"].as_i64(), r["created"].as_i64()), (Some(2), Some(2)), "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0]["index"].as_i64(), errors[0]["id"].as_str()), (Some(1), Some("bad")));
    assert_eq!((errors[0]["code"].as_str(), errors[0]["field"].as_str()), (Some("INVALID_INPUT"), Some("title")));
    assert_eq!((errors[1]["index"].as_i64(), errors[1]["field"].as_str()), (Some(3), Some("language")));

    // The same batch again changes nothing.
    let r = server.upsert_contents(key, batch).await;
    assert_eq!(
        (r["created"].as_i64(), r["updated"].as_i64(), r["unchanged"].as_i64()),
        (Some(0), Some(0), Some(2)),
        "{r}"
    );

    let d = server.ok(key, "{ content(id: \"m1\") { id kind title genres tags provider creators releaseDate durationSeconds language maturityRating attributes updatedAt } }", json!({})).await;
    let c = &d["content"];
    assert_eq!(c["genres"], json!(["Crime", "Drama"]), "duplicates dropped: {c}");
    assert_eq!((c["releaseDate"].as_str(), c["durationSeconds"].as_i64()), (Some("1995-12-15"), Some(10200)));
    assert_eq!(c["attributes"]["imdb"], "tt0113277");
    let first_update = c["updatedAt"].clone();

    // An upsert replaces every field; a changed row counts as updated.
    let r = server.upsert_contents(key, json!([{ "id": "m1", "kind": "MOVIE", "title": "Heat (1995)" }])).await;
    assert_eq!(r["updated"].as_i64(), Some(1), "{r}");
    let d = server.ok(key, "{ content(id: \"m1\") { title genres provider updatedAt } }", json!({})).await;
    assert_eq!((d["content"]["title"].as_str(), d["content"]["genres"].clone()), (Some("Heat (1995)"), json!([])));
    assert!(d["content"]["provider"].is_null());
    assert_ne!(d["content"]["updatedAt"], first_update);
    // Genre rows followed the change.
    let d = server.ok(key, "{ contents(filter: {genre: \"Crime\"}) { edges { node { id } } } }", json!({})).await;
    assert_eq!(d["contents"]["edges"].as_array().unwrap().len(), 0, "{d}");

    // An id twice in one batch: the second is refused, the first stored.
    let r = server.upsert_contents(key, json!([movie("m2", "A"), movie("m2", "B")])).await;
    assert_eq!(r["created"].as_i64(), Some(1));
    assert_eq!(r["errors"][0]["index"].as_i64(), Some(1), "{r}");

    let (_, body) = server.gql(Some(key), "{ content(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
});

on_both_backends!(contents_filter_sort_and_delete, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let past = "2020-01-01T00:00:00Z";
    let future = "2999-01-01T00:00:00Z";
    server.upsert_contents(
        key,
        json!([
            { "id": "a", "kind": "MOVIE", "title": "alpha heist", "genres": ["Crime"], "tags": ["noir"], "provider": "P1", "releaseDate": "2001-01-01" },
            { "id": "b", "kind": "SERIES", "title": "bravo", "description": "A HEIST in space", "genres": ["Sci-Fi"], "provider": "P2", "releaseDate": "1999-05-05" },
            { "id": "c", "kind": "MUSIC_TRACK", "title": "charlie 100%", "genres": ["Crime", "Jazz"], "provider": "P1", "availableFrom": future },
            { "id": "d", "kind": "GAME", "title": "delta", "availableFrom": past, "availableUntil": "2021-01-01T00:00:00Z" },
            { "id": "e", "kind": "MOVIE", "title": "echo", "availableFrom": past },
        ]),
    )
    .await;
    let ids = |filter: serde_json::Value, sort: serde_json::Value| async move {
        let d = server.ok(
            key,
            "query($f: ContentFilterInput, $s: ContentSortInput) { contents(filter: $f, sort: $s, first: 100) { edges { node { id } } } }",
            json!({ "f": filter, "s": sort }),
        )
        .await;
        d["contents"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(json!({ "kinds": ["MOVIE", "GAME"] }), json!(null)).await, ["a", "d", "e"]);
    assert_eq!(ids(json!({ "genre": "Crime" }), json!(null)).await, ["a", "c"]);
    assert_eq!(ids(json!({ "tag": "noir" }), json!(null)).await, ["a"]);
    assert_eq!(ids(json!({ "provider": "P1", "genre": "Jazz" }), json!(null)).await, ["c"]);
    assert_eq!(ids(json!({ "text": "heist" }), json!(null)).await, ["a", "b"], "title or description, any case");
    assert_eq!(ids(json!({ "text": "100%" }), json!(null)).await, ["c"], "LIKE wildcards are literal");
    assert_eq!(ids(json!({ "text": "0%" }), json!(null)).await, ["c"]);
    assert_eq!(ids(json!({ "availableAt": "2022-06-01T00:00:00Z" }), json!(null)).await, ["a", "b", "e"]);
    assert_eq!(ids(json!(null), json!({ "field": "TITLE", "direction": "DESC" })).await, ["e", "d", "c", "b", "a"]);
    assert_eq!(ids(json!(null), json!({ "field": "RELEASE_DATE" })).await, ["c", "d", "e", "b", "a"]);
    assert_eq!(
        ids(json!(null), json!({ "field": "RELEASE_DATE", "direction": "DESC" })).await,
        ["a", "b", "e", "d", "c"]
    );
    assert_eq!(ids(json!(null), json!({ "field": "CREATED", "direction": "DESC" })).await, ["e", "d", "c", "b", "a"]);

    let d = server
        .ok(key, "mutation { deleteContents(ids: [\"a\", \"zzz\", \"a\"]) { deleted notFound } }", json!({}))
        .await;
    assert_eq!(
        (d["deleteContents"]["deleted"].as_i64(), d["deleteContents"]["notFound"].clone()),
        (Some(1), json!(["zzz"]))
    );
    assert_eq!(ids(json!({ "genre": "Crime" }), json!(null)).await, ["c"], "deleted items leave lists");
    let (_, body) = server.gql(Some(key), "{ content(id: \"a\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // Upserting the id again brings it back.
    let r = server.upsert_contents(key, json!([movie("a", "alpha again")])).await;
    assert_eq!(r["created"].as_i64(), Some(1), "{r}");
    assert_eq!(ids(json!({ "kinds": ["MOVIE"] }), json!(null)).await, ["a", "e"]);
});
