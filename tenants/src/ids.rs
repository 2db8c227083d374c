use std::fmt;

use crate::error::{Result, TenantsError};

/// Internal surrogate key of a tenant. Never leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(i64);

impl TenantId {
    pub fn from_db(raw: i64) -> Self {
        Self(raw)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Internal surrogate key of a member. Never leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(i64);

impl MemberId {
    pub fn from_db(raw: i64) -> Self {
        Self(raw)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The identifier clients see for members, keys and other access objects: a UUID, so
/// it reveals neither row counts nor order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicId(uuid::Uuid);

impl PublicId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }
    pub fn parse(raw: &str) -> Result<Self> {
        uuid::Uuid::parse_str(raw.trim()).map(Self).map_err(|_| TenantsError::invalid("id", "not a valid id"))
    }
    pub fn from_db(raw: &str) -> Result<Self> {
        uuid::Uuid::parse_str(raw).map(Self).map_err(|_| TenantsError::Internal(format!("corrupt public id {raw:?}")))
    }
    pub fn as_string(&self) -> String {
        self.0.to_string()
    }
}

impl Default for PublicId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's URL-safe handle: 3 to 40 characters, lowercase letters, digits and
/// hyphens, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let ok_len = (3..=40).contains(&s.len());
        let ok_start = s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_chars = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok_len && ok_start && ok_chars && !s.ends_with('-') {
            Ok(Self(s.to_owned()))
        } else {
            Err(TenantsError::invalid(
                "slug",
                "use 3 to 40 lowercase letters, digits or hyphens, starting with a letter",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member's e-mail address, normalised to lowercase. Checks shape only: the address
/// is a login name here, not a mailbox we write to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                    && s.matches('@').count() == 1
            });
        if valid { Ok(Self(s)) } else { Err(TenantsError::invalid("email", "not a valid e-mail address")) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        assert!(TenantSlug::parse("acme-films").is_ok());
        assert!(TenantSlug::parse("ab").is_err());
        assert!(TenantSlug::parse("1acme").is_err());
        assert!(TenantSlug::parse("Acme").is_err());
        assert!(TenantSlug::parse("acme-").is_err());
        assert!(TenantSlug::parse("ac me").is_err());
    }

    #[test]
    fn email_rules() {
        assert_eq!(Email::parse(" Ana@Example.COM ").map(|e| e.0).ok(), Some("ana@example.com".into()));
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a@@b.com").is_err());
        assert!(Email::parse("a b@c.com").is_err());
    }
}
