use async_graphql::{Context, Enum, Object, SimpleObject};
use domain::tenants::Principal;

use crate::graphql::context::{services, tenant};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::types::{RoleGql, TenantGql};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PrincipalKind {
    ApiKey,
    Member,
    Operator,
}

/// Who is asking, for which tenant, with which rights.
#[derive(SimpleObject)]
pub struct Viewer {
    pub kind: PrincipalKind,
    /// The API key's or member's id.
    pub id: Option<async_graphql::ID>,
    pub role: Option<RoleGql>,
    pub scopes: Vec<String>,
    pub tenant: TenantGql,
    pub request_id: String,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        let tenant_ctx = tenant(ctx)?;
        let tenant_row = domain::access::current_tenant(tenant_ctx, services(ctx)?).await?;
        let principal = tenant_ctx.principal();
        let (kind, id, role) = match principal {
            Principal::ApiKey { key_id, .. } => (PrincipalKind::ApiKey, Some(key_id.as_string().into()), None),
            Principal::Member { member_id, role, .. } => {
                (PrincipalKind::Member, Some(member_id.as_string().into()), Some((*role).into()))
            }
            Principal::Operator => (PrincipalKind::Operator, None, None),
            // Only a refused sign-in acts anonymously; no request is authenticated as one.
            Principal::Anonymous => return Err(ApiError::unauthenticated()),
        };
        Ok(Viewer {
            kind,
            id,
            role,
            scopes: principal.scopes().iter().map(|s| s.as_str().to_owned()).collect(),
            tenant: tenant_row.into(),
            request_id: tenant_ctx.request_id().to_string(),
        })
    }

    /// The caller's tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> ApiResult<TenantGql> {
        let tenant_ctx = tenant(ctx)?;
        Ok(domain::access::current_tenant(tenant_ctx, services(ctx)?).await?.into())
    }
}
