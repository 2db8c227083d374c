//! The demo tenant that `marquee serve --demo` (the README's run command) sets up, so a
//! newcomer has something to see on the first run: a tenant with a login and a key
//! (here), generated data, a trained and deployed model and a fairness report
//! ([`first_run`]), and a banner that says where to look ([`banner`]).

mod banner;
pub mod first_run;

pub use banner::{print_banner, print_ready, print_report};
pub use first_run::{FirstReport, FirstRun, first_report, first_run};

/// The demo server caps the tuning search, so its first model is ready within a minute
/// (a configured budget below the cap stands).
pub fn adjust_settings(settings: &mut crate::config::Settings) {
    let cap = first_run::DEMO_TUNING_BUDGET_SECS;
    let budget = &mut settings.models.tuning_budget_secs;
    if *budget == 0 || *budget > cap {
        *budget = cap;
    }
}

use domain::Services;
use domain::access::{self, NewTenant};
use domain::tenants::ids::{Email, TenantSlug};
use domain::tenants::page::{MAX_PAGE_SIZE, PageRequest};
use domain::tenants::password::Password;
use domain::tenants::scope::ScopeSet;
use domain::tenants::{RequestId, TenantCtx};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_OWNER: &str = "owner@demo.example";
/// A fixed password is fine here: the demo binds to localhost and holds made-up data.
pub const DEMO_PASSWORD: &str = "marquee-demo-password";

/// Demo keys stop working after this long; a restart issues a fresh one anyway.
pub const DEMO_KEY_DAYS: i64 = 30;
/// Names of the keys `serve --demo` issues (each start revokes the earlier ones).
const DEMO_KEY_PREFIX: &str = "demo run";
/// The all-scope, never-expiring key every tenant gets at creation; the demo never
/// hands it out, and revokes it where an earlier version printed it.
const CREATION_KEY_NAME: &str = "default";

pub struct DemoAccess {
    pub tenant_id: domain::tenants::ids::TenantId,
    pub api_key: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub created: bool,
    /// Earlier demo keys revoked at this start.
    pub revoked: usize,
}

/// Creates the demo tenant if needed and issues a fresh, expiring API key for this run
/// (keys are only ever shown once, so a restart cannot reprint an old one). The keys of
/// earlier runs are revoked first, so at most one demo key works at any time.
pub async fn ensure_demo_tenant(services: &Services) -> anyhow::Result<DemoAccess> {
    let slug = TenantSlug::parse(DEMO_SLUG)?;
    let (tenant_id, created) = match access::find_tenant_by_slug(services, &slug).await? {
        Some(tenant) => (tenant.id, false),
        None => {
            let created = access::create_tenant(
                services,
                NewTenant {
                    slug,
                    name: "Demo Pictures".to_owned(),
                    owner_email: Email::parse(DEMO_OWNER)?,
                    owner_password: Some(Password::parse(DEMO_PASSWORD)?),
                },
            )
            .await?;
            (created.tenant.id, true)
        }
    };
    let ctx = TenantCtx::operator(tenant_id, RequestId::new());
    let revoked = revoke_earlier_demo_keys(&ctx, services).await?;
    let expires_at = chrono::Utc::now() + chrono::Duration::days(DEMO_KEY_DAYS);
    let new = access::NewApiKey {
        name: format!("{DEMO_KEY_PREFIX} {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")),
        environment: access::KeyEnvironment::Test,
        scopes: ScopeSet::all(),
        expires_at: Some(expires_at),
    };
    let (_, secret) = access::create_api_key(&ctx, services, new).await?;
    Ok(DemoAccess { tenant_id, api_key: secret, expires_at, created, revoked })
}

async fn revoke_earlier_demo_keys(ctx: &TenantCtx, services: &Services) -> anyhow::Result<usize> {
    let mut earlier = Vec::new();
    let mut after = None;
    loop {
        let page = access::list_api_keys(ctx, services, PageRequest { first: MAX_PAGE_SIZE, after }).await?;
        after = page.items.last().map(|(row, _)| *row);
        earlier.extend(
            page.items
                .into_iter()
                .map(|(_, key)| key)
                .filter(|key| key.revoked_at.is_none())
                .filter(|key| key.name.starts_with(DEMO_KEY_PREFIX) || key.name == CREATION_KEY_NAME),
        );
        if !page.has_next_page {
            break;
        }
    }
    for key in &earlier {
        access::revoke_api_key(ctx, services, key.id).await?;
    }
    Ok(earlier.len())
}
