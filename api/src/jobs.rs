//! Background jobs the server runs beside requests.

use std::time::Duration;

use domain::Services;

/// Runs the retention job now and then every `interval_secs` (0: never). A failed run
/// is logged and retried at the next tick.
pub fn spawn_retention(services: Services, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match domain::privacy::apply_retention(&services).await {
                Ok(runs) => {
                    for run in runs.iter().filter(|r| r.deleted > 0) {
                        tracing::info!(tenant_id = run.tenant.get(), deleted = run.deleted, days = run.retention_days, "retention applied");
                    }
                }
                Err(e) => tracing::error!(error = ?e, "retention job failed"),
            }
        }
    });
}

/// Every `interval_secs` (0: never), retrains the models that learnt from an erased
/// person and whose deadline has passed, and deletes the files of models they replaced.
pub fn spawn_erasure_retraining(services: Services, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match domain::models::retrain_after_erasures(&services).await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "retraining queued for models that learnt from erased people"),
                Err(e) => tracing::error!(error = ?e, "erasure retraining check failed"),
            }
        }
    });
}
