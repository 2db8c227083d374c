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
    /// The score the contributions decompose (for ALS: of the user's vector solved from
    /// their history, as in Hu, Koren and Volinsky 2008, section 5).
    pub score: f32,
    /// Every contribution added up; equals `score` up to rounding.
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
    let explained = match &model {
        Some(model) if state.personalization => explain_with_model(model.clone(), &state, user_id, content_id).await?,
        _ => None,
    };
    Ok(assemble(user_id, content_id, &state, explained, rank, &catalog, model.is_some()))
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
    let mut out = Vec::with_capacity(content_ids.len());
    let batch = match &model {
        Some(model) if state.personalization => explain_many(model.clone(), &state, user_id, content_ids).await?,
        _ => content_ids.iter().map(|_| None).collect(),
    };
    for (i, (id, explained)) in content_ids.iter().zip(batch).enumerate() {
        out.push(assemble(user_id, id, &state, explained, Some(i + 1), &catalog, model.is_some()));
    }
    Ok(out)
}

struct Explained {
    strategy: Strategy,
    score: f32,
    contributions: Vec<(String, f32)>,
}

async fn explain_with_model(
    model: Arc<LoadedModel>,
    user: &UserState,
    user_id: &str,
    content_id: &str,
) -> Result<Option<Explained>> {
    Ok(explain_many(model, user, user_id, &[content_id.to_owned()]).await?.pop().flatten())
}

async fn explain_many(
    model: Arc<LoadedModel>,
    user: &UserState,
    user_id: &str,
    content_ids: &[String],
) -> Result<Vec<Option<Explained>>> {
    let history = model.history_indices(&user.history);
    let Some((_, strategy)) = model.user_input(user_id, &user.history)? else {
        return Ok(content_ids.iter().map(|_| None).collect());
    };
    let ids = content_ids.to_vec();
    tokio::task::spawn_blocking(move || -> Result<Vec<Option<Explained>>> {
        let name = |i: u32| model.item_ids[i as usize].clone();
        match (&model.als, model.algorithm) {
            (Some(als), _) => {
                let explainer = als.explainer(&history).map_err(|e| DomainError::internal_from("explain", e))?;
                ids.iter()
                    .map(|id| {
                        let Some(&item) = model.item_index.get(id) else { return Ok(None) };
                        let e = explainer.explain(item).map_err(|e| DomainError::internal_from("explain", e))?;
                        let contributions = e.contributions.iter().map(|c| (name(c.item), c.value)).collect();
                        Ok(Some(Explained { strategy, score: e.score, contributions }))
                    })
                    .collect()
            }
            (None, Algorithm::ItemKnn | Algorithm::Ease | Algorithm::Uploaded) if !history.is_empty() => {
                // The graph is linear in the history: the scores of a one-item history h
                // are what h adds to every item, so each history item's term is
                // weight * row_h[i], and the terms add up to the served score.
                let n = model.n_items();
                let items: Vec<u32> = history.iter().map(|(h, _)| *h).collect();
                let rows = model.score_one_hot(&items)?;
                ids.iter()
                    .map(|id| {
                        let Some(&item) = model.item_index.get(id) else { return Ok(None) };
                        let mut contributions: Vec<(String, f32)> = history
                            .iter()
                            .enumerate()
                            .map(|(row, (h, w))| (name(*h), w * rows[row * n + item as usize]))
                            .filter(|(_, v)| *v != 0.0)
                            .collect();
                        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                        let score = contributions.iter().map(|(_, v)| v).sum();
                        Ok(Some(Explained { strategy, score, contributions }))
                    })
                    .collect()
            }
            _ => Ok(ids.iter().map(|_| None).collect()),
        }
    })
    .await
    .map_err(|e| DomainError::internal_from("explanation thread", e))?
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

fn assemble(
    user_id: &str,
    content_id: &str,
    user: &UserState,
    explained: Option<Explained>,
    rank: Option<usize>,
    catalog: &CatalogView,
    has_model: bool,
) -> Explanation {
    let title = |id: &str| catalog.content(id).map(|c| c.title.clone());
    let (strategy, score, contributions_total, contributions, fallback_reason) = match explained {
        Some(e) => {
            let total: f32 = e.contributions.iter().map(|(_, v)| v).sum();
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
            (e.strategy, e.score, total, top, None)
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
                0.0,
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
