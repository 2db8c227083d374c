//! `suggestTags` with the real text model on the labelled catalog: a genre removed from
//! an item comes back among its top 5 suggestions in most cases. Every item whose first
//! genre at least three other items carry loses it, a fifth of them at a time (so their
//! neighbours keep their labels), is embedded again without it, and is asked for
//! suggestions; then it gets its genre back.

use serde_json::{Value, json};

use super::{embedded, labelled, labelled_catalog, real_server};
use crate::helpers::Backend;

const SUGGEST: &str = "query($id: ID!) { suggestTags(contentId: $id, first: 5) { label confidence } }";

async fn removed_tags_come_back(backend: Backend) {
    let Some(server) = real_server(backend) else { return };
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    let catalog = labelled_catalog();
    server.upsert_contents(key, catalog.clone()).await;
    embedded(server, key).await;

    let carriers = |genre: &str| labelled::CATALOG.iter().filter(|c| c.2.contains(&genre)).count();
    let eligible: Vec<(usize, &str)> = labelled::CATALOG
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.2.first().filter(|g| carriers(g) >= 4).map(|g| (i, *g)))
        .collect();
    assert!(eligible.len() >= 20, "{} items to test", eligible.len());
    let (mut back, mut asked) = (0, 0);
    for round in 0..5 {
        let items: Vec<(usize, &str)> = eligible.iter().copied().skip(round).step_by(5).collect();
        let stripped: Vec<Value> = items
            .iter()
            .map(|&(i, genre)| {
                let mut row = catalog[i].clone();
                let kept: Vec<&str> = labelled::CATALOG[i].2.iter().copied().filter(|g| *g != genre).collect();
                row["genres"] = json!(kept);
                row
            })
            .collect();
        server.upsert_contents(key, json!(stripped)).await;
        embedded(server, key).await;
        for &(i, genre) in &items {
            let id = labelled::CATALOG[i].0;
            let data = server.ok(key, SUGGEST, json!({ "id": id })).await;
            let labels: Vec<&str> =
                data["suggestTags"].as_array().unwrap().iter().filter_map(|s| s["label"].as_str()).collect();
            asked += 1;
            if labels.contains(&genre) {
                back += 1;
            } else {
                println!("{id} lost {genre}; suggested {labels:?}");
            }
        }
        let restored: Vec<Value> = items.iter().map(|&(i, _)| catalog[i].clone()).collect();
        server.upsert_contents(key, json!(restored)).await;
        embedded(server, key).await;
    }
    let share = f64::from(back) / f64::from(asked);
    println!("{backend:?}: a removed genre came back among the top 5 for {back} of {asked} items ({share:.2})");
    assert!(share >= 0.6, "removed genres came back for only {back} of {asked} items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_genre_comes_back_among_the_top_5_sqlite() {
    removed_tags_come_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_genre_comes_back_among_the_top_5_postgres() {
    removed_tags_come_back(Backend::Postgres).await;
}
