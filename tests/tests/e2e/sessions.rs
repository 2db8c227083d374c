//! Sign-in, rotating refresh tokens and reuse detection.

use serde_json::json;

use crate::helpers::{TestServer, assert_error, error_code};
use crate::on_both_backends;

const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";

on_both_backends!(refresh_tokens_rotate_and_reuse_revokes_the_family, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let first = server.login(&t).await;
    let r1 = first["refreshToken"].as_str().unwrap().to_owned();

    let (_, body) = server.gql(None, REFRESH, json!({ "t": r1 })).await;
    let r2 = body["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
    let access = body["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let (status, _) = server.gql(Some(&access), "{ viewer { kind } }", json!({})).await;
    assert_eq!(status, 200);

    // Replaying the spent token fails and revokes its successor too.
    let (status, body) = server.gql(None, REFRESH, json!({ "t": r1 })).await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");
    let (_, body) = server.gql(None, REFRESH, json!({ "t": r2 })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "successor must be revoked: {body}");

    // A separate login is a separate family and still works.
    let other = server.login(&t).await;
    let (_, body) = server.gql(None, REFRESH, json!({ "t": other["refreshToken"] })).await;
    assert!(body["data"]["refreshSession"]["accessToken"].is_string(), "{body}");
});

on_both_backends!(wrong_passwords_and_bad_tokens_are_unauthenticated, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let (status, body) = server.login_as(&t, &t.owner_email, "not the password").await;
    assert_error(status, &body, 401, "UNAUTHENTICATED");

    let session = server.login(&t).await;
    let token = session["accessToken"].as_str().unwrap();
    // A tampered signature, a token for another secret and garbage are all refused.
    let mut tampered = token.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "eyJhbGciOiJIUzI1NiJ9.e30.x", "mq_live_notakey_000000", "nonsense"] {
        let (status, body) = server.gql(Some(bad), "{ viewer { kind } }", json!({})).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "UNAUTHENTICATED"), "{bad}: {body}");
        assert!(body["data"].is_null());
    }
});
