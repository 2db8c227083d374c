//! Requests to a test server: GraphQL as any client sends it, raw bodies for malformed
//! input, and the checks that most answers get.

use serde_json::{Value, json};

use super::{TestServer, TestTenant};

/// An HTTP answer: the status, the headers and the JSON body (`null` when not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestServer {
    /// POSTs `body` to `path`, with a bearer token and extra headers when given.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut request =
            self.http.post(format!("{}{path}", self.base_url)).header("content-type", content_type).body(body);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    /// GETs `path` with a bearer token and extra headers when given.
    pub async fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, String)]) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    async fn post_graphql(
        &self,
        token: Option<&str>,
        headers: &[(&str, String)],
        query: &str,
        variables: Value,
    ) -> Answer {
        let body = json!({ "query": query, "variables": variables }).to_string().into_bytes();
        self.post("/graphql", token, headers, "application/json", body).await
    }

    /// POSTs a GraphQL request; returns the HTTP status and the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let answer = self.post_graphql(token, &[], query, variables).await;
        (answer.status, answer.body)
    }

    /// POSTs a GraphQL request with extra headers; returns the status, the headers and the body.
    pub async fn gql_with_headers(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, String)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let answer = self.post_graphql(None, headers, query, variables).await;
        (answer.status, answer.headers, answer.body)
    }

    /// POSTs a GraphQL request under our own request id, so its audit events can be found.
    pub async fn gql_with_id(
        &self,
        token: Option<&str>,
        request_id: &str,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let answer = self.post_graphql(token, &[("x-request-id", request_id.to_owned())], query, variables).await;
        (answer.status, answer.body)
    }

    /// POSTs raw bytes with a content type to /graphql, for malformed-input tests.
    pub async fn post_raw(&self, token: Option<&str>, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let answer = self.post("/graphql", token, &[], content_type, body).await;
        (answer.status, answer.body)
    }

    /// Runs a GraphQL request that must succeed: 200 and no errors. Returns `data`.
    #[track_caller]
    pub fn ok<'a>(
        &'a self,
        token: &'a str,
        query: &'a str,
        variables: Value,
    ) -> impl std::future::Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let (status, body) = self.gql(Some(token), query, variables).await;
            assert!(status == 200 && body["errors"].is_null(), "{status} {body} (called at {caller})");
            body["data"].clone()
        }
    }

    /// Signs the tenant's owner in; returns `login` (tokens and member).
    pub async fn login(&self, tenant: &TestTenant) -> Value {
        let (status, body) = self
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn member { id email role } } }",
                tenant.owner_login_vars(&tenant.owner_password),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["login"].clone()
    }

    /// Asks for a sign-in with these credentials; returns the status and the body,
    /// whatever the outcome.
    pub async fn login_as(&self, tenant: &TestTenant, email: &str, password: &str) -> (u16, Value) {
        let query = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
        self.gql(None, query, tenant.login_vars(email, password)).await
    }
}

impl TestTenant {
    /// The variables of a `login` mutation (`$i: LoginInput!`) in this tenant.
    pub fn login_vars(&self, email: &str, password: &str) -> Value {
        json!({ "i": { "tenant": self.slug, "email": email, "password": password } })
    }

    /// The variables of the owner's `login` with this password (right or wrong).
    pub fn owner_login_vars(&self, password: &str) -> Value {
        self.login_vars(&self.owner_email, password)
    }
}

/// The first error's `extensions.code`, or "" when there is none.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_owned()
}

/// A refusal with this HTTP status and first error code.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!((status, error_code(body).as_str()), (want_status, want_code), "{body}");
}

/// A refusal as docs/errors.md promises it: the status, the code, a message and the
/// request id.
#[track_caller]
pub fn assert_refused(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_error(status, body, want_status, want_code);
    assert!(body["errors"][0]["extensions"]["requestId"].is_string(), "every error carries the request id: {body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}
