//! Persistence of interactions: bulk, idempotent ingestion, per-user lists, and the
//! reads and deletions other features make of events. Only this store queries
//! `interactions`: other features call the `pub(crate)` functions here and get domain
//! types or plain figures.

mod history;
pub(crate) mod insights;
pub(crate) mod stats;

pub(crate) use history::recent_for_user;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tenants::TenantTx;
use tenants::page::{Page, PageRequest, SortCursor, SortValue};

use super::entity as interaction;
use super::types::*;
use crate::audience::Consent;
use crate::audience::store as users;
use crate::batch::RowError;
use crate::catalog::ContentId;
use crate::catalog::store as catalog;
use crate::error::{DomainError, Result};
use crate::sql::{from_ms, rows_per_statement, to_ms};

/// Stores a batch of valid events in the caller's transaction. Events for unknown (or
/// deleted) content are refused row by row; unknown users are created; erased users'
/// events are refused; an event id already stored is counted as a duplicate.
pub(crate) async fn ingest(
    tx: &TenantTx,
    rows: &[(usize, NewInteraction)],
    default_consent: Consent,
) -> Result<(IngestCounts, Vec<RowError>)> {
    let tenant_id = tx.tenant_id().get();
    let mut counts = IngestCounts::default();
    let mut errors = Vec::new();

    let mut seen = HashSet::with_capacity(rows.len());
    let mut unique = Vec::with_capacity(rows.len());
    for (index, row) in rows {
        if seen.insert(row.event_id.as_str()) {
            unique.push((*index, row));
        } else {
            counts.duplicates += 1;
        }
    }

    let mut content_ids: Vec<&str> = unique.iter().map(|(_, r)| r.content.as_str()).collect();
    content_ids.sort_unstable();
    content_ids.dedup();
    let items = catalog::resolve_live_ids(tx, &content_ids).await?;
    let mut known = Vec::with_capacity(unique.len());
    for (index, row) in unique {
        if items.contains_key(row.content.as_str()) {
            known.push((index, row));
        } else {
            let e = DomainError::NotFound(format!("content {:?}", row.content.as_str()));
            let mut err = RowError::new(index, Some(row.event_id.as_str().to_owned()), &e);
            err.field = Some("contentId".into());
            errors.push(err);
        }
    }

    let mut user_ids: Vec<&str> = known.iter().map(|(_, r)| r.user.as_str()).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let resolved = users::resolve_or_create(tx, &user_ids, default_consent).await?;
    counts.users_created = resolved.created;

    let received = to_ms(Utc::now());
    let mut writes = Vec::with_capacity(known.len());
    for (index, row) in known {
        let (Some(&user_id), Some(&item_id)) = (resolved.ids.get(row.user.as_str()), items.get(row.content.as_str()))
        else {
            let e = DomainError::Conflict(format!("end user {:?} was erased", row.user.as_str()));
            let mut err = RowError::new(index, Some(row.event_id.as_str().to_owned()), &e);
            err.field = Some("userId".into());
            errors.push(err);
            continue;
        };
        writes.push(interaction::ActiveModel {
            tenant_id: Set(tenant_id),
            event_id: Set(row.event_id.as_str().to_owned()),
            user_id: Set(user_id),
            item_id: Set(item_id),
            event_type: Set(row.event_type.as_str().to_owned()),
            value: Set(row.value),
            occurred_at: Set(to_ms(row.occurred_at)),
            received_at: Set(received),
            ..Default::default()
        });
    }
    let attempted = writes.len() as u64;
    let on_conflict =
        OnConflict::columns([interaction::Column::TenantId, interaction::Column::EventId]).do_nothing().to_owned();
    let mut inserted = 0;
    for chunk in writes.chunks(rows_per_statement(8)) {
        inserted += interaction::Entity::insert_many(chunk.to_vec())
            .on_conflict(on_conflict.clone())
            .exec_without_returning(tx.conn())
            .await?;
    }
    counts.accepted = inserted;
    counts.duplicates += attempted.saturating_sub(inserted);
    Ok((counts, errors))
}

const USER_ORDER: &str = "occurred_desc";

/// The columns [`list_for_user`] selects: id, event id, event type, value, occurred at,
/// received at (ms), item row id.
type UserEventRow = (i64, String, String, Option<f64>, i64, i64, i64);

/// How many events one user has.
pub(crate) async fn count_for_user(tx: &TenantTx, user_id: i64) -> Result<u64> {
    use interaction::Column as C;
    let query = interaction::Entity::find().filter(C::TenantId.eq(tx.tenant_id().get())).filter(C::UserId.eq(user_id));
    Ok(query.count(tx.conn()).await?)
}

/// One user's events, newest first (by time of occurrence, then by arrival).
pub(crate) async fn list_for_user(
    tx: &TenantTx,
    user_id: i64,
    page: &PageRequest<SortCursor>,
) -> Result<Page<Interaction, SortCursor>> {
    use interaction::Column as C;
    let mut query = interaction::Entity::find()
        .select_only()
        .columns([C::Id, C::EventId, C::EventType, C::Value, C::OccurredAt, C::ReceivedAt, C::ItemId])
        .filter(C::TenantId.eq(tx.tenant_id().get()))
        .filter(C::UserId.eq(user_id));
    if let Some(after) = &page.after {
        after.check_sort(USER_ORDER)?;
        let SortValue::Int(at) = after.value else {
            return Err(DomainError::invalid("after", "not a cursor from this API"));
        };
        query = query.filter(
            Condition::any()
                .add(C::OccurredAt.lt(at))
                .add(Condition::all().add(C::OccurredAt.eq(at)).add(C::Id.lt(after.id))),
        );
    }
    let rows: Vec<UserEventRow> =
        query.order_by_desc(C::OccurredAt).order_by_desc(C::Id).limit(page.limit()).into_tuple().all(tx.conn()).await?;
    let mut item_ids: Vec<i64> = rows.iter().map(|r| r.6).collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let external = catalog::external_ids(tx, &item_ids).await?;
    let mut items = Vec::with_capacity(rows.len());
    for (id, event_id, event_type, value, occurred_at, received_at, item_id) in rows {
        let content = external
            .get(&item_id)
            .cloned()
            .ok_or_else(|| DomainError::internal(format!("interaction {id} names a missing item")))?;
        let cursor = SortCursor { sort: USER_ORDER.to_owned(), value: SortValue::Int(occurred_at), id };
        items.push((
            cursor,
            Interaction {
                event_id: EventId::from_db(event_id),
                content_id: ContentId::from_db(content),
                event_type: EventType::from_db(&event_type)?,
                value,
                occurred_at: from_ms(occurred_at),
                received_at: from_ms(received_at),
            },
        ));
    }
    Ok(Page::from_overfetch(items, page))
}

/// Every event of the tenant as (user row id, item row id, type, occurred_at ms), for
/// training snapshots.
pub(crate) async fn all_events(tx: &TenantTx) -> Result<Vec<(i64, i64, String, i64)>> {
    use interaction::Column as C;
    Ok(interaction::Entity::find()
        .select_only()
        .columns([C::UserId, C::ItemId, C::EventType, C::OccurredAt])
        .filter(C::TenantId.eq(tx.tenant_id().get()))
        .order_by_asc(C::Id)
        .into_tuple()
        .all(tx.conn())
        .await?)
}

/// Per item row id, how many events name it (every event, whoever made it).
pub(crate) async fn counts_per_item(tx: &TenantTx) -> Result<Vec<(i64, i64)>> {
    Ok(interaction::Entity::find()
        .select_only()
        .column(interaction::Column::ItemId)
        .column_as(interaction::Column::Id.count(), "n")
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .group_by(interaction::Column::ItemId)
        .into_tuple()
        .all(tx.conn())
        .await?)
}

/// Deletes every event of one person (by their row id); returns how many there were.
pub(crate) async fn delete_for_user(tx: &TenantTx, user_row: i64) -> Result<u64> {
    Ok(interaction::Entity::delete_many()
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::UserId.eq(user_row))
        .exec(tx.conn())
        .await?
        .rows_affected)
}

/// Deletes every event that occurred before `cutoff`; returns how many there were.
pub(crate) async fn delete_occurred_before(tx: &TenantTx, cutoff: DateTime<Utc>) -> Result<u64> {
    Ok(interaction::Entity::delete_many()
        .filter(interaction::Column::TenantId.eq(tx.tenant_id().get()))
        .filter(interaction::Column::OccurredAt.lt(to_ms(cutoff)))
        .exec(tx.conn())
        .await?
        .rows_affected)
}
