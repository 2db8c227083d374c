//! Fairness reports end to end: a small two-cluster audience pushed over GraphQL,
//! an ALS model with pinned settings, a report whose group sizes, shares and
//! suppression are worked out by hand below, re-ranking side by side, export, scopes,
//! tenant isolation and bad input. (The metric formulas themselves are checked by
//! hand on a tiny example in domain/src/fairness.)

use serde_json::{Value, json};

use crate::helpers::{Backend, Dataset, TestServer, Training, error_code, server, two_clusters};
use crate::on_both_backends;

const CREATE: &str = "mutation($i: CreateFairnessReportInput!) { createFairnessReport(input: $i) {
    id modelId k userGroups itemGroups excludedUsers thresholds { minGroupSize maxGini }
    rerank { strategy strength }
    baseline { ...F } reranked { ...F }
    comparison { ndcgChange giniChange ndcgRelativeChange }
    tradeoff { ...T }
    csv json } }
  fragment P on TradeoffPoint { strength ndcg gini longTailShare coverage ndcgRelativeChange giniRelativeChange }
  fragment T on FairnessTradeoff {
    maxNdcgCost baseline { ...P } curves { strategy points { ...P } }
    recommended { strategy strength ndcg gini longTailShare coverage ndcgRelativeChange giniRelativeChange longTailShareChange coverageChange }
  }
  fragment F on FairnessFigures {
    overall { users ndcg recall }
    userGroups { attribute groups { group suppressed size ndcg recall ndcgStatus recallStatus }
                 ndcg { difference ratio differenceStatus ratioStatus } recall { difference ratio } }
    itemGroups { grouping groups { group items exposureShare catalogShare interactionShare exposureRatio status } }
    popularity { averagePopularity catalogAveragePopularity popularityLift longTailShare gini giniStatus coverage coverageStatus }
  }";

/// The two taste clusters of [`two_clusters`] (40 items, 60 users with 8 distinct plays
/// each, a0..a29 in Action, r0..r29 in Romance) with profiles: a* are female, r* male;
/// a0..a4 are 18-24 (a group of 5), everyone else 25-34; r29 withdrew analytics consent.
pub fn audience() -> Dataset {
    let users = (0..60)
        .map(|u| {
            let (prefix, n) = if u < 30 { ("a", u) } else { ("r", u - 30) };
            json!({
                "id": format!("{prefix}{n}"),
                "gender": if u < 30 { "female" } else { "male" },
                "ageBand": if u < 5 { "AGE_18_24" } else { "AGE_25_34" },
                "consentAnalytics": u != 59,
            })
        })
        .collect();
    Dataset { users, ..two_clusters() }
}

pub async fn seed(server: &TestServer, key: &str) {
    assert_eq!(server.seed(key, &audience()).await, 480);
}

/// A seeded tenant's ready model, for tests that only need one to exist.
pub async fn ready_model(server: &TestServer, key: &str) -> String {
    seed(server, key).await;
    server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await.model
}

fn group<'a>(groups: &'a Value, name: &str) -> &'a Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {groups}"))
}

fn close(v: &Value, expected: f64) -> bool {
    (v.as_f64().unwrap() - expected).abs() < 1e-9
}

on_both_backends!(fairness_report_by_group_with_reranking_and_export, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    seed(server, key).await;
    let model = server.train(key, json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 10 } })).await.model;
    let (_, body) = server.gql(Some(key), "mutation { updateTenantSettings(input: {fairness: {minGroupSize: 10, maxGini: 0.95}}) { fairness { minGroupSize maxGini minRatio } } }", json!({})).await;
    assert_eq!(
        body["data"]["updateTenantSettings"]["fairness"],
        json!({ "minGroupSize": 10, "maxGini": 0.95, "minRatio": 0.8 }),
        "{body}"
    );

    let input = json!({ "modelId": model, "userGroups": ["gender", "ageBand"], "itemGroups": ["GENRE", "PROVIDER", "POPULARITY_BUCKET"], "k": 10,
                        "rerank": { "strategy": "POPULARITY_EXPOSURE", "strength": 1.0 } });
    let (status, body) = server.gql(Some(key), CREATE, json!({ "i": input })).await;
    assert_eq!(status, 200, "{body}");
    let r = &body["data"]["createFairnessReport"];
    assert_eq!(r["modelId"], model.as_str(), "{body}");
    assert_eq!(r["thresholds"], json!({ "minGroupSize": 10, "maxGini": 0.95 }));
    assert_eq!(r["userGroups"], json!(["gender", "ageBand"]));
    // Every user has 8 plays, so all 60 are evaluated; r29 has no analytics consent.
    assert_eq!(r["excludedUsers"], 1);
    let b = &r["baseline"];
    assert_eq!(b["overall"]["users"], 59);
    let ndcg = b["overall"]["ndcg"].as_f64().unwrap();
    assert!(ndcg > 0.2 && ndcg <= 1.0, "clustered data is easy: {b}");

    // By gender: 30 female (a*), 29 male (r0..r28); difference and ratio as MetricFrame.
    let gender = &b["userGroups"][0];
    assert_eq!(gender["attribute"], "gender");
    let (f, m) = (group(&gender["groups"], "female"), group(&gender["groups"], "male"));
    assert_eq!((f["size"].clone(), m["size"].clone()), (json!(30), json!(29)));
    let (fv, mv) = (f["ndcg"].as_f64().unwrap(), m["ndcg"].as_f64().unwrap());
    assert!((gender["ndcg"]["difference"].as_f64().unwrap() - (fv - mv).abs()).abs() < 1e-9, "{gender}");
    assert!((gender["ndcg"]["ratio"].as_f64().unwrap() - fv.min(mv) / fv.max(mv)).abs() < 1e-9, "{gender}");
    // The overall is the size-weighted mean of the two groups.
    assert!((ndcg - (30.0 * fv + 29.0 * mv) / 59.0).abs() < 1e-9);
    // By age band: 18-24 has 5 users (< 10): suppressed, no size, no figures; 25-34 has
    // 25 + 29 = 54; one group shown leaves nothing to compare.
    let age = &b["userGroups"][1];
    let young = group(&age["groups"], "18_24");
    assert_eq!(
        (young["suppressed"].clone(), young["size"].clone(), young["ndcg"].clone()),
        (json!(true), Value::Null, Value::Null),
        "{age}"
    );
    assert_eq!(group(&age["groups"], "25_34")["size"], 54);
    assert_eq!(age["ndcg"], Value::Null);

    // By genre: 20 of 40 items each (catalog share 1/2); training plays are 6 of 8 per
    // user, 180 per cluster (interaction share 1/2). Exposure follows the audience:
    // 30 users on Action, 29 on Romance, each list (nearly) all in the user's cluster.
    let genre = &b["itemGroups"][0];
    assert_eq!(genre["grouping"], "GENRE");
    let (action, romance) = (group(&genre["groups"], "Action"), group(&genre["groups"], "Romance"));
    assert_eq!(action["items"], 20);
    assert!(close(&action["catalogShare"], 0.5) && close(&romance["catalogShare"], 0.5));
    assert!(close(&action["interactionShare"], 0.5) && close(&romance["interactionShare"], 0.5));
    let shares = action["exposureShare"].as_f64().unwrap() + romance["exposureShare"].as_f64().unwrap();
    assert!((shares - 1.0).abs() < 1e-9, "one genre per item: shares add up to 1");
    assert!((action["exposureShare"].as_f64().unwrap() - 30.0 / 59.0).abs() < 0.05, "{genre}");
    assert_eq!(action["status"], "PASS");
    let provider = &b["itemGroups"][1];
    assert_eq!(group(&provider["groups"], "Studio A")["exposureShare"], action["exposureShare"]);
    // Popularity buckets over 40 items: head 8, mid 12, tail 20.
    let buckets = &b["itemGroups"][2]["groups"];
    assert_eq!(
        (
            group(buckets, "head")["items"].clone(),
            group(buckets, "mid")["items"].clone(),
            group(buckets, "tail")["items"].clone()
        ),
        (json!(8), json!(12), json!(20))
    );
    assert!(close(&group(buckets, "tail")["catalogShare"], 0.5));
    let p = &b["popularity"];
    assert_eq!(p["catalogAveragePopularity"], 9.0, "360 training plays over 40 items");
    assert!(p["gini"].as_f64().unwrap() > 0.0 && p["coverage"].as_f64().unwrap() <= 1.0);
    assert_eq!(p["giniStatus"], if p["gini"].as_f64().unwrap() <= 0.95 { "PASS" } else { "WARN" });

    // The re-ranking spreads exposure; the report states what it cost.
    let after = &r["reranked"];
    assert_eq!(after["overall"]["users"], 59);
    let (g0, g1) = (p["gini"].as_f64().unwrap(), after["popularity"]["gini"].as_f64().unwrap());
    assert!(g1 < g0, "re-ranking lowers the exposure Gini: {g0} -> {g1}");
    assert!((r["comparison"]["giniChange"].as_f64().unwrap() - (g1 - g0)).abs() < 1e-9);
    let cost = after["overall"]["ndcg"].as_f64().unwrap() - ndcg;
    assert!((r["comparison"]["ndcgChange"].as_f64().unwrap() - cost).abs() < 1e-9);

    // Export: CSV one figure per row; JSON the whole document.
    let csv = r["csv"].as_str().unwrap();
    assert!(csv.starts_with("variant,section,dimension,group,metric,value,status\n"), "{csv}");
    assert!(csv.contains("baseline,user_group,gender,female,size,30.000000,\n"), "{csv}");
    assert!(csv.contains("baseline,user_group,ageBand,18_24,suppressed,,\n"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("reranked,popularity,,,gini,")));
    assert_eq!(r["json"]["report"]["baseline"]["overall"]["users"], 59);
    assert_eq!(r["json"]["modelId"], model.as_str());

    // Stored: listed and read back the same.
    let id = r["id"].as_str().unwrap();
    let (_, body) = server.gql(Some(key), "query($id: ID!) { fairnessReport(id: $id) { id baseline { overall { ndcg } } csv } fairnessReports { edges { node { id } } } }", json!({ "id": id })).await;
    assert_eq!(body["data"]["fairnessReport"]["baseline"]["overall"]["ndcg"], b["overall"]["ndcg"], "{body}");
    assert_eq!(body["data"]["fairnessReport"]["csv"], r["csv"]);
    assert_eq!(body["data"]["fairnessReports"]["edges"][0]["node"]["id"], id);

    // Serving: the same re-rankings are selectable per request.
    server.deploy(key, &model, false).await;
    let recs = "query($f: RecommendationFilterInput) { recommendations(userId: \"a1\", first: 5, filter: $f) { strategy items { contentId } } }";
    for strategy in
        ["POPULARITY_EXPOSURE", "PROVIDER_EXPOSURE", "MMR_DIVERSITY", "POPULARITY_XQUAD", "POPULARITY_CALIBRATION"]
    {
        let (_, body) =
            server.gql(Some(key), recs, json!({ "f": { "rerank": { "strategy": strategy, "strength": 0.5 } } })).await;
        assert_eq!(body["data"]["recommendations"]["strategy"], "PERSONALIZED", "{body}");
        assert_eq!(body["data"]["recommendations"]["items"].as_array().unwrap().len(), 5, "{body}");
    }
    // Provider calibration at full strength mixes both studios into a1's list.
    let (_, body) = server
        .gql(Some(key), recs, json!({ "f": { "rerank": { "strategy": "PROVIDER_EXPOSURE", "strength": 1.0 } } }))
        .await;
    let ids: Vec<u32> = body["data"]["recommendations"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contentId"].as_str().unwrap()[1..].parse().unwrap())
        .collect();
    assert!(ids.iter().any(|&i| i >= 20) && ids.iter().any(|&i| i < 20), "{body}");
    let (_, body) = server
        .gql(Some(key), recs, json!({ "f": { "rerank": { "strategy": "MMR_DIVERSITY", "strength": 1.5 } } }))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    // EXPOSURE_GINI prices items by every user's list: reports only, refused per request.
    let (_, body) = server
        .gql(Some(key), recs, json!({ "f": { "rerank": { "strategy": "EXPOSURE_GINI", "strength": 0.1 } } }))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    assert!(body.to_string().contains("fairness reports"), "{body}");
    // The popularity strategies act: at full strength each changes some user's list
    // (users' histories mix head, mid and tail items, the model's top five barely do).
    for strategy in ["POPULARITY_XQUAD", "POPULARITY_CALIBRATION"] {
        let mut changed = 0;
        for user in ["a0", "a3", "a6", "a9", "r0", "r3", "r6", "r9"] {
            let q = "query($u: ID!, $f: RecommendationFilterInput) { recommendations(userId: $u, first: 5, filter: $f) { items { contentId } } }";
            let list = |body: Value| body["data"]["recommendations"]["items"].clone();
            let (_, plain) = server.gql(Some(key), q, json!({ "u": user })).await;
            let f = json!({ "rerank": { "strategy": strategy, "strength": 1.0 } });
            let (_, reranked) = server.gql(Some(key), q, json!({ "u": user, "f": f })).await;
            assert_eq!(list(reranked.clone()).as_array().map(Vec::len), Some(5), "{reranked}");
            changed += usize::from(list(plain) != list(reranked));
        }
        assert!(changed > 0, "{strategy} at full strength changed no list");
    }
});

/// Checks a report's trade-off: a curve per popularity strategy over strengths 0, 0.1,
/// ..., 1 starting at the unranked lists' figures, and a recommended setting (when
/// there is one) that is the lowest Gini of the curves within the NDCG tolerance.
fn check_tradeoff(t: &Value, baseline: &Value, tolerance: f64) {
    assert_eq!(t["maxNdcgCost"], tolerance, "{t}");
    let b = &t["baseline"];
    assert!(close(&b["ndcg"], baseline["overall"]["ndcg"].as_f64().unwrap()), "{t}");
    assert!(close(&b["gini"], baseline["popularity"]["gini"].as_f64().unwrap()), "{t}");
    assert!(close(&b["longTailShare"], baseline["popularity"]["longTailShare"].as_f64().unwrap()));
    let strategies: Vec<&str> =
        t["curves"].as_array().unwrap().iter().map(|c| c["strategy"].as_str().unwrap()).collect();
    assert_eq!(strategies, ["POPULARITY_EXPOSURE", "POPULARITY_XQUAD", "POPULARITY_CALIBRATION", "EXPOSURE_GINI"]);
    let (b_ndcg, b_gini) = (b["ndcg"].as_f64().unwrap(), b["gini"].as_f64().unwrap());
    let mut best: Option<(f64, f64)> = None;
    for curve in t["curves"].as_array().unwrap() {
        let points = curve["points"].as_array().unwrap();
        assert_eq!(points.len(), 11, "{curve}");
        assert_eq!(&points[0], b, "strength 0 is the unranked list");
        for (i, p) in points.iter().enumerate() {
            assert!(close(&p["strength"], i as f64 / 10.0), "{p}");
            let (ndcg, gini) = (p["ndcg"].as_f64().unwrap(), p["gini"].as_f64().unwrap());
            assert!(close(&p["ndcgRelativeChange"], ndcg / b_ndcg - 1.0), "{p}");
            assert!(close(&p["giniRelativeChange"], gini / b_gini - 1.0), "{p}");
            if i > 0 && ndcg / b_ndcg - 1.0 >= -tolerance - 1e-12 && gini < b_gini - 1e-12 {
                best = Some(best.map_or((gini, ndcg), |x: (f64, f64)| if gini < x.0 { (gini, ndcg) } else { x }));
            }
        }
    }
    let r = &t["recommended"];
    match best {
        None => assert_eq!(*r, Value::Null, "{t}"),
        Some((gini, _)) => {
            assert!(close(&r["gini"], gini), "the lowest Gini within the tolerance: {t}");
            assert!(r["ndcgRelativeChange"].as_f64().unwrap() >= -tolerance - 1e-12, "{r}");
            assert!(r["giniRelativeChange"].as_f64().unwrap() < 0.0, "{r}");
            let curve = t["curves"].as_array().unwrap().iter().find(|c| c["strategy"] == r["strategy"]).unwrap();
            let point = curve["points"].as_array().unwrap().iter().find(|p| p["strength"] == r["strength"]).unwrap();
            assert_eq!((&point["ndcg"], &point["gini"]), (&r["ndcg"], &r["gini"]), "{r}");
            assert!(close(
                &r["longTailShareChange"],
                r["longTailShare"].as_f64().unwrap() - b["longTailShare"].as_f64().unwrap()
            ));
            assert!(close(&r["coverageChange"], r["coverage"].as_f64().unwrap() - b["coverage"].as_f64().unwrap()));
        }
    }
}

on_both_backends!(
    fairness_report_draws_the_tradeoff_and_recommends_within_the_tolerance,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        seed(server, key).await;
        let model = server.train(key, json!({ "algorithm": "ALS", "parameters": { "factors": 8, "regularization": 0.1, "alpha": 10.0, "iterations": 10 } })).await.model;
        // The default tolerance is 3%; a tenant changes it beside the other thresholds.
        let d = server.ok(key, "{ tenantSettings { fairness { maxNdcgCost } } }", json!({})).await;
        assert_eq!(d["tenantSettings"]["fairness"]["maxNdcgCost"], 0.03, "{d}");
        let (_, body) = server.gql(Some(key), CREATE, json!({ "i": { "modelId": model } })).await;
        let r = &body["data"]["createFairnessReport"];
        check_tradeoff(&r["tradeoff"], &r["baseline"], 0.03);
        // The export carries the curve and the recommendation.
        let csv = r["csv"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert!(csv.contains("tradeoff,tolerance,,,max_ndcg_cost,0.030000,\n"), "{csv}");
        assert_eq!(csv.lines().filter(|l| l.starts_with("tradeoff,curve,")).count(), 4 * 11 * 6, "{csv}");
        assert!(csv.contains("tradeoff,curve,POPULARITY_XQUAD,0.50,gini,"), "{csv}");
        assert_eq!(r["json"]["report"]["tradeoff"], r["tradeoff"], "the JSON export is the same document");
        assert_eq!(
            csv.lines().filter(|l| l.starts_with("recommended,setting,")).count(),
            if r["tradeoff"]["recommended"].is_null() { 0 } else { 8 }
        );
        // EXPOSURE_GINI side by side: its figures are the curve's at that strength, and
        // it never raises the Gini (on these two clusters the Gini is already low).
        let input = json!({ "modelId": model, "rerank": { "strategy": "EXPOSURE_GINI", "strength": 0.2 } });
        let (_, body) = server.gql(Some(key), CREATE, json!({ "i": input })).await;
        let r = &body["data"]["createFairnessReport"];
        let after = r["reranked"]["popularity"]["gini"].as_f64().unwrap_or_else(|| panic!("{body}"));
        assert!(after <= r["baseline"]["popularity"]["gini"].as_f64().unwrap() + 1e-12, "{body}");
        let curve = r["tradeoff"]["curves"].as_array().unwrap().iter().find(|c| c["strategy"] == "EXPOSURE_GINI");
        let point = curve.and_then(|c| c["points"].as_array().unwrap().iter().find(|p| close(&p["strength"], 0.2)));
        assert!(point.is_some_and(|p| close(&p["gini"], after)), "{body}");

        // A tolerance of 100% recommends the lowest Gini of all; one of 0 only a free gain.
        for tolerance in [1.0, 0.0] {
            let q = "mutation($c: Float!) { updateTenantSettings(input: {fairness: {maxNdcgCost: $c}}) { fairness { maxNdcgCost } } }";
            let d = server.ok(key, q, json!({ "c": tolerance })).await;
            assert_eq!(d["updateTenantSettings"]["fairness"]["maxNdcgCost"], tolerance);
            let (_, body) = server.gql(Some(key), CREATE, json!({ "i": { "modelId": model } })).await;
            let r = &body["data"]["createFairnessReport"];
            check_tradeoff(&r["tradeoff"], &r["baseline"], tolerance);
            if tolerance == 1.0 {
                assert!(!r["tradeoff"]["recommended"].is_null(), "some setting lowers the Gini: {body}");
            }
        }
        let (_, body) = server
            .gql(
                Some(key),
                "mutation { updateTenantSettings(input: {fairness: {maxNdcgCost: 1.5}}) { __typename } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    }
);

/// The pinned ALS model of `bench/fairness_ml100k.sh` on MovieLens 100k and the default
/// (AUTO) model, and the figures docs/fairness.md gives for their reports (one backend:
/// the figures do not depend on it, and training takes a few seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fairness_tradeoff_on_movielens_100k() {
    let Some(dir) = crate::ingestion::movielens::dataset() else { return };
    let server = server(Backend::Sqlite).expect("sqlite");
    let t = server.new_tenant().await;
    let key = t.api_key.as_str();
    crate::ingestion::movielens::import(server, &t.slug, dir).await;
    let params = json!({ "factors": 64, "regularization": 0.05, "alpha": 1.0, "iterations": 15 });
    let model = server.train(key, json!({ "algorithm": "ALS", "parameters": params })).await.model;
    let (_, body) = server.gql(Some(key), CREATE, json!({ "i": { "modelId": model } })).await;
    let r = &body["data"]["createFairnessReport"];
    let tradeoff = &r["tradeoff"];
    check_tradeoff(tradeoff, &r["baseline"], 0.03);
    let b = &tradeoff["baseline"];
    assert_eq!(r["baseline"]["overall"]["users"], 943, "{body}");
    // ALS's own figures (to a little float noise between machines).
    assert!((b["ndcg"].as_f64().unwrap() - 0.3591).abs() < 0.003, "{b}");
    assert!((b["gini"].as_f64().unwrap() - 0.8790).abs() < 0.003, "{b}");
    // For ALS the recommended setting keeps within the 3% tolerance and lowers the Gini
    // by at least 2% (measured: 2.6%, POPULARITY_EXPOSURE 0.1; docs/fairness.md).
    let rec = &tradeoff["recommended"];
    assert!(rec["ndcgRelativeChange"].as_f64().unwrap_or_else(|| panic!("{tradeoff}")) >= -0.03, "{rec}");
    assert!(rec["giniRelativeChange"].as_f64().unwrap() <= -0.02, "{rec}");
    // The old setting, for comparison: popularity exposure at 0.5 costs 16.7% of NDCG
    // for a Gini of 0.813; xQuAD at 0.5 keeps within 3% for about a third of that gain.
    let point = |strategy: &str, strength: f64| {
        let curve = tradeoff["curves"].as_array().unwrap().iter().find(|c| c["strategy"] == strategy).unwrap();
        curve["points"].as_array().unwrap().iter().find(|p| close(&p["strength"], strength)).unwrap().clone()
    };
    let old = point("POPULARITY_EXPOSURE", 0.5);
    assert!((old["gini"].as_f64().unwrap() - 0.8126).abs() < 0.005, "{old}");
    assert!((old["ndcgRelativeChange"].as_f64().unwrap() + 0.167).abs() < 0.01, "{old}");
    let xquad = point("POPULARITY_XQUAD", 0.5);
    assert!(xquad["ndcgRelativeChange"].as_f64().unwrap() > -0.035, "{xquad}");
    assert!(xquad["giniRelativeChange"].as_f64().unwrap() < -0.02, "{xquad}");
    // EXPOSURE_GINI at 0.1 asks for a Gini 10% lower and gets it; on this ALS it costs
    // more than the tolerance (measured: 4.3% of NDCG).
    let gini = point("EXPOSURE_GINI", 0.1);
    assert!(gini["giniRelativeChange"].as_f64().unwrap() <= -0.10, "{gini}");
    assert!(gini["ndcgRelativeChange"].as_f64().unwrap() > -0.06, "{gini}");

    // The default model's setting (AUTO chooses EASE lambda 300, omega 1 on this data;
    // pinned here, since tuning is slow in a debug build): the report recommends
    // EXPOSURE_GINI 0.1, a Gini at least 10% below the unranked lists' for at most 3% of
    // NDCG@10, as issue #12 asked (measured: -10.2% for -1.9%).
    let params = json!({ "lambda": 300.0, "omega": 1.0 });
    let auto = server.train(key, json!({ "algorithm": "EASE", "parameters": params })).await.model;
    let (_, body) = server.gql(Some(key), CREATE, json!({ "i": { "modelId": auto } })).await;
    let r = &body["data"]["createFairnessReport"];
    let tradeoff = &r["tradeoff"];
    check_tradeoff(tradeoff, &r["baseline"], 0.03);
    assert!((tradeoff["baseline"]["ndcg"].as_f64().unwrap_or_else(|| panic!("{body}")) - 0.4498).abs() < 0.003);
    let rec = &tradeoff["recommended"];
    assert_eq!(rec["strategy"], "EXPOSURE_GINI", "{tradeoff}");
    assert!(rec["giniRelativeChange"].as_f64().unwrap() <= -0.10, "{rec}");
    assert!(rec["ndcgRelativeChange"].as_f64().unwrap() >= -0.03, "{rec}");
}

on_both_backends!(fairness_reports_are_scoped_isolated_and_validated, |server: &'static TestServer| async move {
    let a = server.new_tenant().await;
    let key = a.api_key.as_str();
    seed(server, key).await;
    let Training { model, job } = server.train(key, json!({ "algorithm": "MOST_POPULAR" })).await;
    let create = "mutation($i: CreateFairnessReportInput!) { createFairnessReport(input: $i) { id } }";
    let (_, body) = server
        .gql(Some(key), create, json!({ "i": { "modelId": model, "userGroups": ["gender"], "itemGroups": ["KIND"] } }))
        .await;
    let id = body["data"]["createFairnessReport"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();

    // Bad input, each with its code and field.
    let bad = [
        (json!({ "modelId": job }), "NOT_FOUND"),
        (json!({ "modelId": "not-an-id" }), "INVALID_INPUT"),
        (json!({ "modelId": model, "k": 0 }), "INVALID_INPUT"),
        (json!({ "modelId": model, "k": 51 }), "INVALID_INPUT"),
        (json!({ "modelId": model, "userGroups": ["shoeSize"] }), "INVALID_INPUT"),
        (json!({ "modelId": model, "rerank": { "strategy": "MMR_DIVERSITY", "strength": -0.1 } }), "INVALID_INPUT"),
    ];
    for (input, code) in bad {
        let (_, body) = server.gql(Some(key), create, json!({ "i": input })).await;
        assert_eq!(error_code(&body), code, "{input}: {body}");
    }
    let (_, body) =
        server.gql(Some(key), create, json!({ "i": { "modelId": model, "userGroups": ["shoeSize"] } })).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("shoeSize"), "the reason is given: {body}");
    let (_, body) = server.gql(Some(key), create, json!({ "i": { "modelId": "x", "itemGroups": ["AUTHOR"] } })).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "unknown item grouping: {body}");
    let (_, body) = server
        .gql(Some(key), "mutation { updateTenantSettings(input: {fairness: {minRatio: 2}}) { __typename } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // reports:read reads but does not create.
    let reader = server.key_with(key, &["reports:read"]).await;
    let (_, body) =
        server.gql(Some(&reader), "query($id: ID!) { fairnessReport(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(body["data"]["fairnessReport"]["id"], id.as_str(), "{body}");
    let (_, body) = server.gql(Some(&reader), create, json!({ "i": { "modelId": model } })).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Tenant B can neither read A's report nor report on A's model.
    let b = server.new_tenant().await;
    let (_, body) =
        server.gql(Some(&b.api_key), "query($id: ID!) { fairnessReport(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let (_, body) = server.gql(Some(&b.api_key), create, json!({ "i": { "modelId": model } })).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let (_, body) = server.gql(Some(&b.api_key), "{ fairnessReports { edges { node { id } } } }", json!({})).await;
    assert_eq!(body["data"]["fairnessReports"]["edges"], json!([]), "{body}");
});
