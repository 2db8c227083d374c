//! Insights count only people who gave analytics consent and suppress groups smaller
//! than the minimum (3 on these servers); reading them is audited.

use serde_json::json;

use crate::helpers::TestServer;
use crate::on_tiny_model_servers;

const INSIGHTS: &str = "{ contentInsights(contentId: \"x\") {
    audienceSize completionRate minGroupSize
    engagement { day events people }
    audience { attribute suppressedGroups groups { value people } }
    nearestByBehaviour { content { id } score }
} }";

on_tiny_model_servers!(
    insights_count_consenting_people_and_suppress_small_groups,
    |server: &'static TestServer| async move {
        let t = server.new_tenant().await;
        let key = t.api_key.as_str();
        server
            .upsert_contents(
                key,
                json!([
                    { "id": "x", "kind": "MOVIE", "title": "X" },
                    { "id": "y", "kind": "MOVIE", "title": "Y" },
                    { "id": "z", "kind": "MOVIE", "title": "Z" },
                ]),
            )
            .await;
        // Four in FR and two in DE consent to analytics; three in ES do not.
        let mut users = Vec::new();
        for (prefix, country, n, consent) in [("fr", "FR", 4, true), ("de", "DE", 2, true), ("es", "ES", 3, false)] {
            for i in 0..n {
                users.push(json!({ "id": format!("{prefix}{i}"), "country": country, "plan": "basic", "consentAnalytics": consent }));
            }
        }
        let r = server.upsert_users(key, json!(users)).await;
        assert_eq!(r["errors"], json!([]), "{r}");
        let mut events = Vec::new();
        for u in &users {
            let id = u["id"].as_str().unwrap();
            events.push(json!({ "eventId": format!("{id}-x"), "userId": id, "contentId": "x", "type": "PLAY" }));
            events.push(json!({ "eventId": format!("{id}-y"), "userId": id, "contentId": "y", "type": "PLAY" }));
        }
        // Three of FR complete x; only FR people also watch z (DE and ES never do).
        for i in 0..3 {
            events.push(json!({ "eventId": format!("fr{i}-xc"), "userId": format!("fr{i}"), "contentId": "x", "type": "COMPLETE" }));
        }
        for i in 0..4 {
            events.push(
                json!({ "eventId": format!("fr{i}-z"), "userId": format!("fr{i}"), "contentId": "z", "type": "PLAY" }),
            );
        }
        let r = server.record(key, json!(events)).await;
        assert_eq!(r["errors"], json!([]), "{r}");

        let i = server.ok(key, INSIGHTS, json!({})).await["contentInsights"].clone();
        assert_eq!(i["audienceSize"].as_i64(), Some(6), "ES people are not counted: {i}");
        assert_eq!(i["minGroupSize"].as_i64(), Some(3));
        let country = i["audience"].as_array().unwrap().iter().find(|a| a["attribute"] == "country").unwrap().clone();
        assert_eq!(country["groups"], json!([{ "value": "FR", "people": 4 }]), "DE (2) is suppressed: {country}");
        assert_eq!(country["suppressedGroups"].as_i64(), Some(1), "{country}");
        let plan = i["audience"].as_array().unwrap().iter().find(|a| a["attribute"] == "plan").unwrap().clone();
        assert_eq!(plan["groups"], json!([{ "value": "basic", "people": 6 }]), "{plan}");
        // 3 of the 6 counted starters completed it.
        assert!((i["completionRate"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{i}");
        let today = i["engagement"].as_array().unwrap();
        assert_eq!(today.len(), 1, "{i}");
        assert_eq!((today[0]["events"].as_i64(), today[0]["people"].as_i64()), (Some(9), Some(6)), "{i}");
        // y was seen by all 6 counted people, z by 4: both are shown (at least 3 each).
        assert_eq!(
            i["nearestByBehaviour"],
            json!([{ "content": { "id": "y" }, "score": 6.0 }, { "content": { "id": "z" }, "score": 4.0 }]),
            "{i}"
        );

        // The FR segment engages with z more than everyone: 4/4 of FR against 4/6 of all.
        let data = server
        .ok(key, "{ audienceInsights(segment: {countries: [\"FR\"]}) { segmentSize minGroupSize items { content { id } segmentPeople allPeople lift } } }", json!({}))
        .await;
        let a = &data["audienceInsights"];
        assert_eq!(a["segmentSize"].as_i64(), Some(4), "{a}");
        let first = &a["items"][0];
        assert_eq!(
            (first["content"]["id"].as_str(), first["segmentPeople"].as_i64(), first["allPeople"].as_i64()),
            (Some("z"), Some(4), Some(4)),
            "{a}"
        );
        assert!((first["lift"].as_f64().unwrap() - 1.5).abs() < 1e-9, "{a}");
        // DE has 2 counted people, ES none who consent: both suppressed entirely.
        for country in ["DE", "ES"] {
            let data = server
            .ok(key, "query($c: String!) { audienceInsights(segment: {countries: [$c]}) { segmentSize items { lift } } }", json!({ "c": country }))
            .await;
            assert_eq!(data["audienceInsights"], json!({ "segmentSize": null, "items": [] }), "{country}: {data}");
        }
        // An empty segment is refused.
        let (_, body) = server.gql(Some(key), "{ audienceInsights(segment: {}) { segmentSize } }", json!({})).await;
        assert_eq!(crate::helpers::error_code(&body), "INVALID_INPUT", "{body}");

        // Reading insights is audited.
        let data = server
            .ok(
                key,
                "{ auditEvents(filter: {action: \"content.insights_read\"}) { edges { node { action } } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["auditEvents"]["edges"].as_array().unwrap().len(), 1, "{data}");
        let data = server
            .ok(
                key,
                "{ auditEvents(filter: {action: \"audience.insights_read\"}) { edges { node { action } } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["auditEvents"]["edges"].as_array().unwrap().len(), 3, "{data}");
    }
);
