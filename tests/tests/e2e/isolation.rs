//! Tenant isolation, the first law: tenant A's key or member can read or change nothing
//! of tenant B's, through any query or mutation.

use serde_json::json;

use crate::helpers::{TestServer, error_code};
use crate::on_both_backends;

async fn key_ids(server: &TestServer, token: &str) -> Vec<String> {
    server.ok(token, "{ apiKeys(first: 100) { edges { node { id } } } }", json!({})).await["apiKeys"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

on_both_backends!(a_tenant_sees_and_changes_only_its_own_access_objects, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let b = server.new_tenant().await;
    let b_keys = key_ids(server, &b.api_key).await;
    assert_eq!(b_keys.len(), 1);

    // Reads: every list and object answers with A's data only.
    let a_keys = key_ids(server, &a.api_key).await;
    assert!(a_keys.iter().all(|id| !b_keys.contains(id)));
    let (_, body) =
        server.gql(Some(&a.api_key), "{ tenant { slug } members { edges { node { email } } } }", json!({})).await;
    assert_eq!(body["data"]["tenant"]["slug"], a.slug.as_str());
    let emails: Vec<_> =
        body["data"]["members"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["email"].clone()).collect();
    assert_eq!(emails, vec![json!(a.owner_email)]);

    // Writes: revoking B's key with A's credentials finds nothing, and B's key still works.
    for token in [a.api_key.clone(), server.login(&a).await["accessToken"].as_str().unwrap().to_owned()] {
        let (_, body) = server
            .gql(
                Some(&token),
                "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }",
                json!({ "id": b_keys[0] }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
        assert!(body["data"].is_null());
    }
    let (status, body) = server.gql(Some(&b.api_key), "{ tenant { slug } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["tenant"]["slug"], b.slug.as_str());

    // Inviting with A's key creates the member in A, never in B.
    let (_, body) = server
        .gql(
            Some(&a.api_key),
            "mutation { inviteMember(input: {email: \"x@example.com\", role: VIEWER}) { member { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["inviteMember"]["member"]["email"], "x@example.com", "{body}");
    let (_, body) = server.gql(Some(&b.api_key), "{ members { edges { node { email } } } }", json!({})).await;
    assert_eq!(body["data"]["members"]["edges"].as_array().unwrap().len(), 1, "{body}");
});

on_both_backends!(a_member_token_is_bound_to_its_tenant, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let b = server.new_tenant().await;
    // Signing in to B with A's owner credentials fails.
    let (status, body) = server.login_as(&b, &a.owner_email, &a.owner_password).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(status, 401);
    let session = server.login(&a).await;
    let token = session["accessToken"].as_str().unwrap();
    let (_, body) = server.gql(Some(token), "{ viewer { kind tenant { slug } } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["tenant"]["slug"], a.slug.as_str());
    assert_eq!(body["data"]["viewer"]["kind"], "MEMBER");
});

/// On PostgreSQL the database enforces isolation a second time: as the application
/// role, a query with no tenant filter at all still sees one tenant's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_row_level_security_hides_other_tenants_rows() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let Some(server) = crate::helpers::server(crate::helpers::Backend::Postgres) else { return };
    let a = server.new_tenant().await;
    let _b = server.new_tenant().await;
    let db = server.raw_db().await;
    let tenant_id: i64 = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM tenants WHERE slug = $1",
            [a.slug.clone().into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    let count = |sql: &'static str, setting: Option<i64>| {
        let db = db.clone();
        async move {
            let tx = db.begin().await.unwrap();
            tx.execute_unprepared(&format!("SET LOCAL ROLE {}", migrations::APP_ROLE)).await.unwrap();
            if let Some(id) = setting {
                tx.execute_unprepared(&format!("SELECT set_config('marquee.tenant_id', '{id}', true)")).await.unwrap();
            }
            let row = tx.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
            let n: i64 = row.try_get("", "n").unwrap();
            tx.rollback().await.unwrap();
            n
        }
    };
    let total: i64 = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT count(*) AS n FROM api_keys"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert!(total >= 2, "the owner sees every tenant's keys");
    assert_eq!(count("SELECT count(*) AS n FROM api_keys", Some(tenant_id)).await, 1);
    assert_eq!(count("SELECT count(*) AS n FROM members", Some(tenant_id)).await, 1);
    assert_eq!(count("SELECT count(*) AS n FROM api_keys", None).await, 0, "no tenant set: no rows");
}
