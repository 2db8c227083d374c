//! `marquee import movielens <dir> --tenant <slug>`: the CLI face of
//! `domain::import::movielens`, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use domain::Services;
use domain::access;
use domain::import::{ImportProgress, ImportReport, movielens};
use domain::tenants::ids::TenantSlug;
use domain::tenants::{RequestId, TenantCtx};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr, drawn only when stderr is a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let target =
            if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:8} [{bar:40}] {pos}/{len} lines ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self(bar)
    }
}

impl ImportProgress for Bar {
    fn start(&self, total_lines: u64) {
        self.0.set_length(total_lines);
    }
    fn phase(&self, name: &str) {
        self.0.set_message(name.to_owned());
    }
    fn advance(&self, lines: u64) {
        self.0.inc(lines);
    }
}

/// Imports and prints a summary; damaged lines are listed on stderr.
pub async fn movielens(services: &Services, dir: &Path, tenant: &str) -> anyhow::Result<ImportReport> {
    let slug = TenantSlug::parse(tenant)?;
    let tenant = access::find_tenant_by_slug(services, &slug)
        .await?
        .with_context(|| format!("no tenant {slug}; create it with `marquee tenant create {slug} --name ...`"))?;
    let ctx = TenantCtx::operator(tenant.id, RequestId::new());
    let bar = Bar::new();
    let started = Instant::now();
    let report = movielens::import(&ctx, services, dir, &bar).await?;
    bar.0.finish_and_clear();
    for line in &report.damaged {
        eprintln!("skipped {line}");
    }
    println!(
        "items         {} created, {} updated, {} unchanged",
        report.items.created, report.items.updated, report.items.unchanged
    );
    println!(
        "end users     {} created, {} updated, {} unchanged",
        report.users.created, report.users.updated, report.users.unchanged
    );
    println!(
        "interactions  {} stored, {} already present",
        report.interactions.accepted, report.interactions.duplicates
    );
    println!("damaged lines {}", report.damaged.len());
    println!("took          {:.2} s", started.elapsed().as_secs_f64());
    Ok(report)
}
