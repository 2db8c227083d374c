use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use domain::interactions::{EventType, IngestOutcome, Interaction, InteractionDraft};

use super::batch::{BatchRowErrorGql, count};
use super::catalog::mirror_enum;

mirror_enum!(
    #[graphql(name = "EventType")]
    EventTypeGql mirrors EventType {
        View,
        Play,
        Complete,
        Like,
        Dislike,
        /// Needs a `value` (the rating).
        Rating,
        Purchase,
        AddToList,
        Skip,
    }
);

/// One thing an end user did.
#[derive(InputObject)]
pub struct InteractionInput {
    /// The idempotency key, unique per tenant (1 to 256 characters): an event whose id
    /// is already stored is counted as a duplicate and not stored again.
    pub event_id: String,
    /// The tenant's id of the end user; an unknown user is created with the tenant's default consent.
    pub user_id: String,
    /// The tenant's id of the content; it must exist (else a `NOT_FOUND` row error).
    pub content_id: String,
    #[graphql(name = "type")]
    pub event_type: EventTypeGql,
    /// The rating for `RATING` (required); optional otherwise (e.g. seconds played).
    pub value: Option<f64>,
    /// When it happened (RFC 3339); default: when received. At most 24 h in the future.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl From<InteractionInput> for InteractionDraft {
    fn from(i: InteractionInput) -> Self {
        Self {
            event_id: i.event_id,
            user_id: i.user_id,
            content_id: i.content_id,
            event_type: i.event_type.into(),
            value: i.value,
            occurred_at: i.occurred_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Interaction")]
pub struct InteractionGql {
    pub event_id: String,
    pub content_id: String,
    #[graphql(name = "type")]
    pub event_type: EventTypeGql,
    pub value: Option<f64>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

impl From<Interaction> for InteractionGql {
    fn from(i: Interaction) -> Self {
        Self {
            event_id: i.event_id.as_str().to_owned(),
            content_id: i.content_id.into_string(),
            event_type: i.event_type.into(),
            value: i.value,
            occurred_at: i.occurred_at,
            received_at: i.received_at,
        }
    }
}

/// What `recordInteractions` did with the batch.
#[derive(SimpleObject)]
pub struct RecordInteractionsPayload {
    /// Events stored now.
    pub accepted: i32,
    /// Events already stored (same event id), or repeated within the batch: not stored again.
    pub duplicates: i32,
    /// End users created by their first event.
    pub users_created: i32,
    /// Rows not stored, with the reason. The others were stored.
    pub errors: Vec<BatchRowErrorGql>,
}

impl From<IngestOutcome> for RecordInteractionsPayload {
    fn from(o: IngestOutcome) -> Self {
        Self {
            accepted: count(o.counts.accepted),
            duplicates: count(o.counts.duplicates),
            users_created: count(o.counts.users_created),
            errors: o.errors.into_iter().map(Into::into).collect(),
        }
    }
}
