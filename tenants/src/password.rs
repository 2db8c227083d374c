//! Member passwords, hashed with argon2id (PHC string format, salt included), always
//! through a [`PasswordPool`] off the async workers.

use argon2::password_hash::phc::PasswordHash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{Result, TenantsError};

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// A password that met the policy. Never logged (no Debug output of the value).
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_LEN {
            return Err(TenantsError::invalid("password", format!("use at least {MIN_PASSWORD_LEN} characters")));
        }
        if n > MAX_PASSWORD_LEN {
            return Err(TenantsError::invalid("password", format!("use at most {MAX_PASSWORD_LEN} characters")));
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

fn hash(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| TenantsError::Internal(format!("password hashing failed: {e}")))
}

fn verify(candidate: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

fn verify_against_dummy(candidate: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        Argon2::default().hash_password(random.as_bytes()).ok().map(|h| h.to_string())
    });
    if let Some(hash) = dummy {
        verify(candidate, hash);
    }
}

/// A PHC string produced by [`PasswordPool::hash`]: the only way to obtain one, so a
/// store cannot be handed a password that skipped the pool.
pub struct HashedPassword(String);

impl HashedPassword {
    pub(crate) fn into_phc(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for HashedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashedPassword(..)")
    }
}

/// Where argon2 runs. It costs tens of milliseconds of CPU by design; on the async
/// workers that stalls every request sharing the thread, so a burst of logins froze the
/// server. Here it runs on tokio's blocking threads, at most `max_concurrent` at once;
/// further callers wait their turn without holding a thread.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    hashes: Arc<AtomicU64>,
    verifications: Arc<AtomicU64>,
}

impl PasswordPool {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            hashes: Arc::new(AtomicU64::new(0)),
            verifications: Arc::new(AtomicU64::new(0)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| TenantsError::Internal("password pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            // Held until the work ends, even if the caller has gone away meanwhile.
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| TenantsError::Internal(format!("password work failed: {e}")))
    }

    pub async fn hash(&self, password: &Password) -> Result<HashedPassword> {
        self.hashes.fetch_add(1, Ordering::Relaxed);
        let plain = password.expose().to_owned();
        self.run(move || hash(&plain)).await?.map(HashedPassword)
    }

    pub async fn verify(&self, candidate: &str, stored: &str) -> Result<bool> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let (candidate, stored) = (candidate.to_owned(), stored.to_owned());
        self.run(move || verify(&candidate, &stored)).await
    }

    /// Spends the time of one verification, so an unknown login name is not revealed by
    /// a faster answer.
    pub async fn verify_against_dummy(&self, candidate: &str) -> Result<()> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let candidate = candidate.to_owned();
        self.run(move || verify_against_dummy(&candidate)).await
    }

    /// Hashes started since the pool was made (tests count them to prove an order).
    pub fn hashes_started(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    pub fn verifications_started(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_hide_the_password() -> Result<()> {
        let pw = Password::parse("correct horse battery")?;
        let stored = hash(pw.expose())?;
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(Password::parse("short").is_err());
        Ok(())
    }
}
