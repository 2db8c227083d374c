//! The serving path: resolve the user's vector (trained or folded in), score with ONNX
//! Runtime, mask what the filter excludes, take the top k, and say which strategy
//! produced the answer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tenants::TenantCtx;
use tenants::ids::PublicId;
use tenants::scope::Scope;

pub use super::data::CatalogView;
use super::data::{self, AnswerKey, CachedAnswer, ItemFacets};
use super::registry;
use super::runtime::ModelServices;
use super::serving::{LoadedModel, ModelInput, Strategy};
use super::types::Algorithm;
use crate::audit::{AuditEvent, Target, action};
use crate::error::{DomainError, Result};
use crate::vocab::{ContentId, UserId};

pub const MAX_RECOMMENDATIONS: usize = 100;
/// Most values one filter list (`kinds`, `genres`, `providers`) may hold.
pub const MAX_FILTER_VALUES: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct RecommendationFilter {
    pub kinds: Vec<String>,
    pub genres: Vec<String>,
    pub providers: Vec<String>,
    pub exclude_seen: bool,
    /// Only items available at this time (default: now).
    pub available_at: Option<DateTime<Utc>>,
    /// A fairness-aware re-ranking of the model's best candidates (docs/fairness.md).
    pub rerank: Option<crate::fairness::Rerank>,
}

impl RecommendationFilter {
    /// Bounds the lists a client sends: every candidate item is matched against each
    /// value, so an unbounded list would make one request scan the catalog many times.
    pub fn validate(self) -> Result<Self> {
        use crate::catalog::{MAX_LABEL_CHARS, MAX_NAME_CHARS};
        use crate::validate::filter_values;
        if self.rerank.is_some_and(|r| r.strategy == crate::fairness::RerankStrategy::ExposureGini) {
            // An item's price depends on every other user's list, which one request lacks.
            return Err(DomainError::invalid(
                "filter.rerank.strategy",
                "EXPOSURE_GINI re-ranks all users' lists together: it is available in fairness reports, not per request",
            ));
        }
        Ok(Self {
            kinds: filter_values("filter.kinds", self.kinds, MAX_FILTER_VALUES, MAX_LABEL_CHARS)?,
            genres: filter_values("filter.genres", self.genres, MAX_FILTER_VALUES, MAX_LABEL_CHARS)?,
            providers: filter_values("filter.providers", self.providers, MAX_FILTER_VALUES, MAX_NAME_CHARS)?,
            ..self
        })
    }

    /// No filter but `excludeSeen`, at the current time: an answer to it can be kept
    /// (`data::CachedAnswer`).
    fn is_plain(&self) -> bool {
        self.kinds.is_empty()
            && self.genres.is_empty()
            && self.providers.is_empty()
            && self.available_at.is_none()
            && self.rerank.is_none()
    }

    fn admits(&self, facets: &ItemFacets, at: DateTime<Utc>) -> bool {
        let any = |wanted: &[String], have: &[String]| {
            wanted.is_empty() || wanted.iter().any(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        };
        !facets.deleted
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k.eq_ignore_ascii_case(&facets.kind)))
            && any(&self.genres, &facets.genres)
            && (self.providers.is_empty()
                || facets.provider.as_ref().is_some_and(|p| self.providers.iter().any(|w| w.eq_ignore_ascii_case(p))))
            && facets.available_from.is_none_or(|from| from <= at)
            && facets.available_until.is_none_or(|until| at < until)
    }
}

/// How many items a list holds: 10 unless asked, at most [`MAX_RECOMMENDATIONS`].
fn list_length(first: Option<i64>) -> Result<usize> {
    match first {
        None => Ok(10),
        Some(n) if (1..=MAX_RECOMMENDATIONS as i64).contains(&n) => Ok(n as usize),
        Some(_) => Err(DomainError::invalid("first", format!("must be between 1 and {MAX_RECOMMENDATIONS}"))),
    }
}

#[derive(Debug, Clone)]
pub struct RecommendationRequest {
    /// Parsed as writes parse it, so anyone whose events were stored can be asked about.
    pub user_id: UserId,
    pub first: usize,
    pub filter: RecommendationFilter,
}

impl RecommendationRequest {
    pub fn parse(user_id: String, first: Option<i64>, filter: RecommendationFilter) -> Result<Self> {
        Ok(Self {
            user_id: UserId::parse_as("userId", user_id)?,
            first: list_length(first)?,
            filter: filter.validate()?,
        })
    }
}

/// Items like one content item.
#[derive(Debug, Clone)]
pub struct SimilarRequest {
    pub content_id: ContentId,
    pub first: usize,
}

impl SimilarRequest {
    pub fn parse(content_id: String, first: Option<i64>) -> Result<Self> {
        Ok(Self { content_id: ContentId::parse_as("contentId", content_id)?, first: list_length(first)? })
    }
}

#[derive(Debug, Clone)]
pub struct RecommendedItem {
    pub item_id: String,
    pub rank: usize,
    pub score: f32,
    /// Hydrated from the cached catalog.
    pub content: Option<Arc<crate::catalog::Content>>,
}

#[derive(Debug, Clone)]
pub struct Recommendations {
    pub strategy: Strategy,
    pub model_id: Option<PublicId>,
    pub items: Vec<RecommendedItem>,
    /// Why the list is not personalized, when it is not (the person's consent, say).
    pub fallback_reason: Option<&'static str>,
}

pub async fn recommendations(
    ctx: &TenantCtx,
    models: &ModelServices,
    request: &RecommendationRequest,
) -> Result<Recommendations> {
    recommend(ctx, models, request, true).await
}

/// The model's items at the positions `top` chose, best first, with their scores and
/// their catalog entries.
fn ranked_items(model: &LoadedModel, facets: &CatalogView, top: &[u32], scores: &[f32]) -> Vec<RecommendedItem> {
    items_of(model, facets, top.iter().map(|&i| (i, scores[i as usize])))
}

/// The items of (model position, score) pairs, best first, hydrated from the catalog.
fn items_of(
    model: &LoadedModel,
    facets: &CatalogView,
    ranked: impl Iterator<Item = (u32, f32)>,
) -> Vec<RecommendedItem> {
    ranked
        .enumerate()
        .map(|(rank, (i, score))| {
            let item_id = &model.item_ids[i as usize];
            RecommendedItem { item_id: item_id.clone(), rank: rank + 1, score, content: facets.content(item_id) }
        })
        .collect()
}

/// Scored ids, best first, as a list hydrated from the cached catalog.
fn listed(facets: &CatalogView, top: Vec<(String, f32)>) -> Vec<RecommendedItem> {
    top.into_iter()
        .enumerate()
        .map(|(rank, (id, score))| RecommendedItem { content: facets.content(&id), item_id: id, rank: rank + 1, score })
        .collect()
}

/// `audited: false` only for callers that record their own event for the same read
/// (an explanation ranks the item in the user's list).
pub(crate) async fn recommend(
    ctx: &TenantCtx,
    models: &ModelServices,
    request: &RecommendationRequest,
    audited: bool,
) -> Result<Recommendations> {
    ctx.require(Scope::RecommendationsRead)?;
    let (person, weights) = data::cached_person(ctx, models, &request.user_id).await?;
    let model = registry::active(ctx, models).await?;
    let model_id = model.as_ref().map(|m| m.id);
    if audited {
        let event = AuditEvent::new(action::RECOMMENDATIONS_READ)
            .target(Target::end_user(request.user_id.as_str()))
            .details(serde_json::json!({ "first": request.first }));
        models.services.read_audit.record(ctx, event).await?;
    }
    let facets = data::catalog_facets(ctx, models).await?;
    let now = Utc::now();
    let at = request.filter.available_at.unwrap_or(now);
    // Only the plain request shapes are kept: their answer depends on nothing the key
    // and the person's entry do not name.
    let answer_key = match &model {
        Some(m) if models.config.answer_cache && request.filter.is_plain() => Some(AnswerKey {
            model: m.id,
            weights,
            catalog: facets.generation,
            first: request.first,
            exclude_seen: request.filter.exclude_seen,
        }),
        _ => None,
    };
    let blend_input = super::content_blend::blend_input(ctx, models, model.as_ref());
    // An answer kept over an earlier semantic index is not served, but the blend may
    // bring it up to date.
    let mut earlier = None;
    if let (Some(key), Some(model)) = (&answer_key, &model) {
        let kept = person
            .answer(key, now)
            .filter(|(answer, catalog)| still_holds(&facets, *catalog, model, &blend_input, answer.content));
        match kept {
            Some((kept, catalog)) if blend_input.serves(kept.content, request.user_id.as_str()) => {
                models.answer_counters.hit();
                if catalog != key.catalog {
                    // Kept under this view from now on, until its own next availability change.
                    let valid_until = match (kept.valid_until, facets.next_change_after(now)) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let carried = CachedAnswer {
                        strategy: kept.strategy,
                        ranked: kept.ranked.clone(),
                        valid_until,
                        content: kept.content,
                    };
                    person.remember(key.clone(), Arc::new(carried));
                }
                let items = listed(&facets, kept.ranked.iter().map(|(id, score)| (id.to_string(), *score)).collect());
                return Ok(Recommendations { strategy: kept.strategy, model_id, items, fallback_reason: None });
            }
            kept => {
                earlier = kept.map(|(answer, _)| answer);
                models.answer_counters.miss();
            }
        }
    }
    let user = data::state_of(person.clone(), weights);
    let seen: rustc_hash::FxHashSet<&str> = if request.filter.exclude_seen {
        user.history.iter().map(|e| &*e.item_id).collect()
    } else {
        Default::default()
    };
    let admits = |id: &str| !seen.contains(id) && facets.get(id).is_some_and(|f| request.filter.admits(f, at));

    if let (Some(model), true) = (&model, user.personalization)
        && let Some((input, strategy)) =
            model.user_input(request.user_id.as_str(), &user.history, &user.indexed_for(model))?
    {
        let started = std::time::Instant::now();
        let scores = score(model.clone(), input).await?;
        models.services.metrics.observe_inference(model.algorithm.as_str(), started.elapsed().as_secs_f64());
        let valid_until = facets.next_change_after(at);
        let keep = answer_key;
        let mut content = blend_input.version;
        if request.filter.rerank.is_none() {
            let earlier = earlier.as_deref().filter(|kept| kept.strategy == strategy);
            let blend =
                super::content_blend::blended_top(ctx, models, model, &scores, request.first, &admits, earlier).await?;
            content = blend.version;
            if let Some(top) = blend.top {
                if let Some(key) = keep {
                    let ranked = top.iter().map(|(id, score)| (Arc::from(id.as_str()), *score)).collect();
                    person.remember(key, Arc::new(CachedAnswer { strategy, ranked, valid_until, content }));
                }
                let items = listed(&facets, top);
                return Ok(Recommendations { strategy, model_id, items, fallback_reason: None });
            }
        }
        let admits_index = |i: u32| admits(&model.item_ids[i as usize]);
        let top = match &request.filter.rerank {
            None => inference::rank::top_k_where(&scores, request.first, admits_index),
            // Re-ranking chooses from a wider pool of the model's best, like reports do.
            Some(r) => {
                let pool = inference::rank::top_k_where(
                    &scores,
                    request.first.max(crate::fairness::CANDIDATE_POOL),
                    admits_index,
                );
                let scored: Vec<(String, f32)> =
                    pool.iter().map(|&i| (model.item_ids[i as usize].clone(), scores[i as usize])).collect();
                let popular = data::popular_items(ctx, models).await?;
                let history = user.history.iter().map(|e| &*e.item_id);
                super::rerank::rerank_candidates(r, &scored, request.first, &facets, &popular, history)
                    .into_iter()
                    .map(|j| pool[j])
                    .collect()
            }
        };
        let items = ranked_items(model, &facets, &top, &scores);
        if let Some(key) = keep {
            let ranked =
                top.iter().map(|&i| (Arc::from(model.item_ids[i as usize].as_str()), scores[i as usize])).collect();
            person.remember(key, Arc::new(CachedAnswer { strategy, ranked, valid_until, content }));
        }
        return Ok(Recommendations { strategy, model_id, items, fallback_reason: None });
    }
    let fallback_reason = Some(if !user.personalization {
        "the person has not consented to personalized recommendations"
    } else if model.is_none() {
        "no recommendation model is deployed yet"
    } else {
        "there is no history for this person yet"
    });
    let popular = data::popular_items(ctx, models).await?;
    let items = popular
        .iter()
        .filter(|(id, _)| admits(id))
        .take(request.first)
        .enumerate()
        .map(|(rank, (id, score))| RecommendedItem {
            item_id: id.clone(),
            rank: rank + 1,
            score: *score,
            content: facets.content(id),
        })
        .collect();
    Ok(Recommendations { strategy: Strategy::PopularFallback, model_id: None, items, fallback_reason })
}

/// Whether an answer kept over the catalog view of `generation` still holds over
/// `facets` ([`CatalogView::keeps`]).
fn still_holds(
    facets: &CatalogView,
    generation: u64,
    model: &LoadedModel,
    blend: &super::content_blend::BlendInput,
    content: u64,
) -> bool {
    if generation == facets.generation {
        return true;
    }
    // Blended without the model's precomputation: which new items it weighed is unknown.
    if blend.version != 0 && blend.transfer.is_none() {
        return false;
    }
    facets.keeps(generation, model, blend.transfer.as_deref(), content)
}

/// Below this many multiply-adds a model scores on the request's own thread: handing
/// the work to the blocking pool costs more than it (an ALS model over a few thousand
/// items takes tens of microseconds).
const INLINE_SCORING_MAX_WORK: usize = 1 << 20;

async fn score(model: Arc<LoadedModel>, input: ModelInput) -> Result<Vec<f32>> {
    if !model.is_sandboxed() && input.work(model.n_items()) <= INLINE_SCORING_MAX_WORK {
        return model.score(&input);
    }
    tokio::task::spawn_blocking(move || model.score(&input))
        .await
        .map_err(|e| DomainError::internal_from("scoring thread", e))?
}

/// Items like the given one: by the active model (ALS item-factor cosine, or the
/// neighbour graph), or by content when no model knows the item: the cosine of their
/// embeddings, or shared genres and tags without embeddings.
pub async fn similar_content(
    ctx: &TenantCtx,
    models: &ModelServices,
    request: &SimilarRequest,
) -> Result<Recommendations> {
    ctx.require(Scope::CatalogRead).or_else(|_| ctx.require(Scope::RecommendationsRead))?;
    let (item_id, first) = (request.content_id.as_str(), request.first);
    let facets = data::catalog_facets(ctx, models).await?;
    let Some(target) = facets.get(item_id).filter(|f| !f.deleted) else {
        return Err(DomainError::NotFound(format!("content {item_id:?}")));
    };
    let model = registry::active(ctx, models).await?;
    let model_id = model.as_ref().map(|m| m.id);
    let live = |id: &str| id != item_id && facets.get(id).is_some_and(|f| !f.deleted);
    if let Some(model) = &model
        && let Some(&index) = model.item_index.get(item_id)
    {
        let scores = match (&model.als, model.algorithm) {
            (Some(als), _) => cosine_to(als.item_factors(), index as usize),
            (None, Algorithm::ItemKnn | Algorithm::Ease | Algorithm::Uploaded) => {
                let model = model.clone();
                if model.is_sandboxed() {
                    tokio::task::spawn_blocking(move || model.score_one_hot(&[index]))
                        .await
                        .map_err(|e| DomainError::internal_from("scoring thread", e))??
                } else {
                    model.score_one_hot(&[index])?
                }
            }
            _ => Vec::new(),
        };
        if !scores.is_empty() {
            let top = inference::rank::top_k_where(&scores, first, |i| live(&model.item_ids[i as usize]));
            let strategy = Strategy::ModelSimilarity;
            let items = ranked_items(model, &facets, &top, &scores);
            return Ok(Recommendations { strategy, model_id, items, fallback_reason: None });
        }
    }
    // Content-based: by embeddings when the item has one, else by the Jaccard overlap
    // of genres and tags, for items no model knows yet.
    if let Some(top) = super::content_blend::similar_by_content(ctx, models, item_id, first, live).await? {
        let items = listed(&facets, top);
        return Ok(Recommendations { strategy: Strategy::ContentBased, model_id: None, items, fallback_reason: None });
    }
    let mut scored: Vec<(String, f32)> = facets
        .iter()
        .filter(|(id, _)| live(id))
        .map(|(id, f)| (id.to_string(), data::content_similarity(target, f)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let items = scored
        .into_iter()
        .take(first)
        .enumerate()
        .map(|(rank, (id, score))| RecommendedItem { content: facets.content(&id), item_id: id, rank: rank + 1, score })
        .collect();
    Ok(Recommendations { strategy: Strategy::ContentBased, model_id: None, items, fallback_reason: None })
}

fn cosine_to(factors: &ndarray::Array2<f32>, index: usize) -> Vec<f32> {
    let target = factors.row(index);
    let norm = |v: ndarray::ArrayView1<f32>| v.dot(&v).sqrt().max(1e-12);
    let target_norm = norm(target);
    factors.rows().into_iter().map(|row| row.dot(&target) / (norm(row) * target_norm)).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::interactions::{EventType, InteractionDraft, NewInteraction};

    #[test]
    fn whoever_can_be_written_can_be_asked_about() {
        // 200 characters, 400 bytes: within the limit in characters, which writes count.
        let person = "ü".repeat(200);
        let draft = InteractionDraft {
            event_id: "e1".into(),
            user_id: person.clone(),
            content_id: "m1".into(),
            event_type: EventType::Play,
            value: None,
            occurred_at: None,
        };
        let written = NewInteraction::parse(draft, Utc::now()).map(|e| e.user).ok();
        let asked = RecommendationRequest::parse(person, None, RecommendationFilter::default()).map(|r| r.user_id).ok();
        assert!(written.as_ref().is_some_and(|u| u.as_str().chars().count() == 200), "the write is accepted as sent");
        assert_eq!(asked, written);
    }

    #[test]
    fn ids_are_taken_as_sent_and_lists_are_bounded() {
        let refused = |r: Result<RecommendationRequest>| r.err().and_then(|e| e.field());
        assert_eq!(
            refused(RecommendationRequest::parse(" u1".into(), None, Default::default())),
            Some("userId".into())
        );
        assert_eq!(
            refused(RecommendationRequest::parse("u1".into(), Some(101), Default::default())),
            Some("first".into())
        );
        let similar = SimilarRequest::parse("m1".into(), None).ok().map(|r| (r.content_id.into_string(), r.first));
        assert_eq!(similar, Some(("m1".to_owned(), 10)));
        assert_eq!(SimilarRequest::parse("m1".into(), Some(0)).err().and_then(|e| e.field()), Some("first".into()));
        assert_eq!(SimilarRequest::parse("".into(), None).err().and_then(|e| e.field()), Some("contentId".into()));
    }
}
