use std::fmt;

use crate::error::{Result, TenantsError};
use crate::ids::{MemberId, PublicId, TenantId};
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};

/// Correlates one request across logs, errors and audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
    /// Accepts a caller-supplied id (for tracing across services) only when it is short
    /// and harmless to log; otherwise a fresh one is made.
    pub fn from_header(raw: Option<&str>) -> Self {
        match raw {
            Some(s)
                if !s.is_empty()
                    && s.len() <= 64
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                Self(s.to_owned())
            }
            _ => Self::new(),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    ApiKey {
        key_row: i64,
        key_id: PublicId,
        scopes: ScopeSet,
    },
    Member {
        member: MemberId,
        member_id: PublicId,
        role: Role,
    },
    /// The platform operator, through the CLI.
    Operator,
    /// Someone not proven to act for the tenant: a refused sign-in, recorded in the
    /// tenant it named. Holds no scope.
    Anonymous,
}

impl Principal {
    pub fn scopes(&self) -> ScopeSet {
        match self {
            Principal::ApiKey { scopes, .. } => scopes.clone(),
            Principal::Member { role, .. } => role.scopes(),
            Principal::Operator => ScopeSet::all(),
            Principal::Anonymous => ScopeSet::default(),
        }
    }

    /// A stable, non-secret label for logs and audit events. A key records its
    /// creator's label, which is how a removed member's keys are found.
    pub fn label(&self) -> String {
        match self {
            Principal::ApiKey { key_id, .. } => Self::key_label(key_id),
            Principal::Member { member_id, .. } => Self::member_label(member_id),
            Principal::Operator => "operator".to_owned(),
            Principal::Anonymous => "anonymous".to_owned(),
        }
    }

    pub fn key_label(key_id: &PublicId) -> String {
        format!("api_key:{key_id}")
    }

    pub fn member_label(member_id: &PublicId) -> String {
        format!("member:{member_id}")
    }
}

/// The tenant a request acts for and who acts. Only authentication (or the operator's
/// CLI) can make one, so holding a `TenantCtx` means the tenant was proven.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    tenant_id: TenantId,
    principal: Principal,
    request_id: RequestId,
}

impl TenantCtx {
    pub(crate) fn new(tenant_id: TenantId, principal: Principal, request_id: RequestId) -> Self {
        Self { tenant_id, principal, request_id }
    }

    /// The operator acting on one tenant from the command line.
    pub fn operator(tenant_id: TenantId, request_id: RequestId) -> Self {
        Self::new(tenant_id, Principal::Operator, request_id)
    }

    /// A refused sign-in in the tenant it named (see [`Principal::Anonymous`]).
    pub(crate) fn unproven(tenant_id: TenantId, request_id: RequestId) -> Self {
        Self::new(tenant_id, Principal::Anonymous, request_id)
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.principal.scopes().contains(scope)
    }

    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.has(scope) { Ok(()) } else { Err(TenantsError::MissingScope(scope)) }
    }

    pub fn member_role(&self) -> Option<Role> {
        match &self.principal {
            Principal::Member { role, .. } => Some(*role),
            Principal::Operator => Some(Role::Owner),
            Principal::ApiKey { .. } | Principal::Anonymous => None,
        }
    }
}

/// Permission to cross tenants, for the few operations that must find the tenant
/// first (verifying a credential) and for operator jobs. Deliberately explicit.
#[derive(Debug, Clone)]
pub struct SystemCtx {
    reason: &'static str,
}

impl SystemCtx {
    pub fn new(reason: &'static str) -> Self {
        Self { reason }
    }
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}
