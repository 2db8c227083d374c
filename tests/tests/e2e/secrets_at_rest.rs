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
        .gql(
            Some(&t.api_key),
            "mutation { inviteMember(input: {email: \"inv@example.com\", role: VIEWER}) { inviteToken } }",
            json!({}),
        )
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

/// The placeholder the compose file once shipped, or any weak secret, stops the server
/// before it serves anything; so does a stored secret file that was cut short.
#[tokio::test]
async fn weak_secrets_stop_the_server_from_starting() {
    let data_dir = std::env::temp_dir().join(format!("marquee-weak-secret-{}", uuid::Uuid::new_v4().simple()));
    let defaults = api::config::Settings::default();
    let settings = api::config::Settings {
        data_dir: data_dir.clone(),
        server: api::config::ServerSettings { port: 0, ..defaults.server.clone() },
        ..defaults
    };
    for (field, value) in [
        ("auth.jwt_secret", "change-me-change-me-change-me-change-me"),
        ("audit.pseudonym_secret", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("audit.checkpoint_signing_key", "too-short"),
    ] {
        let mut s = settings.clone();
        match field {
            "auth.jwt_secret" => s.auth.jwt_secret = value.into(),
            "audit.pseudonym_secret" => s.audit.pseudonym_secret = value.into(),
            _ => s.audit.checkpoint_signing_key = value.into(),
        }
        let err = api::startup::Application::build(&s).await.err().expect("a weak secret must stop the start");
        assert!(format!("{err:#}").contains(field), "{field}: {err:#}");
    }
    assert!(!data_dir.join("marquee.db").exists(), "nothing may touch the database before the secrets are checked");

    // A stored secret that was cut short is not silently replaced.
    std::fs::write(data_dir.join("jwt_secret"), "cut-short").unwrap();
    let err =
        api::startup::Application::build(&settings).await.err().expect("a damaged secret file must stop the start");
    assert!(format!("{err:#}").contains("jwt_secret"), "{err:#}");
    assert_eq!(std::fs::read_to_string(data_dir.join("jwt_secret")).unwrap(), "cut-short");
    std::fs::remove_dir_all(&data_dir).ok();
}
