//! Background jobs the server runs beside requests.

use std::future::Future;
use std::time::Duration;

use domain::App;

/// Runs the retention job now and then every `interval_secs` (0: never). A failed run
/// is logged and retried at the next tick.
pub fn spawn_retention(app: App, interval_secs: u64) {
    spawn_periodic(app, interval_secs, |app| async move {
        match domain::privacy::apply_retention(&app.services).await {
            Ok(runs) => {
                for run in runs.iter().filter(|r| r.deleted > 0) {
                    tracing::info!(
                        tenant_id = run.tenant.get(),
                        deleted = run.deleted,
                        days = run.retention_days,
                        "retention applied"
                    );
                }
            }
            Err(e) => tracing::error!(error = ?e, "retention job failed"),
        }
    });
}

/// Every `interval_secs` (0: never), retrains the models that learnt from an erased
/// person and whose deadline has passed, and deletes the files of models they replaced.
pub fn spawn_erasure_retraining(app: App, interval_secs: u64) {
    spawn_periodic(app, interval_secs, |app| async move {
        match domain::models::retrain_after_erasures(&app.models).await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "retraining queued for models that learnt from erased people"),
            Err(e) => tracing::error!(error = ?e, "erasure retraining check failed"),
        }
    });
}

/// Every `interval_secs` (0: never, the default), archives every tenant's sealed audit
/// segments that lie more than `keep_hot` events behind its head.
pub fn spawn_audit_archival(app: App, interval_secs: u64, keep_hot: u64) {
    spawn_periodic(app, interval_secs, move |app| async move {
        match domain::audit_log::archive_all(&app.services, keep_hot).await {
            Ok(archives) => {
                for (tenant, a) in &archives {
                    tracing::info!(
                        tenant_id = tenant.get(),
                        from = a.from_seq,
                        to = a.to_seq,
                        "audit segment archived"
                    );
                }
            }
            Err(e) => tracing::error!(error = ?e, "audit archival failed"),
        }
    });
}

/// Runs `run` at once and then every `interval_secs`, never two at a time: a run that
/// takes longer than the interval delays the next tick instead of piling up.
fn spawn_periodic<F, Fut>(app: App, interval_secs: u64, run: F)
where
    F: Fn(App) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run(app.clone()).await;
        }
    });
}
