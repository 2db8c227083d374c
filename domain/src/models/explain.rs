//! Why an item was (or would be) recommended: the history items its score comes from,
//! content the item shares with that history, the fallback reason when no model could
//! personalize, and one plain sentence. GDPR art. 15(1)(h) and DSA art. 27 ask for
//! exactly this.

use std::collections::HashMap;
use std::sync::Arc;

use tenants::TenantCtx;
use tenants::scope::Scope;

use super::data::{self, CatalogView, UserState};
use super::recommend::{RecommendationFilter, RecommendationRequest};
use super::registry;
use super::runtime::ModelServices;
use super::serving::{LoadedModel, Strategy};
use super::types::Algorithm;
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::vocab::{ContentId, UserId};

/// How many contributing history items an explanation lists.
pub const TOP_CONTRIBUTIONS: usize = 5;

#[derive(Debug, Clone)]
pub struct ItemContribution {
    pub content_id: String,
    pub title: Option<String>,
    pub contribution: f32,
    /// contribution / score.
    pub share: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonKind {
    Genre,
    Tag,
    Provider,
    Creator,
}

#[derive(Debug, Clone)]
pub struct ContentReason {
    pub kind: ReasonKind,
    pub value: String,
    /// History items that share it.
    pub shared_with: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Explanation {
    pub user_id: String,
    pub content_id: String,
    pub strategy: Strategy,
    /// The score `recommendations` serves the item with, which the contributions
    /// decompose (for ALS: the served vector is the exact solution for the person's
    /// history, as in Hu, Koren and Volinsky 2008, section 5). For a popularity answer,
    /// the item's popularity, with no contributions.
    pub score: f32,
    /// Every contribution added up; equals `score` up to float rounding when the score
    /// comes from the person's history.
    pub contributions_total: f32,
    /// The largest contributions, largest first.
    pub contributions: Vec<ItemContribution>,
    pub content_reasons: Vec<ContentReason>,
    /// Rank in the user's full list (seen items excluded), or `None` when a filter or the
    /// user's history excludes it.
    pub rank: Option<usize>,
    pub fallback_reason: Option<String>,
    pub summary: String,
}

/// Explains one item for one user, recommended or not.
pub async fn explain_recommendation(
    ctx: &TenantCtx,
    models: &ModelServices,
    user: &UserId,
    content: &ContentId,
) -> Result<Explanation> {
    ctx.require(Scope::RecommendationsRead)?;
    let (user_id, content_id) = (user.as_str(), content.as_str());
    let catalog = data::catalog_facets(ctx, models).await?;
    if catalog.get(content_id).is_none() {
        return Err(DomainError::NotFound(format!("content {content_id:?}")));
    }
    let state = data::user_state(ctx, models, user).await?;
    let model = registry::active(ctx, models).await?;
    let event = AuditEvent::new(action::RECOMMENDATIONS_EXPLAINED)
        .target(Target::end_user(user_id))
        .details(serde_json::json!({ "contentIds": [content_id] }));
    models.services.read_audit.record(ctx, event).await?;
    let rank = rank_of(ctx, models, user, content_id).await?;
    let ids = [content_id.to_owned()];
    let explained = match &model {
        Some(model) if state.personalization => explain_many(model.clone(), &state, user_id, &ids).await?,
        _ => None,
    };
    let (explained, fallback) = match explained {
        Some(mut list) => (list.pop().flatten(), None),
        None => (None, Some(popularity(ctx, models, &ids).await?)),
    };
    let fallback_score = fallback.and_then(|f| f.first().copied()).unwrap_or(0.0);
    Ok(assemble(user_id, content_id, &state, explained, fallback_score, rank, &catalog, model.is_some()))
}

/// Explanations for a list just produced, one factorization per user.
pub async fn explain_list(
    ctx: &TenantCtx,
    models: &ModelServices,
    user: &UserId,
    content_ids: &[String],
) -> Result<Vec<Explanation>> {
    ctx.require(Scope::RecommendationsRead)?;
    let user_id = user.as_str();
    let catalog = data::catalog_facets(ctx, models).await?;
    let state = data::user_state(ctx, models, user).await?;
    let model = registry::active(ctx, models).await?;
    let event = AuditEvent::new(action::RECOMMENDATIONS_EXPLAINED)
        .target(Target::end_user(user_id))
        .details(serde_json::json!({ "contentIds": content_ids }));
    models.services.read_audit.record(ctx, event).await?;
    let batch = match &model {
        Some(model) if state.personalization => explain_many(model.clone(), &state, user_id, content_ids).await?,
        _ => None,
    };
    let (batch, fallback) = match batch {
        Some(batch) => (batch, None),
        None => (content_ids.iter().map(|_| None).collect(), Some(popularity(ctx, models, content_ids).await?)),
    };
    let mut out = Vec::with_capacity(content_ids.len());
    for (i, (id, explained)) in content_ids.iter().zip(batch).enumerate() {
        let fallback_score = fallback.as_ref().and_then(|f| f.get(i).copied()).unwrap_or(0.0);
        out.push(assemble(user_id, id, &state, explained, fallback_score, Some(i + 1), &catalog, model.is_some()));
    }
    Ok(out)
}

/// The scores a non-personalized list serves these items with (their interaction counts).
async fn popularity(ctx: &TenantCtx, models: &ModelServices, content_ids: &[String]) -> Result<Vec<f32>> {
    let popular = data::popular_items(ctx, models).await?;
    let scores: HashMap<&str, f32> = popular.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    Ok(content_ids.iter().map(|id| scores.get(id.as_str()).copied().unwrap_or(0.0)).collect())
}

struct Explained {
    strategy: Strategy,
    /// The score `recommendations` serves the item with.
    score: f32,
    contributions: Vec<(String, f32)>,
    /// Why the model's scores are not the person's own (a popularity model).
    not_personal: Option<&'static str>,
}

/// What the model says about these items for this person, or `None` when it cannot
/// personalize for them (then the answer is the popularity fallback's).
async fn explain_many(
    model: Arc<LoadedModel>,
    user: &UserState,
    user_id: &str,
    content_ids: &[String],
) -> Result<Option<Vec<Option<Explained>>>> {
    let indexed = user.indexed_for(&model);
    let history = indexed.pairs.clone();
    let Some((input, strategy)) = model.user_input(user_id, &user.history, &indexed)? else {
        return Ok(None);
    };
    let ids = content_ids.to_vec();
    let explained = tokio::task::spawn_blocking(move || -> Result<Vec<Option<Explained>>> {
        let name = |i: u32| model.item_ids[i as usize].clone();
        // The very scores `recommendations` serves: the same input through the same
        // session. The contributions add up to them up to float rounding.
        let served = model.score(&input)?;
        let scored = |id: &String| model.item_index.get(id).map(|&i| (i, served[i as usize]));
        match (&model.als, model.algorithm) {
            (Some(als), _) => {
                // The served vector (trained or folded in) is the exact solution for this
                // history (serving checks it), so this decomposes the served score.
                let explainer = als.explainer(&history).map_err(|e| DomainError::internal_from("explain", e))?;
                ids.iter()
                    .map(|id| {
                        let Some((item, score)) = scored(id) else { return Ok(None) };
                        let e = explainer.explain(item).map_err(|e| DomainError::internal_from("explain", e))?;
                        let contributions = e.contributions.iter().map(|c| (name(c.item), c.value)).collect();
                        Ok(Some(Explained { strategy, score, contributions, not_personal: None }))
                    })
                    .collect()
            }
            (None, Algorithm::MostPopular) => Ok(ids
                .iter()
                .map(|id| {
                    scored(id).map(|(_, score)| Explained {
                        strategy,
                        score,
                        contributions: Vec::new(),
                        not_personal: Some("the deployed model ranks every item by its popularity"),
                    })
                })
                .collect()),
            (None, Algorithm::ItemKnn | Algorithm::Ease | Algorithm::Uploaded) if !history.is_empty() => {
                // The graph is linear in the history: the scores of a one-item history h
                // are what h adds to every item, so each history item's term is
                // weight * row_h[i], and the terms add up to the served score.
                let n = model.n_items();
                let items: Vec<u32> = history.iter().map(|(h, _)| *h).collect();
                let rows = model.score_one_hot(&items)?;
                ids.iter()
                    .map(|id| {
                        let Some((item, score)) = scored(id) else { return Ok(None) };
                        let mut contributions: Vec<(String, f32)> = history
                            .iter()
                            .enumerate()
                            .map(|(row, (h, w))| (name(*h), w * rows[row * n + item as usize]))
                            .filter(|(_, v)| *v != 0.0)
                            .collect();
                        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                        Ok(Some(Explained { strategy, score, contributions, not_personal: None }))
                    })
                    .collect()
            }
            _ => Ok(ids.iter().map(|_| None).collect()),
        }
    })
    .await
    .map_err(|e| DomainError::internal_from("explanation thread", e))??;
    Ok(Some(explained))
}

async fn rank_of(ctx: &TenantCtx, models: &ModelServices, user: &UserId, content_id: &str) -> Result<Option<usize>> {
    let request = RecommendationRequest {
        user_id: user.clone(),
        first: super::recommend::MAX_RECOMMENDATIONS,
        filter: RecommendationFilter { exclude_seen: true, ..Default::default() },
    };
    // The explanation's own event covers this read.
    let list = super::recommend::recommend(ctx, models, &request, false).await?;
    Ok(list.items.iter().find(|i| i.item_id == content_id).map(|i| i.rank))
}

/// `fallback_score`: what a non-personalized list serves the item with, for when no
/// model explains it.
#[allow(clippy::too_many_arguments)]
fn assemble(
    user_id: &str,
    content_id: &str,
    user: &UserState,
    explained: Option<Explained>,
    fallback_score: f32,
    rank: Option<usize>,
    catalog: &CatalogView,
    has_model: bool,
) -> Explanation {
    let title = |id: &str| catalog.content(id).map(|c| c.title.clone());
    let (strategy, score, contributions_total, contributions, fallback_reason) = match explained {
        Some(e) => {
            // Summed in float64, as the served sum is: long histories mix signs.
            let total = e.contributions.iter().map(|(_, v)| f64::from(*v)).sum::<f64>() as f32;
            let denominator = if e.score.abs() > f32::EPSILON { e.score } else { total };
            let top = e
                .contributions
                .iter()
                .take(TOP_CONTRIBUTIONS)
                .map(|(id, v)| ItemContribution {
                    content_id: id.clone(),
                    title: title(id),
                    contribution: *v,
                    share: if denominator != 0.0 { v / denominator } else { 0.0 },
                })
                .collect();
            let fallback_reason =
                e.not_personal.map(|r| format!("Shown because it is popular with this audience: {r}."));
            (e.strategy, e.score, total, top, fallback_reason)
        }
        None => {
            let reason = if !user.personalization {
                "the person has not consented to personalized recommendations"
            } else if !has_model {
                "no recommendation model is deployed yet"
            } else if user.history.is_empty() {
                "there is no history for this person yet"
            } else {
                "the model cannot score this item for this person"
            };
            (
                Strategy::PopularFallback,
                fallback_score,
                0.0,
                Vec::new(),
                Some(format!("Shown because it is popular with this audience: {reason}.")),
            )
        }
    };
    let content_reasons = content_reasons(content_id, &contributions, user, catalog);
    let summary =
        summary(score, content_id, &contributions, &content_reasons, fallback_reason.as_deref(), rank, catalog);
    Explanation {
        user_id: user_id.to_owned(),
        content_id: content_id.to_owned(),
        strategy,
        score,
        contributions_total,
        contributions,
        content_reasons,
        rank,
        fallback_reason,
        summary,
    }
}

/// What the item shares with the history items that drive it (or, without a model,
/// with the most recent history).
fn content_reasons(
    content_id: &str,
    contributions: &[ItemContribution],
    user: &UserState,
    catalog: &CatalogView,
) -> Vec<ContentReason> {
    let Some(target) = catalog.content(content_id) else { return Vec::new() };
    let sources: Vec<String> = if contributions.is_empty() {
        user.history.iter().take(20).map(|e| e.item_id.to_string()).collect()
    } else {
        contributions.iter().filter(|c| c.contribution > 0.0).map(|c| c.content_id.clone()).collect()
    };
    let mut shared: HashMap<(ReasonKind, String), Vec<String>> = HashMap::new();
    for source in sources {
        let Some(other) = catalog.content(&source) else { continue };
        let mut note = |kind: ReasonKind, value: &str| {
            let ids = shared.entry((kind, value.to_owned())).or_default();
            if !ids.contains(&source) {
                ids.push(source.clone());
            }
        };
        for g in target.genres.iter().filter(|g| other.genres.contains(g)) {
            note(ReasonKind::Genre, g);
        }
        for t in target.tags.iter().filter(|t| other.tags.contains(t)) {
            note(ReasonKind::Tag, t);
        }
        if let (Some(a), Some(b)) = (&target.provider, &other.provider)
            && a == b
        {
            note(ReasonKind::Provider, a);
        }
        for c in target.creators.iter().filter(|c| other.creators.contains(c)) {
            note(ReasonKind::Creator, c);
        }
    }
    let mut reasons: Vec<ContentReason> =
        shared.into_iter().map(|((kind, value), shared_with)| ContentReason { kind, value, shared_with }).collect();
    reasons.sort_by(|a, b| b.shared_with.len().cmp(&a.shared_with.len()).then_with(|| a.value.cmp(&b.value)));
    reasons
}

fn summary(
    score: f32,
    content_id: &str,
    contributions: &[ItemContribution],
    reasons: &[ContentReason],
    fallback: Option<&str>,
    rank: Option<usize>,
    catalog: &CatalogView,
) -> String {
    let title = catalog.content(content_id).map(|c| c.title.clone()).unwrap_or_else(|| content_id.to_owned());
    let position = match rank {
        Some(r) => format!(" (#{r} in your list)"),
        None => " (not in your current list)".to_owned(),
    };
    if let Some(fallback) = fallback {
        return format!("\"{title}\"{position}: {fallback}");
    }
    let because: Vec<String> = contributions
        .iter()
        .filter(|c| c.contribution > 0.0)
        .take(2)
        .map(|c| format!("\"{}\"", c.title.clone().unwrap_or_else(|| c.content_id.clone())))
        .collect();
    let shared = reasons
        .iter()
        .find(|r| r.kind == ReasonKind::Genre)
        .map(|r| format!(", and it shares the genre {} with them", r.value))
        .unwrap_or_default();
    if because.is_empty() || score <= 0.0 {
        format!("\"{title}\"{position} scores low for you: nothing in your history points to it")
    } else {
        format!("\"{title}\"{position} is recommended because you watched {}{shared}.", because.join(" and "))
    }
}
