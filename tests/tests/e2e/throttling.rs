//! Throttling of the credential endpoints: brute force on an account, the client address
//! behind (and not behind) a proxy, failed-login floods in the audit log, and argon2 work
//! that guessing cannot trigger.

use std::time::Duration;

use api::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{Configure, TestServer, assert_error, error_code};
use crate::on_both_backends;
use crate::on_dedicated_servers;

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken } }";
const ACCEPT: &str = "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { member { status } } }";

/// The `Retry-After` of a refused call, after checking it is a proper RATE_LIMITED 429.
fn assert_rate_limited(status: u16, headers: &reqwest::header::HeaderMap, body: &Value) -> u64 {
    assert_eq!((status, error_code(body).as_str()), (429, "RATE_LIMITED"), "{body}");
    assert!(body["data"].is_null(), "{body}");
    let retry_after: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in whole seconds: {headers:?}"));
    assert!(retry_after >= 1);
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry_after, "{body}");
    retry_after
}

// The shared servers keep production's per-account back-off (5 free failures) with
// locks of 2 s doubling to 8 s.
on_both_backends!(
    brute_force_locks_the_account_even_against_the_right_password,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        for attempt in 1..=6 {
            let (status, _, body) =
                server.gql_with_headers(LOGIN, t.owner_login_vars(&format!("guess number {attempt}")), &[]).await;
            assert_eq!((status, error_code(&body).as_str()), (401, "UNAUTHENTICATED"), "attempt {attempt}: {body}");
        }
        // Locked: the right password gets the same refusal as a wrong one, so no guess made
        // during the lock is confirmed.
        let (status, headers, body) = server.gql_with_headers(LOGIN, t.owner_login_vars(&t.owner_password), &[]).await;
        let retry_after = assert_rate_limited(status, &headers, &body);
        assert!(retry_after <= 2, "the first lock is short: {retry_after}");
        let (status, headers, body) =
            server.gql_with_headers(LOGIN, t.owner_login_vars("yet another guess"), &[]).await;
        assert_rate_limited(status, &headers, &body);
        // Another account of the same tenant is not affected.
        let (status, _, body) =
            server.gql_with_headers(LOGIN, t.login_vars("other@example.com", "wrong password"), &[]).await;
        assert_eq!(status, 401, "{body}");

        // After Retry-After the owner gets in, and that clears the account's failures.
        tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
        let (status, _, body) = server.gql_with_headers(LOGIN, t.owner_login_vars(&t.owner_password), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
        let (status, _, body) = server.gql_with_headers(LOGIN, t.owner_login_vars("a wrong one again"), &[]).await;
        assert_error(status, &body, 401, "UNAUTHENTICATED");
    }
);

/// A small bucket per client address; failures alone never lock it.
fn small_bucket(trusted_proxies: &'static [&'static str]) -> Configure {
    Box::new(move |settings: &mut Settings| {
        let limits = &mut settings.auth.rate_limit;
        limits.client_burst = 5;
        limits.client_per_sec = 0.01;
        limits.client_free_failures = 1_000_000;
        settings.server.trusted_proxies = trusted_proxies.iter().map(|s| s.to_string()).collect();
    })
}

async fn refresh_from(server: &TestServer, forwarded_for: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    server
        .gql_with_headers(
            REFRESH,
            json!({ "t": "mqr_not-a-real-token" }),
            &[("x-forwarded-for", forwarded_for.to_owned())],
        )
        .await
}

on_dedicated_servers!(
    spoofed_forwarded_for_from_an_untrusted_peer_is_ignored,
    small_bucket(&[]),
    |server: &'static TestServer| async move {
        for i in 0..5 {
            let (status, _, body) = refresh_from(server, &format!("203.0.113.{i}")).await;
            assert_eq!(status, 401, "{body}");
        }
        // A sixth "client" is still 127.0.0.1, whose bucket is empty.
        let (status, headers, body) = refresh_from(server, "203.0.113.99").await;
        let retry_after = assert_rate_limited(status, &headers, &body);
        assert!(retry_after >= 60, "{retry_after}");
        // The other two endpoints share the bucket.
        let (status, headers, body) = server
            .gql_with_headers(
                ACCEPT,
                json!({ "i": { "token": "mqi_nothing", "password": "a long enough password" } }),
                &[],
            )
            .await;
        assert_rate_limited(status, &headers, &body);
    }
);

on_dedicated_servers!(
    behind_a_trusted_proxy_the_right_most_untrusted_address_is_throttled,
    small_bucket(&["127.0.0.0/8", "10.0.0.0/8"]),
    |server: &'static TestServer| async move {
        // Distinct clients behind the proxy each have their own bucket.
        for i in 0..8 {
            let (status, _, body) = refresh_from(server, &format!("198.51.100.{i}")).await;
            assert_eq!(status, 401, "client {i}: {body}");
        }
        // One client that varies the part of the header it controls gets nowhere: the
        // entry our proxies appended (right of any it wrote) is what counts.
        for i in 0..5 {
            let (status, _, body) = refresh_from(server, &format!("6.6.6.{i}, 192.0.2.50, 10.0.0.7")).await;
            assert_eq!(status, 401, "{body}");
        }
        let (status, headers, body) = refresh_from(server, "7.7.7.7, 192.0.2.50, 10.0.0.7").await;
        assert_rate_limited(status, &headers, &body);
    }
);

fn no_account_lock() -> Configure {
    Box::new(|settings: &mut Settings| {
        settings.auth.rate_limit.account_free_failures = 1_000_000;
        settings.audit.failed_login_threshold = 5;
    })
}

async fn events_with_action(server: &TestServer, api_key: &str, action: &str) -> Vec<Value> {
    let query =
        "query($a: String) { auditEvents(first: 100, filter: {action: $a}) { edges { node { seq details } } } }";
    server.ok(api_key, query, json!({ "a": action })).await["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

on_dedicated_servers!(
    a_failed_login_flood_grows_the_audit_log_by_a_bounded_number_of_events,
    no_account_lock(),
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let before = crate::audit::all_events(server, &t.api_key).await.len();
        let vars = t.owner_login_vars("a wrong password");
        for _ in 0..20 {
            let calls = (0..10).map(|_| server.gql(None, LOGIN, vars.clone()));
            for (status, body) in futures::future::join_all(calls).await {
                assert_error(status, &body, 401, "UNAUTHENTICATED");
            }
        }
        let after = crate::audit::all_events(server, &t.api_key).await.len();
        // 5 failures one by one, then summaries at 6, 10, 20, 40, 80 and 160 failures.
        assert_eq!(after - before, 11, "200 failures wrote {} events", after - before);
        assert_eq!(events_with_action(server, &t.api_key, "session.login_failed").await.len(), 5);
        let summaries = events_with_action(server, &t.api_key, "session.login_failures_coalesced").await;
        let counts: Vec<i64> = summaries.iter().map(|e| details(e)["failures_in_window"].as_i64().unwrap()).collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [6, 10, 20, 40, 80, 160], "{summaries:?}");
        let report = crate::audit::verify(server, &t.api_key).await;
        assert_eq!(report["ok"], true, "{report}");
    }
);

/// `details` comes back as a JSON string or object depending on the schema's scalar.
fn details(event: &Value) -> Value {
    match &event["details"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

fn default_limits() -> Configure {
    Box::new(|_: &mut Settings| {})
}

on_dedicated_servers!(
    accept_invite_with_a_bogus_token_does_no_argon2_work,
    default_limits(),
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let work = || {
            server.operator(|s| async move {
                (s.auth.passwords().hashes_started(), s.auth.passwords().verifications_started())
            })
        };
        let before = work().await;
        for token in ["mqi_guessed0000000000000000000000000000000000", "nonsense"] {
            let (status, _, body) = server
                .gql_with_headers(ACCEPT, json!({ "i": { "token": token, "password": "a long enough password" } }), &[])
                .await;
            assert_error(status, &body, 401, "UNAUTHENTICATED");
        }
        assert_eq!(work().await, before, "a token that matches nothing must not be hashed for");

        // A real invitation hashes exactly once.
        let (_, body) = server
            .gql(
                Some(&t.api_key),
                "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { inviteToken } }",
                json!({ "i": { "email": "new@example.com", "role": "VIEWER" } }),
            )
            .await;
        let token = body["data"]["inviteMember"]["inviteToken"].as_str().unwrap().to_owned();
        let (status, _, body) = server
            .gql_with_headers(ACCEPT, json!({ "i": { "token": token, "password": "a long enough password" } }), &[])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["acceptInvite"]["member"]["status"], "ACTIVE");
        assert_eq!(work().await.0, before.0 + 1);
    }
);
