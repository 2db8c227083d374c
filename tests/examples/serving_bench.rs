//! Load generator for the serving benchmark: N concurrent clients ask for
//! `recommendations(first: 10)` over HTTP, then latency percentiles and throughput are
//! printed. Only talks to loopback.
//!
//! Two passes, reported apart:
//! 1. cold: every user once, spread over the clients. Each request is that user's first,
//!    so the server reads the person's history from the database;
//! 2. steady: random users for a fixed time, as a running service sees them (histories in
//!    memory until a write changes them or their time to live runs out).
//!
//! cargo run --release -p e2e --example serving_bench -- URL KEY USERS [SECONDS] [CLIENTS]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;

const QUERY: &str =
    "query($u: String!) { recommendations(userId: $u, first: 10) { strategy items { contentId score } } }";

/// One client's results: (latency, when it was sent relative to the pass's start), errors.
type ClientRun = (Vec<(Duration, Duration)>, u64);

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
    let users: u64 = args[3].parse().unwrap();
    let seconds: u64 = args.get(4).map_or(10, |s| s.parse().unwrap());
    let clients: u64 = args.get(5).map_or(16, |s| s.parse().unwrap());

    // Load the model with one request.
    let (_, errors) = ask(&reqwest::Client::new(), &url, &key, users).await;
    assert_eq!(errors, 0, "the first request failed");

    let started = Instant::now();
    let cold = run_clients(
        clients,
        |c| {
            let mine: Vec<u64> = (1..=users).filter(|u| u % clients == c).collect();
            Box::new(mine.into_iter())
        },
        &url,
        &key,
        started,
    )
    .await;
    report(&format!("cold: each of {users} users once"), cold, started.elapsed());

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let steady = run_clients(
        clients,
        move |c| {
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1);
            Box::new(std::iter::from_fn(move || {
                (Instant::now() < deadline).then(|| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % users) + 1
                })
            }))
        },
        &url,
        &key,
        started,
    )
    .await;
    report(&format!("steady: random users, {seconds} s"), steady, started.elapsed());
}

/// Runs `clients` concurrent clients, each asking for the users its iterator yields.
async fn run_clients(
    clients: u64,
    users_of: impl Fn(u64) -> Box<dyn Iterator<Item = u64> + Send>,
    url: &str,
    key: &str,
    started: Instant,
) -> ClientRun {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (url, key, users) = (url.to_owned(), key.to_owned(), users_of(c));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                for user in users {
                    let offset = started.elapsed();
                    let (latency, failed) = ask(&client, &url, &key, user).await;
                    latencies.push((latency, offset));
                    errors += failed;
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
    (all, errors)
}

/// One request: its latency and 1 when it failed.
async fn ask(client: &reqwest::Client, url: &str, key: &str, user: u64) -> (Duration, u64) {
    let body = json!({ "query": QUERY, "variables": { "u": user.to_string() } });
    let t = Instant::now();
    let response = client.post(url).bearer_auth(key).json(&body).send().await;
    let ok = match response {
        Ok(r) => r.status().is_success() && r.json::<serde_json::Value>().await.is_ok_and(|v| v["errors"].is_null()),
        Err(_) => false,
    };
    (t.elapsed(), u64::from(!ok))
}

fn report(title: &str, (timed, errors): ClientRun, elapsed: Duration) {
    let slowest = timed.iter().max().copied();
    let mut all: Vec<Duration> = timed.into_iter().map(|(latency, _)| latency).collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!("{title}: {} requests, {errors} errors", all.len());
    println!("  throughput {:.0} requests/s", all.len() as f64 / elapsed.as_secs_f64());
    println!(
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    if let Some((latency, offset)) = slowest {
        println!(
            "  slowest: {:.1} ms, sent {:.2} s into the pass",
            latency.as_secs_f64() * 1000.0,
            offset.as_secs_f64()
        );
    }
}
