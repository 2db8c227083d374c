//! Member passwords, hashed with argon2id (PHC string format, salt included).

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::{Result, TenantsError};

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// A password that met the policy. Never logged (no Debug output of the value).
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_LEN {
            return Err(TenantsError::invalid(
                "password",
                format!("use at least {MIN_PASSWORD_LEN} characters"),
            ));
        }
        if n > MAX_PASSWORD_LEN {
            return Err(TenantsError::invalid(
                "password",
                format!("use at most {MAX_PASSWORD_LEN} characters"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

pub fn hash(password: &Password) -> Result<String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| TenantsError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify(candidate: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Spends the time of one verification, so an unknown login name is not revealed by a
/// faster answer.
pub fn verify_against_dummy(candidate: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        Argon2::default().hash_password(random.as_bytes()).ok().map(|h| h.to_string())
    });
    if let Some(hash) = dummy {
        verify(candidate, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_hide_the_password() -> Result<()> {
        let pw = Password::parse("correct horse battery")?;
        let stored = hash(&pw)?;
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(Password::parse("short").is_err());
        Ok(())
    }
}
