//! Items the model has never seen reach the people whose taste they match (the blend,
//! docs/content.md), on the tiny text model: after training on two clusters of taste, a
//! new action title ranks above every romance item for an action fan, the new romance
//! title below most of their action items, and the other way round for a romance fan; without new items the model's
//! own list is served unchanged.

use serde_json::{Value, json};

use super::embedded;
use crate::helpers::{TestServer, two_clusters};
use crate::on_tiny_model_servers;

const LIST: &str = "query($u: String!) { recommendations(userId: $u, first: 30) { items { contentId score } } }";

async fn ranked(server: &TestServer, key: &str, user: &str) -> Vec<String> {
    let data = server.ok(key, LIST, json!({ "u": user })).await;
    data["recommendations"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contentId"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether an item of the two-cluster catalog (`c0`..`c19` action, `c20`..`c39` romance)
/// or a new one is an action title.
fn action(id: &str) -> bool {
    id == "new-action" || id.strip_prefix('c').and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n < 20)
}

fn position(list: &[String], id: &str) -> Option<usize> {
    list.iter().position(|x| x == id)
}

on_tiny_model_servers!(new_items_reach_the_people_whose_taste_they_match, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;
    let knn = server.train(key, json!({ "algorithm": "ITEM_KNN", "parameters": { "neighbours": 10 } })).await;
    server.deploy(key, &knn.model, true).await;
    embedded(server, key).await;
    let before = ranked(server, key, "a0").await;

    let new_items: Value = json!([
        { "id": "new-action", "kind": "MOVIE", "title": "Explosions 40", "genres": ["Action"], "provider": "Studio A" },
        { "id": "new-romance", "kind": "SERIES", "title": "Hearts 41", "genres": ["Romance"], "provider": "Studio B" },
    ]);
    server.upsert_contents(key, new_items).await;
    embedded(server, key).await;

    // Serving never waits for the semantic index to reload after a batch: the new items
    // show within moments, not necessarily in the very next answer.
    let started = std::time::Instant::now();
    while !ranked(server, key, "a0").await.iter().any(|id| id == "new-action") {
        assert!(started.elapsed() < std::time::Duration::from_secs(40), "the new items never reached a0");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for (user, fan_of_action) in [("a0", true), ("a7", true), ("r0", false), ("r7", false)] {
        let list = ranked(server, key, user).await;
        let (mine, other) = if fan_of_action { ("new-action", "new-romance") } else { ("new-romance", "new-action") };
        let at = position(&list, mine).unwrap_or_else(|| panic!("{mine} is not in {user}'s list: {list:?}"));
        let last_of_taste = list.iter().rposition(|id| action(id) == fan_of_action && id != mine);
        let first_other = list.iter().position(|id| action(id) != fan_of_action);
        assert!(
            first_other.is_none_or(|o| at < o) && last_of_taste.is_some(),
            "{user}: {mine} should rank among their taste's items, above the other taste's: {list:?}"
        );
        // The other taste's new title stays below most of this person's taste (items the
        // model scores as low as the other taste's may share its place).
        if let Some(o) = position(&list, other) {
            let above = list[..o].iter().filter(|id| action(id) == fan_of_action && *id != mine).count();
            let of_taste = list.iter().filter(|id| action(id) == fan_of_action && *id != mine).count();
            assert!(o > at && 2 * above >= of_taste, "{user}: {other} ranks among their taste's best: {list:?}");
        }
    }

    // Without new items admitted the blend steps aside: deleting them gives back the
    // model's own list.
    server.ok(key, "mutation { deleteContents(ids: [\"new-action\", \"new-romance\"]) { deleted } }", json!({})).await;
    embedded(server, key).await;
    assert_eq!(ranked(server, key, "a0").await, before);
});
