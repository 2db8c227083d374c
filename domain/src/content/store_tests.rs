//! The content store's SQL on a real (in-memory SQLite) database: the queue filled by
//! the catalog's writes, claims with leases, embeddings dropped with their item, and the
//! keyword index, within one tenant.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use tenants::SystemCtx;

use super::store::{embeddings, keyword, queue};
use crate::catalog::store as catalog;
use crate::catalog::{ContentDraft, ContentKind, NewContent};
use crate::test_db::TestDb;
use crate::vocab::ContentId;

fn item(id: &str, title: &str, description: &str) -> (usize, NewContent) {
    let mut draft = ContentDraft::new(id, ContentKind::Movie, title);
    draft.description = Some(description.to_owned());
    (0, NewContent::parse(draft).expect("valid item"))
}

async fn upsert(t: &TestDb, ctx: &tenants::TenantCtx, rows: Vec<(usize, NewContent)>) {
    let tx = t.db.begin_write(ctx).await.unwrap();
    catalog::upsert(&tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn writes_queue_items_and_claims_take_them_once() {
    let t = TestDb::new().await;
    upsert(&t, &t.ctx, vec![item("a", "Robot Galaxy", "A robot crosses the galaxy."), item("b", "Garden", "Love.")])
        .await;
    let tx = t.db.begin(&t.ctx).await.unwrap();
    assert_eq!(queue::counts(&tx, 3).await.unwrap(), (2, 0));
    tx.commit().await.unwrap();

    let now = Utc::now();
    let tx = t.write().await;
    let first = queue::claim(&tx, "w1", now, now + Duration::minutes(5), 3, 10).await.unwrap();
    let second = queue::claim(&tx, "w2", now, now + Duration::minutes(5), 3, 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((first.len(), second.len()), (2, 0), "a leased row is not claimed twice");
    // An expired lease may be taken over.
    let later = now + Duration::minutes(6);
    let tx = t.write().await;
    let taken = queue::claim(&tx, "w2", later, later + Duration::minutes(5), 3, 1).await.unwrap();
    assert_eq!(taken.len(), 1);
    // w1 no longer holds the row w2 took over (the older one, a).
    let done = queue::complete(&tx, "w1", &first).await.unwrap();
    assert_eq!((done.len(), taken.len()), (1, 1));
    assert!(!done.contains(&taken[0]));
    let rows: Vec<embeddings::NewEmbedding> = first
        .iter()
        .map(|&item_row| embeddings::NewEmbedding {
            item_row,
            vector: super::vector::to_bytes(&[1.0, 0.0]),
            source_hash: "h".into(),
        })
        .collect();
    embeddings::write(&tx, "m", 2, &rows, Utc::now()).await.unwrap();
    assert_eq!(embeddings::count(&tx, "m").await.unwrap(), 2);
    tx.commit().await.unwrap();

    // A changed description queues the item again; deleting drops its embedding and row.
    upsert(&t, &t.ctx, vec![item("a", "Robot Galaxy", "A robot crosses the galaxy to find its maker.")]).await;
    let tx = t.write().await;
    assert_eq!(queue::counts(&tx, 3).await.unwrap(), (1, 0), "a is queued again, its lease reset");
    catalog::soft_delete(&tx, &[ContentId::parse("a").unwrap()]).await.unwrap();
    assert_eq!(queue::counts(&tx, 3).await.unwrap(), (0, 0));
    assert_eq!(embeddings::count(&tx, "m").await.unwrap(), 1);
    tx.commit().await.unwrap();

    // Items without an embedding by a new model are queued at start.
    let sys = t.db.begin_system_write(&SystemCtx::new("test")).await.unwrap();
    let queued = queue::enqueue_missing(&sys, "m2", Utc::now()).await.unwrap();
    sys.commit().await.unwrap();
    assert_eq!(queued, 1, "b, the only live item, has no embedding by the new model");
}

#[tokio::test]
async fn keyword_search_is_stemmed_highlighted_and_per_tenant() {
    let t = TestDb::new().await;
    let other = TestDb::add_tenant(&t.db, "other").await;
    upsert(
        &t,
        &t.ctx,
        vec![item("a", "Robot Galaxy", "Robots cross the galaxy."), item("b", "Garden", "Love in bloom.")],
    )
    .await;
    upsert(&t, &other, vec![item("x", "Robot Planet", "Another robot.")]).await;
    let tx = t.db.begin(&t.ctx).await.unwrap();
    let hits = keyword::search(&tx, &["robot".into()], 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(hits.len(), 1, "one tenant's items only");
    assert!(hits[0].title.contains('\u{E000}') && hits[0].description.contains('\u{E000}'));
    assert!(hits[0].score > 0.0);
    let tx = t.db.begin(&t.ctx).await.unwrap();
    assert!(keyword::search(&tx, &["nothing".into()], 10).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}
