//! `searchContent`: keyword search through the full-text index, semantic search over
//! the embeddings, or both fused by reciprocal rank fusion (Cormack, Clarke and
//! Büttcher 2009: score = Σ 1 / (60 + rank)). Every hit says why it matched.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tenants::{Scope, TenantCtx};

use super::index::{SemanticIndex, available};
use super::services::ContentServices;
use super::store::keyword::{self, KeywordRow, MARK_END, MARK_START};
use crate::catalog::{Content, ContentKind, MAX_LABEL_CHARS, SnapshotItem};
use crate::error::{DomainError, Result};

pub const MAX_SEARCH_RESULTS: usize = 100;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Terms of a keyword query beyond this are ignored.
const MAX_TERMS: usize = 32;
/// The constant of reciprocal rank fusion: it damps the weight of the first ranks.
const RRF_K: f32 = 60.0;
/// How deep each list goes before fusion or filtering.
const CANDIDATES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    Keyword,
    Semantic,
    Hybrid,
}

/// What hits may be; empty lists mean any.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub kinds: Vec<ContentKind>,
    /// Any of these genres (case-insensitive).
    pub genres: Vec<String>,
    /// Only items available at this time.
    pub available_at: Option<DateTime<Utc>>,
}

impl SearchFilter {
    fn admits(&self, item: &SnapshotItem) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&item.kind))
            && (self.genres.is_empty()
                || self.genres.iter().any(|g| item.genres.iter().any(|h| h.eq_ignore_ascii_case(g))))
            && self.available_at.is_none_or(|at| available(item, at))
    }
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub mode: SearchMode,
    pub filter: SearchFilter,
    pub first: usize,
}

impl SearchRequest {
    pub fn parse(query: String, mode: SearchMode, filter: SearchFilter, first: Option<i64>) -> Result<Self> {
        let query = query.trim().to_owned();
        if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
            return Err(DomainError::invalid("query", format!("use 1 to {MAX_QUERY_CHARS} characters")));
        }
        let first = match first {
            None => 10,
            Some(n) if (1..=MAX_SEARCH_RESULTS as i64).contains(&n) => n as usize,
            Some(_) => {
                return Err(DomainError::invalid("first", format!("must be between 1 and {MAX_SEARCH_RESULTS}")));
            }
        };
        let genres = crate::validate::filter_values("filter.genres", filter.genres, 100, MAX_LABEL_CHARS)?;
        Ok(Self { query, mode, filter: SearchFilter { genres, ..filter }, first })
    }
}

/// Why an item matched the words of the query.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordMatch {
    /// 1-based rank in the keyword list.
    pub rank: usize,
    /// The index's relevance (BM25 on SQLite, `ts_rank_cd` on PostgreSQL): higher is better.
    pub score: f64,
    /// Fields holding a match: `title`, `description`, `genres`, `tags`.
    pub fields: Vec<String>,
    /// The words of the item that matched, lowercased.
    pub terms: Vec<String>,
    /// The best fragment (description, else title) with matches in `[` `]`.
    pub snippet: Option<String>,
}

/// Why an item matched the meaning of the query.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticMatch {
    /// 1-based rank in the semantic list.
    pub rank: usize,
    /// Cosine similarity of the item's and the query's embeddings.
    pub cosine: f32,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub rank: usize,
    /// The mode's score: keyword relevance, cosine, or the fused score.
    pub score: f64,
    pub content: Content,
    pub keyword: Option<KeywordMatch>,
    pub semantic: Option<SemanticMatch>,
}

/// A hit's fused score and the reasons of each list.
type Fused = (f64, Option<KeywordMatch>, Option<SemanticMatch>);

pub async fn search_content(
    ctx: &TenantCtx,
    content: &ContentServices,
    request: &SearchRequest,
) -> Result<Vec<SearchHit>> {
    ctx.require(Scope::CatalogRead)?;
    let depth = CANDIDATES.max(request.first);
    let keyword = match request.mode {
        SearchMode::Semantic => Vec::new(),
        _ => keyword_list(ctx, content, request, depth).await?,
    };
    let semantic = match request.mode {
        SearchMode::Keyword => Vec::new(),
        _ => semantic_list(ctx, content, request, depth).await?,
    };
    // Fuse (or take the one list), then hydrate only what is returned.
    let mut fused: HashMap<i64, Fused> = HashMap::new();
    for (row, m) in keyword {
        let score = match request.mode {
            SearchMode::Hybrid => 1.0 / (RRF_K as f64 + m.rank as f64),
            _ => m.score,
        };
        fused.insert(row, (score, Some(m), None));
    }
    for (row, m) in semantic {
        let entry = fused.entry(row).or_insert((0.0, None, None));
        entry.0 += match request.mode {
            SearchMode::Hybrid => 1.0 / (RRF_K as f64 + m.rank as f64),
            _ => f64::from(m.cosine),
        };
        entry.2 = Some(m);
    }
    let mut ranked: Vec<(i64, Fused)> = fused.into_iter().collect();
    let best_rank = |e: &Fused| {
        e.1.as_ref().map(|k| k.rank).into_iter().chain(e.2.as_ref().map(|s| s.rank)).min().unwrap_or(usize::MAX)
    };
    match request.mode {
        // The keyword list has its own order (exact titles first), not only the index's score.
        SearchMode::Keyword => ranked.sort_by_key(|(row, e)| (best_rank(e), *row)),
        _ => ranked
            .sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(best_rank(&a.1).cmp(&best_rank(&b.1))).then(a.0.cmp(&b.0))),
    }
    ranked.truncate(request.first);
    let rows: Vec<i64> = ranked.iter().map(|(row, _)| *row).collect();
    let tx = content.services.db.begin(ctx).await?;
    let mut items = crate::catalog::store::find_by_internal_ids(&tx, &rows).await?;
    tx.commit().await?;
    Ok(ranked
        .into_iter()
        .filter_map(|(row, (score, keyword, semantic))| Some((items.remove(&row)?, score, keyword, semantic)))
        .enumerate()
        .map(|(i, (content, score, keyword, semantic))| SearchHit { rank: i + 1, score, content, keyword, semantic })
        .collect())
}

/// The query's words as the keyword index reads them: runs of letters and digits,
/// lowercased, each once.
fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_lowercase();
        if !terms.contains(&word) && terms.len() < MAX_TERMS {
            terms.push(word);
        }
    }
    terms
}

/// Words as compared for an exact title: letters and digits only, lowercased.
fn normalized(text: &str) -> String {
    terms_in_order(text).join(" ")
}

fn terms_in_order(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

async fn keyword_list(
    ctx: &TenantCtx,
    content: &ContentServices,
    request: &SearchRequest,
    depth: usize,
) -> Result<Vec<(i64, KeywordMatch)>> {
    let terms = terms(&request.query);
    let tx = content.services.db.begin(ctx).await?;
    let rows = keyword::search(&tx, &terms, depth).await?;
    let facets: HashMap<i64, SnapshotItem> =
        if request.filter.kinds.is_empty() && request.filter.genres.is_empty() && request.filter.available_at.is_none()
        {
            HashMap::new()
        } else {
            let ids: Vec<i64> = rows.iter().map(|r| r.item_row).collect();
            crate::catalog::store::find_by_internal_ids(&tx, &ids)
                .await?
                .into_iter()
                .map(|(row, c)| (row, snapshot_of(c)))
                .collect()
        };
    tx.commit().await?;
    let wanted = normalized(&request.query);
    let mut matches: Vec<(i64, bool, KeywordMatch)> = rows
        .into_iter()
        .filter(|r| facets.is_empty() || facets.get(&r.item_row).is_some_and(|f| request.filter.admits(f)))
        .map(|r| {
            // An item whose whole title is the query comes first, whatever its BM25.
            let exact = normalized(&unmarked(&r.title)) == wanted;
            (r.item_row, exact, keyword_match(&r))
        })
        .collect();
    matches.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.score.total_cmp(&a.2.score)).then(a.0.cmp(&b.0)));
    Ok(matches.into_iter().enumerate().map(|(i, (row, _, m))| (row, KeywordMatch { rank: i + 1, ..m })).collect())
}

fn snapshot_of(c: Content) -> SnapshotItem {
    SnapshotItem {
        id: c.id,
        kind: c.kind,
        genres: c.genres,
        provider: c.provider,
        available_from: c.available_from,
        available_until: c.available_until,
        maturity_rating: c.maturity_rating,
    }
}

fn unmarked(text: &str) -> String {
    text.chars().filter(|&c| c != MARK_START && c != MARK_END).collect()
}

/// The marked words of a highlighted field, lowercased.
fn marked_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(MARK_START) {
        let after = &rest[start + MARK_START.len_utf8()..];
        let Some(end) = after.find(MARK_END) else { break };
        out.push(after[..end].to_lowercase());
        rest = &after[end + MARK_END.len_utf8()..];
    }
    out
}

fn keyword_match(row: &KeywordRow) -> KeywordMatch {
    let mut fields = Vec::new();
    let mut terms: Vec<String> = Vec::new();
    for (name, text) in
        [("title", &row.title), ("description", &row.description_marked), ("genres", &row.genres), ("tags", &row.tags)]
    {
        let found = marked_terms(text);
        if !found.is_empty() {
            fields.push(name.to_owned());
        }
        for t in found {
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
    }
    let bracketed = |t: &str| t.replace(MARK_START, "[").replace(MARK_END, "]");
    let snippet = if row.description.contains(MARK_START) {
        Some(bracketed(&row.description))
    } else if row.title.contains(MARK_START) {
        Some(bracketed(&row.title))
    } else {
        None
    };
    KeywordMatch { rank: 0, score: row.score, fields, terms, snippet }
}

async fn semantic_list(
    ctx: &TenantCtx,
    content: &ContentServices,
    request: &SearchRequest,
    depth: usize,
) -> Result<Vec<(i64, SemanticMatch)>> {
    let index = content.semantic_index(ctx).await?;
    let query = embed_query(content, &request.query).await?;
    let ranked = ranked_by_query(&index, &query, &request.filter, depth);
    Ok(ranked
        .into_iter()
        .enumerate()
        .map(|(i, (position, cosine))| (index.rows[position], SemanticMatch { rank: i + 1, cosine }))
        .collect())
}

/// Exact top-k off the async executor: at 100,000 items a query is milliseconds of work.
fn ranked_by_query(
    index: &Arc<SemanticIndex>,
    query: &[f32],
    filter: &SearchFilter,
    depth: usize,
) -> Vec<(usize, f32)> {
    index.top_k(query, depth, |i| filter.admits(&index.items[i]))
}

/// The query's embedding, computed on a blocking thread.
pub(crate) async fn embed_query(content: &ContentServices, text: &str) -> Result<Vec<f32>> {
    let encoder = content.encoder()?.query_encoder().await?;
    let text = text.to_owned();
    let mut vectors = tokio::task::spawn_blocking(move || encoder.embed(&[text.as_str()]))
        .await
        .map_err(|e| DomainError::internal_from("text model thread", e))?
        .map_err(|e| DomainError::internal_from("text model", e))?;
    vectors.pop().ok_or_else(|| DomainError::internal("the text model returned no vector"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_plain_words_and_nothing_else() {
        assert_eq!(
            terms("Space \"robots\" OR NEAR(x) -- 2001: A"),
            vec!["space", "robots", "or", "near", "x", "2001", "a"]
        );
        assert_eq!(normalized("The Matrix: Reloaded!"), "the matrix reloaded");
    }

    #[test]
    fn highlighted_fields_say_what_matched() {
        let m = |t: &str| t.replace('<', &MARK_START.to_string()).replace('>', &MARK_END.to_string());
        let row = KeywordRow {
            item_row: 1,
            score: 2.0,
            title: m("The <Robot> King"),
            description: m("…a <robot> crosses the <galaxy>…"),
            genres: "[\"Sci-Fi\"]".into(),
            tags: m("[\"<robots>\"]"),
            description_marked: m("Long ago, a <robot> crosses the <galaxy>."),
        };
        let hit = keyword_match(&row);
        assert_eq!(hit.fields, vec!["title", "description", "tags"]);
        assert_eq!(hit.terms, vec!["robot", "galaxy", "robots"]);
        assert_eq!(hit.snippet.as_deref(), Some("…a [robot] crosses the [galaxy]…"));
    }
}
