use std::fmt;

use crate::error::{Result, TenantsError};
use crate::scope::{Scope, ScopeSet};

/// A console member's role. Ordered by power: a member may only grant roles at or
/// below their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            other => Err(TenantsError::invalid("role", format!("unknown role {other:?}"))),
        }
    }

    /// What the role may do. Viewers read; analysts also read personal data, train
    /// models and read reports; admins and owners do everything.
    pub fn scopes(self) -> ScopeSet {
        use Scope::*;
        match self {
            Role::Viewer => [CatalogRead, RecommendationsRead, ReportsRead].into_iter().collect(),
            Role::Analyst => {
                [CatalogRead, RecommendationsRead, ReportsRead, UsersRead, ModelsManage].into_iter().collect()
            }
            Role::Admin | Role::Owner => ScopeSet::all(),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_cannot_manage_keys_but_admins_can() {
        assert!(!Role::Viewer.scopes().contains(Scope::ApiKeysManage));
        assert!(!Role::Analyst.scopes().contains(Scope::MembersManage));
        assert!(Role::Admin.scopes().contains(Scope::ApiKeysManage));
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Analyst);
    }
}
