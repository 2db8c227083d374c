//! Tenants, API keys, members and sessions, as the API offers them. Each operation
//! opens one tenant transaction, so an audit event can later join the same commit.

mod api_keys;
mod members;
mod provisioning;
mod sessions;

pub use api_keys::{count_api_keys, create_api_key, list_api_keys, revoke_api_key};
pub use members::{
    MemberRemoved, MemberRoleChanged, count_members, invite_member, list_members, remove_member, update_member_role,
};
pub use provisioning::{CreatedTenant, NewTenant, create_tenant, find_tenant_by_slug};
pub use sessions::{accept_invite, login, logout, refresh_session};
pub use tenants::api_key_secret::KeyEnvironment;
pub use tenants::auth::Session;
pub use tenants::page::{Page, PageRequest};
pub use tenants::store::api_keys::{ApiKey, NewApiKey};
pub use tenants::store::members::{Member, MemberStatus};
pub use tenants::store::tenants::Tenant;

use crate::Services;
use crate::error::Result;
use tenants::TenantCtx;

/// The context's own tenant.
pub async fn current_tenant(ctx: &TenantCtx, services: &Services) -> Result<Tenant> {
    let tx = services.db.begin(ctx).await?;
    let tenant = tenants::store::tenants::current(&tx).await?;
    tx.commit().await?;
    Ok(tenant)
}
