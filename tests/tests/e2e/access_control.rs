//! Credentials and rights: revocation and expiry take effect at once, scopes and roles
//! are enforced.

use serde_json::json;

use crate::helpers::{TestServer, assert_error, error_code};
use crate::on_both_backends;

on_both_backends!(a_revoked_key_is_refused_at_once, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let (id, secret) = server.create_key(&t.api_key, &["catalog:read"]).await;
    // Use it so it sits in the verification cache.
    let (status, _) = server.gql(Some(&secret), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200);
    let (_, body) = server
        .gql(Some(&t.api_key), "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }", json!({ "id": id }))
        .await;
    assert!(body["data"]["revokeApiKey"]["revokedAt"].is_string(), "{body}");
    let (status, body) = server.gql(Some(&secret), "{ tenant { slug } }", json!({})).await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");
});

on_both_backends!(an_expired_key_is_refused_even_from_the_cache, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let expires = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (_, secret) = server.create_key_until(&t.api_key, &["catalog:read"], Some(expires)).await;
    let (status, _) = server.gql(Some(&secret), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200, "valid before expiry");
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let (status, body) = server.gql(Some(&secret), "{ tenant { slug } }", json!({})).await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");
});

on_both_backends!(a_key_without_the_scope_is_refused_that_operation, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let (_, reader) = server.create_key(&t.api_key, &["catalog:read"]).await;
    let (_, body) = server.gql(Some(&reader), "{ apiKeys { edges { node { id } } } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(body["data"].is_null(), "no data with a refusal: {body}");
    let (_, body) = server
        .gql(
            Some(&reader),
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:read\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // A key manager cannot mint a key with more rights than it has.
    let (_, manager) = server.create_key(&t.api_key, &["apikeys:manage", "catalog:read"]).await;
    let (_, body) = server
        .gql(
            Some(&manager),
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"audit:read\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = server
        .gql(
            Some(&manager),
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:read\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["createApiKey"]["secret"].as_str().unwrap().starts_with("mq_live_"), "{body}");
});

async fn member_with_role(server: &TestServer, owner_token: &str, tenant_slug: &str, role: &str) -> String {
    let email = format!("{}@example.com", role.to_lowercase());
    let (_, body) = server
        .gql(
            Some(owner_token),
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { inviteToken member { status role } } }",
            json!({ "i": { "email": email, "role": role } }),
        )
        .await;
    assert_eq!(body["data"]["inviteMember"]["member"]["status"], "INVITED", "{body}");
    let invite = body["data"]["inviteMember"]["inviteToken"].as_str().unwrap().to_owned();
    let (_, body) = server
        .gql(
            None,
            "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { accessToken member { role status } } }",
            json!({ "i": { "token": invite, "password": "a long enough password" } }),
        )
        .await;
    assert_eq!(body["data"]["acceptInvite"]["member"]["status"], "ACTIVE", "{body}");
    // The invitation works once.
    let (_, again) = server
        .gql(
            None,
            "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { accessToken } }",
            json!({ "i": { "token": invite, "password": "another long password" } }),
        )
        .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED", "{again}");
    let _ = tenant_slug;
    body["data"]["acceptInvite"]["accessToken"].as_str().unwrap().to_owned()
}

on_both_backends!(a_viewer_cannot_do_an_admins_work, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let owner = server.login(&t).await["accessToken"].as_str().unwrap().to_owned();
    let viewer = member_with_role(server, &owner, &t.slug, "VIEWER").await;
    let (_, body) = server.gql(Some(&viewer), "{ viewer { role scopes } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["role"], "VIEWER");
    for mutation in [
        "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:read\"]}) { secret } }",
        "mutation { inviteMember(input: {email: \"y@example.com\", role: VIEWER}) { inviteToken } }",
    ] {
        let (_, body) = server.gql(Some(&viewer), mutation, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{mutation}: {body}");
    }
    let (_, body) = server.gql(Some(&viewer), "{ apiKeys { edges { node { id } } } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // An admin may invite, but not above their own role.
    let admin = member_with_role(server, &owner, &t.slug, "ADMIN").await;
    let (_, body) = server
        .gql(
            Some(&admin),
            "mutation { inviteMember(input: {email: \"boss@example.com\", role: OWNER}) { inviteToken } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = server
        .gql(
            Some(&admin),
            "mutation { inviteMember(input: {email: \"new@example.com\", role: ANALYST}) { member { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["inviteMember"]["member"]["role"], "ANALYST", "{body}");
});
