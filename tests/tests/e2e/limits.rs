//! One request cannot starve every tenant: lists count once per element in the
//! complexity limit, a batch is limited as a whole, the audited reads of personal data
//! one request may make are capped, and filter lists are bounded. Refusals come before
//! any database work, so the audit log shows no read.

use serde_json::{Value, json};

use crate::helpers::{Dataset, TestServer, assert_error, error_code, movie};
use crate::on_both_backends;

/// The number of events in the tenant's audit log (sequence numbers have no gaps).
async fn audit_len(server: &TestServer, key: &str) -> usize {
    crate::audit::all_events(server, key).await.len()
}

/// 30 end users, the first five with a few events.
async fn seed(server: &TestServer, key: &str) {
    let users = (0..30).map(|i| json!({ "id": format!("u{i}") })).collect();
    let events = (0..5)
        .flat_map(|u| (0..3).map(move |j| json!({ "eventId": format!("e{u}-{j}"), "userId": format!("u{u}"), "contentId": "c0", "type": "PLAY" })))
        .collect();
    let data = Dataset { contents: vec![movie("c0", "A film")], users, events };
    assert_eq!(server.seed(key, &data).await, 15);
}

async fn post_batch(server: &TestServer, key: &str, operations: Vec<Value>) -> (u16, Value) {
    server.post_raw(Some(key), "application/json", serde_json::to_vec(&Value::Array(operations)).unwrap()).await
}

/// The attack of issue #10: every listed person's history, under aliases.
pub(crate) fn fan_out(aliases: usize, users: usize, events: usize) -> String {
    let one = format!(
        "endUsers(first: {users}) {{ edges {{ node {{ id interactions(first: {events}) {{ edges {{ node {{ eventId }} }} }} }} }} }}"
    );
    let fields: Vec<String> = (0..aliases).map(|i| format!("a{i}: {one}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

on_both_backends!(
    a_query_that_fans_out_into_personal_reads_is_refused_before_it_runs,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        seed(server, key).await;
        let before = audit_len(server, key).await;

        // endUsers(first: 100) { interactions(first: 100) } under ten aliases.
        let attack = fan_out(10, 100, 100);
        let (status, body) = server.gql(Some(key), &attack, json!({})).await;
        assert_error(status, &body, 400, "QUERY_TOO_COMPLEX");
        // The same one without aliases, ten times in a batch: refused as a whole.
        let single = json!({ "query": fan_out(1, 100, 100) });
        let (status, body) = post_batch(server, key, vec![single; 10]).await;
        assert_error(status, &body, 400, "QUERY_TOO_COMPLEX");
        assert_eq!(audit_len(server, key).await, before, "no personal read ran, none was recorded");

        // A modest nested query passes alone; ten of them in one batch are refused together,
        // before the first one runs.
        let modest = fan_out(1, 20, 10);
        let (status, body) = post_batch(server, key, vec![json!({ "query": modest }); 10]).await;
        assert_error(status, &body, 400, "QUERY_TOO_COMPLEX");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("batch"), "{body}");
        assert_eq!(audit_len(server, key).await, before, "nothing of the batch ran");

        let (status, body) = server.gql(Some(key), &modest, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "a legitimate nested query still works: {body}");
        let people = body["data"]["a0"]["edges"].as_array().unwrap();
        assert_eq!(people.len(), 20);
        assert_eq!(people[0]["node"]["interactions"]["edges"].as_array().unwrap().len(), 3, "{body}");
        // One event per person listed, one per person whose history was read.
        assert_eq!(audit_len(server, key).await, before + 40);
    }
);

on_both_backends!(personal_reads_per_request_are_capped, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let before = audit_len(server, key).await;

    // Cheap enough for the complexity limit, but 60 audited reads: two operations of
    // 30 profile reads each share one budget of 50.
    let profiles = |from: usize| -> Value {
        let fields: Vec<String> =
            (from..from + 30).map(|i| format!("p{i}: endUser(id: \"u{}\") {{ id }}", i % 30)).collect();
        json!({ "query": format!("{{ {} }}", fields.join(" ")) })
    };
    let (status, body) = post_batch(server, key, vec![profiles(0), profiles(30)]).await;
    assert_eq!(status, 200, "{body}");
    let first = &body[0];
    assert!(first["errors"].is_null(), "the first 30 reads fit: {first}");
    let second = &body[1];
    // Past the budget the fields are refused; they are non-null, so the
    // operation's data is null.
    assert_eq!(second["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "reads 51 to 60 are refused: {second}");
    assert!(second["errors"][0]["message"].as_str().unwrap().contains("at most 50"), "{second}");
    // The first operation's 30 reads are recorded; of the second, the refusal nulls
    // the operation and drops reads still in flight (nothing of them is answered),
    // so at most 20 more: never past the budget.
    let recorded = audit_len(server, key).await - before;
    assert!((30..=50).contains(&recorded), "{recorded} reads recorded");

    // The budget is per request: the next one starts afresh.
    let (_, body) = server.gql(Some(key), "{ endUser(id: \"u1\") { id } }", json!({})).await;
    assert_eq!(body["data"]["endUser"]["id"], "u1", "{body}");
});

on_both_backends!(oversized_filter_lists_are_refused_with_the_field_named, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let before = audit_len(server, key).await;
    let query = "query($f: RecommendationFilterInput) { recommendations(userId: \"u0\", filter: $f) { strategy } }";

    let many: Vec<String> = (0..101).map(|i| format!("genre {i}")).collect();
    for (field, filter) in [
        ("filter.genres", json!({ "genres": many })),
        ("filter.providers", json!({ "providers": many })),
        ("filter.kinds", json!({ "kinds": vec!["MOVIE"; 101] })),
    ] {
        let (status, body) = server.gql(Some(key), query, json!({ "f": filter })).await;
        assert_eq!((status, error_code(&body).as_str()), (400, "INVALID_INPUT"), "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(audit_len(server, key).await, before, "refused before the read");

    let hundred: Vec<String> = (0..100).map(|i| format!("genre {i}")).collect();
    let (status, body) =
        server.gql(Some(key), query, json!({ "f": { "genres": hundred, "providers": ["Studio A"] } })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "100 values are allowed: {body}");
});
