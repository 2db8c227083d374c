//! The demo tenant's data, generated rather than shipped (MovieLens's licence forbids
//! redistribution): an entertainment catalog, an audience with hidden tastes, and their
//! interactions. Seeded, so every first run (and every test) sees the same data; written
//! through the same bulk paths as [`super::movielens`], so it obeys every rule a client's
//! data does and a second load stores nothing new.

mod audience;
mod catalog;
mod events;
mod rng;

use chrono::{DateTime, Utc};
use tenants::TenantCtx;

use super::ImportReport;
use crate::Services;
use crate::audience::NewEndUser;
use crate::batch::Batch;
use crate::catalog::NewContent;
use crate::error::{DomainError, Result};
use crate::interactions::NewInteraction;

/// Rows written per transaction.
const WRITE_BATCH: usize = 10_000;

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSizes {
    pub items: usize,
    pub users: usize,
}

impl DemoSizes {
    /// What `serve --demo` fills: about 3,000 items, 3,000 people and 100,000 events,
    /// which trains in well under a minute.
    pub const STANDARD: DemoSizes = DemoSizes { items: 3000, users: 3000 };
}

/// The generated data, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub items: Vec<NewContent>,
    pub users: Vec<NewEndUser>,
    pub interactions: Vec<NewInteraction>,
}

/// Generates the demo data for `seed`. `anchor` is "now": release dates and event times
/// lie before it, so the same seed and anchor give the same data.
pub fn generate(seed: u64, sizes: DemoSizes, anchor: DateTime<Utc>) -> Result<DemoData> {
    let root = rng::Rng::new(seed);
    let today = anchor.date_naive();
    let items = catalog::generate(&root, sizes.items, today)?;
    let users = audience::generate(&root, sizes.users, today)?;
    let interactions = events::generate(&root, &users, &items, anchor)?;
    Ok(DemoData {
        items: items.into_iter().map(|i| i.content).collect(),
        users: users.into_iter().map(|u| u.user).collect(),
        interactions,
    })
}

/// Writes the data into the context's tenant (needs `catalog:write`, `users:write`,
/// `events:write`). Idempotent: rows already stored are found, not duplicated.
pub async fn load(ctx: &TenantCtx, services: &Services, data: DemoData) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    for chunk in chunks(data.items) {
        let outcome = crate::catalog::upsert_unbounded(ctx, services, chunk).await?;
        report.items.add(&outcome.counts);
        refuse_errors("item", &outcome.errors)?;
    }
    for chunk in chunks(data.users) {
        let outcome = crate::audience::upsert_unbounded(ctx, services, chunk).await?;
        report.users.add(&outcome.counts);
        refuse_errors("user", &outcome.errors)?;
    }
    for chunk in chunks(data.interactions) {
        let outcome = crate::interactions::record_unbounded(ctx, services, chunk).await?;
        report.interactions.add(&outcome.counts);
        refuse_errors("event", &outcome.errors)?;
    }
    Ok(report)
}

fn chunks<T>(rows: Vec<T>) -> Vec<Batch<T>> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().enumerate().peekable();
    while rows.peek().is_some() {
        out.push(Batch { rows: rows.by_ref().take(WRITE_BATCH).collect(), errors: Vec::new() });
    }
    out
}

/// Generated rows are valid by construction: a refused one is a bug, not bad input.
fn refuse_errors(what: &str, errors: &[crate::batch::RowError]) -> Result<()> {
    match errors.first() {
        None => Ok(()),
        Some(e) => Err(DomainError::internal(format!("a demo {what} was refused: {}", e.message))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn anchor() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        let sizes = DemoSizes { items: 300, users: 200 };
        let a = generate(7, sizes, anchor()).ok();
        assert!(a.is_some());
        assert_eq!(a, generate(7, sizes, anchor()).ok());
        assert_ne!(a, generate(8, sizes, anchor()).ok());
    }

    #[test]
    fn the_standard_demo_has_the_promised_shape() {
        let data = generate(1, DemoSizes::STANDARD, anchor()).expect("generates");
        assert_eq!(data.items.len(), 3000);
        assert_eq!(data.users.len(), 3000);
        let n = data.interactions.len();
        assert!((70_000..=160_000).contains(&n), "{n} interactions");
        let kinds: HashSet<_> = data.items.iter().map(|i| i.kind).collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        let types: HashSet<_> = data.interactions.iter().map(|e| e.event_type).collect();
        assert!(types.len() >= 8, "{types:?}");
        let ids: HashSet<_> = data.interactions.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids.len(), n, "event ids are unique");
        assert!(data.interactions.iter().all(|e| e.occurred_at < anchor()));
        // A long tail: the top 5% of items take a large share of the events.
        let mut per_item: HashMap<&str, usize> = HashMap::new();
        for e in &data.interactions {
            *per_item.entry(e.content.as_str()).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_item.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let head: usize = counts.iter().take(150).sum();
        assert!(head * 4 > n, "top 150 items have {head} of {n} events");
        let no_personalization = data.users.iter().filter(|u| u.consent_personalization == Some(false)).count();
        assert!((50..=400).contains(&no_personalization), "{no_personalization}");
    }
}
