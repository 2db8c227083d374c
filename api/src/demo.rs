//! The demo tenant that `marquee serve --demo` (the README's run command) sets up, so a
//! newcomer has something to query on the first run.

use domain::Services;
use domain::access::{self, NewTenant};
use domain::tenants::ids::{Email, TenantSlug};
use domain::tenants::password::Password;
use domain::tenants::scope::ScopeSet;
use domain::tenants::{RequestId, TenantCtx};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_OWNER: &str = "owner@demo.example";
/// A fixed password is fine here: the demo binds to localhost and holds made-up data.
pub const DEMO_PASSWORD: &str = "marquee-demo-password";

pub struct DemoAccess {
    pub api_key: String,
    pub created: bool,
}

/// Creates the demo tenant if needed and issues a fresh API key for this run (keys are
/// only ever shown once, so a restart cannot reprint an old one).
pub async fn ensure_demo_tenant(services: &Services) -> anyhow::Result<DemoAccess> {
    let slug = TenantSlug::parse(DEMO_SLUG)?;
    if let Some(tenant) = access::find_tenant_by_slug(services, &slug).await? {
        let ctx = TenantCtx::operator(tenant.id, RequestId::new());
        let new = access::NewApiKey {
            name: format!("demo run {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")),
            environment: access::KeyEnvironment::Test,
            scopes: ScopeSet::all(),
            expires_at: None,
        };
        let (_, secret) = access::create_api_key(&ctx, services, new).await?;
        return Ok(DemoAccess { api_key: secret, created: false });
    }
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
    Ok(DemoAccess { api_key: created.api_key_secret, created: true })
}

pub fn print_banner(port: u16, host: &str, demo: &DemoAccess) {
    let url = format!("http://{host}:{port}/graphql");
    println!();
    println!("  Marquee is running: {url}  (GraphiQL: open it in a browser)");
    println!("  Demo tenant `{DEMO_SLUG}`{}", if demo.created { " created" } else { "" });
    println!("  Console login: tenant `{DEMO_SLUG}`, {DEMO_OWNER} / {DEMO_PASSWORD}");
    println!("  Demo API key (new each start, shown once): {}", demo.api_key);
    println!();
    println!("  Try:");
    println!(
        "  curl -s {url} -H 'Content-Type: application/json' -H 'Authorization: Bearer {}' \\\n    -d '{{\"query\":\"{{ tenant {{ slug name }} viewer {{ kind scopes }} }}\"}}'",
        demo.api_key
    );
    println!();
}
