//! Fairness reports of the tenant's models: computed on a model's kept evaluation split
//! (`fairness` does the computing), stored as computed, read and exported.
//!
//! Creating needs `models:manage`; reading `reports:read` (or `models:manage`).

mod entity;
mod store;

use std::collections::{HashMap, HashSet};

use tenants::ids::PublicId;
use tenants::page::{Page, PageRequest};
use tenants::{Scope, TenantCtx};

use crate::Services;
use crate::audit::{AuditEvent, Target};
use crate::error::{DomainError, Result};
use crate::fairness::report::{self, ReportData, ReportUser};
use crate::fairness::{FairnessReport, REPORT_CREATED, ReportInput};
use crate::models::ModelServices;

/// Computes and stores a report for one of the tenant's models.
pub async fn create_report(
    ctx: &TenantCtx,
    models: &ModelServices,
    model_id: &PublicId,
    input: ReportInput,
) -> Result<FairnessReport> {
    ctx.require(Scope::ModelsManage)?;
    let evaluation = crate::models::evaluation::load_evaluation(ctx, models, model_id).await?;
    let tx = models.services.db.begin(ctx).await?;
    let thresholds = crate::settings::load(&tx).await?.fairness;
    let evaluated: Vec<String> = evaluation
        .detail
        .users
        .iter()
        .filter_map(|u| evaluation.meta.eval_user_ids.get(u.user as usize).cloned())
        .collect();
    let groups = store::user_groups(&tx, &evaluated, &input.user_groups).await?;
    let items = store::items(&tx, &evaluation.meta.item_ids).await?;
    tx.commit().await?;
    let histories = histories(ctx, models, &evaluation).await?;

    let mut users = Vec::with_capacity(evaluation.detail.users.len());
    let mut excluded_users = 0;
    for u in evaluation.detail.users {
        let id = evaluation.meta.eval_user_ids.get(u.user as usize);
        match id.and_then(|id| groups.get(id)) {
            Some(values) => {
                let mut history = id.and_then(|id| histories.get(id)).cloned().unwrap_or_default();
                history.retain(|i| !u.test_items.contains(i));
                users.push(ReportUser {
                    groups: values.clone(),
                    test: u.test_items,
                    candidates: u.candidates,
                    tail_candidates: u.tail_candidates,
                    history,
                })
            }
            None => excluded_users += 1,
        }
    }
    if users.is_empty() {
        return Err(DomainError::Conflict(
            "no evaluated user has analytics consent: there is nothing to report".into(),
        ));
    }
    let mut counts = evaluation.detail.item_train_counts;
    counts.resize(items.len(), 0);
    let data = ReportData { users, excluded_users, items, item_train_counts: counts };
    let job_input = input.clone();
    let body = tokio::task::spawn_blocking(move || report::assemble(&job_input, &thresholds, &data))
        .await
        .map_err(|e| DomainError::internal_from("report thread", e))?;

    let tx = models.services.db.begin_write(ctx).await?;
    let saved = store::insert(&tx, evaluation.row, &input, &body).await?;
    models
        .services
        .audit
        .record(
            &tx,
            AuditEvent::new(REPORT_CREATED).target(Target::object("fairness_report", saved.id.as_string())).details(
                serde_json::json!({ "model": input.model_id, "k": input.k, "reranked": input.rerank.is_some() }),
            ),
        )
        .await?;
    tx.commit().await?;
    Ok(saved)
}

/// The evaluated users' histories as model item indices (each item once), from the
/// tenant's interactions as training reads them: with the held-out items removed by
/// the caller, the training part of the split (plus whatever arrived since training).
async fn histories(
    ctx: &TenantCtx,
    models: &ModelServices,
    evaluation: &crate::models::evaluation::StoredEvaluation,
) -> Result<HashMap<String, Vec<u32>>> {
    let snapshot = crate::interactions::training_snapshot(ctx, &models.services).await?;
    let model_items: HashMap<&str, u32> =
        evaluation.meta.item_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
    let item_of: Vec<Option<u32>> = snapshot.items.iter().map(|it| model_items.get(it.id.as_str()).copied()).collect();
    let evaluated: HashSet<&str> = evaluation.meta.eval_user_ids.iter().map(String::as_str).collect();
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    for e in &snapshot.events {
        let (Some(user), Some(Some(item))) = (snapshot.users.get(e.user as usize), item_of.get(e.item as usize)) else {
            continue;
        };
        if evaluated.contains(user.as_str()) && seen.insert((e.user, *item)) {
            out.entry(user.as_str().to_owned()).or_default().push(*item);
        }
    }
    Ok(out)
}

pub async fn get_report(ctx: &TenantCtx, services: &Services, id: &PublicId) -> Result<FairnessReport> {
    crate::models::require_reader(ctx)?;
    let tx = services.db.begin(ctx).await?;
    let report = store::find(&tx, id).await?;
    tx.commit().await?;
    Ok(report)
}

pub async fn count_reports(ctx: &TenantCtx, services: &Services) -> Result<u64> {
    crate::models::require_reader(ctx)?;
    let tx = services.db.begin(ctx).await?;
    let n = store::count(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

/// The tenant's reports, newest first.
pub async fn list_reports(ctx: &TenantCtx, services: &Services, page: PageRequest) -> Result<Page<FairnessReport>> {
    crate::models::require_reader(ctx)?;
    let tx = services.db.begin(ctx).await?;
    let page = store::list(&tx, page).await?;
    tx.commit().await?;
    Ok(page)
}
