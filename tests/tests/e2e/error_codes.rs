//! docs/errors.md is the contract for error codes: the codes it lists are exactly those
//! the API can send, each with the HTTP status it documents, and every one of them is
//! produced by a real request below (with that status), except the few named in
//! `NOT_YET_PRODUCED`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use api::error_codes::ErrorCodeExt as _;
use domain::ErrorCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, assert_refused, manifest_dir};
use crate::on_both_backends;

/// Documented codes that no request can produce yet. A code leaves this list when code
/// that produces it lands (a test below then fails until it is provoked here too).
const NOT_YET_PRODUCED: &[&str] = &[];

/// Codes only a fault provokes, each in a test of its own rather than on the shared
/// server: `UNAVAILABLE` in `faults::a_database_outage_fails_fast_and_is_survived_without_a_restart`,
/// `MODEL_CORRUPT` in `model_stores` (a damaged chunk or object).
const PROVOKED_BY_FAULT_TESTS: &[&str] = &["UNAVAILABLE", "MODEL_CORRUPT"];

/// The table of docs/errors.md: code → HTTP status.
fn documented() -> BTreeMap<String, u16> {
    let path = manifest_dir().join("../docs/errors.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: BTreeMap<String, u16> = text
        .lines()
        .filter_map(|line| {
            // "| `CODE` | 400 | meaning |" splits into "", "`CODE`", "400", "meaning", "".
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code.to_owned(), cells.get(2)?.parse().ok()?))
        })
        .collect();
    assert!(table.len() >= ErrorCode::ALL.len(), "the code table of {} was not found", path.display());
    table
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Code strings `api` writes literally into an error (`"code": "NOT_FOUND"`) instead of
/// taking them from the `ErrorCode` table.
fn literal_codes_in_api() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for file in rust_files(&manifest_dir().join("../api/src")) {
        if file.ends_with("error_codes.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| l.contains("\"code\"")) {
            // Every other piece between quotes is a string literal.
            for literal in line.split('"').skip(1).step_by(2) {
                let is_code = literal.len() > 2
                    && literal.starts_with(|c: char| c.is_ascii_uppercase())
                    && literal.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_code {
                    found.insert(literal.to_owned(), format!("{}:{}", file.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn the_documented_codes_are_those_the_api_can_send_with_their_statuses() {
    let documented = documented();
    let mut sendable: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.graphql_code().to_owned()).collect();
    assert_eq!(sendable.len(), ErrorCode::ALL.len(), "two ErrorCodes share a code string");
    for (code, place) in literal_codes_in_api() {
        sendable.insert(code.clone());
        assert!(documented.contains_key(&code), "{place} sends {code}, which docs/errors.md does not document");
    }
    let listed: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(listed, sendable, "the codes of docs/errors.md (left) and those the API can send (right) differ");
    for code in ErrorCode::ALL {
        assert_eq!(
            documented[code.graphql_code()],
            code.status_code().as_u16(),
            "docs/errors.md gives {} another HTTP status than api/src/error_codes.rs",
            code.graphql_code()
        );
    }
}

/// The lines of `api`, `domain` and `tenants` that raise `code`: that name its variant
/// (`DomainError::QuotaExceeded(..)`, `ApiError::new(ErrorCode::QuotaExceeded, ..)`)
/// other than as a pattern, an entry of `ErrorCode::ALL` or the code a match arm maps to.
fn raised_in_source(code: &str) -> Vec<String> {
    let variant = ErrorCode::ALL.iter().find(|c| c.graphql_code() == code).map(|c| format!("{c:?}"));
    let Some(variant) = variant else { return Vec::new() };
    let table_entries = [
        format!("ErrorCode::{variant}"),
        format!("DomainError::{variant}(_)"),
        format!("DomainError::{variant} {{ .. }}"),
    ];
    let mut places = Vec::new();
    for crate_dir in ["api", "domain", "tenants"] {
        for file in rust_files(&manifest_dir().join("..").join(crate_dir).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                // What a match arm yields, or the whole line; patterns are not raising.
                let yielded = line.rsplit("=>").next().unwrap_or(line).trim();
                let entry = yielded.trim_start_matches('|').trim().trim_end_matches(',').trim_end_matches('|').trim();
                let raises = yielded.contains(&format!("::{variant}")) && !table_entries.iter().any(|t| t == entry);
                if raises && !line.starts_with("//") {
                    places.push(format!("{}:{}: {line}", file.display(), n + 1));
                }
            }
        }
    }
    places
}

#[test]
fn codes_not_yet_produced_are_still_raised_nowhere() {
    assert!(!raised_in_source("MODEL_FAILED").is_empty(), "the search finds the raisers of a code that is produced");
    let documented = documented();
    for code in NOT_YET_PRODUCED {
        assert!(documented.contains_key(*code), "{code} is not documented: take it off NOT_YET_PRODUCED");
        let places = raised_in_source(code);
        assert!(
            places.is_empty(),
            "{code} is produced now ({places:?}): provoke it in every_documented_code_is_produced_by_a_real_request \
             and take it off NOT_YET_PRODUCED"
        );
    }
}

/// Provokes each code in turn; returns the codes seen, each checked against the
/// documented status.
struct Provoked {
    documented: BTreeMap<String, u16>,
    seen: BTreeSet<String>,
}

impl Provoked {
    #[track_caller]
    fn check(&mut self, (status, body): (u16, Value), code: &str) {
        let want = *self.documented.get(code).unwrap_or_else(|| panic!("{code} is not in docs/errors.md"));
        assert_refused(status, &body, want, code);
        self.seen.insert(code.to_owned());
    }
}

on_both_backends!(every_documented_code_is_produced_by_a_real_request, |server: &'static TestServer| async move {
    let mut p = Provoked { documented: documented(), seen: BTreeSet::new() };
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let raw = |body: Value| serde_json::to_vec(&body).unwrap();

    p.check(server.post_raw(Some(key), "application/json", b"{\"query\": ".to_vec()).await, "BAD_REQUEST");
    let get_mutation = "/graphql?query=mutation%20%7B%20rollbackModel%20%7B%20id%20%7D%20%7D";
    let answer = server.get(get_mutation, Some(key), &[]).await;
    p.check((answer.status, answer.body), "METHOD_NOT_ALLOWED");
    let answer = server
        .post(
            "/graphql",
            Some(key),
            &[("accept", "text/html".into())],
            "application/json",
            raw(json!({ "query": "{ tenant { slug } }" })),
        )
        .await;
    p.check((answer.status, answer.body), "NOT_ACCEPTABLE");
    let too_large = format!("{{ tenant {{ slug }} }} # {}", "x".repeat(server.settings.graphql.max_body_bytes));
    p.check(server.gql(Some(key), &too_large, json!({})).await, "PAYLOAD_TOO_LARGE");
    p.check(server.gql(Some(key), "{ tenant { slug }", json!({})).await, "GRAPHQL_PARSE_FAILED");
    p.check(server.gql(Some(key), "{ tenant { slug secretColumn } }", json!({})).await, "GRAPHQL_VALIDATION_FAILED");
    p.check(server.gql(Some(key), &crate::limits::fan_out(10, 100, 100), json!({})).await, "QUERY_TOO_COMPLEX");
    let unknown_hash = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } } });
    p.check(server.post_raw(Some(key), "application/json", raw(unknown_hash)).await, "PERSISTED_QUERY_NOT_FOUND");
    p.check(server.gql(Some("mq_live_not-a-real-key"), "{ tenant { slug } }", json!({})).await, "UNAUTHENTICATED");
    // The console's session cookies without the CSRF header that must echo them.
    let login = json!({ "tenant": t.slug, "email": t.owner_email, "password": t.owner_password });
    let signed_in = server.post("/auth/login", None, &[], "application/json", raw(login)).await;
    let cookies: Vec<String> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let query = raw(json!({ "query": "{ tenant { slug } }" }));
    let answer = server.post("/graphql", None, &[("cookie", cookies.join("; "))], "application/json", query).await;
    p.check((answer.status, answer.body), "CSRF_REJECTED");
    let reader = server.key_with(key, &["catalog:read"]).await;
    let create_key = "mutation { createApiKey(input: {name: \"k\", scopes: [\"catalog:read\"]}) { secret } }";
    p.check(server.gql(Some(&reader), create_key, json!({})).await, "FORBIDDEN");
    let deploy = "mutation($id: ID!) { deployModel(id: $id) { id } }";
    let nobody = uuid::Uuid::new_v4().simple().to_string();
    p.check(server.gql(Some(key), deploy, json!({ "id": nobody })).await, "NOT_FOUND");
    p.check(server.gql(Some(key), "{ apiKeys(first: 5000) { edges { cursor } } }", json!({})).await, "INVALID_INPUT");
    p.check(server.gql(Some(key), "mutation { rollbackModel { id } }", json!({})).await, "CONFLICT");

    // Sign-in failures past the free ones lock the account.
    for _ in 0..6 {
        let (status, _) = server.login_as(&t, &t.owner_email, "a wrong password").await;
        assert_eq!(status, 401);
    }
    p.check(server.login_as(&t, &t.owner_email, "a wrong password").await, "RATE_LIMITED");

    // A plan of one catalog item, which the tenant holds.
    let small = server.new_tenant().await;
    let one_item = domain::tenants::quota::LimitsUpdate { max_catalog_items: Some(1), ..Default::default() };
    crate::quotas::set_limits(server, &small, one_item).await;
    server.upsert_contents(&small.api_key, json!([crate::helpers::movie("m1", "One")])).await;
    let more = json!({ "c": [crate::helpers::movie("m2", "Two")] });
    p.check(server.gql(Some(&small.api_key), crate::helpers::UPSERT_CONTENTS, more).await, "QUOTA_EXCEEDED");

    // A model whose training failed (no data) has nothing to report on.
    let failed = server.start_training(key, json!({ "algorithm": "MOST_POPULAR" })).await;
    assert_eq!(server.job_outcome(key, &failed.job).await["status"], "FAILED");
    let report = "mutation($m: ID!) { createFairnessReport(input: {modelId: $m}) { id } }";
    p.check(server.gql(Some(key), report, json!({ "m": failed.model })).await, "MODEL_NOT_READY");

    crate::hostile_models::deploy_a_model_that_explodes_for_victim(server, key).await;
    let recommend = crate::hostile_models::RECOMMEND;
    p.check(server.gql(Some(key), recommend, json!({ "u": "victim" })).await, "MODEL_FAILED");

    // A change whose audit event cannot be written: the head moved back onto an event.
    let db = server.raw_db().await;
    let tid = crate::audit::tenant_row_id(&db, &t.slug).await;
    crate::audit::set_audit_head(server, tid, 2).await;
    p.check(server.gql(Some(key), create_key, json!({})).await, "INTERNAL");

    let expected: BTreeSet<String> = p
        .documented
        .keys()
        .filter(|c| !NOT_YET_PRODUCED.contains(&c.as_str()) && !PROVOKED_BY_FAULT_TESTS.contains(&c.as_str()))
        .cloned()
        .collect();
    assert_eq!(p.seen, expected, "provoked (left) and documented codes that requests can produce (right) differ");
});
