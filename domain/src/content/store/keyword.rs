//! Keyword search through the full-text index of migration m0011: FTS5 with BM25 on
//! SQLite, the `tsvector` column with `ts_rank_cd` on PostgreSQL. Terms are OR-ed, so
//! an item matching more of them (and in heavier fields: title, then description, then
//! genres and tags) ranks higher; each hit comes back with its fields highlighted.
//!
//! The index is built over `content_items`, which the catalog owns: the query joins it
//! because the match, the tenant and the liveness of a row are one condition, and two
//! round trips would rank items that are then filtered away.

use tenants::TenantTx;

use super::{is_postgres, query};
use crate::error::Result;

/// Markers around matched words in highlighted fields (private-use characters, which
/// neither tokenizer treats as part of a word and no catalog text contains).
pub(crate) const MARK_START: char = '\u{E000}';
pub(crate) const MARK_END: char = '\u{E001}';

/// One matching item with its fields as highlighted by the index.
pub(crate) struct KeywordRow {
    pub item_row: i64,
    /// Higher is better.
    pub score: f64,
    pub title: String,
    /// A fragment of the description around the matches.
    pub description: String,
    /// The whole description, highlighted (for the matched words).
    pub description_marked: String,
    pub genres: String,
    pub tags: String,
}

/// The tenant's live items matching any of `terms` (already reduced to plain words),
/// best first, at most `limit`.
pub(crate) async fn search(tx: &TenantTx, terms: &[String], limit: usize) -> Result<Vec<KeywordRow>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let (start, end) = (MARK_START.to_string(), MARK_END.to_string());
    let rows = if is_postgres(tx.conn()) {
        let short = format!("StartSel={start}, StopSel={end}, HighlightAll=true");
        let long = format!("StartSel={start}, StopSel={end}, MaxWords=24, MinWords=10, ShortWord=2");
        let sql = format!(
            "WITH q AS (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS query) \
             SELECT c.id, ts_rank_cd(c.search_vector, q.query)::float8, \
                ts_headline('english', c.title, q.query, $3), \
                ts_headline('english', coalesce(c.description, ''), q.query, $4), \
                ts_headline('english', c.genres, q.query, $3), ts_headline('english', c.tags, q.query, $3), \
                ts_headline('english', coalesce(c.description, ''), q.query, $3) \
             FROM content_items c, q \
             WHERE c.tenant_id = $2 AND c.deleted_at IS NULL AND c.search_vector @@ q.query \
             ORDER BY 2 DESC, c.id LIMIT {limit}"
        );
        let values = vec![terms.join(" ").into(), tx.tenant_id().get().into(), short.into(), long.into()];
        query(tx.conn(), &sql, values).await?
    } else {
        // Title weighs most; each term is quoted, so nothing a client types is read as
        // FTS5 syntax.
        let matching = terms.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" OR ");
        let sql = format!(
            "SELECT c.id, -bm25(content_search, 10.0, 3.0, 2.0, 2.0), \
                highlight(content_search, 0, $3, $4), snippet(content_search, 1, $3, $4, '…', 16), \
                highlight(content_search, 2, $3, $4), highlight(content_search, 3, $3, $4), \
                highlight(content_search, 1, $3, $4) \
             FROM content_search JOIN content_items c ON c.id = content_search.rowid \
             WHERE content_search MATCH $1 AND c.tenant_id = $2 AND c.deleted_at IS NULL \
             ORDER BY 2 DESC, c.id LIMIT {limit}"
        );
        let values = vec![matching.into(), tx.tenant_id().get().into(), start.into(), end.into()];
        query(tx.conn(), &sql, values).await?
    };
    rows.iter()
        .map(|r| {
            Ok(KeywordRow {
                item_row: r.try_get_by_index(0)?,
                score: r.try_get_by_index(1)?,
                title: r.try_get_by_index::<Option<String>>(2)?.unwrap_or_default(),
                description: r.try_get_by_index::<Option<String>>(3)?.unwrap_or_default(),
                genres: r.try_get_by_index::<Option<String>>(4)?.unwrap_or_default(),
                tags: r.try_get_by_index::<Option<String>>(5)?.unwrap_or_default(),
                description_marked: r.try_get_by_index::<Option<String>>(6)?.unwrap_or_default(),
            })
        })
        .collect()
}
