use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::{ApiKey, KeyEnvironment, Member, MemberStatus, Session};
use domain::tenants::Role;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "KeyEnvironment")]
pub enum KeyEnvironmentGql {
    Live,
    Test,
}

impl From<KeyEnvironmentGql> for KeyEnvironment {
    fn from(e: KeyEnvironmentGql) -> Self {
        match e {
            KeyEnvironmentGql::Live => KeyEnvironment::Live,
            KeyEnvironmentGql::Test => KeyEnvironment::Test,
        }
    }
}

impl From<KeyEnvironment> for KeyEnvironmentGql {
    fn from(e: KeyEnvironment) -> Self {
        match e {
            KeyEnvironment::Live => KeyEnvironmentGql::Live,
            KeyEnvironment::Test => KeyEnvironmentGql::Test,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Role")]
pub enum RoleGql {
    Owner,
    Admin,
    Analyst,
    Viewer,
}

impl From<RoleGql> for Role {
    fn from(r: RoleGql) -> Self {
        match r {
            RoleGql::Owner => Role::Owner,
            RoleGql::Admin => Role::Admin,
            RoleGql::Analyst => Role::Analyst,
            RoleGql::Viewer => Role::Viewer,
        }
    }
}

impl From<Role> for RoleGql {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => RoleGql::Owner,
            Role::Admin => RoleGql::Admin,
            Role::Analyst => RoleGql::Analyst,
            Role::Viewer => RoleGql::Viewer,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MemberStatus")]
pub enum MemberStatusGql {
    Invited,
    Active,
    Disabled,
}

/// An API key as listed: never its secret.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ApiKey")]
pub struct ApiKeyGql {
    pub id: async_graphql::ID,
    pub name: String,
    pub environment: KeyEnvironmentGql,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Updated at most once per key-cache period.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyGql {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.as_string().into(),
            name: k.name,
            environment: k.environment.into(),
            prefix: k.display_prefix,
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_by: k.created_by,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Member")]
pub struct MemberGql {
    pub id: async_graphql::ID,
    pub email: String,
    pub role: RoleGql,
    pub status: MemberStatusGql,
    pub created_at: DateTime<Utc>,
}

impl From<Member> for MemberGql {
    fn from(m: Member) -> Self {
        Self {
            id: m.id.as_string().into(),
            email: m.email.as_str().to_owned(),
            role: m.role.into(),
            status: match m.status {
                MemberStatus::Invited => MemberStatusGql::Invited,
                MemberStatus::Active => MemberStatusGql::Active,
                MemberStatus::Disabled => MemberStatusGql::Disabled,
            },
            created_at: m.created_at,
        }
    }
}

/// A signed-in member's tokens. Send the access token as `Authorization: Bearer ...`;
/// trade the refresh token (once) for a new pair with `refreshSession`.
#[derive(SimpleObject, Clone)]
pub struct SessionPayload {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub member: MemberGql,
}

impl From<Session> for SessionPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            expires_in: s.access_expires_in_secs,
            refresh_token: s.refresh_token,
            member: s.member.into(),
        }
    }
}
