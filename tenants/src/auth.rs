//! Turns a bearer credential into a [`TenantCtx`], and signs members in.

use std::time::Duration;

use chrono::Utc;
use moka::sync::Cache;
use secrecy::{ExposeSecret as _, SecretSlice};

use crate::api_key_secret;
use crate::ctx::{Principal, RequestId, SystemCtx, TenantCtx};
use crate::db::{Db, TenantTx};
use crate::error::{Result, TenantsError};
use crate::ids::{Email, PublicId, TenantId, TenantSlug};
use crate::jwt::JwtKeys;
use crate::password::{Password, PasswordPool};
use crate::store::api_keys::{self, VerifiedKey};
use crate::store::members::{self, Member};
use crate::store::{hex, sessions, tenants};

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Signs access tokens (`Debug` prints `[REDACTED]`).
    pub jwt_secret: SecretSlice<u8>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// How long a verified API key is trusted without asking the database. Revocation
    /// in this process clears it at once; other replicas see it within this time.
    pub key_cache_ttl_secs: u64,
    /// Argon2 hashes and verifications running at once (see [`PasswordPool`]).
    pub password_workers: usize,
}

/// A successful sign-in whose writes (the new refresh token, a redeemed invitation) are
/// done but not committed. The caller adds its own rows to `tx` (the audit event, which
/// lives in `domain`, a crate this one must not depend on) and commits; dropping it
/// rolls everything back, so a session never exists without its audit event.
pub struct SignIn {
    /// Scoped to the member, now proven, acting in their tenant (`tx.ctx()`).
    pub tx: TenantTx,
    pub session: Session,
}

pub enum LoginOutcome {
    SignedIn(SignIn),
    /// The tenant exists but the e-mail or password is wrong. `tx` is open in that
    /// tenant so the failure can be recorded there; commit it, then refuse.
    /// `login_name` is what was typed (trimmed, lowercased), for a pseudonymised record.
    Refused {
        tx: TenantTx,
        tenant: TenantId,
        login_name: String,
    },
    /// No such tenant: there is nowhere to record the attempt.
    UnknownTenant,
}

pub enum RefreshOutcome {
    Refreshed(SignIn),
    /// A spent token was presented again. Its whole family is revoked in `tx`, which is
    /// open in the token's tenant: record the incident, commit, then refuse.
    ReuseDetected {
        tx: TenantTx,
        tenant: TenantId,
        member: Option<PublicId>,
    },
    /// Unknown, expired or revoked token, or a member who can no longer sign in.
    Invalid,
}

/// A signed-in member's tokens.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub access_expires_in_secs: i64,
    pub refresh_token: String,
    pub member: Member,
}

/// A verified key, when it was verified, and whether a request is verifying it again.
#[derive(Clone)]
struct CachedKey {
    key: VerifiedKey,
    verified_at: std::time::Instant,
    reverifying: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A request's claim to verify a stale key again, given up when dropped.
struct ReverifyClaim(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for ReverifyClaim {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// How many times its time to live a stale key is kept to be verified ahead.
const KEY_KEPT_STALE: u32 = 4;

#[derive(Clone)]
pub struct Authenticator {
    db: Db,
    jwt: std::sync::Arc<JwtKeys>,
    keys: Cache<String, CachedKey>,
    /// Past this age a cached key is verified again, by one request while the others
    /// keep using it (see [`Authenticator::authenticate_key`]).
    key_fresh_for: Duration,
    refresh_ttl_secs: i64,
    passwords: PasswordPool,
}

impl Authenticator {
    pub fn new(db: Db, config: &AuthConfig) -> Result<Self> {
        Ok(Self {
            db,
            jwt: std::sync::Arc::new(JwtKeys::new(config.jwt_secret.expose_secret(), config.access_token_ttl_secs)?),
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(config.key_cache_ttl_secs) * KEY_KEPT_STALE)
                .build(),
            key_fresh_for: Duration::from_secs(config.key_cache_ttl_secs),
            refresh_ttl_secs: config.refresh_token_ttl_secs,
            passwords: PasswordPool::new(config.password_workers),
        })
    }

    /// Resolves `Authorization: Bearer <token>`: an API key (`mq_...`) or a member's
    /// access token. Any failure is `Unauthenticated`, with no hint why.
    pub async fn authenticate(&self, bearer: &str, request_id: RequestId) -> Result<TenantCtx> {
        let token = bearer.trim();
        if token.starts_with("mq_") {
            self.authenticate_key(token, request_id).await
        } else {
            self.authenticate_member(token, request_id).await
        }
    }

    async fn authenticate_key(&self, plain: &str, request_id: RequestId) -> Result<TenantCtx> {
        if !api_key_secret::looks_valid(plain) {
            return Err(TenantsError::Unauthenticated);
        }
        let hash = hex(&api_key_secret::hash_secret(plain));
        // A stale entry is verified again by the one request that claims it; the others
        // keep using it meanwhile instead of all stalling on the database (on a busy
        // PostgreSQL that stall was the whole tenant's 99th percentile, once a minute).
        let key = match self.keys.get(&hash) {
            Some(cached) if cached.verified_at.elapsed() < self.key_fresh_for => cached.key,
            Some(cached) if cached.reverifying.swap(true, std::sync::atomic::Ordering::AcqRel) => cached.key,
            Some(cached) => {
                // Released however this ends, a dropped request included: a claim left
                // behind would stop the key from being verified again until it expires.
                let _claim = ReverifyClaim(cached.reverifying.clone());
                match self.verify_key(&hash).await {
                    Ok(key) => key,
                    Err(TenantsError::Unauthenticated) => {
                        self.keys.invalidate(&hash);
                        return Err(TenantsError::Unauthenticated);
                    }
                    Err(e) => {
                        tracing::warn!(error = ?e, "could not verify a cached key again; it stays trusted meanwhile");
                        cached.key
                    }
                }
            }
            None => self.verify_key(&hash).await?,
        };
        // Expiry is checked on every use, not only when the cache was filled.
        if key.expires_at.is_some_and(|t| t <= Utc::now()) {
            self.keys.invalidate(&key.secret_hash);
            return Err(TenantsError::Unauthenticated);
        }
        let principal = Principal::ApiKey { key_row: key.row_id, key_id: key.key_id, scopes: key.scopes };
        Ok(TenantCtx::new(key.tenant_id, principal, request_id))
    }

    /// Reads the key by its hash, notes its use and caches it.
    async fn verify_key(&self, hash: &str) -> Result<VerifiedKey> {
        let verified_at = std::time::Instant::now();
        let tx = self.db.begin_system(&SystemCtx::new("verify api key")).await?;
        let found = api_keys::verify(&tx, hash).await?;
        tx.commit().await?;
        let key = found.ok_or(TenantsError::Unauthenticated)?;
        // Last-used time is informative: failing to note it must not refuse the key.
        let touched = async {
            let tx = self.db.begin_system(&SystemCtx::new("note api key use")).await?;
            api_keys::touch_last_used(&tx, key.row_id).await?;
            tx.commit().await
        };
        if let Err(e) = touched.await {
            tracing::warn!(error = ?e, "could not note the key's last use");
        }
        let cached = CachedKey { key: key.clone(), verified_at, reverifying: Default::default() };
        self.keys.insert(hash.to_owned(), cached);
        Ok(key)
    }

    async fn authenticate_member(&self, token: &str, request_id: RequestId) -> Result<TenantCtx> {
        let claims = self.jwt.verify(token)?;
        let member_id = PublicId::parse(&claims.sub).map_err(|_| TenantsError::Unauthenticated)?;
        let tenant = TenantId::from_db(claims.tid);
        let tx = self.db.begin_system(&SystemCtx::new("verify member token")).await?;
        let member = members::find_active(&tx, tenant, &member_id).await?;
        tx.commit().await?;
        let member = member.ok_or(TenantsError::Unauthenticated)?;
        // The role is read fresh, so a demotion takes effect before the token expires.
        let principal = Principal::Member { member: member.row, member_id: member.id, role: member.role };
        Ok(TenantCtx::new(tenant, principal, request_id))
    }

    /// Where every argon2 hash and verification runs.
    pub fn passwords(&self) -> &PasswordPool {
        &self.passwords
    }

    /// Drops a key from the verification cache (on revocation, announced as a change so
    /// every replica drops it). Synchronous, as every cache's change is.
    pub fn forget_key(&self, secret_hash: &str) {
        self.keys.invalidate(secret_hash);
    }

    /// Drops every verified key (revocations may have been missed).
    pub fn forget_all_keys(&self) {
        self.keys.invalidate_all();
    }

    /// Checks a member's credentials and, on success, writes their session. Nothing is
    /// committed here: see [`SignIn`].
    pub async fn login(&self, slug: &str, email: &str, password: &str, request_id: RequestId) -> Result<LoginOutcome> {
        // A malformed slug is refused the same way as a wrong password.
        let Ok(slug) = TenantSlug::parse(slug) else {
            self.passwords.verify_against_dummy(password).await?;
            return Ok(LoginOutcome::UnknownTenant);
        };
        // The lookup reads in a short transaction; argon2 then runs with no connection
        // held. Writing starts a fresh transaction whose first statement is a write: on
        // SQLite, a transaction that read first cannot take the write lock once another
        // writer has committed meanwhile.
        let tx = self.db.begin_system(&SystemCtx::new("member login")).await?;
        let Some(tenant) = tenants::find_by_slug(&tx, &slug).await? else {
            tx.commit().await?;
            self.passwords.verify_against_dummy(password).await?;
            return Ok(LoginOutcome::UnknownTenant);
        };
        let record = match Email::parse(email) {
            Ok(email) => Some(members::find_for_login(&tx, tenant.id, &email).await?),
            Err(_) => None,
        };
        tx.commit().await?;
        let checked = match record {
            Some(record) => members::check_password(&self.passwords, record, password).await,
            None => {
                self.passwords.verify_against_dummy(password).await?;
                Err(TenantsError::Unauthenticated)
            }
        };
        let tx = self.db.begin_system_write(&SystemCtx::new("member login")).await?;
        match checked {
            Ok(member) => {
                let session = self.open_session(&tx, member, None).await?;
                let tx = self.scope_to_member(tx, &session.member, request_id).await?;
                Ok(LoginOutcome::SignedIn(SignIn { tx, session }))
            }
            Err(TenantsError::Unauthenticated) => {
                let tx = tx.scope_to(&TenantCtx::unproven(tenant.id, request_id)).await?;
                Ok(LoginOutcome::Refused { tx, tenant: tenant.id, login_name: email.trim().to_lowercase() })
            }
            Err(e) => Err(e),
        }
    }

    /// Spends a refresh token and issues its successor. Nothing is committed here.
    pub async fn refresh(&self, refresh_token: &str, request_id: RequestId) -> Result<RefreshOutcome> {
        let tx = self.db.begin_system_write(&SystemCtx::new("refresh session")).await?;
        match sessions::spend(&tx, refresh_token).await? {
            sessions::Spend::Spent { tenant: _, member, family } => {
                let Some(member) =
                    members::find_by_row(&tx, member).await?.filter(|m| m.status == members::MemberStatus::Active)
                else {
                    return Ok(RefreshOutcome::Invalid);
                };
                let session = self.open_session(&tx, member, Some(family)).await?;
                let tx = self.scope_to_member(tx, &session.member, request_id).await?;
                Ok(RefreshOutcome::Refreshed(SignIn { tx, session }))
            }
            sessions::Spend::Invalid => Ok(RefreshOutcome::Invalid),
            sessions::Spend::ReuseDetected { tenant, member } => {
                tracing::warn!("refresh token reuse detected; token family revoked");
                let member = members::find_by_row(&tx, member).await?.map(|m| m.id);
                let tx = tx.scope_to(&TenantCtx::unproven(tenant, request_id)).await?;
                Ok(RefreshOutcome::ReuseDetected { tx, tenant, member })
            }
        }
    }

    /// Signs a session out: revokes the refresh token's family (logout). Nothing is
    /// committed here: on `Some`, the transaction acts as the member whose session it was,
    /// for the caller's audit event; `None` means the token revoked nothing (unknown,
    /// expired, already revoked), which is not an error: logging out twice is harmless.
    pub async fn logout(&self, refresh_token: &str, request_id: RequestId) -> Result<Option<(TenantTx, PublicId)>> {
        let tx = self.db.begin_system_write(&SystemCtx::new("logout")).await?;
        let Some((_, member)) = sessions::revoke_family(&tx, refresh_token).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        match members::find_by_row(&tx, member).await? {
            Some(member) => {
                let id = member.id;
                Ok(Some((self.scope_to_member(tx, &member, request_id).await?, id)))
            }
            // The member was removed meanwhile: their tokens were revoked with them.
            None => {
                tx.commit().await?;
                Ok(None)
            }
        }
    }

    /// Redeems an invitation and signs the new member in. Nothing is committed here.
    /// The token is looked up first and the password hashed only for a live invitation,
    /// so guessing tokens costs the server no argon2 work.
    pub async fn accept_invite(&self, token: &str, password: &Password, request_id: RequestId) -> Result<SignIn> {
        let tx = self.db.begin_system(&SystemCtx::new("find invitation")).await?;
        let invite = members::find_invite(&tx, token).await?;
        tx.commit().await?;
        let invite = invite.ok_or(TenantsError::Unauthenticated)?;
        // Hashed between two transactions: on SQLite the longer one sits between its
        // read and its write, the likelier another writer commits in between.
        let hashed = self.passwords.hash(password).await?;
        let tx = self.db.begin_system_write(&SystemCtx::new("accept invitation")).await?;
        let member = members::redeem_invite(&tx, invite, hashed).await?;
        let session = self.open_session(&tx, member, None).await?;
        let tx = self.scope_to_member(tx, &session.member, request_id).await?;
        Ok(SignIn { tx, session })
    }

    /// From here on the member is proven: the rest of the transaction acts as them.
    async fn scope_to_member(
        &self,
        tx: crate::db::SystemTx,
        member: &Member,
        request_id: RequestId,
    ) -> Result<TenantTx> {
        let principal = Principal::Member { member: member.row, member_id: member.id, role: member.role };
        tx.scope_to(&TenantCtx::new(member.tenant_id, principal, request_id)).await
    }

    async fn open_session(&self, tx: &crate::db::SystemTx, member: Member, family: Option<String>) -> Result<Session> {
        let now = Utc::now().timestamp();
        let access_token = self.jwt.issue(&member.id.as_string(), member.tenant_id.get(), member.role.as_str(), now)?;
        let refresh_token = sessions::issue(tx, member.tenant_id, member.row, family, self.refresh_ttl_secs).await?;
        Ok(Session { access_token, access_expires_in_secs: self.jwt.access_ttl_secs, refresh_token, member })
    }
}
