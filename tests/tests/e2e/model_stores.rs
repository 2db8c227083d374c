//! Model files in shared storage (issue 14): two replicas on one PostgreSQL database,
//! each with an empty model directory of its own; a model trained and deployed through
//! A is served by B, which read its files from the database (the default there) or from
//! an S3-compatible bucket (moto). A damaged file is refused by its checksum
//! (`MODEL_CORRUPT`): the model is not deployed, and the one serving stays.

use std::path::{Path, PathBuf};

use api::config::{ModelStoreKind, Settings};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::{Value, json};

use crate::audit::tenant_row_id;
use crate::helpers::services::Moto;
use crate::helpers::{Backend, TestServer, dedicated_server, error_code, query_value, replica_of, stop_when_done};
use crate::privacy::{als, seed};

fn empty_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("marquee-e2e-{tag}-{}", uuid::Uuid::new_v4().simple()))
}

/// Files under `dir` (none when it does not exist).
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 }).sum()
}

async fn artifact_key(db: &DatabaseConnection, model: &str) -> String {
    query_value(db, "k", format!("SELECT artifact_key AS k FROM models WHERE public_id = '{model}'")).await
}

/// Two models trained through A, the first deployed there; B serves it.
async fn served_by_the_other_replica(a: &TestServer, b: &TestServer, key: &str) -> (String, String) {
    seed(a, key).await;
    let first = a.train(key, als()).await.model;
    let second = a.train(key, als()).await.model;
    a.deploy(key, &first, false).await;
    let answer = b.recommend(key, "a0", Value::Null).await;
    assert_eq!((answer["modelId"].as_str(), answer["strategy"].as_str()), (Some(first.as_str()), Some("PERSONALIZED")));
    (first, second)
}

/// `second`'s graph was damaged: deploying it fails on its checksum before the switch,
/// and both replicas keep serving `first`.
async fn refused_by_checksum(a: &TestServer, b: &TestServer, key: &str, first: &str, second: &str) {
    let deploy = "mutation($id: ID!) { deployModel(id: $id, allowWorse: true) { active } }";
    let (status, body) = a.gql(Some(key), deploy, json!({ "id": second })).await;
    assert_eq!((status, error_code(&body).as_str()), (500, "MODEL_CORRUPT"), "{body}");
    assert!(body.to_string().contains("does not match its checksum"), "{body}");
    for server in [a, b] {
        assert_eq!(server.recommend(key, "a0", Value::Null).await["modelId"], first);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_read_model_files_from_the_database() {
    let (dir_a, dir_b) = (empty_dir("models-a"), empty_dir("models-b"));
    let on_a = dir_a.display().to_string();
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(move |s: &mut Settings| s.models.store_dir = on_a))
    else {
        return;
    };
    let _stop_a = stop_when_done(a);
    assert_eq!(a.settings.models.store, None, "the database store is PostgreSQL's default");
    let on_b = dir_b.display().to_string();
    let b = replica_of(a, Box::new(move |s: &mut Settings| s.models.store_dir = on_b));
    let _stop_b = stop_when_done(b);
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();

    let (first, second) = served_by_the_other_replica(a, b, key).await;
    assert_eq!(files_under(&dir_a) + files_under(&dir_b), 0, "no model file on either disk");

    let db = a.raw_db().await;
    let stored = artifact_key(&db, &first).await;
    let files: i64 = query_value(
        &db,
        "n",
        format!("SELECT COUNT(*) AS n FROM model_artifacts WHERE artifact_key = '{stored}' AND length(sha256) = 64"),
    )
    .await;
    assert!(files >= 4, "graph, id maps, factors and evaluation: {files} files");
    let torn: i64 = query_value(
        &db,
        "n",
        format!(
            "SELECT COUNT(*) AS n FROM model_artifacts f WHERE artifact_key = '{stored}' AND size <> \
             (SELECT COALESCE(SUM(length(bytes)), 0) FROM model_artifact_chunks c WHERE c.artifact_id = f.id)"
        ),
    )
    .await;
    assert_eq!(torn, 0, "every file's chunks add up to its size");

    // Row-level security binds the files as it binds every tenant table.
    let tid = tenant_row_id(&db, &t.slug).await;
    let all: i64 = query_value(&db, "n", "SELECT COUNT(*) AS n FROM model_artifacts".into()).await;
    let tx = db.begin().await.unwrap();
    tx.execute_unprepared(&format!("SET LOCAL ROLE {}", migrations::APP_ROLE)).await.unwrap();
    let unbound: i64 = query_value(&tx, "n", "SELECT COUNT(*) AS n FROM model_artifact_chunks".into()).await;
    tx.execute_unprepared(&format!("SET LOCAL marquee.tenant_id = '{tid}'")).await.unwrap();
    let own: i64 = query_value(&tx, "n", "SELECT COUNT(*) AS n FROM model_artifacts".into()).await;
    tx.rollback().await.unwrap();
    assert_eq!((unbound, own), (0, all), "no tenant: no rows; the tenant: its own");

    // One byte of the second model's graph changes in the database.
    let damaged = artifact_key(&db, &second).await;
    db.execute_unprepared(&format!(
        "UPDATE model_artifact_chunks SET bytes = set_byte(bytes, 10, (get_byte(bytes, 10) + 1) % 256) \
         WHERE chunk_index = 0 AND artifact_id = \
         (SELECT id FROM model_artifacts WHERE artifact_key = '{damaged}' AND file_name = 'model.onnx')"
    ))
    .await
    .unwrap();
    refused_by_checksum(a, b, key, &first, &second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_read_model_files_from_s3() {
    let Some(moto) = Moto::start().await else { return };
    let bucket = "marquee-models";
    moto.create_bucket(bucket).await;
    let (dir_a, dir_b) = (empty_dir("models-a"), empty_dir("models-b"));
    let (endpoint, on_a) = (moto.endpoint.clone(), dir_a.display().to_string());
    let configure = move |s: &mut Settings| {
        s.models.store = Some(ModelStoreKind::S3);
        s.models.store_dir = on_a;
        s.models.s3.bucket = bucket.into();
        s.models.s3.endpoint = endpoint;
        s.models.s3.prefix = "e2e".into();
        s.models.s3.allow_http = true;
        s.models.s3.access_key_id = "test-key-id".to_owned().into();
        s.models.s3.secret_access_key = "test-secret-key".to_owned().into();
    };
    let Some(a) = dedicated_server(Backend::Postgres, Box::new(configure)) else { return };
    let _stop_a = stop_when_done(a);
    let on_b = dir_b.display().to_string();
    let b = replica_of(a, Box::new(move |s: &mut Settings| s.models.store_dir = on_b));
    let _stop_b = stop_when_done(b);
    let t = a.new_tenant().await;
    let key = t.api_key.as_str();

    let (first, second) = served_by_the_other_replica(a, b, key).await;
    assert_eq!(files_under(&dir_a) + files_under(&dir_b), 0, "no model file on either disk");
    let db = a.raw_db().await;
    let in_db: i64 = query_value(&db, "n", "SELECT COUNT(*) AS n FROM model_artifacts".into()).await;
    assert_eq!(in_db, 0, "no model file in the database");
    let stored = artifact_key(&db, &first).await;
    let objects = moto.list(bucket, &format!("e2e/{stored}/")).await;
    assert!(objects.contains(&format!("e2e/{stored}/model.onnx")), "{objects:?}");
    assert!(objects.len() >= 4, "{objects:?}");

    // One byte of the second model's graph changes in the bucket; its checksum stays.
    let damaged = format!("e2e/{}/model.onnx", artifact_key(&db, &second).await);
    let (mut bytes, checksum) = moto.object(bucket, &damaged, "sha256").await;
    let checksum = checksum.expect("the store keeps a checksum with every object");
    assert_eq!(checksum.len(), 64);
    bytes[10] = bytes[10].wrapping_add(1);
    moto.put_object(bucket, &damaged, bytes, ("sha256", &checksum)).await;
    refused_by_checksum(a, b, key, &first, &second).await;
}

#[tokio::test]
async fn the_database_store_needs_postgresql() {
    let mut settings = Settings { data_dir: empty_dir("sqlite-database-store"), ..Settings::default() };
    settings.server.port = 0;
    settings.models.store = Some(ModelStoreKind::Database);
    let refused = api::startup::Application::build(&settings).await.err().expect("a SQLite server refuses it");
    assert!(format!("{refused:#}").contains("needs PostgreSQL"), "{refused:#}");
}
