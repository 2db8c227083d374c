use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Result, TenantsError};

/// A permission an API key or a member's role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    CatalogRead,
    CatalogWrite,
    EventsWrite,
    RecommendationsRead,
    UsersRead,
    UsersWrite,
    ModelsManage,
    ReportsRead,
    PrivacyManage,
    AuditRead,
    ApiKeysManage,
    MembersManage,
    SettingsManage,
}

impl Scope {
    pub const ALL: [Scope; 13] = [
        Scope::CatalogRead,
        Scope::CatalogWrite,
        Scope::EventsWrite,
        Scope::RecommendationsRead,
        Scope::UsersRead,
        Scope::UsersWrite,
        Scope::ModelsManage,
        Scope::ReportsRead,
        Scope::PrivacyManage,
        Scope::AuditRead,
        Scope::ApiKeysManage,
        Scope::MembersManage,
        Scope::SettingsManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CatalogRead => "catalog:read",
            Scope::CatalogWrite => "catalog:write",
            Scope::EventsWrite => "events:write",
            Scope::RecommendationsRead => "recommendations:read",
            Scope::UsersRead => "users:read",
            Scope::UsersWrite => "users:write",
            Scope::ModelsManage => "models:manage",
            Scope::ReportsRead => "reports:read",
            Scope::PrivacyManage => "privacy:manage",
            Scope::AuditRead => "audit:read",
            Scope::ApiKeysManage => "apikeys:manage",
            Scope::MembersManage => "members:manage",
            Scope::SettingsManage => "settings:manage",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| TenantsError::invalid("scopes", format!("unknown scope {raw:?}")))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, stored as one space-separated string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
    pub fn to_storage(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
    pub fn from_storage(raw: &str) -> Result<Self> {
        raw.split_whitespace()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>>>()
            .map(Self)
            .map_err(|_| TenantsError::Internal(format!("corrupt scope list {raw:?}")))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_storage() {
        let set: ScopeSet = [Scope::CatalogRead, Scope::AuditRead].into_iter().collect();
        let stored = set.to_storage();
        assert_eq!(stored, "catalog:read audit:read");
        assert_eq!(ScopeSet::from_storage(&stored).ok(), Some(set));
    }

    #[test]
    fn unknown_scope_is_refused() {
        assert!(Scope::parse("catalog:admin").is_err());
        assert_eq!(Scope::parse(" users:write ").ok(), Some(Scope::UsersWrite));
    }
}
