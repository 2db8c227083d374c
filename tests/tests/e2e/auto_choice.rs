//! Automatic choice of the algorithm (`AUTO`, the default), EASE served through ONNX
//! Runtime from the person's history, and EASE's memory budget.

use serde_json::{Value, json};

use crate::helpers::{Configure, TestServer, two_clusters};
use crate::{on_both_backends, on_dedicated_servers};

const MODEL: &str = "query($id: ID!) { model(id: $id) { algorithm status parameters metrics { ndcg } selection { \
    selectedBy validationNdcg seconds budgetSeconds budgetExhausted settingsTried \
    chosen { family factors regularization alpha iterations lambda omega neighbours } \
    families { family validationNdcg fitSeconds settingsTried seconds skipped stoppedByBudget best { family lambda omega neighbours factors } } \
    trials { validationNdcg fitSeconds setting { family lambda omega neighbours factors iterations } } } } }";

async fn model(server: &TestServer, key: &str, id: &str) -> Value {
    server.ok(key, MODEL, json!({ "id": id })).await["model"].clone()
}

on_both_backends!(auto_is_the_default_and_records_every_family, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;

    let first = server.train(key, json!({})).await.model;
    let m = model(server, key, &first).await;
    let selection = &m["selection"];
    assert_eq!(m["status"], "READY", "{m}");
    assert_ne!(m["algorithm"], "AUTO", "a trained model names the family chosen: {m}");
    assert_eq!(selection["chosen"]["family"], m["algorithm"], "{m}");
    assert_eq!(m["parameters"]["tuned"], true, "{m}");

    let families = selection["families"].as_array().unwrap();
    let names: Vec<&str> = families.iter().map(|f| f["family"].as_str().unwrap()).collect();
    assert_eq!(names, ["MOST_POPULAR", "ITEM_KNN", "EASE", "ALS"], "cheapest first: {m}");
    let chosen_score = selection["validationNdcg"].as_f64().unwrap();
    for f in families {
        assert!(f["settingsTried"].as_i64().unwrap() >= 1, "{f}");
        assert!(f["skipped"].is_null() && f["stoppedByBudget"] == false, "{f}");
        assert!(f["validationNdcg"].as_f64().unwrap() <= chosen_score, "the best family wins: {m}");
        assert!(f["fitSeconds"].as_f64().unwrap() >= 0.0);
    }
    let trials = selection["trials"].as_array().unwrap();
    assert_eq!(selection["settingsTried"].as_u64().unwrap() as usize, trials.len());
    assert_eq!(
        families.iter().map(|f| f["settingsTried"].as_u64().unwrap()).sum::<u64>() as usize,
        trials.len(),
        "{m}"
    );
    assert_eq!(selection["budgetSeconds"], 300.0, "the default budget");
    assert!(selection["selectedBy"].as_str().unwrap().contains("validation NDCG@10"));

    // The next search starts where this one ended: EASE's walk begins at its best.
    let second = server.train(key, json!({ "algorithm": "AUTO" })).await.model;
    let again = model(server, key, &second).await;
    let ease_best = families.iter().find(|f| f["family"] == "EASE").unwrap()["best"].clone();
    let first_ease_trial = again["selection"]["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["setting"]["family"] == "EASE")
        .unwrap()["setting"]
        .clone();
    assert_eq!(
        (first_ease_trial["lambda"].clone(), first_ease_trial["omega"].clone()),
        (ease_best["lambda"].clone(), ease_best["omega"].clone())
    );
    assert_eq!(again["algorithm"], m["algorithm"], "the same data, the same choice");
});

on_both_backends!(ease_serves_the_history_and_explains_every_score, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    server.seed(key, &two_clusters()).await;
    let ease =
        server.train(key, json!({ "algorithm": "EASE", "parameters": { "lambda": 5.0, "omega": 0.5 } })).await.model;
    let m = model(server, key, &ease).await;
    assert_eq!((m["algorithm"].as_str(), m["parameters"]["lambda"].as_f64()), (Some("EASE"), Some(5.0)), "{m}");
    assert!(m["selection"].is_null(), "pinned settings search nothing: {m}");
    assert!(m["metrics"]["ndcg"].as_f64().unwrap() > 0.2, "clustered data is easy: {m}");
    server.deploy(key, &ease, false).await;

    let recs = server.recommend(key, "a0", json!(null)).await;
    assert_eq!(recs["strategy"], "HISTORY_MODEL", "{recs}");
    let items = recs["items"].as_array().unwrap();
    let action = items.iter().filter(|i| i["content"]["genres"][0] == "Action").count();
    assert!(action >= 4, "a0 is in the action cluster: {recs}");
    for item in items {
        let content = item["contentId"].as_str().unwrap();
        let explained = server
            .ok(
                key,
                "query($u: String!, $c: String!) { explainRecommendation(userId: $u, contentId: $c) { strategy score contributionsTotal } }",
                json!({ "u": "a0", "c": content }),
            )
            .await["explainRecommendation"]
            .clone();
        let served = item["score"].as_f64().unwrap();
        let score = explained["score"].as_f64().unwrap();
        let total = explained["contributionsTotal"].as_f64().unwrap();
        assert_eq!(explained["strategy"], "HISTORY_MODEL");
        assert!((score - served).abs() <= 1e-4 * served.abs(), "{content}: explained {score}, served {served}");
        assert!((total - served).abs() <= 1e-4 * served.abs(), "{content}: terms add to {total}, served {served}");
    }

    // Similar items come from the weights: what c3 adds to every other item's score.
    let similar = server
        .ok(key, "{ similarContent(contentId: \"c3\", first: 5) { strategy items { contentId } } }", json!({}))
        .await;
    assert_eq!(similar["similarContent"]["strategy"], "MODEL_SIMILARITY", "{similar}");
    assert_eq!(similar["similarContent"]["items"].as_array().unwrap().len(), 5, "{similar}");
});

fn no_memory_for_ease() -> Configure {
    Box::new(|settings| settings.models.ease_memory_mib = 0)
}

on_dedicated_servers!(
    ease_refuses_catalogs_beyond_its_memory_budget,
    no_memory_for_ease(),
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server.seed(key, &two_clusters()).await;
        let refused = server.start_training(key, json!({ "algorithm": "EASE" })).await;
        let outcome = server.job_outcome(key, &refused.job).await;
        assert_eq!(outcome["status"], "FAILED", "{outcome}");
        let error = outcome["error"].as_str().unwrap();
        assert!(error.contains("EASE over 40 items needs") && error.contains("budget"), "{error}");

        let auto = server.train(key, json!({})).await.model;
        let m = model(server, key, &auto).await;
        let ease =
            m["selection"]["families"].as_array().unwrap().iter().find(|f| f["family"] == "EASE").unwrap().clone();
        assert_eq!(ease["settingsTried"], 0, "{m}");
        assert!(ease["skipped"].as_str().unwrap().contains("40 items needs"), "{ease}");
        assert_ne!(m["algorithm"], "EASE");
    }
);
