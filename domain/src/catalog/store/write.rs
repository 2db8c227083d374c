//! Writes on content items: bulk upserts (with their genre and tag rows) and soft
//! deletes.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tenants::TenantTx;

use super::resolve_live_ids;
use crate::batch::RowError;
use crate::catalog::entity::{content_genre, content_item, content_tag};
use crate::catalog::types::*;
use crate::error::{DomainError, Result};
use crate::sql::{rows_per_statement, to_ms};
use crate::vocab::UpsertCounts;

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// The stored form of an item's data, to tell an unchanged row from a changed one.
#[derive(PartialEq)]
struct Stored {
    kind: String,
    title: String,
    description: Option<String>,
    genres: String,
    tags: String,
    provider: Option<String>,
    creators: String,
    release_date: Option<String>,
    duration_secs: Option<i32>,
    language: Option<String>,
    maturity_rating: Option<String>,
    available_from: Option<i64>,
    available_until: Option<i64>,
    attributes: String,
}

impl Stored {
    fn of_new(n: &NewContent) -> Self {
        Self {
            kind: n.kind.as_str().to_owned(),
            title: n.title.clone(),
            description: n.description.clone(),
            genres: json_list(&n.genres),
            tags: json_list(&n.tags),
            provider: n.provider.clone(),
            creators: json_list(&n.creators),
            release_date: date_text(n.release_date),
            duration_secs: n.duration_secs,
            language: n.language.clone(),
            maturity_rating: n.maturity_rating.clone(),
            available_from: n.available_from.map(to_ms),
            available_until: n.available_until.map(to_ms),
            attributes: serde_json::Value::Object(n.attributes.clone()).to_string(),
        }
    }

    fn of_model(m: &content_item::Model) -> Self {
        Self {
            kind: m.kind.clone(),
            title: m.title.clone(),
            description: m.description.clone(),
            genres: m.genres.clone(),
            tags: m.tags.clone(),
            provider: m.provider.clone(),
            creators: m.creators.clone(),
            release_date: m.release_date.clone(),
            duration_secs: m.duration_secs,
            language: m.language.clone(),
            maturity_rating: m.maturity_rating.clone(),
            available_from: m.available_from,
            available_until: m.available_until,
            attributes: m.attributes.clone(),
        }
    }

    fn into_active(self, tenant_id: i64, external_id: String, now: chrono::DateTime<Utc>) -> content_item::ActiveModel {
        content_item::ActiveModel {
            tenant_id: Set(tenant_id),
            external_id: Set(external_id),
            kind: Set(self.kind),
            title: Set(self.title),
            description: Set(self.description),
            genres: Set(self.genres),
            tags: Set(self.tags),
            provider: Set(self.provider),
            creators: Set(self.creators),
            release_date: Set(self.release_date),
            duration_secs: Set(self.duration_secs),
            language: Set(self.language),
            maturity_rating: Set(self.maturity_rating),
            available_from: Set(self.available_from),
            available_until: Set(self.available_until),
            attributes: Set(self.attributes),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        }
    }
}

/// Items by external id, deleted ones included, in chunks that respect bind limits.
async fn find_by_external_ids(tx: &TenantTx, ids: &[&str]) -> Result<HashMap<String, content_item::Model>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let rows = content_item::Entity::find()
            .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(content_item::Column::ExternalId.is_in(chunk.iter().copied()))
            .all(tx.conn())
            .await?;
        found.extend(rows.into_iter().map(|m| (m.external_id.clone(), m)));
    }
    Ok(found)
}

const UPSERT_COLUMNS: [content_item::Column; 16] = [
    content_item::Column::Kind,
    content_item::Column::Title,
    content_item::Column::Description,
    content_item::Column::Genres,
    content_item::Column::Tags,
    content_item::Column::Provider,
    content_item::Column::Creators,
    content_item::Column::ReleaseDate,
    content_item::Column::DurationSecs,
    content_item::Column::Language,
    content_item::Column::MaturityRating,
    content_item::Column::AvailableFrom,
    content_item::Column::AvailableUntil,
    content_item::Column::Attributes,
    content_item::Column::UpdatedAt,
    content_item::Column::DeletedAt,
];

/// Stores a batch of valid items in the caller's transaction: new ones are inserted,
/// changed ones updated (a deleted item comes back), equal ones left untouched. An id
/// that appears twice in one batch is refused the second time.
pub(crate) async fn upsert(tx: &TenantTx, rows: &[(usize, NewContent)]) -> Result<(UpsertCounts, Vec<RowError>)> {
    let tenant_id = tx.tenant_id().get();
    let mut errors = Vec::new();
    let mut seen = HashSet::with_capacity(rows.len());
    let mut unique: Vec<&NewContent> = Vec::with_capacity(rows.len());
    for (index, row) in rows {
        if seen.insert(row.id.as_str()) {
            unique.push(row);
        } else {
            let e = DomainError::invalid("id", "appears more than once in this batch");
            errors.push(RowError::new(*index, Some(row.id.to_string()), &e));
        }
    }
    let ids: Vec<&str> = unique.iter().map(|r| r.id.as_str()).collect();
    let existing = find_by_external_ids(tx, &ids).await?;

    let now = Utc::now();
    let mut counts = UpsertCounts::default();
    let mut writes = Vec::new();
    let mut changed: Vec<&NewContent> = Vec::new();
    for row in unique {
        let stored = Stored::of_new(row);
        match existing.get(row.id.as_str()) {
            Some(m) if m.deleted_at.is_none() && Stored::of_model(m) == stored => counts.unchanged += 1,
            Some(m) if m.deleted_at.is_none() => {
                counts.updated += 1;
                writes.push(stored.into_active(tenant_id, row.id.to_string(), now));
                changed.push(row);
            }
            _ => {
                counts.created += 1;
                writes.push(stored.into_active(tenant_id, row.id.to_string(), now));
                changed.push(row);
            }
        }
    }
    let on_conflict = OnConflict::columns([content_item::Column::TenantId, content_item::Column::ExternalId])
        .update_columns(UPSERT_COLUMNS)
        .to_owned();
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let chunk: Vec<_> = writes.by_ref().take(rows_per_statement(20)).collect();
        content_item::Entity::insert_many(chunk)
            .on_conflict(on_conflict.clone())
            .exec_without_returning(tx.conn())
            .await?;
    }
    if !changed.is_empty() {
        write_labels(tx, &changed).await?;
    }
    Ok((counts, errors))
}

/// Replaces the genre and tag rows of the changed items.
async fn write_labels(tx: &TenantTx, changed: &[&NewContent]) -> Result<()> {
    let tenant_id = tx.tenant_id().get();
    let ext: Vec<&str> = changed.iter().map(|r| r.id.as_str()).collect();
    let ids = resolve_live_ids(tx, &ext).await?;
    let internal: Vec<i64> = ids.values().copied().collect();
    for chunk in internal.chunks(rows_per_statement(1)) {
        content_genre::Entity::delete_many()
            .filter(content_genre::Column::TenantId.eq(tenant_id))
            .filter(content_genre::Column::ItemId.is_in(chunk.iter().copied()))
            .exec(tx.conn())
            .await?;
        content_tag::Entity::delete_many()
            .filter(content_tag::Column::TenantId.eq(tenant_id))
            .filter(content_tag::Column::ItemId.is_in(chunk.iter().copied()))
            .exec(tx.conn())
            .await?;
    }
    let mut genres = Vec::new();
    let mut tags = Vec::new();
    for row in changed {
        let Some(&item_id) = ids.get(row.id.as_str()) else { continue };
        genres.extend(row.genres.iter().map(|g| content_genre::ActiveModel {
            item_id: Set(item_id),
            genre: Set(g.clone()),
            tenant_id: Set(tenant_id),
        }));
        tags.extend(row.tags.iter().map(|t| content_tag::ActiveModel {
            item_id: Set(item_id),
            tag: Set(t.clone()),
            tenant_id: Set(tenant_id),
        }));
    }
    for chunk in genres.chunks(rows_per_statement(3)) {
        content_genre::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx.conn()).await?;
    }
    for chunk in tags.chunks(rows_per_statement(3)) {
        content_tag::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx.conn()).await?;
    }
    Ok(())
}

/// Marks items deleted. They vanish from every read and from training; their
/// interactions stay stored, and upserting the id again brings the item back.
pub(crate) async fn soft_delete(tx: &TenantTx, ids: &[ContentId]) -> Result<DeleteOutcome> {
    let ext: Vec<&str> = ids.iter().map(ContentId::as_str).collect();
    let live = resolve_live_ids(tx, &ext).await?;
    let internal: Vec<i64> = live.values().copied().collect();
    let now = Utc::now();
    let mut deleted = 0;
    for chunk in internal.chunks(rows_per_statement(1)) {
        let result = content_item::Entity::update_many()
            .col_expr(content_item::Column::DeletedAt, Expr::value(now))
            .col_expr(content_item::Column::UpdatedAt, Expr::value(now))
            .filter(content_item::Column::TenantId.eq(tx.tenant_id().get()))
            .filter(content_item::Column::Id.is_in(chunk.iter().copied()))
            .exec(tx.conn())
            .await?;
        deleted += result.rows_affected;
    }
    let mut not_found: Vec<ContentId> = ids.iter().filter(|id| !live.contains_key(id.as_str())).cloned().collect();
    not_found.dedup();
    Ok(DeleteOutcome { deleted, not_found })
}
