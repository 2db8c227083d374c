//! Reading the log on a real (in-memory SQLite) database: filters combine, pages follow
//! the chain's order, and another tenant's events never show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use tenants::page::PageRequest;

use super::{AuditConfig, AuditEvent, AuditFilter, Auditor, page_of_events};
use crate::test_db::TestDb;

fn auditor() -> Auditor {
    Auditor::new(AuditConfig {
        pseudonym_secret: vec![7; 32],
        checkpoint_signing_key: vec![9; 32],
        checkpoint_every: 0,
        failed_login_threshold: 5,
        failed_login_window: std::time::Duration::from_secs(60),
        read_coalesce_window: std::time::Duration::ZERO,
        archive_dir: std::env::temp_dir(),
    })
    .expect("auditor")
}

#[tokio::test]
async fn filters_combine_and_pages_follow_the_chain() {
    let t = TestDb::new().await;
    let audit = auditor();
    let tx = t.write().await;
    for action in ["a.one", "b.two", "a.one", "a.one", "b.two"] {
        audit.record(&tx, AuditEvent::new(action)).await.expect("record");
    }
    tx.commit().await.expect("commit");
    let other = TestDb::add_tenant(&t.db, "other-tenant").await;
    let tx = t.db.begin_write(&other).await.expect("write");
    audit.record(&tx, AuditEvent::new("a.one")).await.expect("record");
    tx.commit().await.expect("commit");

    let read = |filter: AuditFilter, first: u64, after: Option<i64>| {
        let (db, ctx) = (t.db.clone(), t.ctx.clone());
        async move {
            let tx = db.begin(&ctx).await.expect("read");
            let page = page_of_events(&tx, &filter, PageRequest { first, after }).await.expect("page");
            (page.items.iter().map(|(seq, e)| (*seq, e.action.clone())).collect::<Vec<_>>(), page.has_next_page)
        }
    };
    let ones = AuditFilter { action: Some("a.one".into()), ..Default::default() };
    let (first, more) = read(ones.clone(), 2, None).await;
    assert_eq!((first.iter().map(|e| e.0).collect::<Vec<_>>(), more), (vec![1, 3], true));
    let (rest, more) = read(ones, 2, Some(3)).await;
    assert_eq!((rest, more), (vec![(4, "a.one".to_owned())], false), "the other tenant's event is not listed");

    let operator = AuditFilter { principal: Some("operator".into()), ..Default::default() };
    assert_eq!(read(operator, 10, None).await.0.len(), 5);
    let nobody = AuditFilter { principal: Some("member:nobody".into()), ..Default::default() };
    assert!(read(nobody, 10, None).await.0.is_empty());
    let past = AuditFilter { to: Some(Utc::now() - Duration::hours(1)), ..Default::default() };
    assert!(read(past, 10, None).await.0.is_empty());
    let recent =
        AuditFilter { from: Some(Utc::now() - Duration::hours(1)), action: Some("b.two".into()), ..Default::default() };
    assert_eq!(read(recent, 10, None).await.0, [(2, "b.two".to_owned()), (5, "b.two".to_owned())]);
}
