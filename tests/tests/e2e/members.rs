//! Managing console members: nobody grants a role or scope they do not hold, only owners
//! make owners, the tenant keeps an owner, and a removed or demoted member loses what
//! they had at once (sessions, access tokens, keys they made).

use serde_json::{Value, json};

use crate::audit::{events_of_request, new_request_id};
use crate::helpers::{TestServer, TestTenant, assert_error, error_code};
use crate::on_both_backends;

const INVITE: &str =
    "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { inviteToken member { id role status } } }";
const ACCEPT: &str =
    "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { accessToken refreshToken member { id role } } }";
const UPDATE_ROLE: &str = "mutation($id: ID!, $r: Role!) { updateMemberRole(id: $id, role: $r) { member { id role status } revokedApiKeys { id } } }";
const REMOVE: &str = "mutation($id: ID!) { removeMember(id: $id) { member { id role status } revokedApiKeys { id } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";
const MEMBERS: &str = "{ members(first: 100) { edges { node { id email role status } } } }";
const PASSWORD: &str = "a long enough password";

/// A signed-in member: their id and tokens.
struct Signed {
    id: String,
    email: String,
    access: String,
    refresh: String,
}

async fn invite(server: &TestServer, token: &str, role: &str) -> (u16, Value) {
    let email = format!("{}-{}@example.com", role.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    server.gql(Some(token), INVITE, json!({ "i": { "email": email, "role": role } })).await
}

/// Invites someone with `role` (as `token`) and signs them in through the invitation.
async fn member(server: &TestServer, token: &str, role: &str) -> Signed {
    let (_, body) = invite(server, token, role).await;
    let invite_token =
        body["data"]["inviteMember"]["inviteToken"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let (_, body) = server.gql(None, ACCEPT, json!({ "i": { "token": invite_token, "password": PASSWORD } })).await;
    let s = &body["data"]["acceptInvite"];
    assert_eq!(s["member"]["role"], role, "{body}");
    let id = s["member"]["id"].as_str().unwrap().to_owned();
    let (_, list) = server.gql(Some(token), MEMBERS, json!({})).await;
    let email = list["data"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .map(|e| e["node"]["email"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{list}"));
    Signed {
        id,
        email,
        access: s["accessToken"].as_str().unwrap().to_owned(),
        refresh: s["refreshToken"].as_str().unwrap().to_owned(),
    }
}

async fn owner(server: &TestServer, t: &TestTenant) -> Signed {
    let s = server.login(t).await;
    Signed {
        id: s["member"]["id"].as_str().unwrap().to_owned(),
        email: t.owner_email.clone(),
        access: s["accessToken"].as_str().unwrap().to_owned(),
        refresh: s["refreshToken"].as_str().unwrap().to_owned(),
    }
}

async fn update_role(server: &TestServer, token: &str, id: &str, role: &str) -> Value {
    server.gql(Some(token), UPDATE_ROLE, json!({ "id": id, "r": role })).await.1
}

async fn remove(server: &TestServer, token: &str, id: &str) -> Value {
    server.gql(Some(token), REMOVE, json!({ "id": id })).await.1
}

/// The member's row as the tenant lists it: (role, status).
async fn listed(server: &TestServer, token: &str, id: &str) -> (String, String) {
    let (_, body) = server.gql(Some(token), MEMBERS, json!({})).await;
    let node = body["data"]["members"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {body}"))
        .clone();
    (node["role"].as_str().unwrap().to_owned(), node["status"].as_str().unwrap().to_owned())
}

async fn role_of(server: &TestServer, token: &str) -> (u16, Value) {
    let (status, body) = server.gql(Some(token), "{ viewer { role scopes } }", json!({})).await;
    (status, body["data"]["viewer"]["role"].clone())
}

on_both_backends!(a_key_can_only_invite_roles_whose_scopes_it_holds, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    // The attack: a key with `members:manage` alone invites an admin, to accept it itself.
    let (_, manager) = server.create_key(&t.api_key, &["members:manage"]).await;
    for role in ["ADMIN", "ANALYST", "VIEWER"] {
        let (_, body) = invite(server, &manager, role).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{role}: {body}");
        assert!(body["data"].is_null(), "{body}");
    }
    let (_, list) = server.gql(Some(&t.api_key), MEMBERS, json!({})).await;
    assert_eq!(list["data"]["members"]["edges"].as_array().unwrap().len(), 1, "only the owner: {list}");

    // With exactly an analyst's scopes it may invite analysts and viewers, no more.
    let analyst_scopes =
        ["members:manage", "catalog:read", "recommendations:read", "reports:read", "users:read", "models:manage"];
    let (_, manager) = server.create_key(&t.api_key, &analyst_scopes).await;
    let (_, body) = invite(server, &manager, "ADMIN").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    for role in ["ANALYST", "VIEWER"] {
        let (_, body) = invite(server, &manager, role).await;
        assert_eq!(body["data"]["inviteMember"]["member"]["role"], role, "{body}");
    }

    // A key with every scope may make an admin but never an owner.
    let all: Vec<&str> = [
        "catalog:read",
        "catalog:write",
        "events:write",
        "recommendations:read",
        "users:read",
        "users:write",
        "models:manage",
        "reports:read",
        "privacy:manage",
        "audit:read",
        "apikeys:manage",
        "members:manage",
        "settings:manage",
    ]
    .to_vec();
    let (_, full) = server.create_key(&t.api_key, &all).await;
    let (_, body) = invite(server, &full, "OWNER").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = invite(server, &full, "ADMIN").await;
    assert_eq!(body["data"]["inviteMember"]["member"]["role"], "ADMIN", "{body}");
});

on_both_backends!(admins_can_neither_make_nor_touch_owners, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let owner = owner(server, &t).await;
    let admin = member(server, &owner.access, "ADMIN").await;
    let analyst = member(server, &owner.access, "ANALYST").await;

    let (_, body) = invite(server, &admin.access, "OWNER").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    for (id, role) in [(&analyst.id, "OWNER"), (&admin.id, "OWNER"), (&owner.id, "VIEWER"), (&owner.id, "ADMIN")] {
        let body = update_role(server, &admin.access, id, role).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{id} -> {role}: {body}");
    }
    let body = remove(server, &admin.access, &owner.id).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(listed(server, &owner.access, &owner.id).await, ("OWNER".into(), "ACTIVE".into()));
    assert_eq!(listed(server, &owner.access, &admin.id).await, ("ADMIN".into(), "ACTIVE".into()));

    // Keys cannot touch or make owners either, whatever their scopes.
    let body = update_role(server, &t.api_key, &analyst.id, "OWNER").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = update_role(server, &t.api_key, &owner.id, "VIEWER").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Within their own role an admin manages freely.
    let body = update_role(server, &admin.access, &analyst.id, "VIEWER").await;
    assert_eq!(body["data"]["updateMemberRole"]["member"]["role"], "VIEWER", "{body}");
    let body = update_role(server, &admin.access, &analyst.id, "ADMIN").await;
    assert_eq!(body["data"]["updateMemberRole"]["member"]["role"], "ADMIN", "{body}");
    // An owner makes an owner.
    let body = update_role(server, &owner.access, &analyst.id, "OWNER").await;
    assert_eq!(body["data"]["updateMemberRole"]["member"]["role"], "OWNER", "{body}");
});

on_both_backends!(viewers_and_analysts_cannot_manage_members, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let owner = owner(server, &t).await;
    let viewer = member(server, &owner.access, "VIEWER").await;
    let analyst = member(server, &owner.access, "ANALYST").await;
    for actor in [&viewer, &analyst] {
        for (id, role) in [(&actor.id, "ADMIN"), (&actor.id, "OWNER"), (&viewer.id, "ANALYST"), (&owner.id, "VIEWER")] {
            let body = update_role(server, &actor.access, id, role).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{id} -> {role}: {body}");
        }
        let body = remove(server, &actor.access, &owner.id).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    assert_eq!(listed(server, &owner.access, &viewer.id).await, ("VIEWER".into(), "ACTIVE".into()));
    assert_eq!(listed(server, &owner.access, &analyst.id).await, ("ANALYST".into(), "ACTIVE".into()));
    assert_eq!(listed(server, &owner.access, &owner.id).await, ("OWNER".into(), "ACTIVE".into()));
});

on_both_backends!(the_last_owner_can_neither_leave_nor_be_demoted, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let first = owner(server, &t).await;
    for body in
        [remove(server, &first.access, &first.id).await, update_role(server, &first.access, &first.id, "ADMIN").await]
    {
        assert_eq!(error_code(&body), "CONFLICT", "{body}");
    }
    // An invited owner who has not accepted yet does not count.
    let (_, body) = invite(server, &first.access, "OWNER").await;
    assert_eq!(body["data"]["inviteMember"]["member"]["status"], "INVITED", "{body}");
    let body = remove(server, &first.access, &first.id).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(listed(server, &first.access, &first.id).await, ("OWNER".into(), "ACTIVE".into()));

    // With a second active owner, either may step down, but then not the other.
    let second = member(server, &first.access, "OWNER").await;
    let body = update_role(server, &second.access, &first.id, "ADMIN").await;
    assert_eq!(body["data"]["updateMemberRole"]["member"]["role"], "ADMIN", "{body}");
    let body = remove(server, &second.access, &second.id).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(listed(server, &second.access, &second.id).await, ("OWNER".into(), "ACTIVE".into()));
});

on_both_backends!(two_owners_demoting_each_other_at_once_leave_an_owner, |server: &'static TestServer| async move {
    for _ in 0..5 {
        let t = server.new_tenant().await;
        let a = owner(server, &t).await;
        let b = member(server, &a.access, "OWNER").await;
        let (x, y) = tokio::join!(update_role(server, &a.access, &b.id, "ADMIN"), remove(server, &b.access, &a.id));
        let succeeded = [&x, &y].iter().filter(|b| b["errors"].is_null()).count();
        assert_eq!(succeeded, 1, "exactly one may win: {x} {y}");
        // The loser is refused as the last owner, or, when it was authenticated after the
        // winner committed, for what it now is (removed, or an admin facing an owner).
        let loser = if x["errors"].is_null() { &y } else { &x };
        assert!(["CONFLICT", "UNAUTHENTICATED", "FORBIDDEN"].contains(&error_code(loser).as_str()), "{loser}");
        let (_, list) = server.gql(Some(&t.api_key), MEMBERS, json!({})).await;
        let owners = list["data"]["members"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["role"] == "OWNER" && e["node"]["status"] == "ACTIVE")
            .count();
        assert_eq!(owners, 1, "{list}");
    }
});

on_both_backends!(a_removed_member_loses_sessions_tokens_and_keys_at_once, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let owner = owner(server, &t).await;
    let admin = member(server, &owner.access, "ADMIN").await;
    let (key_id, key) = server.create_key(&admin.access, &["apikeys:manage", "catalog:read"]).await;
    // A key made by the member's key must go too.
    let (sub_id, sub) = server.create_key(&key, &["catalog:read"]).await;
    let (_, owners_key) = server.create_key(&owner.access, &["catalog:read"]).await;
    for token in [&admin.access, &key, &sub] {
        let (status, body) = server.gql(Some(token), "{ tenant { slug } }", json!({})).await;
        assert_eq!(status, 200, "{body}");
    }

    let rid = new_request_id();
    let (_, body) = server.gql_with_id(Some(&owner.access), &rid, REMOVE, json!({ "id": admin.id })).await;
    let payload = &body["data"]["removeMember"];
    assert_eq!(payload["member"]["status"], "DISABLED", "{body}");
    let mut revoked: Vec<&str> =
        payload["revokedApiKeys"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    revoked.sort_unstable();
    let mut expected = vec![key_id.as_str(), sub_id.as_str()];
    expected.sort_unstable();
    assert_eq!(revoked, expected, "{body}");

    // The access token already issued, the refresh token, the password and both keys.
    for token in [&admin.access, &key, &sub] {
        let (status, body) = server.gql(Some(token), "{ tenant { slug } }", json!({})).await;
        assert_error(status, &body, 401, "UNAUTHENTICATED");
    }
    let (_, body) = server.gql(None, REFRESH, json!({ "t": admin.refresh })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let (_, body) = server.login_as(&t, &admin.email, PASSWORD).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    // Nobody else's keys are touched.
    let (status, _) = server.gql(Some(&owners_key), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200);

    let events = events_of_request(server, &t.api_key, &rid).await;
    let removed: Vec<&Value> = events.iter().filter(|e| e["action"] == "member.removed").collect();
    assert_eq!(removed.len(), 1, "{events:?}");
    assert_eq!(removed[0]["target"], admin.id.as_str());
    assert_eq!(events.iter().filter(|e| e["action"] == "api_key.revoked").count(), 2, "{events:?}");

    // Removing again changes nothing and fails nothing.
    let body = remove(server, &owner.access, &admin.id).await;
    assert_eq!(body["data"]["removeMember"]["member"]["status"], "DISABLED", "{body}");
    let body = update_role(server, &owner.access, &admin.id, "ADMIN").await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
});

on_both_backends!(a_withdrawn_invitation_cannot_be_accepted, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let (_, body) = invite(server, &t.api_key, "ANALYST").await;
    let token = body["data"]["inviteMember"]["inviteToken"].as_str().unwrap().to_owned();
    let id = body["data"]["inviteMember"]["member"]["id"].as_str().unwrap().to_owned();
    let body = remove(server, &t.api_key, &id).await;
    assert_eq!(body["data"]["removeMember"]["member"]["status"], "DISABLED", "{body}");
    let (_, body) = server.gql(None, ACCEPT, json!({ "i": { "token": token, "password": PASSWORD } })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
});

on_both_backends!(a_demoted_members_tokens_carry_the_new_role_at_once, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let owner = owner(server, &t).await;
    let admin = member(server, &owner.access, "ADMIN").await;
    let (wide_id, wide) = server.create_key(&admin.access, &["apikeys:manage", "catalog:read"]).await;
    let (_, narrow) = server.create_key(&admin.access, &["catalog:read", "reports:read"]).await;
    assert_eq!(role_of(server, &admin.access).await, (200, json!("ADMIN")));

    let rid = new_request_id();
    let (_, body) =
        server.gql_with_id(Some(&owner.access), &rid, UPDATE_ROLE, json!({ "id": admin.id, "r": "VIEWER" })).await;
    assert_eq!(body["data"]["updateMemberRole"]["member"]["role"], "VIEWER", "{body}");
    assert_eq!(body["data"]["updateMemberRole"]["revokedApiKeys"], json!([{ "id": wide_id }]), "{body}");

    // The token issued as an admin now acts as a viewer.
    assert_eq!(role_of(server, &admin.access).await, (200, json!("VIEWER")));
    let (_, body) = server
        .gql(
            Some(&admin.access),
            "mutation { createApiKey(input: {name: \"x\", scopes: [\"catalog:read\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = invite(server, &admin.access, "VIEWER").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // Keys beyond the new role are gone; keys within it stay.
    let (status, _) = server.gql(Some(&wide), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = server.gql(Some(&narrow), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200);
    // A refreshed session carries the new role too.
    let (_, body) = server.gql(None, REFRESH, json!({ "t": admin.refresh })).await;
    let access = body["data"]["refreshSession"]["accessToken"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    assert_eq!(role_of(server, &access).await, (200, json!("VIEWER")));

    let events = events_of_request(server, &t.api_key, &rid).await;
    let changed = events.iter().find(|e| e["action"] == "member.role_changed").unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(changed["target"], admin.id.as_str());
    assert!(events.iter().any(|e| e["action"] == "api_key.revoked" && e["target"] == wide_id.as_str()), "{events:?}");
});

on_both_backends!(another_tenants_member_is_not_found, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let b = server.new_tenant().await;
    let b_owner = owner(server, &b).await;
    let a_owner = owner(server, &a).await;
    for token in [&a.api_key, &a_owner.access] {
        let body = update_role(server, token, &b_owner.id, "VIEWER").await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        let body = remove(server, token, &b_owner.id).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    assert_eq!(listed(server, &b.api_key, &b_owner.id).await, ("OWNER".into(), "ACTIVE".into()));
    let (status, _) = server.gql(Some(&b_owner.access), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200);
    let (_, body) = server.gql(None, REFRESH, json!({ "t": b_owner.refresh })).await;
    assert!(body["data"]["refreshSession"]["accessToken"].is_string(), "{body}");
});
