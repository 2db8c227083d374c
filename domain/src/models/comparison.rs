//! Trustworthy comparisons: a model's metrics with their 95 % interval, and the
//! difference between two models with its interval, by bootstrap over users
//! (`inference::eval::Bootstrap`).
//!
//! A model keeps each evaluated user's NDCG@10 and Recall@10 in its evaluation file;
//! files written before that are measured again from the held-out items and the stored
//! candidates, so every model with an evaluation can be compared. Users are matched by
//! the tenant's ids, since two models index their users differently. When both models
//! held out the same items of the same users (same data, same split seed), the per-user
//! differences are resampled (**paired**); otherwise the two groups are resampled
//! separately (**unpaired**), which is valid but wider.

use std::collections::HashMap;

use inference::eval::{Bootstrap, EvalReport, Interval, mean};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenants::TenantCtx;
use tenants::ids::PublicId;

use super::artifacts::ArtifactMeta;
use super::evaluation::load_evaluation;
use super::registry::require_reader;
use super::runtime::ModelServices;
use super::store::{self, ModelRow};
use super::training::{EvaluatedUser, EvaluationDetail};
use crate::error::{DomainError, Result};

/// One evaluated user's held-out quality at the evaluation's k.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UserMetrics {
    /// User index (into `meta.json`'s `eval_user_ids`).
    pub user: u32,
    pub ndcg: f64,
    pub recall: f64,
}

/// NDCG@k and Recall@k of each evaluated user, on the top `k` of their stored
/// candidates: the very list evaluation measured, since both rank by score with ties to
/// the lower item index and exclude the same training items.
pub(crate) fn measure_users(users: &[EvaluatedUser], k: usize) -> Vec<UserMetrics> {
    let discounts: Vec<f64> = (0..k).map(|r| 1.0 / ((r + 2) as f64).log2()).collect();
    users
        .iter()
        .filter(|u| !u.test_items.is_empty())
        .map(|u| {
            let mut hits = 0usize;
            let mut dcg = 0.0;
            for (rank, (item, _)) in u.candidates.iter().take(k).enumerate() {
                if u.test_items.contains(item) {
                    hits += 1;
                    dcg += discounts[rank];
                }
            }
            let ideal: f64 = discounts[..u.test_items.len().min(k)].iter().sum();
            UserMetrics { user: u.user, ndcg: dcg / ideal, recall: hits as f64 / u.test_items.len() as f64 }
        })
        .collect()
}

/// The kept per-user metrics, or, for files written before they were kept, measured
/// from the candidates.
pub(crate) fn per_user(detail: &EvaluationDetail) -> Vec<UserMetrics> {
    if detail.user_metrics.is_empty() { measure_users(&detail.users, detail.k) } else { detail.user_metrics.clone() }
}

/// The 95 % intervals of the mean NDCG@k and Recall@k of an evaluation, in that order.
pub(crate) fn metric_intervals(report: &EvalReport) -> (Option<Interval>, Option<Interval>) {
    let bootstrap = Bootstrap::default();
    let ndcg: Vec<f64> = report.users.iter().map(|u| u.ndcg).collect();
    let recall: Vec<f64> = report.users.iter().map(|u| u.recall).collect();
    (bootstrap.mean(&ndcg).ok(), bootstrap.mean(&recall).ok())
}

/// How the two models' users were resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// The same users with the same held-out items: per-user differences.
    Paired,
    /// Different splits (the data changed between the trainings): two groups.
    Unpaired,
}

impl Pairing {
    pub fn as_str(self) -> &'static str {
        match self {
            Pairing::Paired => "paired",
            Pairing::Unpaired => "unpaired",
        }
    }
}

/// One metric of a candidate against a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricComparison {
    pub candidate: f64,
    pub baseline: f64,
    /// candidate - baseline.
    pub difference: f64,
    /// The difference's interval at the comparison's level.
    pub interval: Interval,
    /// The interval excludes 0.
    pub significant: bool,
}

impl MetricComparison {
    fn details(&self) -> serde_json::Value {
        json!({
            "candidate": self.candidate, "baseline": self.baseline, "difference": self.difference,
            "low": self.interval.low, "high": self.interval.high, "significant": self.significant,
        })
    }
}

/// A model (the candidate) against another (the baseline) on their held-out users.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelComparison {
    pub baseline_id: PublicId,
    pub pairing: Pairing,
    /// Coverage of the intervals (0.95).
    pub level: f64,
    /// Evaluated users compared on each side (equal when paired).
    pub candidate_users: usize,
    pub baseline_users: usize,
    /// At the evaluation's k (10).
    pub k: usize,
    pub ndcg: MetricComparison,
    pub recall: MetricComparison,
}

impl ModelComparison {
    /// What the audit log keeps of it.
    pub(crate) fn details(&self) -> serde_json::Value {
        json!({
            "baseline": self.baseline_id.as_string(), "pairing": self.pairing.as_str(), "level": self.level,
            "candidateUsers": self.candidate_users, "baselineUsers": self.baseline_users, "k": self.k,
            "ndcg": self.ndcg.details(), "recall": self.recall.details(),
        })
    }
}

/// An evaluated user under the tenant's id, with their held-out items as tenant ids.
struct KeyedUser<'a> {
    id: &'a str,
    test_items: Vec<&'a str>,
    metrics: UserMetrics,
}

/// The evaluation's users by tenant id, sorted. Users erased since training (blank ids)
/// are left out.
fn keyed<'a>(meta: &'a ArtifactMeta, detail: &'a EvaluationDetail) -> Vec<KeyedUser<'a>> {
    let held_out: HashMap<u32, &EvaluatedUser> = detail.users.iter().map(|u| (u.user, u)).collect();
    let mut users: Vec<KeyedUser<'a>> = per_user(detail)
        .into_iter()
        .filter_map(|m| {
            let id = meta.eval_user_ids.get(m.user as usize).filter(|id| !id.is_empty())?;
            let mut test_items: Vec<&str> = held_out
                .get(&m.user)?
                .test_items
                .iter()
                .map(|&i| meta.item_ids.get(i as usize).map_or("", String::as_str))
                .collect();
            test_items.sort_unstable();
            Some(KeyedUser { id: id.as_str(), test_items, metrics: m })
        })
        .collect();
    users.sort_unstable_by(|a, b| a.id.cmp(b.id));
    users
}

/// Compares two stored evaluations: the candidate's minus the baseline's.
pub(crate) fn compare(
    candidate: (&ArtifactMeta, &EvaluationDetail),
    baseline: (&ArtifactMeta, &EvaluationDetail),
    baseline_id: PublicId,
) -> Result<ModelComparison> {
    let c = keyed(candidate.0, candidate.1);
    let b = keyed(baseline.0, baseline.1);
    if c.is_empty() || b.is_empty() {
        return Err(DomainError::ModelNotReady("a model has no evaluated users left to compare".into()));
    }
    let paired = c.len() == b.len() && c.iter().zip(&b).all(|(x, y)| x.id == y.id && x.test_items == y.test_items);
    let bootstrap = Bootstrap::default();
    let metric = |value: fn(&UserMetrics) -> f64| -> Result<MetricComparison> {
        let cv: Vec<f64> = c.iter().map(|u| value(&u.metrics)).collect();
        let bv: Vec<f64> = b.iter().map(|u| value(&u.metrics)).collect();
        let interval =
            if paired { bootstrap.paired_difference(&cv, &bv) } else { bootstrap.unpaired_difference(&cv, &bv) }
                .map_err(|e| DomainError::internal(format!("bootstrap: {e}")))?;
        let (candidate, baseline) = (mean(&cv), mean(&bv));
        Ok(MetricComparison {
            candidate,
            baseline,
            difference: candidate - baseline,
            interval,
            significant: interval.excludes_zero(),
        })
    };
    Ok(ModelComparison {
        baseline_id,
        pairing: if paired { Pairing::Paired } else { Pairing::Unpaired },
        level: bootstrap.level,
        candidate_users: c.len(),
        baseline_users: b.len(),
        k: candidate.1.k,
        ndcg: metric(|m| m.ndcg)?,
        recall: metric(|m| m.recall)?,
    })
}

/// Compares one of the tenant's models with another, by default with the active model:
/// `None` when no baseline is named and none is deployed. `MODEL_NOT_READY` when either
/// has no evaluation (not ready, or uploaded).
pub async fn compare_models(
    ctx: &TenantCtx,
    models: &ModelServices,
    id: &PublicId,
    baseline: Option<&PublicId>,
) -> Result<Option<ModelComparison>> {
    require_reader(ctx)?;
    let baseline = match baseline {
        Some(b) => *b,
        None => {
            let tx = models.services.db.begin(ctx).await?;
            let active = match store::active_row(&tx).await? {
                Some(row) => Some(store::model_by_row(&tx, row).await?.model.id),
                None => None,
            };
            tx.commit().await?;
            match active {
                Some(a) => a,
                None => return Ok(None),
            }
        }
    };
    compare_stored(ctx, models, id, baseline).await.map(Some)
}

async fn compare_stored(
    ctx: &TenantCtx,
    models: &ModelServices,
    candidate: &PublicId,
    baseline: PublicId,
) -> Result<ModelComparison> {
    let c = load_evaluation(ctx, models, candidate).await?;
    let b = load_evaluation(ctx, models, &baseline).await?;
    tokio::task::spawn_blocking(move || compare((&c.meta, &c.detail), (&b.meta, &b.detail), baseline))
        .await
        .map_err(|e| DomainError::internal_from("comparison thread", e))?
}

/// Deploy's rule: a candidate **significantly** worse than the active model (NDCG@10,
/// the whole interval of the difference below 0) is refused with `CONFLICT` unless
/// `allow_worse`; a worse but not significant one deploys. Models without an evaluation
/// (uploaded, or trained before evaluations were kept) cannot be compared: for them the
/// point estimates decide, as before. Returns the audit details of the decision.
pub(crate) async fn deploy_check(
    ctx: &TenantCtx,
    models: &ModelServices,
    candidate: &ModelRow,
    active: &ModelRow,
    allow_worse: bool,
) -> Result<serde_json::Value> {
    let comparison = match compare_stored(ctx, models, &candidate.model.id, active.model.id).await {
        Ok(c) => c,
        Err(DomainError::ModelNotReady(reason)) => {
            if let (Some(now), Some(new)) = (active.model.metrics, candidate.model.metrics)
                && new.ndcg < now.ndcg
                && !allow_worse
            {
                return Err(DomainError::Conflict(format!(
                    "the model's NDCG@10 ({:.4}) is below the active model's ({:.4}) and no significance test is \
                     possible ({reason}); deploy with allowWorse: true to do it anyway",
                    new.ndcg, now.ndcg
                )));
            }
            return Ok(json!({ "allowWorse": allow_worse, "comparison": null, "notCompared": reason }));
        }
        Err(e) => return Err(e),
    };
    let ndcg = &comparison.ndcg;
    if ndcg.significant && ndcg.interval.high < 0.0 && !allow_worse {
        return Err(DomainError::Conflict(format!(
            "the model's NDCG@10 ({:.4}) is significantly below the active model's ({:.4}): difference {:+.4}, \
             {:.0}% interval {:+.4} to {:+.4} ({} bootstrap over {} users); deploy with allowWorse: true to do it \
             anyway",
            ndcg.candidate,
            ndcg.baseline,
            ndcg.difference,
            comparison.level * 100.0,
            ndcg.interval.low,
            ndcg.interval.high,
            comparison.pairing.as_str(),
            users(&comparison),
        )));
    }
    Ok(json!({ "allowWorse": allow_worse, "comparison": comparison.details() }))
}

fn users(c: &ModelComparison) -> String {
    match c.pairing {
        Pairing::Paired => c.candidate_users.to_string(),
        Pairing::Unpaired => format!("{} and {}", c.candidate_users, c.baseline_users),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::models::types::Algorithm;

    fn meta(users: &[&str], items: usize) -> ArtifactMeta {
        ArtifactMeta {
            algorithm: Algorithm::Als,
            item_ids: (0..items).map(|i| format!("c{i}")).collect(),
            user_ids: Vec::new(),
            eval_user_ids: users.iter().map(|u| (*u).to_owned()).collect(),
            factors: 1,
            als: None,
            trained_at: chrono::Utc::now(),
            history_digests: false,
        }
    }

    /// Users 0..n, each holding out item `u % items` and `(u + 1) % items`; `good` puts the
    /// first held-out item at the top of the list, otherwise it ranks nothing held out.
    fn detail(n: u32, items: u32, good: impl Fn(u32) -> bool) -> EvaluationDetail {
        let users = (0..n)
            .map(|u| {
                let mut test_items = vec![u % items, (u + 1) % items];
                test_items.sort_unstable();
                let mut candidates: Vec<(u32, f32)> = (0..items)
                    .filter(|i| !test_items.contains(i))
                    .enumerate()
                    .map(|(r, i)| (i, 1.0 - r as f32 / 100.0))
                    .collect();
                if good(u) {
                    candidates.insert(0, (u % items, 2.0));
                }
                EvaluatedUser { user: u, test_items, candidates, tail_candidates: Vec::new() }
            })
            .collect();
        EvaluationDetail { k: 10, users, item_train_counts: vec![0; items as usize], user_metrics: Vec::new() }
    }

    fn ids(n: u32) -> Vec<String> {
        (0..n).map(|u| format!("u{u}")).collect()
    }

    #[test]
    fn per_user_metrics_are_measured_on_the_top_k_of_the_candidates() {
        let d = detail(3, 30, |u| u == 1);
        let m = measure_users(&d.users, 10);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].ndcg, m[0].recall), (0.0, 0.0));
        // One of two held-out items at rank 1: DCG 1, ideal 1 + 1/log2(3).
        assert!((m[1].ndcg - 1.0 / (1.0 + 1.0 / 3f64.log2())).abs() < 1e-12, "{m:?}");
        assert_eq!(m[1].recall, 0.5);
        // Kept values win over measuring again.
        let kept = EvaluationDetail { user_metrics: vec![UserMetrics { user: 0, ndcg: 0.5, recall: 1.0 }], ..d };
        assert_eq!(per_user(&kept), kept.user_metrics);
    }

    #[test]
    fn the_same_evaluation_compares_paired_and_not_significant() {
        let names = ids(40);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let m = meta(&names, 30);
        let d = detail(40, 30, |u| u % 3 == 0);
        let c = compare((&m, &d), (&m, &d), PublicId::new()).unwrap();
        assert_eq!(c.pairing, Pairing::Paired);
        assert_eq!((c.candidate_users, c.baseline_users), (40, 40));
        assert_eq!(c.ndcg.difference, 0.0);
        assert_eq!((c.ndcg.interval.low, c.ndcg.interval.high), (0.0, 0.0));
        assert!(!c.ndcg.significant && !c.recall.significant);
    }

    #[test]
    fn users_are_matched_by_id_not_index_and_a_clearly_better_model_is_significant() {
        let names = ids(60);
        let forward: Vec<&str> = names.iter().map(String::as_str).collect();
        let backward: Vec<&str> = forward.iter().rev().copied().collect();
        // The baseline indexes the same people in the opposite order; its user index u is
        // person 59 - u, so its held-out items are remapped to stay the same per person.
        let m_candidate = meta(&forward, 30);
        let m_baseline = meta(&backward, 30);
        let good = detail(60, 30, |u| u % 4 != 0);
        let mut bad = detail(60, 30, |_| false);
        for u in &mut bad.users {
            let person = 59 - u.user;
            u.test_items = vec![person % 30, (person + 1) % 30];
            u.test_items.sort_unstable();
            u.candidates.retain(|(i, _)| !u.test_items.contains(i));
        }
        let c = compare((&m_candidate, &good), (&m_baseline, &bad), PublicId::new()).unwrap();
        assert_eq!(c.pairing, Pairing::Paired, "same people, same held-out items");
        assert!(c.ndcg.significant && c.ndcg.interval.low > 0.0, "{c:?}");
        assert!(c.ndcg.interval.contains(c.ndcg.difference));
        assert_eq!(c.recall.baseline, 0.0);
        assert!((c.recall.candidate - 0.75 * 0.5).abs() < 1e-12, "{c:?}");

        // Other held-out items for one person: unpaired, still a clear difference.
        bad.users[0].test_items = vec![10, 11];
        bad.users[0].candidates.retain(|(i, _)| *i != 10 && *i != 11);
        let u = compare((&m_candidate, &good), (&m_baseline, &bad), PublicId::new()).unwrap();
        assert_eq!(u.pairing, Pairing::Unpaired);
        assert!(u.ndcg.significant && u.ndcg.interval.low > 0.0, "{u:?}");
    }

    fn trained(request: &crate::models::types::TrainRequest) -> crate::models::training::Trained {
        use crate::models::training::{Outcome, TrainingData, TrainingOptions, train};
        // Two taste clusters of 15 items; each of 40 users has 10 items of their cluster.
        let triplets: Vec<(u32, u32, f32)> =
            (0..40u32).flat_map(|u| (0..10u32).map(move |j| (u, (u % 2) * 15 + (u + j * 4) % 15, 1.0))).collect();
        let data = TrainingData {
            user_ids: ids(40),
            item_ids: (0..30).map(|i| format!("c{i}")).collect(),
            snapshot: crate::models::types::DataSnapshot {
                users: 40,
                items: 30,
                interactions: triplets.len(),
                first_interaction_at: None,
                last_interaction_at: None,
                taken_at: chrono::Utc::now(),
            },
            triplets,
        };
        match train(&data, request, &TrainingOptions::with_threads(1), &mut |_| true).unwrap() {
            Outcome::Trained(t) => *t,
            Outcome::Cancelled => panic!("not cancelled"),
        }
    }

    #[test]
    fn kept_per_user_metrics_are_the_evaluations_and_its_intervals_hold_their_means() {
        use crate::models::types::{AlsSettings, TrainRequest};
        let als = TrainRequest::Als(Some(AlsSettings { factors: 4, regularization: 0.1, alpha: 1.0, iterations: 5 }));
        for request in [TrainRequest::MostPopular, als] {
            let t = trained(&request);
            let kept = &t.evaluation.user_metrics;
            assert_eq!(kept.len(), t.metrics.evaluated_users);
            // Measured on the stored candidates, they average to exactly the figures
            // evaluation reported from its own ranking.
            assert_eq!(mean(&kept.iter().map(|m| m.ndcg).collect::<Vec<_>>()), t.metrics.ndcg, "{request:?}");
            assert_eq!(mean(&kept.iter().map(|m| m.recall).collect::<Vec<_>>()), t.metrics.recall, "{request:?}");
            let (ndcg, recall) = (t.metrics.ndcg_interval.unwrap(), t.metrics.recall_interval.unwrap());
            assert!(ndcg.contains(t.metrics.ndcg) && ndcg.width() > 0.0, "{ndcg:?} {:?}", t.metrics);
            assert!(recall.contains(t.metrics.recall) && recall.width() > 0.0, "{recall:?} {:?}", t.metrics);
        }
    }

    #[test]
    fn files_written_before_per_user_metrics_were_kept_still_compare() {
        let t = trained(&crate::models::types::TrainRequest::MostPopular);
        let mut old = serde_json::to_value(&t.evaluation).unwrap();
        old.as_object_mut().unwrap().remove("user_metrics");
        let old: EvaluationDetail = serde_json::from_value(old).unwrap();
        assert!(old.user_metrics.is_empty());
        assert_eq!(per_user(&old), t.evaluation.user_metrics);
        let names = ids(40);
        let m = meta(&names.iter().map(String::as_str).collect::<Vec<_>>(), 30);
        let c = compare((&m, &old), (&m, &t.evaluation), PublicId::new()).unwrap();
        assert_eq!((c.pairing, c.ndcg.difference, c.ndcg.significant), (Pairing::Paired, 0.0, false));
    }

    #[test]
    fn erased_people_are_left_out_of_comparisons() {
        let names = ids(10);
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        let d = detail(10, 30, |u| u < 5);
        let whole = meta(&names, 30);
        names[0] = "";
        let scrubbed = meta(&names, 30);
        let c = compare((&scrubbed, &d), (&whole, &d), PublicId::new()).unwrap();
        assert_eq!((c.candidate_users, c.baseline_users, c.pairing), (9, 10, Pairing::Unpaired));
        let details = c.details();
        assert_eq!(details["pairing"], "unpaired");
        assert_eq!(details["ndcg"]["significant"], c.ndcg.significant);
    }
}
