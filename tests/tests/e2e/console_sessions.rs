//! The console's cookie sessions (`/auth/login`, `/auth/session/refresh`,
//! `/auth/session/logout`): the cookies' attributes, the CSRF double submit on every
//! request they authenticate, refresh by cookie, and a logout that revokes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{Answer, TestServer, TestTenant, assert_refused};
use crate::on_both_backends;

/// The cookies a response sets: name → (value, attributes as written, lowercased).
fn set_cookies(answer: &Answer) -> BTreeMap<String, (String, Vec<String>)> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let raw = v.to_str().unwrap();
            let mut parts = raw.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            (name.to_owned(), (value.to_owned(), parts.map(str::to_ascii_lowercase).collect()))
        })
        .collect()
}

fn has(attributes: &[String], wanted: &str) -> bool {
    attributes.iter().any(|a| a == wanted)
}

/// What a browser holds after signing in.
struct Jar {
    access: String,
    refresh: String,
    csrf: String,
}

impl Jar {
    fn of(answer: &Answer) -> Self {
        let cookies = set_cookies(answer);
        let value = |name: &str| cookies.get(name).map(|c| c.0.clone()).unwrap_or_else(|| panic!("no {name} cookie"));
        Self { access: value("mq_access"), refresh: value("mq_refresh"), csrf: value("mq_csrf") }
    }

    /// The `Cookie` header a browser sends to `/graphql` (the refresh cookie's path
    /// keeps it off), with the CSRF header when given.
    fn for_api(&self, csrf: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers = vec![("cookie", format!("mq_access={}; mq_csrf={}", self.access, self.csrf))];
        if let Some(csrf) = csrf {
            headers.push(("x-csrf-token", csrf.to_owned()));
        }
        headers
    }

    /// The `Cookie` header a browser sends under `/auth/session`.
    fn for_session(&self, csrf: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers =
            vec![("cookie", format!("mq_access={}; mq_refresh={}; mq_csrf={}", self.access, self.refresh, self.csrf))];
        if let Some(csrf) = csrf {
            headers.push(("x-csrf-token", csrf.to_owned()));
        }
        headers
    }
}

async fn sign_in(server: &TestServer, t: &TestTenant, headers: &[(&str, String)]) -> Answer {
    let body = json!({ "tenant": t.slug, "email": t.owner_email, "password": t.owner_password });
    server.post("/auth/login", None, headers, "application/json", body.to_string().into_bytes()).await
}

async fn viewer(server: &TestServer, headers: &[(&str, String)]) -> Answer {
    let body = json!({ "query": "{ viewer { kind role } }" }).to_string().into_bytes();
    server.post("/graphql", None, headers, "application/json", body).await
}

async fn session_call(server: &TestServer, path: &str, headers: &[(&str, String)]) -> Answer {
    server.post(path, None, headers, "application/json", b"{}".to_vec()).await
}

on_both_backends!(console_sign_in_sets_httponly_strict_cookies, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let answer = sign_in(server, &t, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["member"]["email"], t.owner_email.as_str());
    assert_eq!(answer.body["member"]["role"], "OWNER");
    assert!(answer.body["expiresIn"].as_i64().unwrap() > 0);
    // No token in the body: the page never holds one.
    let text = answer.body.to_string();
    let cookies = set_cookies(&answer);
    for (name, (value, _)) in &cookies {
        assert!(!text.contains(value.as_str()), "{name}'s value is in the body: {text}");
    }

    let (access, access_attrs) = &cookies["mq_access"];
    assert!(!access.is_empty());
    assert!(has(access_attrs, "httponly") && has(access_attrs, "samesite=strict") && has(access_attrs, "path=/"));
    let (_, refresh_attrs) = &cookies["mq_refresh"];
    assert!(has(refresh_attrs, "httponly") && has(refresh_attrs, "samesite=strict"));
    assert!(has(refresh_attrs, "path=/auth/session"), "the refresh cookie travels only to refresh and logout");
    let (csrf, csrf_attrs) = &cookies["mq_csrf"];
    assert!(csrf.len() >= 32, "a CSRF value with enough entropy: {csrf}");
    assert!(!has(csrf_attrs, "httponly"), "the page must read the CSRF cookie");
    assert!(has(csrf_attrs, "samesite=strict"));
    // Plain HTTP to 127.0.0.1 (the demo, the tests): no `Secure`, or no browser would keep them.
    assert!(cookies.values().all(|(_, attrs)| !has(attrs, "secure")));

    // Anywhere else, and behind TLS, every cookie is `Secure`.
    for headers in [vec![("host", "marquee.example".to_owned())], vec![("x-forwarded-proto", "https".to_owned())]] {
        let answer = sign_in(server, &t, &headers).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let cookies = set_cookies(&answer);
        assert_eq!(cookies.len(), 3);
        assert!(cookies.values().all(|(_, attrs)| has(attrs, "secure")), "{headers:?}: {cookies:?}");
    }

    // Wrong credentials set nothing.
    let body = json!({ "tenant": t.slug, "email": t.owner_email, "password": "not the password" });
    let refused = server.post("/auth/login", None, &[], "application/json", body.to_string().into_bytes()).await;
    assert_refused(refused.status, &refused.body, 401, "UNAUTHENTICATED");
    assert!(set_cookies(&refused).is_empty());
    // A form post (what another site could send without a preflight) is refused.
    let form = format!("tenant={}&email={}&password={}", t.slug, t.owner_email, t.owner_password);
    let refused = server.post("/auth/login", None, &[], "application/x-www-form-urlencoded", form.into_bytes()).await;
    assert_refused(refused.status, &refused.body, 400, "BAD_REQUEST");
});

on_both_backends!(cookie_requests_need_the_csrf_header, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let jar = Jar::of(&sign_in(server, &t, &[]).await);

    let refused = viewer(server, &jar.for_api(None)).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    assert!(refused.body["data"].is_null());
    let wrong = format!("{}x", jar.csrf);
    let refused = viewer(server, &jar.for_api(Some(&wrong))).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    let refused = viewer(server, &jar.for_api(Some(""))).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    // Also for plain application/json clients, and for GET.
    let mut headers = jar.for_api(None);
    headers.push(("accept", "application/json".to_owned()));
    let refused = viewer(server, &headers).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    let refused = server.get("/graphql?query=%7B%20viewer%20%7B%20kind%20%7D%20%7D", None, &jar.for_api(None)).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    // The refresh endpoint as well: no new session without the header.
    let refused = session_call(server, "/auth/session/refresh", &jar.for_session(None)).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");

    let accepted = viewer(server, &jar.for_api(Some(&jar.csrf))).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["data"]["viewer"], json!({ "kind": "MEMBER", "role": "OWNER" }));

    // Bearer clients are unaffected, even with stray cookies and no CSRF header.
    let (status, body) = server.gql(Some(&t.api_key), "{ viewer { kind } }", json!({})).await;
    assert_eq!((status, &body["data"]["viewer"]["kind"]), (200, &Value::from("API_KEY")), "{body}");
    let mut headers = jar.for_api(None);
    headers.push(("authorization", format!("Bearer {}", t.api_key)));
    let answer = viewer(server, &headers).await;
    assert_eq!(answer.body["data"]["viewer"]["kind"], "API_KEY", "{}", answer.body);
    // An API key is not accepted from the cookie.
    let smuggled =
        vec![("cookie", format!("mq_access={}; mq_csrf=abc", t.api_key)), ("x-csrf-token", "abc".to_owned())];
    let refused = viewer(server, &smuggled).await;
    assert_refused(refused.status, &refused.body, 401, "UNAUTHENTICATED");
});

on_both_backends!(console_refresh_by_cookie_and_logout_revokes, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let first = Jar::of(&sign_in(server, &t, &[]).await);

    let refreshed = session_call(server, "/auth/session/refresh", &first.for_session(Some(&first.csrf))).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["member"]["email"], t.owner_email.as_str());
    let second = Jar::of(&refreshed);
    assert_ne!(second.refresh, first.refresh, "the refresh token rotates");
    assert_eq!(second.csrf, first.csrf, "the CSRF value lasts the session");
    let answer = viewer(server, &second.for_api(Some(&second.csrf))).await;
    assert_eq!(answer.body["data"]["viewer"]["kind"], "MEMBER", "{}", answer.body);

    // Logout needs the CSRF header too, then revokes and clears every cookie.
    let refused = session_call(server, "/auth/session/logout", &second.for_session(None)).await;
    assert_refused(refused.status, &refused.body, 403, "CSRF_REJECTED");
    let out = session_call(server, "/auth/session/logout", &second.for_session(Some(&second.csrf))).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let cleared = set_cookies(&out);
    for name in ["mq_access", "mq_refresh", "mq_csrf"] {
        let (value, attrs) = &cleared[name];
        assert!(value.is_empty() && has(attrs, "max-age=0"), "{name} is cleared: {attrs:?}");
    }
    assert!(has(&cleared["mq_refresh"].1, "path=/auth/session"), "cleared on the path it was set on");

    // The revoked refresh token no longer works, by cookie or by `refreshSession`.
    let refused = session_call(server, "/auth/session/refresh", &second.for_session(Some(&second.csrf))).await;
    assert_refused(refused.status, &refused.body, 401, "UNAUTHENTICATED");
    let query = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken } }";
    let (status, body) = server.gql(None, query, json!({ "t": second.refresh })).await;
    assert_refused(status, &body, 401, "UNAUTHENTICATED");
    // A second logout is harmless.
    let again = session_call(server, "/auth/session/logout", &second.for_session(Some(&second.csrf))).await;
    assert_eq!(again.status, 200, "{}", again.body);

    // The log says who signed out.
    let events = "{ auditEvents(filter: {action: \"session.logout\"}) { nodes { action principal } } }";
    let data = server.ok(&t.api_key, events, json!({})).await;
    let nodes = data["auditEvents"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{data}");
    assert!(nodes[0]["principal"].as_str().unwrap().starts_with("member:"), "{data}");

    // Without a refresh cookie there is nothing to renew.
    let refused = session_call(server, "/auth/session/refresh", &[]).await;
    assert_refused(refused.status, &refused.body, 401, "UNAUTHENTICATED");
});
