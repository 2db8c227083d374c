//! What `serve --demo` prints: where the console is, how to sign in, a key to try the
//! API with, and (later, from the background) when the model is ready.

use super::first_run::{FirstReport, FirstRun};
use super::{DEMO_OWNER, DEMO_PASSWORD, DEMO_SLUG, DemoAccess};

pub fn print_banner(port: u16, host: &str, demo: &DemoAccess, preparing: bool) {
    let base = format!("http://{host}:{port}");
    let url = format!("{base}/graphql");
    println!();
    println!("  Marquee is running.");
    println!("  Console:  {base}/console/");
    println!("  Login:    tenant `{DEMO_SLUG}`, {DEMO_OWNER} / {DEMO_PASSWORD}");
    println!("  GraphQL:  {url}  (GraphiQL: open it in a browser)");
    println!("  Demo tenant `{DEMO_SLUG}`{}", if demo.created { " created" } else { "" });
    println!(
        "  Demo API key (new each start, shown once; earlier ones revoked; expires {}): {}",
        demo.expires_at.format("%Y-%m-%d"),
        demo.api_key
    );
    println!();
    println!("  Try:");
    println!(
        "  curl -s {url} -H 'Content-Type: application/json' -H 'Authorization: Bearer {}' \\\n    -d '{{\"query\":\"{{ tenant {{ slug name }} viewer {{ kind scopes }} }}\"}}'",
        demo.api_key
    );
    println!();
    if preparing {
        println!("  Preparing the demo: generating data, training and deploying a model (about a minute)...");
        println!();
    }
}

/// The first run's outcome, once the model is deployed.
pub fn print_ready(port: u16, host: &str, run: &FirstRun) {
    println!();
    if run.filled {
        println!(
            "  Demo data: {} items, {} people, {} interactions (generated and stored).",
            run.items, run.users, run.interactions
        );
    }
    let quality = run.ndcg_at_10.map(|n| format!(", NDCG@10 {n:.3}")).unwrap_or_default();
    if run.trained {
        println!(
            "  Model ready after {:.0} s: {} ({}{quality}), deployed.",
            run.elapsed.as_secs_f64(),
            run.model_id,
            run.model_algorithm
        );
    } else {
        println!("  Model ready: {} ({}{quality}) is active.", run.model_id, run.model_algorithm);
    }
    println!("  Open http://{host}:{port}/console/ to explore.");
    println!();
}

pub fn print_report(report: &FirstReport) {
    println!("  Fairness report {}: {} figures marked WARN (see Fairness in the console).", report.id, report.warnings);
}
