//! `totalCount` on every connection: the number of rows the list pages through (with
//! its filter), in the caller's tenant only.

use serde_json::{Value, json};

use crate::helpers::{TestServer, two_clusters};
use crate::on_both_backends;

/// Pages through `field` (a root connection, `args` without `first`/`after`) and
/// returns (rows seen, the `totalCount` of every page).
async fn page_through(server: &TestServer, key: &str, field: &str, args: &str) -> (u64, Vec<i64>) {
    let query = format!(
        "query($after: String) {{ {field}({args} first: 7, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor }} }} }}"
    );
    let (mut rows, mut totals, mut after) = (0u64, Vec::new(), Value::Null);
    loop {
        let data = server.ok(key, &query, json!({ "after": after })).await;
        let connection = &data[field];
        rows += connection["edges"].as_array().unwrap().len() as u64;
        totals.push(connection["totalCount"].as_i64().unwrap());
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (rows, totals);
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
}

#[track_caller]
fn assert_counts(field: &str, (rows, totals): (u64, Vec<i64>), want: u64) {
    assert_eq!(rows, want, "{field}: rows seen");
    assert!(totals.iter().all(|&t| t == want as i64), "{field}: totalCount on every page is {want}: {totals:?}");
}

on_both_backends!(total_count_equals_the_rows_and_stays_in_the_tenant, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let other = server.new_tenant().await;
    let key = t.api_key.as_str();
    let data = two_clusters();
    server.seed(key, &data).await;
    // The other tenant holds more of everything, none of which may be counted here.
    server.seed(&other.api_key, &data).await;
    let extra: Vec<Value> = (0..5).map(|i| crate::helpers::movie(&format!("x{i}"), "Extra")).collect();
    server.upsert_contents(&other.api_key, json!(extra)).await;
    server.create_key(&other.api_key, &["catalog:read"]).await;
    let profiles =
        json!([{ "id": "p1", "plan": "free" }, { "id": "p2", "plan": "free" }, { "id": "p3", "plan": "premium" }]);
    server.upsert_users(key, profiles).await;
    server.create_key(key, &["catalog:read"]).await;
    server.create_key(key, &["events:write"]).await;
    server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await;

    assert_counts("contents", page_through(server, key, "contents", "").await, 40);
    assert_counts("contents", page_through(server, key, "contents", "filter: {kinds: [SERIES]},").await, 20);
    assert_counts("contents", page_through(server, key, "contents", "filter: {provider: \"Studio A\"},").await, 20);
    assert_counts("contents", page_through(server, &other.api_key, "contents", "").await, 45);
    // 60 people who left events and 3 profiles.
    assert_counts("endUsers", page_through(server, key, "endUsers", "").await, 63);
    assert_counts("endUsers", page_through(server, key, "endUsers", "filter: {plan: \"free\"},").await, 2);
    // The owner's key (made with the tenant) and two more; the other tenant's are not here.
    assert_counts("apiKeys", page_through(server, key, "apiKeys", "").await, 3);
    assert_counts("apiKeys", page_through(server, &other.api_key, "apiKeys", "").await, 2);
    assert_counts("members", page_through(server, key, "members", "").await, 1);
    assert_counts("models", page_through(server, key, "models", "").await, 1);
    assert_counts("jobs", page_through(server, key, "jobs", "").await, 1);
    assert_counts("models", page_through(server, &other.api_key, "models", "").await, 0);
    assert_counts("fairnessReports", page_through(server, key, "fairnessReports", "").await, 0);
    assert_counts("erasureReceipts", page_through(server, key, "erasureReceipts", "").await, 0);

    // The audit log: each filter's count is what paging through it finds.
    let all = page_through(server, key, "auditEvents", "").await;
    assert!(all.0 > 5, "{all:?}");
    // Reading the log records nothing, so its size holds while we page.
    assert_counts("auditEvents", all.clone(), all.0);
    let created = page_through(server, key, "auditEvents", "filter: {action: \"api_key.created\"},").await;
    assert_counts("auditEvents", created, 3);

    // A person's events, a nested connection.
    let query = "{ endUser(id: \"a0\") { interactions(first: 3) { totalCount edges { cursor } } } }";
    let data = server.ok(key, query, json!({})).await;
    assert_eq!(data["endUser"]["interactions"]["totalCount"], 8, "{data}");
    assert_eq!(data["endUser"]["interactions"]["edges"].as_array().unwrap().len(), 3);
});

on_both_backends!(total_count_needs_the_rights_of_the_list, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    server.seed(&t.api_key, &two_clusters()).await;
    let reader = server.key_with(&t.api_key, &["catalog:read"]).await;
    let data = server.ok(&reader, "{ contents(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(data["contents"]["totalCount"], 40);
    let (status, body) = server.gql(Some(&reader), "{ endUsers(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(crate::helpers::error_code(&body), "FORBIDDEN", "{status} {body}");
});
