//! Load generator for the serving benchmark: N concurrent clients ask for
//! `recommendations(first: 10)` over HTTP for random users for a fixed time, then the
//! latency percentiles and throughput are printed. Only talks to loopback.
//!
//! cargo run --release -p e2e --example serving_bench -- URL KEY USERS [SECONDS] [CLIENTS]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: serving_bench URL KEY USERS [SECONDS] [CLIENTS]");
        std::process::exit(2);
    }
    let url = args[1].clone();
    assert!(url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"), "loopback only");
    let key = args[2].clone();
    let users: u32 = args[3].parse().unwrap();
    let seconds: u64 = args.get(4).map_or(10, |s| s.parse().unwrap());
    let clients: usize = args.get(5).map_or(16, |s| s.parse().unwrap());
    let query = "query($u: String!) { recommendations(userId: $u, first: 10) { strategy items { contentId score } } }";

    // Warm-up: load the model, fill caches.
    let client = reqwest::Client::new();
    for u in 1..=20 {
        let body = json!({ "query": query, "variables": { "u": u.to_string() } });
        let r: serde_json::Value = client.post(&url).bearer_auth(&key).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(r["errors"].is_null(), "{r}");
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (url, key) = (url.clone(), key.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
                while Instant::now() < deadline {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let user = (state % u64::from(users)) + 1;
                    let body = json!({ "query": query, "variables": { "u": user.to_string() } });
                    let t = Instant::now();
                    let response = client.post(&url).bearer_auth(&key).json(&body).send().await;
                    let ok = match response {
                        Ok(r) => r.status().is_success() && r.json::<serde_json::Value>().await.is_ok_and(|v| v["errors"].is_null()),
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!("clients {clients}, {seconds} s, {} requests, {errors} errors", all.len());
    println!("throughput {:.0} requests/s", all.len() as f64 / elapsed);
    println!("latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}", pct(0.5), pct(0.9), pct(0.99), pct(1.0));
}
