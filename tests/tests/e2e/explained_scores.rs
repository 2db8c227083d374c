//! An explanation explains the score that was served: for every built-in family, the
//! `score` of `explainRecommendation` (and of the explanations `recommendations` attaches)
//! is the score `recommendations` served the item with, and the contributions add up to
//! it, for the top items of many people: people the model was trained on, a person with
//! more events than serving reads, and people whose history changed after training (a
//! back-dated event, new event weights).

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Dataset, TestServer};
use crate::on_both_backends;

/// Every built-in family, as `trainModel` input: a new family is one more line.
const FAMILIES: &[&str] = &[
    r#"{ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 2.0, "iterations": 10 } }"#,
    r#"{ "algorithm": "ALS" }"#,
    r#"{ "algorithm": "EASE", "parameters": { "lambda": 20.0, "omega": 0.5 } }"#,
    r#"{ "algorithm": "EASE" }"#,
    r#"{ "algorithm": "ITEM_KNN", "parameters": { "neighbours": 20 } }"#,
    r#"{ "algorithm": "MOST_POPULAR" }"#,
];

/// The bound of the issue: served and explained scores agree to this relative error.
const TOLERANCE: f64 = 1e-4;
const PEOPLE: usize = 36;
/// More events than serving reads of a person (`HISTORY_LIMIT`, 2,000).
const HEAVY_EVENTS: usize = 2_100;

const LIST: &str = "query($u: String!) { recommendations(userId: $u, first: 10, explain: true) { strategy items { contentId rank score explanation { strategy score contributionsTotal rank } } } }";
const EXPLAIN: &str = "query($u: String!, $c: String!) { explainRecommendation(userId: $u, contentId: $c) { strategy score contributionsTotal rank contributions { contribution } } }";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1e-6)
}

/// Three genres of 20 items; person p{u} mostly watches genre u % 3 through every
/// event type the default weights count, often several events on one item (so merged
/// weights are not 1); the heavy person's oldest events are on items their newest 2,000
/// leave out.
fn tastes() -> Dataset {
    const TYPES: [&str; 6] = ["VIEW", "PLAY", "COMPLETE", "LIKE", "ADD_TO_LIST", "PURCHASE"];
    let genres = ["Drama", "Comedy", "Horror"];
    let contents = (0..60)
        .map(|i| json!({ "id": format!("m{i}"), "kind": "MOVIE", "title": format!("Film {i}"), "genres": [genres[i / 20]] }))
        .collect();
    let mut state = 0x2545_f491_u64;
    let mut next = |bound: usize| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % bound
    };
    let mut events = Vec::new();
    let at =
        |day: usize, second: usize| format!("2025-{:02}-{:02}T00:00:{:02}Z", 1 + day / 28, 1 + day % 28, second % 60);
    for u in 0..PEOPLE {
        for j in 0..14 {
            let item = if next(10) < 8 { (u % 3) * 20 + next(20) } else { next(60) };
            let kind = TYPES[next(TYPES.len())];
            events.push(json!({ "eventId": format!("e-{u}-{j}"), "userId": format!("p{u}"), "contentId": format!("m{item}"), "type": kind, "occurredAt": at(j, u) }));
        }
    }
    for j in 0..HEAVY_EVENTS {
        // The oldest 200 on m40..m49, the rest on m10..m29, in time order.
        let item = if j < 200 { 40 + j % 10 } else { 10 + j % 20 };
        let day = 100 + j / 60;
        events.push(json!({ "eventId": format!("h-{j}"), "userId": "heavy", "contentId": format!("m{item}"), "type": TYPES[j % 4], "occurredAt": at(day, j) }));
    }
    Dataset { contents, users: Vec::new(), events }
}

/// Checks a person's top 10: each served score against the explanation attached to the
/// list and against `explainRecommendation`. Returns the list's strategy.
async fn check_person(server: &TestServer, key: &str, family: &str, user: String) -> String {
    let list = server.ok(key, LIST, json!({ "u": user })).await["recommendations"].clone();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{family} {user}: {list}");
    for item in items {
        let served = item["score"].as_f64().unwrap();
        let id = item["contentId"].as_str().unwrap();
        let explained = server.ok(key, EXPLAIN, json!({ "u": user, "c": id })).await["explainRecommendation"].clone();
        for e in [&item["explanation"], &explained] {
            let what = format!("{family} {user} {id}: served {served}, explained {e}");
            assert_eq!(e["strategy"], list["strategy"], "{what}");
            assert_eq!(e["rank"], item["rank"], "{what}");
            assert!(close(e["score"].as_f64().unwrap(), served), "{what}");
            let total = e["contributionsTotal"].as_f64().unwrap();
            if list["strategy"] == "POPULAR_FALLBACK" {
                // Popularity is not made of the person's history.
                assert_eq!(total, 0.0, "{what}");
            } else {
                assert!(close(total, served), "{what}");
            }
        }
        // The API lists the largest few; a score made of the history has some.
        let listed = explained["contributions"].as_array().unwrap().len();
        assert!(listed <= 5 && (listed > 0 || list["strategy"] == "POPULAR_FALLBACK" || served == 0.0), "{explained}");
    }
    list["strategy"].as_str().unwrap().to_owned()
}

/// Checks these people a few at a time; returns their strategies.
async fn check_people(server: &TestServer, key: &str, family: &str, people: Vec<String>) -> Vec<String> {
    let mut strategies = Vec::new();
    for chunk in people.chunks(6) {
        let checks = chunk.iter().map(|u| check_person(server, key, family, u.clone()));
        strategies.extend(join_all(checks).await);
    }
    strategies
}

on_both_backends!(every_family_explains_the_score_it_serves, |server: &'static TestServer| async move {
    let data = tastes();
    for family in FAMILIES {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.seed(key, &data).await;
        let input: Value = serde_json::from_str(family).unwrap();
        let model = server.train(key, input).await.model;
        server.deploy(key, &model, true).await;

        let mut people: Vec<String> = (0..PEOPLE).map(|u| format!("p{u}")).collect();
        people.push("heavy".into());
        let strategies = check_people(server, key, family, people).await;
        if family.contains("ALS") {
            assert!(strategies[..PEOPLE].iter().all(|s| s == "PERSONALIZED"), "{family}: {strategies:?}");
            // Serving reads the newest 2,000 events: a vector solved from those is served.
            assert_eq!(strategies[PEOPLE], "FOLD_IN", "{family}");
        }

        // A back-dated event (older than the model, recorded after it) and new weights
        // change the history serving reads: what is served is solved from it again.
        let late = json!([{ "eventId": "late-1", "userId": "p1", "contentId": "m59", "type": "LIKE", "occurredAt": "2025-01-02T00:00:00Z" }]);
        assert_eq!(server.record(key, late).await["errors"], json!([]));
        let p1 = check_people(server, key, family, vec!["p1".into()]).await;
        let weights =
            "mutation { updateTenantSettings(input: { eventWeights: [{ type: VIEW, weight: 1.5 }] }) { __typename } }";
        server.ok(key, weights, json!({})).await;
        let reweighted = check_people(server, key, family, (0..8).map(|u| format!("p{u}")).collect()).await;
        if family.contains("ALS") {
            assert_eq!(p1, ["FOLD_IN"], "{family}");
            assert!(reweighted.iter().any(|s| s == "FOLD_IN"), "{family}: {reweighted:?}");
        }
    }
});
