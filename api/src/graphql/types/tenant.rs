use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use domain::access::Tenant;

#[derive(SimpleObject, Clone)]
#[graphql(name = "Tenant")]
pub struct TenantGql {
    /// The tenant's handle, used to sign in.
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Tenant> for TenantGql {
    fn from(t: Tenant) -> Self {
        Self { slug: t.slug.as_str().to_owned(), name: t.name, created_at: t.created_at }
    }
}
