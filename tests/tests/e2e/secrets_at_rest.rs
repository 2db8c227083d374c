//! No API key secret, password or refresh token is stored in a form that gives it back.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::TestServer;
use crate::on_both_backends;

async fn dump(server: &TestServer, table: &str) -> String {
    let db = server.raw_db().await;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => format!("SELECT row_to_json(t)::text AS j FROM {table} t"),
        _ => format!("SELECT * FROM {table}"),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    let mut out = String::new();
    for row in rows {
        match backend {
            sea_orm::DbBackend::Postgres => out.push_str(&row.try_get::<String>("", "j").unwrap()),
            _ => {
                for column in row.column_names() {
                    if let Ok(v) = row.try_get::<Option<String>>("", &column) {
                        out.push_str(&v.unwrap_or_default());
                    }
                    out.push('|');
                }
            }
        }
        out.push('\n');
    }
    out
}

on_both_backends!(secrets_are_stored_only_as_hashes, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let session = server.login(&t).await;
    let refresh = session["refreshToken"].as_str().unwrap().to_owned();
    let (_, body) = server
        .gql(Some(&t.api_key), "mutation { inviteMember(input: {email: \"inv@example.com\", role: VIEWER}) { inviteToken } }", json!({}))
        .await;
    let invite = body["data"]["inviteMember"]["inviteToken"].as_str().unwrap().to_owned();

    let everything = format!(
        "{}{}{}{}",
        dump(server, "api_keys").await,
        dump(server, "members").await,
        dump(server, "refresh_tokens").await,
        dump(server, "tenants").await
    );
    assert!(everything.contains(&t.owner_email), "the dump must really hold the tenant's rows");
    assert!(everything.contains("$argon2id$"), "passwords are argon2id hashes");
    for secret in [&t.api_key, &t.owner_password, &refresh, &invite] {
        assert!(!everything.contains(secret.as_str()), "a secret is stored in the clear");
    }
    // Nor the random part of the key on its own.
    let random_part = t.api_key.split('_').nth(2).unwrap();
    assert!(!everything.contains(random_part));
});
