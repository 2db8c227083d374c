//! `marquee import movielens` through its domain function, run in the server's runtime,
//! on both backends: exact counts, idempotency, damaged lines, training snapshot.

use std::path::PathBuf;

use domain::access;
use domain::import::{ImportReport, Silent, movielens};
use domain::tenants::ids::TenantSlug;
use domain::tenants::{RequestId, TenantCtx};
use serde_json::json;

use crate::helpers::TestServer;
use crate::on_both_backends;

/// `../shared/datasets/ml-100k` beside the repository; its licence keeps it out of the repo.
pub(crate) fn dataset() -> Option<PathBuf> {
    let dir = crate::helpers::manifest_dir().join("../../shared/datasets/ml-100k");
    if dir.join("u.data").is_file() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "MovieLens 100K is required under CI at {}", dir.display());
    eprintln!("SKIPPED: MovieLens 100K not found at {} (tests that need it do nothing)", dir.display());
    None
}

async fn operator_ctx(services: &domain::Services, slug: &str) -> TenantCtx {
    let slug = TenantSlug::parse(slug).unwrap();
    let tenant = access::find_tenant_by_slug(services, &slug).await.unwrap().unwrap();
    TenantCtx::operator(tenant.id, RequestId::new())
}

pub(crate) async fn import(server: &TestServer, slug: &str, dir: PathBuf) -> ImportReport {
    let slug = slug.to_owned();
    server
        .operator(move |services| async move {
            let ctx = operator_ctx(&services, &slug).await;
            movielens::import(&ctx, &services, &dir, &Silent).await.map_err(|e| e.to_string())
        })
        .await
        .unwrap()
}

on_both_backends!(movielens_100k_imports_exactly_and_idempotently, |server: &'static TestServer| async move {
    let Some(dir) = dataset() else { return };
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();

    let report = import(server, &t.slug, dir.clone()).await;
    assert!(report.damaged.is_empty(), "{:?}", report.damaged);
    assert_eq!((report.items.created, report.users.created, report.interactions.accepted), (1682, 943, 100_000));
    let counts = json!({ "items": 1682, "users": 943, "interactions": 100_000 });
    let d = server.ok(key, "{ statistics { counts { items users interactions } } }", json!({})).await;
    assert_eq!(d["statistics"]["counts"], counts);

    // A second import changes nothing.
    let d0 = server.ok(key, "{ content(id: \"543\") { updatedAt } endUser(id: \"1\") { updatedAt } }", json!({})).await;
    let again = import(server, &t.slug, dir).await;
    assert!(!again.changed_anything(), "{again:?}");
    assert_eq!((again.items.unchanged, again.users.unchanged, again.interactions.duplicates), (1682, 943, 100_000));
    let d = server.ok(key, "{ statistics { counts { items users interactions } } content(id: \"543\") { updatedAt } endUser(id: \"1\") { updatedAt } }", json!({})).await;
    assert_eq!(d["statistics"]["counts"], counts);
    assert_eq!((&d["content"], &d["endUser"]), (&d0["content"], &d0["endUser"]), "no row was rewritten");

    // What was imported reads back as MovieLens says.
    let d = server.ok(
        key,
        "{ a: content(id: \"1\") { title kind genres releaseDate } b: content(id: \"543\") { title } endUser(id: \"1\") { ageBand gender attributes interactions(first: 1) { edges { node { eventId type value } } } } statistics { genres { genre items } kinds { kind items } topContent(first: 1) { content { title } interactions users } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        d["a"],
        json!({ "title": "Toy Story (1995)", "kind": "MOVIE", "genres": ["Animation", "Children's", "Comedy"], "releaseDate": "1995-01-01" })
    );
    assert_eq!(d["b"]["title"], "Misérables, Les (1995)", "u.item is Latin-1");
    assert_eq!(d["endUser"]["ageBand"], "AGE_18_24");
    assert_eq!(d["endUser"]["gender"], "male");
    assert_eq!(d["endUser"]["attributes"], json!({ "occupation": "technician" }));
    let ev = &d["endUser"]["interactions"]["edges"][0]["node"];
    assert!(ev["eventId"].as_str().unwrap().starts_with("ml-1-"), "{ev}");
    assert_eq!(ev["type"], "RATING");
    assert_eq!(d["statistics"]["genres"][0], json!({ "genre": "Drama", "items": 725 }));
    assert_eq!(d["statistics"]["kinds"], json!([{ "kind": "MOVIE", "items": 1682 }]));
    assert_eq!(
        d["statistics"]["topContent"][0],
        json!({ "content": { "title": "Star Wars (1977)" }, "interactions": 583, "users": 583 })
    );

    // The training snapshot holds everything, weighted by the tenant's weights.
    let slug = t.slug.clone();
    let (users, items, events, weight) = server
        .operator(move |services| async move {
            let ctx = operator_ctx(&services, &slug).await;
            let s = domain::interactions::training_snapshot(&ctx, &services).await.unwrap();
            let n_w = s.events.iter().filter(|e| e.weight != 1.0).count();
            (s.users.len(), s.items.len(), s.triplets().len(), n_w)
        })
        .await;
    assert_eq!((users, items, events, weight), (943, 1682, 100_000, 0));
});

on_both_backends!(damaged_movielens_lines_are_reported_and_skipped, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let dir = std::env::temp_dir().join(format!("ml-damaged-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let flags = "|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0";
    let mut item =
        format!("1|Caf\u{e9} (1995)|01-Jan-1995||http://x{flags}\n").chars().map(|c| c as u8).collect::<Vec<u8>>();
    item.extend_from_slice(
        format!("2|Broken|32-Jan-1995||{flags}\n3|Short line\n\n4|Fine (1996)|||{flags}\n").as_bytes(),
    );
    std::fs::write(dir.join("u.item"), item).unwrap();
    std::fs::write(dir.join("u.user"), "1|24|M|technician|85711\n2|old|F|writer|1\n3|30|F|artist|2\n").unwrap();
    std::fs::write(
        dir.join("u.data"),
        "1\t1\t5\t881250949\n1\t2\t3\t881250950\n3\t4\t9\t881250951\nx\t1\t1\t1\n3\t4\t2\t881250952\n3\t4\t2\t881250952\n",
    )
    .unwrap();
    let report = import(server, &t.slug, dir.clone()).await;
    let damaged: Vec<String> = report.damaged.iter().map(|d| format!("{}:{}", d.file, d.line)).collect();
    assert_eq!(
        damaged,
        ["u.data:2", "u.data:3", "u.data:4", "u.item:2", "u.item:3", "u.user:2"],
        "{:?}",
        report.damaged
    );
    assert!(
        report.damaged[0].reason.contains("content"),
        "an event on an item that was skipped: {:?}",
        report.damaged[0]
    );
    assert!(report.damaged[3].reason.contains("date"), "{:?}", report.damaged[3]);
    assert_eq!((report.items.created, report.users.created), (2, 2));
    assert_eq!((report.interactions.accepted, report.interactions.duplicates), (2, 1), "{report:?}");
    let d = server
        .ok(
            &t.api_key,
            "{ content(id: \"1\") { title genres } statistics { counts { items users interactions } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["content"], json!({ "title": "Café (1995)", "genres": ["Drama"] }));
    assert_eq!(d["statistics"]["counts"], json!({ "items": 2, "users": 2, "interactions": 2 }));
    let again = import(server, &t.slug, dir.clone()).await;
    assert!(!again.changed_anything(), "{again:?}");
    std::fs::remove_dir_all(dir).ok();
});
