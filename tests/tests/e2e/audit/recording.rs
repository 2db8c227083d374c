//! What the log records for access events, that numbering stays gap-free under
//! concurrent writers, and that a change whose event cannot be written does not happen.

use serde_json::{Value, json};

use super::{all_events, events_of_request, new_request_id, set_audit_head, tenant_row_id, verify};
use crate::helpers::{TestServer, assert_error, error_code, query_value};
use crate::on_both_backends;

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken member { id } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { refreshToken } }";

fn only_event<'a>(events: &'a [Value], action: &str) -> &'a Value {
    assert_eq!(events.len(), 1, "one event per request: {events:?}");
    assert_eq!(events[0]["action"], action, "{events:?}");
    &events[0]
}

on_both_backends!(
    access_events_are_recorded_with_principal_target_and_request,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let creation: Vec<_> = all_events(server, &t.api_key).await;
        let actions: Vec<_> = creation.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions, ["tenant.created", "member.created", "api_key.created"]);
        assert!(creation.iter().all(|e| e["principal"] == "operator"));
        assert_eq!(creation.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(creation[0]["prevHash"], "0".repeat(64));
        assert_eq!(creation[1]["prevHash"], creation[0]["hash"]);

        // A successful login: by the member, about the member, in the login's request.
        let rid = new_request_id();
        let (_, body) = server.gql_with_id(None, &rid, LOGIN, t.owner_login_vars(&t.owner_password)).await;
        let member_id = body["data"]["login"]["member"]["id"].as_str().unwrap().to_owned();
        let access = body["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
        let refresh = body["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
        let events = events_of_request(server, &t.api_key, &rid).await;
        let e = only_event(&events, "session.login");
        assert_eq!(e["principal"], format!("member:{member_id}"));
        assert_eq!((e["targetKind"].as_str(), e["target"].as_str()), (Some("member"), Some(member_id.as_str())));
        assert_eq!(e["outcome"], "success");

        // A failed login for a known tenant: anonymous, denied, and what was typed is only a pseudonym.
        let rid = new_request_id();
        let typed = "Intruder@Example.com";
        let (_, body) = server.gql_with_id(None, &rid, LOGIN, t.login_vars(typed, "wrong password")).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        let events = events_of_request(server, &t.api_key, &rid).await;
        let e = only_event(&events, "session.login_failed");
        assert_eq!((e["principal"].as_str(), e["outcome"].as_str()), (Some("anonymous"), Some("denied")));
        assert_eq!(e["targetKind"], "login_name");
        let pseudonym = e["target"].as_str().unwrap();
        assert_eq!(pseudonym.len(), 64);
        assert!(!pseudonym.to_lowercase().contains("intruder"));
        // The same name typed again gets the same pseudonym, so attempts can be correlated.
        let rid2 = new_request_id();
        let (_, body) =
            server.gql_with_id(None, &rid2, LOGIN, t.login_vars("intruder@example.com", "again wrong")).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
        assert_eq!(events_of_request(server, &t.api_key, &rid2).await[0]["target"], pseudonym);

        // Refresh, then reuse of the spent token.
        let rid = new_request_id();
        let (_, body) = server.gql_with_id(None, &rid, REFRESH, json!({ "t": refresh })).await;
        assert!(body["data"]["refreshSession"]["refreshToken"].is_string(), "{body}");
        let events = events_of_request(server, &t.api_key, &rid).await;
        assert_eq!(only_event(&events, "session.refreshed")["principal"], format!("member:{member_id}"));
        let rid = new_request_id();
        let (_, body) = server.gql_with_id(None, &rid, REFRESH, json!({ "t": refresh })).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        let events = events_of_request(server, &t.api_key, &rid).await;
        let e = only_event(&events, "session.refresh_reuse_detected");
        assert_eq!((e["outcome"].as_str(), e["target"].as_str()), (Some("denied"), Some(member_id.as_str())));

        // Invitation and its acceptance; then key creation and revocation by the member.
        let rid = new_request_id();
        let (_, body) = server.gql_with_id(Some(&access), &rid, "mutation { inviteMember(input: {email: \"ana@example.com\", role: ANALYST}) { member { id } inviteToken } }", json!({})).await;
        let invited = body["data"]["inviteMember"]["member"]["id"].as_str().unwrap().to_owned();
        let token = body["data"]["inviteMember"]["inviteToken"].as_str().unwrap().to_owned();
        let events = events_of_request(server, &t.api_key, &rid).await;
        let e = only_event(&events, "member.invited");
        assert_eq!((e["target"].as_str(), e["details"]["role"].as_str()), (Some(invited.as_str()), Some("analyst")));
        assert!(!e.to_string().contains("ana@example.com"), "no e-mail in the log: {e}");
        let rid = new_request_id();
        let (_, body) = server.gql_with_id(None, &rid, "mutation($t: String!) { acceptInvite(input: {token: $t, password: \"analyst password 1\"}) { accessToken } }", json!({ "t": token })).await;
        let analyst = body["data"]["acceptInvite"]["accessToken"].as_str().unwrap().to_owned();
        let events = events_of_request(server, &t.api_key, &rid).await;
        assert_eq!(only_event(&events, "member.invite_accepted")["principal"], format!("member:{invited}"));

        let rid = new_request_id();
        let (_, body) = server.gql_with_id(Some(&access),
            &rid,
            "mutation { createApiKey(input: {name: \"ingest\", scopes: [\"events:write\"]}) { secret apiKey { id } } }",
            json!({}),
        )
        .await;
        let key_id = body["data"]["createApiKey"]["apiKey"]["id"].as_str().unwrap().to_owned();
        let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let events = events_of_request(server, &t.api_key, &rid).await;
        let e = only_event(&events, "api_key.created");
        assert_eq!(
            (e["target"].as_str(), e["details"]["scopes"].as_str()),
            (Some(key_id.as_str()), Some("events:write"))
        );
        assert!(!e.to_string().contains(&secret), "never the secret");
        let rid = new_request_id();
        server
            .gql_with_id(
                Some(&t.api_key),
                &rid,
                "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
                json!({ "id": key_id }),
            )
            .await;
        let events = events_of_request(server, &t.api_key, &rid).await;
        assert!(only_event(&events, "api_key.revoked")["principal"].as_str().unwrap().starts_with("api_key:"));

        // Analysts may not read the log; filters narrow it; it verifies.
        let (status, body) = server.gql(Some(&analyst), "{ auditEvents { edges { node { seq } } } }", json!({})).await;
        assert_error(status, &body, 403, "FORBIDDEN");
        let (_, body) = server
        .gql(Some(&t.api_key), "query($p: String) { auditEvents(filter: {action: \"session.login_failed\", principal: $p}) { edges { node { seq } } } }", json!({ "p": "anonymous" }))
        .await;
        assert_eq!(body["data"]["auditEvents"]["edges"].as_array().unwrap().len(), 2, "{body}");
        let report = verify(server, &t.api_key).await;
        assert_eq!(report["ok"], true, "{report}");
        let all = all_events(server, &t.api_key).await;
        assert_eq!(report["checked"], all.len());
        assert!(all.iter().enumerate().all(|(i, e)| e["seq"] == i + 1), "gap-free from 1");
    }
);

on_both_backends!(concurrent_writers_get_gap_free_numbers, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    // Put the key in the verification cache first, so the writers race only on the log.
    server.gql(Some(&t.api_key), "{ tenant { slug } }", json!({})).await;
    let calls = (0..16).map(|i| {
        let key = t.api_key.clone();
        async move {
            server
                .gql(Some(&key), "mutation($n: String!) { createApiKey(input: {name: $n, scopes: [\"catalog:read\"]}) { apiKey { id } } }", json!({ "n": format!("c{i}") }))
                .await
        }
    });
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
    }
    let events = all_events(server, &t.api_key).await;
    assert_eq!(events.len(), 3 + 16);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i + 1);
        if i > 0 {
            assert_eq!(e["prevHash"], events[i - 1]["hash"], "each event links to the one before");
        }
    }
    let report = verify(server, &t.api_key).await;
    assert_eq!((report["ok"].as_bool(), report["checked"].as_i64()), (Some(true), Some(19)), "{report}");
    assert_eq!(report["checkpointsChecked"], 4, "checkpoints at 1 (opening the interval), 5, 10, 15: {report}");
});

on_both_backends!(a_change_whose_event_cannot_be_written_does_not_happen, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    // Make the next append collide with event 3 (unique tenant and seq).
    set_audit_head(server, tid, 2).await;
    let (status, body) = server
        .gql(
            Some(&t.api_key),
            "mutation { createApiKey(input: {name: \"doomed\", scopes: [\"catalog:read\"]}) { apiKey { id } } }",
            json!({}),
        )
        .await;
    assert_error(status, &body, 500, "INTERNAL");
    let count: i64 = query_value(
        &db,
        "n",
        format!("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = {tid} AND name = 'doomed'"),
    )
    .await;
    assert_eq!(count, 0, "the key must not exist without its audit event");
    set_audit_head(server, tid, 3).await;
    let report = verify(server, &t.api_key).await;
    assert_eq!((report["ok"].as_bool(), report["checked"].as_i64()), (Some(true), Some(3)), "{report}");
});
