//! Ingestion and a person's event list on a real (in-memory SQLite) database: event ids
//! as idempotency keys, row errors beside stored rows, users created on their first
//! event, erased users refused, and newest-first keyset paging with ties on time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use tenants::page::{PageRequest, SortCursor};

use super::store;
use super::types::{EventType, InteractionDraft, NewInteraction};
use crate::catalog::{ContentDraft, ContentKind, NewContent};
use crate::test_db::TestDb;
use crate::vocab::{Consent, UserId};

const CONSENT: Consent = Consent { personalization: true, analytics: true };

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a valid time") + Duration::minutes(minutes)
}

fn event(event_id: &str, user: &str, content: &str, minute: i64) -> (usize, NewInteraction) {
    let draft = InteractionDraft {
        event_id: event_id.into(),
        user_id: user.into(),
        content_id: content.into(),
        event_type: EventType::Play,
        value: None,
        occurred_at: Some(at(minute)),
    };
    (0, NewInteraction::parse(draft, at(10_000)).expect("valid event"))
}

fn numbered(events: Vec<(usize, NewInteraction)>) -> Vec<(usize, NewInteraction)> {
    events.into_iter().enumerate().map(|(i, (_, e))| (i, e)).collect()
}

async fn with_items() -> TestDb {
    let t = TestDb::new().await;
    let item = |id: &str| {
        let draft = ContentDraft::new(id, ContentKind::Movie, id.to_uppercase());
        NewContent::parse(draft).expect("valid item")
    };
    let rows = vec![(0, item("a")), (1, item("b"))];
    let tx = t.write().await;
    crate::catalog::store::upsert(&tx, &rows).await.expect("items");
    tx.commit().await.expect("commit");
    t
}

async fn ingest(t: &TestDb, rows: Vec<(usize, NewInteraction)>) -> (crate::interactions::IngestCounts, Vec<usize>) {
    let tx = t.write().await;
    let (counts, errors) = store::ingest(&tx, &numbered(rows), CONSENT).await.expect("ingest");
    tx.commit().await.expect("commit");
    (counts, errors.iter().map(|e| e.index).collect())
}

async fn user_row(t: &TestDb, user: &str) -> i64 {
    let tx = t.db.begin(&t.ctx).await.expect("read");
    let row = crate::audience::store::internal_id(&tx, &UserId::parse(user).expect("id")).await.expect("row");
    row.expect("the user exists")
}

#[tokio::test]
async fn an_event_id_is_stored_once_and_bad_rows_cost_only_themselves() {
    let t = with_items().await;
    let (counts, refused) = ingest(
        &t,
        vec![
            event("e1", "u1", "a", 1),
            event("e1", "u1", "b", 2),
            event("e2", "u2", "zzz", 3),
            event("e3", "u2", "b", 4),
        ],
    )
    .await;
    assert_eq!((counts.accepted, counts.duplicates, counts.users_created), (2, 1, 2), "{counts:?}");
    assert_eq!(refused, [2], "unknown content is a row error");
    let (again, refused) = ingest(&t, vec![event("e1", "u1", "a", 1), event("e3", "u2", "b", 4)]).await;
    assert_eq!((again.accepted, again.duplicates, again.users_created, refused.len()), (0, 2, 0, 0));
}

#[tokio::test]
async fn a_persons_events_page_newest_first_with_ties_broken_by_arrival() {
    let t = with_items().await;
    let rows = (0..5).map(|i| event(&format!("e{i}"), "u1", if i % 2 == 0 { "a" } else { "b" }, i / 2)).collect();
    ingest(&t, rows).await;
    ingest(&t, vec![event("other", "u2", "a", 99)]).await;
    let user = user_row(&t, "u1").await;
    let mut pages = Vec::new();
    let mut request = PageRequest::<SortCursor> { first: 2, after: None };
    loop {
        let tx = t.db.begin(&t.ctx).await.expect("read");
        let page = store::list_for_user(&tx, user, &request).await.expect("page");
        pages.push(page.items.iter().map(|(_, e)| e.event_id.as_str().to_owned()).collect::<Vec<_>>());
        match page.items.last() {
            Some((cursor, _)) if page.has_next_page => request.after = Some(cursor.clone()),
            _ => break,
        }
    }
    // Minutes 2, 1, 1, 0, 0; within a minute the later arrival first.
    assert_eq!(pages, [vec!["e4", "e3"], vec!["e2", "e1"], vec!["e0"]]);
}
