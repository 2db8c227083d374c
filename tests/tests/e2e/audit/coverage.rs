//! Every root field of the schema is classified here, and every mutation and every
//! read of an end user's personal data is called and must write its audit event. A new
//! field that is not in the table, or that is in it but writes no event, fails this test.

use serde_json::{Value, json};

use super::{events_of_request, new_request_id, verify};
use crate::helpers::{Dataset, TestServer, TestTenant};
use crate::on_both_backends;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Changes state: must write the named event in the same transaction.
    Mutation(&'static str),
    /// Reads an end user's personal data: must write the named event.
    PersonalRead(&'static str),
    /// Reads nothing personal about end users (the reason is in the comment).
    Other,
}

use Class::{Mutation, Other, PersonalRead};

const QUERY_FIELDS: &[(&str, Class)] = &[
    ("viewer", Other),
    ("tenant", Other),
    ("apiKeys", Other),
    // The tenant's own staff directory, not end users.
    ("members", Other),
    // The log itself holds pseudonyms only.
    ("auditEvents", Other),
    ("auditCheckpoints", Other),
    ("verifyAuditLog", Other),
    // Model metadata and training jobs: no end user's data.
    ("models", Other),
    ("model", Other),
    ("jobs", Other),
    ("job", Other),
    ("recommendations", PersonalRead("recommendations.read")),
    ("explainRecommendation", PersonalRead("recommendations.explained")),
    // Item to item: about the catalog, not a person.
    ("similarContent", Other),
    // The catalog.
    ("content", Other),
    ("contents", Other),
    ("endUser", PersonalRead("end_user.read")),
    ("endUsers", PersonalRead("end_user.list")),
    // Aggregates over the whole audience, never one person.
    ("statistics", Other),
    ("exportUserData", PersonalRead("end_user.exported")),
    // Receipts name people by pseudonym only.
    ("erasureReceipts", Other),
    ("tenantSettings", Other),
    // The plan's limits and the tenant's counts.
    ("usage", Other),
    ("searchContent", Other),
    ("contentEmbeddingStatus", Other),
    ("suggestTags", Other),
    ("contentInsights", PersonalRead("content.insights_read")),
    ("audienceInsights", PersonalRead("audience.insights_read")),
    // Aggregates by group, groups below the minimum size suppressed.
    ("fairnessReports", Other),
    ("fairnessReport", Other),
];

/// Fields below the root that fetch personal data of their own (with arguments, so a
/// resolver runs a query). Every argument-taking field of these types must be listed.
const PERSONAL_TYPES: &[&str] = &["EndUser"];
const NESTED_FIELDS: &[(&str, &str, Class)] =
    &[("EndUser", "interactions", PersonalRead("end_user.interactions.read"))];

const MUTATION_FIELDS: &[(&str, Class)] = &[
    ("login", Mutation("session.login")),
    ("refreshSession", Mutation("session.refreshed")),
    ("acceptInvite", Mutation("member.invite_accepted")),
    ("createApiKey", Mutation("api_key.created")),
    ("revokeApiKey", Mutation("api_key.revoked")),
    ("inviteMember", Mutation("member.invited")),
    ("updateMemberRole", Mutation("member.role_changed")),
    ("removeMember", Mutation("member.removed")),
    ("checkpointAuditLog", Mutation("audit.checkpointed")),
    ("trainModel", Mutation("model.training_queued")),
    ("cancelJob", Mutation("job.cancel_requested")),
    ("deployModel", Mutation("model.deployed")),
    ("rollbackModel", Mutation("model.rolled_back")),
    ("uploadModel", Mutation("model.uploaded")),
    ("upsertContents", Mutation("content.upserted")),
    ("deleteContents", Mutation("content.deleted")),
    ("upsertEndUsers", Mutation("end_user.upserted")),
    ("recordInteractions", Mutation("interactions.recorded")),
    ("updateTenantSettings", Mutation("settings.updated")),
    ("setConsent", Mutation("end_user.consent_changed")),
    ("eraseUser", Mutation("end_user.erased")),
    ("createFairnessReport", Mutation("fairness_report.created")),
];

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { refreshToken } }";
const UPSERT_CONTENT: &str = "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted } }";
const UPSERT_USERS: &str = "mutation($u: [EndUserInput!]!) { upsertEndUsers(users: $u) { accepted } }";

fn movie(id: &str) -> Value {
    crate::helpers::movie(id, "A film")
}

/// A small audience for the model fields: 12 films, 10 users with 8 plays each (model
/// evaluation holds some back). Idempotent.
async fn seed(server: &TestServer, key: &str) {
    let contents = (0..12).map(|i| movie(&format!("m{i}"))).collect();
    let events = (0..10)
        .flat_map(|u| (0..8).map(move |j| (u, j)))
        .map(|(u, j)| json!({ "eventId": format!("seed-{u}-{j}"), "userId": format!("u{u}"), "contentId": format!("m{}", (u + j) % 12), "type": "PLAY" }))
        .collect();
    server.seed(key, &Dataset { contents, events, ..Dataset::default() }).await;
}

/// Cancels a job that is still queued or running: a long ALS, cancelled at once (tried
/// again in the unlikely case it already finished). Returns the cancelling request's id.
async fn cancel_a_running_job(server: &TestServer, key: &str) -> String {
    seed(server, key).await;
    let train = "mutation { trainModel(input: {algorithm: ALS, parameters: {factors: 256, regularization: 0.1, alpha: 10, iterations: 100}}) { job { id } } }";
    for _ in 0..5 {
        let (_, body) = server.gql(Some(key), train, json!({})).await;
        let job = body["data"]["trainModel"]["job"]["id"].clone();
        let rid = new_request_id();
        let (status, body) = server
            .gql_with_id(Some(key), &rid, "mutation($id: ID!) { cancelJob(id: $id) { id } }", json!({ "id": job }))
            .await;
        if status == 200 && body["errors"].is_null() {
            return rid;
        }
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    }
    panic!("every training finished before it could be cancelled");
}

/// The fields of a type, by introspection; with `with_args`, only those taking arguments.
async fn fields_of(server: &TestServer, type_name: &str, with_args: bool) -> Vec<String> {
    let query = "query($t: String!) { __type(name: $t) { fields { name args { name } } } }";
    let (status, body) = server.gql(None, query, json!({ "t": type_name })).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["__type"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no type {type_name}: {body}"))
        .iter()
        .filter(|f| !with_args || !f["args"].as_array().unwrap().is_empty())
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn check_classified(root: &str, schema: &[String], table: &[(&str, Class)]) {
    for field in schema {
        assert!(
            table.iter().any(|(name, _)| name == field),
            "{root}.{field} is not classified in tests/tests/e2e/audit/coverage.rs: \
             say whether it mutates, reads end users' personal data, or neither, and audit it"
        );
    }
    for (name, _) in table {
        assert!(schema.iter().any(|f| f == name), "{root}.{name} is in the table but not in the schema");
    }
}

/// Sends one operation for `field` with a fresh request id, as the tenant's owner key
/// (or nobody, for sign-in), and returns that id. Setup calls use other ids.
async fn exercise(server: &TestServer, t: &TestTenant, field: &str) -> String {
    let rid = new_request_id();
    let key = Some(t.api_key.as_str());
    let login_vars = t.owner_login_vars(&t.owner_password);
    let (status, body) = match field {
        "login" => server.gql_with_id(None, &rid, LOGIN, login_vars).await,
        "refreshSession" => {
            let refresh = server.gql(None, LOGIN, login_vars).await.1["data"]["login"]["refreshToken"].clone();
            let query = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken } }";
            server.gql_with_id(None, &rid, query, json!({ "t": refresh })).await
        }
        "acceptInvite" => {
            let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
            let query = "mutation($e: String!) { inviteMember(input: {email: $e, role: VIEWER}) { inviteToken } }";
            let token =
                server.gql(key, query, json!({ "e": email })).await.1["data"]["inviteMember"]["inviteToken"].clone();
            let query = "mutation($t: String!) { acceptInvite(input: {token: $t, password: \"viewer password 1\"}) { accessToken } }";
            server.gql_with_id(None, &rid, query, json!({ "t": token })).await
        }
        "createApiKey" => {
            let query = "mutation { createApiKey(input: {name: \"k\", scopes: [\"catalog:read\"]}) { secret } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "revokeApiKey" => {
            let query = "mutation { createApiKey(input: {name: \"k\", scopes: [\"catalog:read\"]}) { apiKey { id } } }";
            let id = server.gql(key, query, json!({})).await.1["data"]["createApiKey"]["apiKey"]["id"].clone();
            server
                .gql_with_id(key, &rid, "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": id }))
                .await
        }
        "inviteMember" => {
            let query =
                "mutation { inviteMember(input: {email: \"someone@example.com\", role: VIEWER}) { inviteToken } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "updateMemberRole" | "removeMember" => {
            let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
            let query = "mutation($e: String!) { inviteMember(input: {email: $e, role: VIEWER}) { member { id } } }";
            let id =
                server.gql(key, query, json!({ "e": email })).await.1["data"]["inviteMember"]["member"]["id"].clone();
            let query = if field == "removeMember" {
                "mutation($id: ID!) { removeMember(id: $id) { member { status } } }"
            } else {
                "mutation($id: ID!) { updateMemberRole(id: $id, role: ANALYST) { member { role } } }"
            };
            server.gql_with_id(key, &rid, query, json!({ "id": id })).await
        }
        "checkpointAuditLog" => {
            server.gql_with_id(key, &rid, "mutation { checkpointAuditLog { seq } }", json!({})).await
        }
        "upsertContents" => server.gql_with_id(key, &rid, UPSERT_CONTENT, json!({ "c": [movie("m-upsert")] })).await,
        "deleteContents" => {
            server.gql(key, UPSERT_CONTENT, json!({ "c": [movie("m-delete")] })).await;
            server
                .gql_with_id(key, &rid, "mutation { deleteContents(ids: [\"m-delete\"]) { deleted } }", json!({}))
                .await
        }
        "upsertEndUsers" => server.gql_with_id(key, &rid, UPSERT_USERS, json!({ "u": [{ "id": "u-upsert" }] })).await,
        "recordInteractions" => {
            server.gql(key, UPSERT_CONTENT, json!({ "c": [movie("m-played")] })).await;
            let e =
                json!([{ "eventId": new_request_id(), "userId": "u-player", "contentId": "m-played", "type": "PLAY" }]);
            let query = "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted } }";
            server.gql_with_id(key, &rid, query, json!({ "e": e })).await
        }
        "updateTenantSettings" => {
            let query = "mutation { updateTenantSettings(input: {defaultConsentAnalytics: false}) { __typename } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "endUser" => {
            server.gql(key, UPSERT_USERS, json!({ "u": [{ "id": "u-read" }] })).await;
            server.gql_with_id(key, &rid, "{ endUser(id: \"u-read\") { id } }", json!({})).await
        }
        "endUsers" => server.gql_with_id(key, &rid, "{ endUsers { edges { node { id } } } }", json!({})).await,
        "recommendations" => {
            seed(server, &t.api_key).await;
            server
                .gql_with_id(
                    key,
                    &rid,
                    "{ recommendations(userId: \"u0\") { strategy items { __typename } } }",
                    json!({}),
                )
                .await
        }
        "explainRecommendation" => {
            seed(server, &t.api_key).await;
            let query = "{ explainRecommendation(userId: \"u0\", contentId: \"m1\") { summary } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "contentInsights" => {
            seed(server, &t.api_key).await;
            let query = "{ contentInsights(contentId: \"m1\") { __typename } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "audienceInsights" => {
            let query = "{ audienceInsights(segment: {countries: [\"DE\"]}) { __typename } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "trainModel" => {
            let query = "mutation { trainModel(input: {algorithm: MOST_POPULAR}) { job { id } } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "cancelJob" => return cancel_a_running_job(server, &t.api_key).await,
        "deployModel" => {
            seed(server, &t.api_key).await;
            let model = server.train(&t.api_key, json!({ "algorithm": "MOST_POPULAR" })).await.model;
            let query = "mutation($id: ID!) { deployModel(id: $id, allowWorse: true) { id } }";
            server.gql_with_id(key, &rid, query, json!({ "id": model })).await
        }
        "rollbackModel" => {
            seed(server, &t.api_key).await;
            for _ in 0..2 {
                let model = server.train(&t.api_key, json!({ "algorithm": "MOST_POPULAR" })).await.model;
                server.deploy(&t.api_key, &model, true).await;
            }
            server.gql_with_id(key, &rid, "mutation { rollbackModel { id } }", json!({})).await
        }
        "uploadModel" => {
            use base64::Engine;
            let weights = ndarray::Array2::<f32>::eye(3);
            let onnx = inference::onnx::export_history_model(weights.view(), "uploaded").unwrap();
            let input = json!({
                "name": "own model",
                "onnxBase64": base64::engine::general_purpose::STANDARD.encode(onnx),
                "itemIds": ["m0", "m1", "m2"],
            });
            let query = "mutation($i: UploadModelInput!) { uploadModel(input: $i) { id } }";
            server.gql_with_id(key, &rid, query, json!({ "i": input })).await
        }
        "exportUserData" => {
            server.gql(key, UPSERT_USERS, json!({ "u": [{ "id": "u-export" }] })).await;
            server.gql_with_id(key, &rid, "{ exportUserData(userId: \"u-export\") }", json!({})).await
        }
        "setConsent" => {
            server.gql(key, UPSERT_USERS, json!({ "u": [{ "id": "u-consent" }] })).await;
            let query = "mutation { setConsent(userId: \"u-consent\", consent: {analytics: false}) { analytics } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "eraseUser" => {
            server.gql(key, UPSERT_USERS, json!({ "u": [{ "id": "u-erase" }] })).await;
            server.gql_with_id(key, &rid, "mutation { eraseUser(userId: \"u-erase\") { id } }", json!({})).await
        }
        "EndUser.interactions" => {
            server.gql(key, UPSERT_USERS, json!({ "u": [{ "id": "u-history" }] })).await;
            let query = "{ endUser(id: \"u-history\") { interactions { edges { node { __typename } } } } }";
            server.gql_with_id(key, &rid, query, json!({})).await
        }
        "createFairnessReport" => {
            let model = crate::fairness::ready_model(server, t.api_key.as_str()).await;
            let query =
                "mutation($m: ID!) { createFairnessReport(input: {modelId: $m, userGroups: [\"gender\"]}) { id } }";
            server.gql_with_id(key, &rid, query, json!({ "m": model })).await
        }
        other => panic!("{other} must write an audit event but this test cannot call it yet: add it to `exercise`"),
    };
    assert_eq!(status, 200, "{field}: {body}");
    assert!(body["errors"].is_null(), "{field}: {body}");
    rid
}

on_both_backends!(
    every_mutation_and_personal_data_read_writes_its_audit_event,
    |server: &'static TestServer| async move {
        let queries = fields_of(server, "Query", false).await;
        let mutations = fields_of(server, "Mutation", false).await;
        check_classified("Query", &queries, QUERY_FIELDS);
        check_classified("Mutation", &mutations, MUTATION_FIELDS);
        let mut nested = Vec::new();
        for type_name in PERSONAL_TYPES {
            let table: Vec<(&str, Class)> =
                NESTED_FIELDS.iter().filter(|(t, _, _)| t == type_name).map(|(_, f, c)| (*f, *c)).collect();
            check_classified(type_name, &fields_of(server, type_name, true).await, &table);
            nested.extend(table.into_iter().map(|(f, c)| (format!("{type_name}.{f}"), c)));
        }

        let t = server.new_tenant().await;
        let mut audited = 0;
        let roots = QUERY_FIELDS.iter().map(|(f, c)| ("Query", f.to_string(), *c));
        let roots = roots.chain(MUTATION_FIELDS.iter().map(|(f, c)| ("Mutation", f.to_string(), *c)));
        for (root, field, class) in roots.chain(nested.into_iter().map(|(f, c)| ("nested", f, c))) {
            let action = match (root, class) {
                (_, Class::Mutation(action) | Class::PersonalRead(action)) => action,
                ("Mutation", Class::Other) => panic!("Mutation.{field}: every mutation is audited"),
                (_, Class::Other) => continue,
            };
            let rid = exercise(server, &t, &field).await;
            let events: Vec<Value> = events_of_request(server, &t.api_key, &rid).await;
            assert!(
                events.iter().any(|e| e["action"] == action),
                "{root} {field} wrote no `{action}` audit event; it wrote {events:?}"
            );
            if matches!(class, Class::PersonalRead(_)) {
                // People are named by pseudonym only, never by the tenant's id for them.
                assert!(events.iter().all(|e| !e["target"].as_str().unwrap_or("").starts_with("u-")), "{events:?}");
            }
            audited += 1;
        }
        assert!(audited >= MUTATION_FIELDS.len());
        let report = verify(server, &t.api_key).await;
        assert_eq!(report["ok"], true, "{report}");
    }
);
