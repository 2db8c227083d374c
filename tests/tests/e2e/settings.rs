//! Tenant settings are one document per tenant: concurrent updates of different fields
//! must all survive (each update reads, changes and writes the whole document).

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::TestServer;
use crate::on_both_backends;

const EVENT_TYPES: [&str; 9] =
    ["VIEW", "PLAY", "COMPLETE", "LIKE", "DISLIKE", "RATING", "PURCHASE", "ADD_TO_LIST", "SKIP"];

async fn update(server: &'static TestServer, key: String, input: Value) {
    server
        .ok(
            &key,
            "mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename } }",
            json!({ "i": input }),
        )
        .await;
}

on_both_backends!(concurrent_updates_of_different_fields_all_survive, |server: &'static TestServer| async move {
    let t = server.new_tenant().await;
    for round in 1..=4u32 {
        let weight = |i: usize| f64::from(round) * 10.0 + i as f64;
        let mut inputs: Vec<Value> = EVENT_TYPES
            .iter()
            .enumerate()
            .map(|(i, ty)| json!({ "eventWeights": [{ "type": ty, "weight": weight(i) }] }))
            .collect();
        let flag = round % 2 == 0;
        inputs.push(json!({ "defaultConsentPersonalization": flag }));
        inputs.push(json!({ "defaultConsentAnalytics": flag }));
        inputs.push(json!({ "interactionRetentionDays": 100 + round }));
        let tasks = inputs.into_iter().map(|input| tokio::spawn(update(server, t.api_key.clone(), input)));
        for task in join_all(tasks).await {
            task.unwrap();
        }

        let (_, body) = server
            .gql(
                Some(&t.api_key),
                "{ tenantSettings { eventWeights { type weight } defaultConsentPersonalization defaultConsentAnalytics interactionRetentionDays } }",
                json!({}),
            )
            .await;
        let settings = &body["data"]["tenantSettings"];
        for (i, ty) in EVENT_TYPES.iter().enumerate() {
            let stored = settings["eventWeights"].as_array().unwrap().iter().find(|w| w["type"] == *ty).unwrap();
            assert_eq!(stored["weight"].as_f64(), Some(weight(i)), "round {round}, {ty} lost: {body}");
        }
        assert_eq!(settings["defaultConsentPersonalization"], flag, "round {round}: {body}");
        assert_eq!(settings["defaultConsentAnalytics"], flag, "round {round}: {body}");
        assert_eq!(settings["interactionRetentionDays"], 100 + round, "round {round}: {body}");
    }
});
