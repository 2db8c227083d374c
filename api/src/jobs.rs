//! Background jobs the server runs beside requests.

use std::future::Future;
use std::time::Duration;

use domain::Services;

/// Runs the retention job now and then every `interval_secs` (0: never). A failed run
/// is logged and retried at the next tick.
pub fn spawn_retention(services: Services, interval_secs: u64) {
    spawn_periodic(services, interval_secs, |services| async move {
        match domain::privacy::apply_retention(&services).await {
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
pub fn spawn_erasure_retraining(services: Services, interval_secs: u64) {
    spawn_periodic(services, interval_secs, |services| async move {
        match domain::models::retrain_after_erasures(&services).await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "retraining queued for models that learnt from erased people"),
            Err(e) => tracing::error!(error = ?e, "erasure retraining check failed"),
        }
    });
}

/// Runs `run` at once and then every `interval_secs`, never two at a time: a run that
/// takes longer than the interval delays the next tick instead of piling up.
fn spawn_periodic<F, Fut>(services: Services, interval_secs: u64, run: F)
where
    F: Fn(Services) -> Fut + Send + 'static,
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
            run(services.clone()).await;
        }
    });
}
