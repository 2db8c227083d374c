use chrono::{DateTime, Duration, Utc};

use crate::error::{DomainError, Result};
use crate::vocab::{ContentId, UserId};
pub use crate::vocab::{EventId, EventType};

/// Most events one `recordInteractions` call may carry.
pub const MAX_RECORD_BATCH: usize = 1000;
/// How far in the future an event's time may lie (clock skew between systems).
pub const MAX_FUTURE_SKEW_HOURS: i64 = 24;
/// The largest magnitude of an event's value.
pub const MAX_ABS_VALUE: f64 = 1e9;

/// An event as a client sends it, before validation.
#[derive(Debug, Clone)]
pub struct InteractionDraft {
    pub event_id: String,
    pub user_id: String,
    pub content_id: String,
    pub event_type: EventType,
    pub value: Option<f64>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInteraction {
    pub event_id: EventId,
    pub user: UserId,
    pub content: ContentId,
    pub event_type: EventType,
    /// The rating for `rating` (required); optional elsewhere (e.g. seconds played).
    pub value: Option<f64>,
    pub occurred_at: DateTime<Utc>,
}

impl NewInteraction {
    /// `now` is the time of receipt: the default for `occurred_at`, and the bound for
    /// events from the future.
    pub fn parse(d: InteractionDraft, now: DateTime<Utc>) -> Result<Self> {
        let event_id = EventId::parse(d.event_id)?;
        let user = UserId::parse_as("userId", d.user_id)?;
        let content = ContentId::parse_as("contentId", d.content_id)?;
        if let Some(v) = d.value
            && (!v.is_finite() || v.abs() > MAX_ABS_VALUE)
        {
            return Err(DomainError::invalid("value", format!("use a finite number within ±{MAX_ABS_VALUE}")));
        }
        if d.event_type == EventType::Rating && d.value.is_none() {
            return Err(DomainError::invalid("value", "a rating needs a value"));
        }
        let occurred_at = d.occurred_at.unwrap_or(now);
        if occurred_at > now + Duration::hours(MAX_FUTURE_SKEW_HOURS) {
            return Err(DomainError::invalid("occurredAt", "lies in the future"));
        }
        if occurred_at.timestamp() < 0 {
            return Err(DomainError::invalid("occurredAt", "lies before 1970"));
        }
        Ok(Self { event_id, user, content, event_type: d.event_type, value: d.value, occurred_at })
    }
}

/// A stored event, as listed for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub event_id: EventId,
    pub content_id: ContentId,
    pub event_type: EventType,
    pub value: Option<f64>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// What an ingestion did with its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Events stored now.
    pub accepted: u64,
    /// Events whose id was already stored (or appeared earlier in the batch): not stored again.
    pub duplicates: u64,
    /// End users created on their first event.
    pub users_created: u64,
}

impl IngestCounts {
    pub fn add(&mut self, other: &IngestCounts) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.users_created += other.users_created;
    }
}

#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    pub counts: IngestCounts,
    pub errors: Vec<crate::batch::RowError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> InteractionDraft {
        InteractionDraft {
            event_id: "e1".into(),
            user_id: "u1".into(),
            content_id: "c1".into(),
            event_type: EventType::Rating,
            value: Some(4.0),
            occurred_at: None,
        }
    }

    #[test]
    fn events_are_validated() {
        let now = Utc::now();
        assert_eq!(NewInteraction::parse(draft(), now).ok().map(|e| e.occurred_at), Some(now));
        let field = |d: InteractionDraft| NewInteraction::parse(d, now).err().and_then(|e| e.field());
        assert_eq!(field(InteractionDraft { value: None, ..draft() }), Some("value".into()));
        assert_eq!(field(InteractionDraft { value: Some(f64::NAN), ..draft() }), Some("value".into()));
        assert_eq!(
            field(InteractionDraft { occurred_at: Some(now + Duration::days(3)), ..draft() }),
            Some("occurredAt".into())
        );
        assert_eq!(field(InteractionDraft { user_id: String::new(), ..draft() }), Some("userId".into()));
        assert_eq!(field(InteractionDraft { content_id: "x".repeat(300), ..draft() }), Some("contentId".into()));
        assert!(
            NewInteraction::parse(InteractionDraft { event_type: EventType::View, value: None, ..draft() }, now)
                .is_ok()
        );
    }

    #[test]
    fn event_type_indices_follow_all() {
        for (i, t) in EventType::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }
}
