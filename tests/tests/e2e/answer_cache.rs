//! Kept answers (`models.answer_cache`, on in the test servers as by default): a repeated
//! request gets the very answer scoring would give, and every write that changes the
//! answer (the person's events, their consent, the event weights, a deletion, a
//! deployment) shows in the very next one.

use serde_json::{Value, json};

use crate::helpers::{Configure, METRICS_TOKEN, TestServer, TestTenant, two_clusters};
use crate::{on_both_backends, on_dedicated_servers};

/// A tenant of two clusters with item-kNN deployed, and a0's first answer.
async fn knn_deployed_and_a0_answered(server: &'static TestServer) -> (TestTenant, Value) {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;
    let knn = server.train(key, json!({ "algorithm": "ITEM_KNN", "parameters": { "neighbours": 10 } })).await;
    server.deploy(key, &knn.model, true).await;
    let first = server.recommend(key, "a0", Value::Null).await;
    (t, first)
}

/// a0 plays sixteen Romance titles (c20..c35); their next answer.
async fn a0_turns_to_romance(server: &'static TestServer, key: &str) -> Value {
    let events: Vec<Value> = (20..36)
        .map(|i| json!({ "eventId": format!("a0-romance-{i}"), "userId": "a0", "contentId": format!("c{i}"), "type": "PLAY" }))
        .collect();
    server.record(key, json!(events)).await;
    server.recommend(key, "a0", Value::Null).await
}

fn ranked(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["contentId"].as_str().unwrap().to_owned(), i["score"].to_string()))
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    ranked(list).into_iter().map(|(id, _)| id).collect()
}

async fn answer_hits(server: &TestServer) -> f64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", server.base_url))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = "marquee_cache_lookups_total{cache=\"answers\",outcome=\"hit\"} ";
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok()).unwrap_or(0.0)
}

on_both_backends!(
    kept_answers_are_the_scored_ones_and_every_write_that_changes_them_shows,
    |server: &'static TestServer| async move {
        let (t, first) = knn_deployed_and_a0_answered(server).await;
        let key = t.api_key.as_str();
        let hits = answer_hits(server).await;
        let again = server.recommend(key, "a0", Value::Null).await;
        assert_eq!(again, first);
        assert!(answer_hits(server).await > hits, "the repeated request was answered from the kept answer");
        // A request at an explicit time is never kept: scoring gives the same list.
        let scored = server.recommend(key, "a0", json!({ "availableAt": chrono::Utc::now().to_rfc3339() })).await;
        assert_eq!(ranked(&scored), ranked(&first));

        // The person's events: a0 turns to Romance.
        let romance = a0_turns_to_romance(server, key).await;
        assert_ne!(ids(&romance), ids(&first), "{romance}");
        assert!(ids(&romance).iter().any(|id| id.trim_start_matches('c').parse::<u32>().unwrap() >= 20), "{romance}");

        // The event weights: plays no longer count, so a0 has no history the model can use;
        // then they count again, as much as before.
        let settings = server.ok(key, "{ tenantSettings { eventWeights { type weight } } }", json!({})).await;
        let play = settings["tenantSettings"]["eventWeights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["type"] == "PLAY")
            .map(|w| w["weight"].as_f64().unwrap())
            .unwrap();
        let weights = |w: f64| {
            format!(
                "mutation {{ updateTenantSettings(input: {{ eventWeights: [{{ type: PLAY, weight: {w} }}] }}) {{ __typename }} }}"
            )
        };
        server.ok(key, &weights(0.0), json!({})).await;
        assert_eq!(server.recommend(key, "a0", Value::Null).await["strategy"], "POPULAR_FALLBACK");
        server.ok(key, &weights(play * 2.0), json!({})).await;
        let doubled = server.recommend(key, "a0", Value::Null).await;
        assert_eq!(ids(&doubled), ids(&romance));
        assert_ne!(ranked(&doubled), ranked(&romance), "item-kNN scores grow with the weights");
        server.ok(key, &weights(play), json!({})).await;
        assert_eq!(ranked(&server.recommend(key, "a0", Value::Null).await), ranked(&romance));

        // Consent withdrawn, then given again.
        let consent = |p: bool| {
            format!("mutation {{ setConsent(userId: \"a0\", consent: {{ personalization: {p} }}) {{ __typename }} }}")
        };
        server.ok(key, &consent(false), json!({})).await;
        let withdrawn = server.recommend(key, "a0", Value::Null).await;
        assert_eq!(withdrawn["strategy"], "POPULAR_FALLBACK", "{withdrawn}");
        server.ok(key, &consent(true), json!({})).await;
        let back = server.recommend(key, "a0", Value::Null).await;
        assert_eq!(ranked(&back), ranked(&romance));

        // A deleted item leaves the very next answer.
        let top = ids(&back)[0].clone();
        server
            .ok(key, "mutation($i: [String!]!) { deleteContents(ids: $i) { deleted } }", json!({ "i": [top.clone()] }))
            .await;
        let after_delete = server.recommend(key, "a0", Value::Null).await;
        assert!(!ids(&after_delete).contains(&top), "{after_delete}");

        // Another deployment answers at once.
        let popular = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await;
        server.deploy(key, &popular.model, true).await;
        assert_eq!(server.recommend(key, "a0", Value::Null).await["modelId"], popular.model.as_str());
    }
);

fn people_refreshed_every_second() -> Configure {
    Box::new(|settings| settings.models.person_cache_ttl_secs = 1)
}

on_dedicated_servers!(
    a_refresh_that_finds_the_same_person_keeps_their_answers_and_a_write_still_shows,
    people_refreshed_every_second(),
    |server: &'static TestServer| async move {
        let (t, first) = knn_deployed_and_a0_answered(server).await;
        let key = t.api_key.as_str();

        // Past the person's time to live their entry is read again (behind the request
        // that finds it stale) and found unchanged: the kept answer still serves, after
        // the refresh has landed too.
        tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
        let hits = answer_hits(server).await;
        assert_eq!(server.recommend(key, "a0", Value::Null).await, first);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(server.recommend(key, "a0", Value::Null).await, first);
        assert!(answer_hits(server).await >= hits + 2.0, "the answer kept before the refresh served after it");

        // A change to the person still shows at once, refreshed entry or not.
        let romance = a0_turns_to_romance(server, key).await;
        assert_ne!(ids(&romance), ids(&first), "{romance}");
    }
);

fn catalog_checked_every_second() -> Configure {
    Box::new(|settings| settings.models.catalog_ttl_secs = 1)
}

/// Asks for a0's answer until `shows` says it reflects a catalog change (the view is read
/// again behind the requests); that answer, and whether it was served from a kept one.
async fn a0_once_the_view_has_it(server: &TestServer, key: &str, shows: impl Fn(&Value) -> bool) -> (Value, bool) {
    for _ in 0..100 {
        let hits = answer_hits(server).await;
        let answer = server.recommend(key, "a0", Value::Null).await;
        if shows(&answer) {
            return (answer.clone(), answer_hits(server).await > hits);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the catalog change never reached a0's answer");
}

/// Item `i` of `two_clusters` as upserted, with `changes` applied.
fn cluster_item(i: usize, changes: Value) -> Value {
    let mut item = crate::helpers::two_clusters().contents[i].clone();
    item.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    item
}

on_dedicated_servers!(
    a_kept_answer_outlives_a_catalog_change_only_when_it_cannot_change_it,
    catalog_checked_every_second(),
    |server: &'static TestServer| async move {
        let (t, first) = knn_deployed_and_a0_answered(server).await;
        let key = t.api_key.as_str();
        let number = |id: &str| id.trim_start_matches('c').parse::<usize>().unwrap();
        let listed = ids(&first);
        let provider_of = |answer: &Value, id: &str| {
            answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["contentId"] == id)
                .map(|i| i["content"]["provider"].clone())
        };

        // New items the model does not know, and a new provider for the first listed item:
        // every item listed before is still admitted, nothing added can enter. The answer is
        // still the kept one, hydrated from the new view.
        let top = listed[0].clone();
        let mut batch: Vec<Value> = (0..5)
            .map(|n| json!({ "id": format!("n{n}"), "kind": "MOVIE", "title": format!("Newcomer {n}"), "genres": ["Action"] }))
            .collect();
        batch.push(cluster_item(number(&top), json!({ "provider": "Studio Z" })));
        let r = server.upsert_contents(key, json!(batch)).await;
        assert_eq!(r["errors"], json!([]), "{r}");
        let (renamed, kept) =
            a0_once_the_view_has_it(server, key, |a| provider_of(a, &top) == Some(json!("Studio Z"))).await;
        assert_eq!(ranked(&renamed), ranked(&first));
        assert!(kept, "an answer no added item could enter was kept across the catalog change");

        // An item the model knows comes back after its deletion: it re-enters at once the
        // view has it, so the answer kept without it is not served.
        let second = listed[1].clone();
        server
            .ok(
                key,
                "mutation($i: [String!]!) { deleteContents(ids: $i) { deleted } }",
                json!({ "i": [second.clone()] }),
            )
            .await;
        let without = server.recommend(key, "a0", Value::Null).await;
        assert!(!ids(&without).contains(&second), "{without}");
        let r = server.upsert_contents(key, json!([cluster_item(number(&second), json!({}))])).await;
        assert_eq!(r["errors"], json!([]), "{r}");
        let (back, kept) = a0_once_the_view_has_it(server, key, |a| ids(a).contains(&second)).await;
        assert_eq!(ids(&back), listed, "{back}");
        assert!(!kept, "scored afresh");

        // An availability window closes on a listed item: it leaves the answer.
        let closed =
            cluster_item(number(&top), json!({ "provider": "Studio Z", "availableUntil": "2020-01-01T00:00:00Z" }));
        let r = server.upsert_contents(key, json!([closed])).await;
        assert_eq!(r["errors"], json!([]), "{r}");
        let (after, _) = a0_once_the_view_has_it(server, key, |a| !ids(a).contains(&top)).await;
        assert_eq!(ids(&after)[..listed.len() - 1], listed[1..], "{after}");
    }
);
