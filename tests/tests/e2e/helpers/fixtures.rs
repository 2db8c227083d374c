//! What many tests do before they test anything: push a catalog, an audience and their
//! events, make keys, train, deploy and ask for recommendations. Each call checks that
//! it worked, so a test states only what it is about.

use std::time::Duration;

use serde_json::{Value, json};

use super::TestServer;

pub const UPSERT_CONTENTS: &str = "mutation($c: [ContentInput!]!) { upsertContents(contents: $c) { accepted created updated unchanged errors { index id code field message } } }";
pub const UPSERT_USERS: &str = "mutation($u: [EndUserInput!]!) { upsertEndUsers(users: $u) { accepted created updated unchanged errors { index id code field message } } }";
pub const RECORD: &str = "mutation($e: [InteractionInput!]!) { recordInteractions(events: $e) { accepted duplicates usersCreated errors { index id code field message } } }";

/// The batch limits of docs/ingestion.md: larger data goes in several batches.
const MAX_CONTENTS: usize = 500;
const MAX_ROWS: usize = 1000;

/// How long a training job may take before a test gives up on it.
const TRAINING_TIMEOUT: Duration = Duration::from_secs(60);

pub fn movie(id: &str, title: &str) -> Value {
    json!({ "id": id, "kind": "MOVIE", "title": title })
}

/// A tenant's data as a test pushes it: catalog, end users' profiles, events.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub contents: Vec<Value>,
    pub users: Vec<Value>,
    pub events: Vec<Value>,
}

/// Two taste clusters: c0..c19 Action movies by Studio A, c20..c39 Romance series by
/// Studio B; users a0..a29 play 8 distinct Action items each, r0..r29 8 Romance ones
/// (480 events, no profiles).
pub fn two_clusters() -> Dataset {
    let contents = (0..40)
        .map(|i| {
            let action = i < 20;
            json!({
                "id": format!("c{i}"),
                "kind": if action { "MOVIE" } else { "SERIES" },
                "title": format!("{} {i}", if action { "Explosions" } else { "Hearts" }),
                "genres": [if action { "Action" } else { "Romance" }],
                "provider": if action { "Studio A" } else { "Studio B" },
            })
        })
        .collect();
    let mut events = Vec::new();
    for u in 0..60 {
        let (prefix, base) = if u < 30 { ("a", 0) } else { ("r", 20) };
        let user = format!("{prefix}{}", u % 30);
        for j in 0..8 {
            let item = base + (u * 7 + j * 3) % 20;
            events.push(json!({ "eventId": format!("e-{user}-{j}"), "userId": user, "contentId": format!("c{item}"), "type": "PLAY", "occurredAt": "2026-01-01T00:00:00Z" }));
        }
    }
    Dataset { contents, users: Vec::new(), events }
}

/// A model being trained (or trained): its id and its job's id.
#[derive(Debug, Clone)]
pub struct Training {
    pub model: String,
    pub job: String,
}

impl TestServer {
    /// Upserts content items (one batch); returns `upsertContents` with its row errors.
    pub async fn upsert_contents(&self, token: &str, contents: Value) -> Value {
        self.ok(token, UPSERT_CONTENTS, json!({ "c": contents })).await["upsertContents"].clone()
    }

    /// Upserts end users (one batch); returns `upsertEndUsers` with its row errors.
    pub async fn upsert_users(&self, token: &str, users: Value) -> Value {
        self.ok(token, UPSERT_USERS, json!({ "u": users })).await["upsertEndUsers"].clone()
    }

    /// Records events (one batch); returns `recordInteractions` with its row errors.
    pub async fn record(&self, token: &str, events: Value) -> Value {
        self.ok(token, RECORD, json!({ "e": events })).await["recordInteractions"].clone()
    }

    /// Pushes a dataset, catalog first, then profiles, then events, in as few batches as
    /// the limits allow. No row may be refused; an event already stored counts as a
    /// duplicate (seeding twice is harmless). Returns how many events were new.
    pub async fn seed(&self, token: &str, data: &Dataset) -> u64 {
        for batch in data.contents.chunks(MAX_CONTENTS) {
            let r = self.upsert_contents(token, json!(batch)).await;
            assert_eq!((r["accepted"].as_u64(), &r["errors"]), (Some(batch.len() as u64), &json!([])), "{r}");
        }
        for batch in data.users.chunks(MAX_ROWS) {
            let r = self.upsert_users(token, json!(batch)).await;
            assert_eq!((r["accepted"].as_u64(), &r["errors"]), (Some(batch.len() as u64), &json!([])), "{r}");
        }
        let mut new = 0;
        for batch in data.events.chunks(MAX_ROWS) {
            let r = self.record(token, json!(batch)).await;
            assert_eq!(r["errors"], json!([]), "{r}");
            let (accepted, duplicates) = (r["accepted"].as_u64().unwrap(), r["duplicates"].as_u64().unwrap());
            assert_eq!(accepted + duplicates, batch.len() as u64, "{r}");
            new += accepted;
        }
        new
    }

    /// Creates an API key with these scopes; returns (its id, its secret).
    pub async fn create_key(&self, token: &str, scopes: &[&str]) -> (String, String) {
        self.create_key_until(token, scopes, None).await
    }

    /// Creates an API key with these scopes that expires at an RFC 3339 time (or never);
    /// returns (its id, its secret).
    pub async fn create_key_until(&self, token: &str, scopes: &[&str], expires_at: Option<String>) -> (String, String) {
        let data = self
            .ok(
                token,
                "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id } } }",
                json!({ "i": { "name": "scoped", "scopes": scopes, "expiresAt": expires_at } }),
            )
            .await;
        let created = &data["createApiKey"];
        (created["apiKey"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
    }

    /// The secret of a new key of the tenant with just these scopes.
    pub async fn key_with(&self, token: &str, scopes: &[&str]) -> String {
        self.create_key(token, scopes).await.1
    }

    /// Queues a training job (`TrainModelInput`) without waiting for it.
    pub async fn start_training(&self, token: &str, input: Value) -> Training {
        let data = self
            .ok(
                token,
                "mutation($i: TrainModelInput!) { trainModel(input: $i) { model { id } job { id } } }",
                json!({ "i": input }),
            )
            .await;
        let id = |v: &Value| v["id"].as_str().unwrap_or_else(|| panic!("{data}")).to_owned();
        Training { model: id(&data["trainModel"]["model"]), job: id(&data["trainModel"]["job"]) }
    }

    /// A job's `status` and `error`.
    pub async fn job(&self, token: &str, job: &str) -> Value {
        self.ok(token, "query($id: ID!) { job(id: $id) { status error } }", json!({ "id": job })).await["job"].clone()
    }

    /// Waits until a job has ended (succeeded, failed or was cancelled); returns its
    /// `status` and `error`.
    pub async fn job_outcome(&self, token: &str, job: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let job_now = self.job(token, job).await;
            if matches!(job_now["status"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELLED")) {
                return job_now;
            }
            assert!(started.elapsed() < TRAINING_TIMEOUT, "the job did not end in time: {job_now}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Trains a model (`TrainModelInput`) and waits until it is ready.
    pub async fn train(&self, token: &str, input: Value) -> Training {
        let training = self.start_training(token, input).await;
        let outcome = self.job_outcome(token, &training.job).await;
        assert_eq!(outcome["status"], "SUCCEEDED", "training ended badly: {outcome}");
        training
    }

    /// Deploys a model, which must become the active one; `allow_worse` deploys it even
    /// when its held-out metrics are below the active model's.
    pub async fn deploy(&self, token: &str, model: &str, allow_worse: bool) {
        let query = "mutation($id: ID!, $w: Boolean!) { deployModel(id: $id, allowWorse: $w) { active } }";
        let data = self.ok(token, query, json!({ "id": model, "w": allow_worse })).await;
        assert_eq!(data["deployModel"]["active"], true, "{data}");
    }

    /// Uploads a tenant's own ONNX model through `uploadModel` (base64 in the GraphQL
    /// body); returns the status and the body, whatever the outcome.
    pub async fn upload_model(&self, token: &str, name: &str, onnx: &[u8], item_ids: &[&str]) -> (u16, Value) {
        use base64::Engine;
        let input = json!({
            "name": name,
            "onnxBase64": base64::engine::general_purpose::STANDARD.encode(onnx),
            "itemIds": item_ids,
        });
        self.gql(
            Some(token),
            "mutation($i: UploadModelInput!) { uploadModel(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await
    }

    /// Five recommendations for a user, with a `RecommendationFilterInput` (or null):
    /// `strategy fallbackReason modelId items { rank score contentId content { genres provider kind } }`.
    pub async fn recommend(&self, token: &str, user: &str, filter: Value) -> Value {
        let query = "query($u: String!, $f: RecommendationFilterInput) { recommendations(userId: $u, first: 5, filter: $f) { strategy fallbackReason modelId items { rank score contentId content { genres provider kind } } } }";
        self.ok(token, query, json!({ "u": user, "f": filter })).await["recommendations"].clone()
    }
}
