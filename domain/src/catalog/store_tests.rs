//! The catalog's query code on a real (in-memory SQLite) database: filters, text search
//! with LIKE's wildcards taken literally, keyset pagination in every sort order, and
//! soft deletion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use tenants::page::{PageRequest, SortCursor};

use super::store;
use super::types::{ContentDraft, ContentFilter, ContentKind, ContentSort, ContentSortField, NewContent};
use crate::test_db::TestDb;
use crate::vocab::ContentId;

fn item(id: &str, title: &str, kind: ContentKind) -> NewContent {
    let draft = ContentDraft::new(id, kind, title);
    NewContent::parse(draft).expect("valid item")
}

async fn catalog() -> TestDb {
    let t = TestDb::new().await;
    let year = |y| NaiveDate::from_ymd_opt(y, 1, 1);
    let rows = vec![
        NewContent { genres: vec!["Drama".into()], release_date: year(1999), ..item("m1", "Heat", ContentKind::Movie) },
        NewContent {
            genres: vec!["Drama".into(), "Crime".into()],
            tags: vec!["heist".into()],
            provider: Some("Studio A".into()),
            release_date: year(1995),
            ..item("m2", "Casino", ContentKind::Movie)
        },
        NewContent {
            description: Some("A 100% true story".into()),
            provider: Some("Studio A".into()),
            ..item("s1", "Alpha_Series", ContentKind::Series)
        },
        NewContent {
            available_from: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single(),
            release_date: year(2030),
            ..item("g1", "Beta", ContentKind::Game)
        },
        item("m3", "Alphaville", ContentKind::Movie),
    ];
    let rows: Vec<(usize, NewContent)> = rows.into_iter().enumerate().collect();
    let tx = t.write().await;
    let (counts, errors) = store::upsert(&tx, &rows).await.expect("upsert");
    tx.commit().await.expect("commit");
    assert_eq!((counts.created, errors.len()), (5, 0));
    t
}

async fn ids(t: &TestDb, filter: ContentFilter, sort: ContentSort, first: u64) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut request = PageRequest::<SortCursor> { first, after: None };
    loop {
        let tx = t.db.begin(&t.ctx).await.expect("read");
        let page = store::list(&tx, &filter, sort, &request).await.expect("list");
        tx.commit().await.expect("commit");
        pages.push(page.items.iter().map(|(_, c)| c.id.as_str().to_owned()).collect());
        match page.items.last() {
            Some((cursor, _)) if page.has_next_page => request.after = Some(cursor.clone()),
            _ => return pages,
        }
    }
}

fn filter() -> ContentFilter {
    ContentFilter::default()
}

#[tokio::test]
async fn filters_combine_and_match_exactly() {
    let t = catalog().await;
    let all = ContentSort::default();
    let by_kind = ContentFilter { kinds: vec![ContentKind::Series, ContentKind::Game], ..filter() };
    assert_eq!(ids(&t, by_kind, all, 10).await, [["s1", "g1"]]);
    let drama = ContentFilter { genre: Some("Drama".into()), ..filter() };
    assert_eq!(ids(&t, drama, all, 10).await, [["m1", "m2"]]);
    let lower_case = ContentFilter { genre: Some("drama".into()), ..filter() };
    assert_eq!(ids(&t, lower_case, all, 10).await, [Vec::<String>::new()], "genres match exactly");
    let heist_at_a = ContentFilter { tag: Some("heist".into()), provider: Some("Studio A".into()), ..filter() };
    assert_eq!(ids(&t, heist_at_a, all, 10).await, [["m2"]]);
    let now = ContentFilter { available_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single(), ..filter() };
    assert_eq!(ids(&t, now, all, 10).await, [["m1", "m2", "s1", "m3"]], "the game is not out yet");
}

#[tokio::test]
async fn text_search_takes_like_wildcards_literally() {
    let t = catalog().await;
    let all = ContentSort::default();
    let search = |text: &str| ContentFilter { text: Some(text.into()), ..filter() };
    assert_eq!(ids(&t, search("alpha"), all, 10).await, [["s1", "m3"]], "case-insensitive, title");
    assert_eq!(ids(&t, search("alpha_"), all, 10).await, [["s1"]], "`_` is a character, not any character");
    assert_eq!(ids(&t, search("100%"), all, 10).await, [["s1"]], "`%` is a character; the description counts");
    assert_eq!(ids(&t, search("%"), all, 10).await, [["s1"]]);
}

#[tokio::test]
async fn every_sort_order_pages_without_gaps_or_repeats() {
    let t = catalog().await;
    let sort = |field, descending| ContentSort { field, descending };
    let cases = [
        (sort(ContentSortField::Created, false), vec!["m1", "m2", "s1", "g1", "m3"]),
        (sort(ContentSortField::Created, true), vec!["m3", "g1", "s1", "m2", "m1"]),
        (sort(ContentSortField::Title, false), vec!["s1", "m3", "g1", "m2", "m1"]),
        (sort(ContentSortField::Title, true), vec!["m1", "m2", "g1", "m3", "s1"]),
        // Items without a date sort as the empty string: first ascending, last descending.
        (sort(ContentSortField::ReleaseDate, false), vec!["s1", "m3", "m2", "m1", "g1"]),
        (sort(ContentSortField::ReleaseDate, true), vec!["g1", "m1", "m2", "m3", "s1"]),
    ];
    for (order, expected) in cases {
        let pages = ids(&t, filter(), order, 2).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1], "{order:?}");
        assert_eq!(pages.concat(), expected, "{order:?}");
    }
}

#[tokio::test]
async fn a_cursor_of_another_order_is_refused() {
    let t = catalog().await;
    let title = ContentSort { field: ContentSortField::Title, descending: false };
    let tx = t.db.begin(&t.ctx).await.expect("read");
    let first = store::list(&tx, &filter(), title, &PageRequest { first: 1, after: None }).await.expect("list");
    let cursor = first.items[0].0.clone();
    let other = ContentSort { field: ContentSortField::ReleaseDate, descending: false };
    let refused = store::list(&tx, &filter(), other, &PageRequest { first: 1, after: Some(cursor) }).await;
    assert_eq!(refused.err().and_then(|e| e.field()).as_deref(), Some("after"));
}

#[tokio::test]
async fn deleted_items_leave_reads_and_unknown_ids_are_reported() {
    let t = catalog().await;
    let tx = t.write().await;
    let gone = [ContentId::parse("m2").expect("id"), ContentId::parse("nope").expect("id")];
    let outcome = store::soft_delete(&tx, &gone).await.expect("delete");
    assert_eq!((outcome.deleted, outcome.not_found), (1, vec![gone[1].clone()]));
    assert!(store::get(&tx, &gone[0]).await.expect("get").is_none());
    tx.commit().await.expect("commit");
    assert_eq!(ids(&t, filter(), ContentSort::default(), 10).await, [["m1", "s1", "g1", "m3"]]);
}

#[tokio::test]
async fn another_tenants_items_are_invisible() {
    let t = catalog().await;
    let other = TestDb::add_tenant(&t.db, "other-tenant").await;
    let tx = t.db.begin(&other).await.expect("read");
    let page = store::list(&tx, &filter(), ContentSort::default(), &PageRequest { first: 10, after: None })
        .await
        .expect("list");
    assert!(page.items.is_empty());
    assert!(store::get(&tx, &ContentId::parse("m1").expect("id")).await.expect("get").is_none());
}

#[tokio::test]
async fn the_mark_moves_with_every_change_of_the_catalog_and_only_then() {
    let t = catalog().await;
    let mark = || async {
        let tx = t.db.begin(&t.ctx).await.expect("read");
        let mark = store::mark(&tx).await.expect("mark");
        tx.commit().await.expect("commit");
        mark
    };
    let upsert = |rows: Vec<NewContent>| async {
        let rows: Vec<(usize, NewContent)> = rows.into_iter().enumerate().collect();
        let tx = t.write().await;
        store::upsert(&tx, &rows).await.expect("upsert");
        tx.commit().await.expect("commit");
    };
    let first = mark().await;
    assert_eq!(mark().await, first, "nothing changed");
    // Stamps are compared, so let the clock move past the last one.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    upsert(vec![item("m1", "Heat (director's cut)", ContentKind::Movie)]).await;
    let updated = mark().await;
    assert_ne!(updated, first, "an item changed");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    upsert(vec![item("m9", "New", ContentKind::Movie)]).await;
    let added = mark().await;
    assert_ne!(added, updated, "an item was added");
    let tx = t.write().await;
    store::soft_delete(&tx, &[ContentId::parse("m9").expect("id")]).await.expect("delete");
    tx.commit().await.expect("commit");
    assert_ne!(mark().await, added, "an item was deleted");

    let other = TestDb::add_tenant(&t.db, "other-tenant").await;
    let before = mark().await;
    let rows = vec![(0, item("x1", "Theirs", ContentKind::Movie))];
    let tx = t.db.begin_write(&other).await.expect("write");
    store::upsert(&tx, &rows).await.expect("upsert");
    tx.commit().await.expect("commit");
    assert_eq!(mark().await, before, "another tenant's change is not this catalog's");
}
