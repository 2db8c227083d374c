//! Who may declare a training job dead. A job lives in the process that queued it: a CLI
//! command run beside a server must leave the server's jobs alone, and a restarted
//! server fails only what its own previous instance left behind.

use api::startup;
use domain::models::JobOwner;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::audit::tenant_row_id;
use crate::helpers::{TestServer, query_value};
use crate::on_both_backends;

/// A job row as the owner's process writes it; returns its public id.
async fn insert_job(db: &DatabaseConnection, tid: i64, status: &str, owner: &JobOwner) -> String {
    let public_id = uuid::Uuid::new_v4().simple().to_string();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO jobs (tenant_id, public_id, kind, status, progress, cancel_requested, created_by, created_at, owner_node, owner_instance)
                 VALUES ($1, $2, 'train', $3, 0.5, false, 'operator', $4, $5, $6)"
            }
            _ => {
                "INSERT INTO jobs (tenant_id, public_id, kind, status, progress, cancel_requested, created_by, created_at, owner_node, owner_instance)
                 VALUES (?, ?, 'train', ?, 0.5, false, 'operator', ?, ?, ?)"
            }
        },
        [
            tid.into(),
            public_id.clone().into(),
            status.into(),
            chrono::Utc::now().into(),
            owner.node.clone().into(),
            owner.instance.clone().into(),
        ],
    ))
    .await
    .unwrap();
    public_id
}

async fn job_status(db: &DatabaseConnection, public_id: &str) -> String {
    query_value(db, "status", format!("SELECT status FROM jobs WHERE public_id = '{public_id}'")).await
}

async fn server_owner(server: &TestServer) -> JobOwner {
    server.operator_app(|app| async move { app.models.job_owner().clone() }).await
}

on_both_backends!(a_cli_command_beside_a_server_leaves_its_jobs_alone, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let db = server.raw_db().await;
    let tid = tenant_row_id(&db, &t.slug).await;
    let owner = server_owner(server).await;
    let running = insert_job(&db, tid, "running", &owner).await;
    let queued = insert_job(&db, tid, "queued", &owner).await;

    // What `marquee audit verify` (or any command) does first, against the live server's
    // database and data directory.
    let cli = startup::connect(&server.settings, false).await.unwrap();
    let report = api::audit_cmd::verify(&cli.services, &t.slug).await.unwrap();
    assert!(report.ok);
    assert_ne!(cli.models.job_owner().node, owner.node, "a CLI process owns jobs as a node of its own");

    assert_eq!(job_status(&db, &running).await, "running");
    assert_eq!(job_status(&db, &queued).await, "queued");
});

on_both_backends!(
    a_restarted_server_fails_only_what_its_previous_instance_left,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let db = server.raw_db().await;
        let tid = tenant_row_id(&db, &t.slug).await;
        // A second node: the same database, a data directory (and so a node id) of its own.
        let mut settings = server.settings.clone();
        settings.data_dir = std::env::temp_dir().join(format!("marquee-e2e-node-{}", uuid::Uuid::new_v4().simple()));
        let first = startup::connect_server(&settings).await.unwrap();
        let first_owner = first.models.job_owner().clone();
        let left_running = insert_job(&db, tid, "running", &first_owner).await;
        let left_queued = insert_job(&db, tid, "queued", &first_owner).await;
        let finished = insert_job(&db, tid, "succeeded", &first_owner).await;
        let other_server = insert_job(&db, tid, "running", &server_owner(server).await).await;
        let cli_owner = startup::connect(&settings, false).await.unwrap().models.job_owner().clone();
        let cli_job = insert_job(&db, tid, "running", &cli_owner).await;

        // The same node starts again: a new instance.
        let second = startup::connect_server(&settings).await.unwrap();
        assert_eq!(second.models.job_owner().node, first_owner.node);
        assert_ne!(second.models.job_owner().instance, first_owner.instance);
        assert_eq!(job_status(&db, &left_running).await, "failed");
        assert_eq!(job_status(&db, &left_queued).await, "failed");
        assert_eq!(job_status(&db, &finished).await, "succeeded");
        assert_eq!(job_status(&db, &other_server).await, "running", "another node's job is its own");
        assert_eq!(job_status(&db, &cli_job).await, "running", "a CLI process's job is its own");

        // Jobs the new instance queues are its own: starting again does not fail them.
        let current = insert_job(&db, tid, "running", second.models.job_owner()).await;
        domain::models::fail_interrupted_jobs(&second.models).await.unwrap();
        assert_eq!(job_status(&db, &current).await, "running");
        let _ = std::fs::remove_dir_all(&settings.data_dir);
    }
);
