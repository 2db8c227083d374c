//! Signing in, refreshing and redeeming invitations. `tenants` does the credential work
//! and hands back its transaction uncommitted; the audit event is added here and both
//! commit together, so no session exists without its event.
//!
//! Each call is first admitted by the throttle (docs/access.md, "Throttling"): `client`
//! is the caller's address as the API determined it, `None` when there is none (the CLI).

use std::net::IpAddr;

use tenants::RequestId;
use tenants::TenantsError;
use tenants::auth::{LoginOutcome, RefreshOutcome, Session, SignIn};
use tenants::password::Password;
use tenants::throttle::{Decision, ThrottleKey};

use crate::Services;
use crate::audit::{AuditEvent, FailureRecord, Outcome, Target, action};
use crate::error::{DomainError, Result};

fn admitted(decision: Decision) -> Result<()> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => {
            // Whole seconds, rounded up: `Retry-After` has no fractions, and a client
            // that waits exactly that long must find the lock gone.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            Err(DomainError::RateLimited { retry_after_secs: secs.max(1) })
        }
    }
}

pub async fn login(
    services: &Services,
    request_id: &RequestId,
    client: Option<IpAddr>,
    tenant_slug: &str,
    email: &str,
    password: &str,
) -> Result<Session> {
    let account = ThrottleKey::account(tenant_slug, email);
    admitted(services.throttle.admit(client, Some(&account)).await)?;
    match services.auth.login(tenant_slug, email, password, request_id.clone()).await? {
        LoginOutcome::SignedIn(sign_in) => {
            let session = commit_sign_in(services, sign_in, action::LOGIN).await?;
            services.throttle.succeeded(&account).await;
            Ok(session)
        }
        LoginOutcome::Refused { tx, tenant, login_name } => {
            services.throttle.failed(client).await;
            let target = Target::login_name(&login_name);
            let event = match services.audit.failed_logins().note(tenant, &account) {
                FailureRecord::Single => Some(AuditEvent::new(action::LOGIN_FAILED).target(target)),
                FailureRecord::Summary { failures } => {
                    let coalescer = services.audit.failed_logins();
                    Some(AuditEvent::new(action::LOGIN_FAILURES_COALESCED).target(target).details(serde_json::json!({
                        "failures_in_window": failures,
                        "recorded_singly": coalescer.threshold(),
                        "window_secs": coalescer.window().as_secs(),
                    })))
                }
                FailureRecord::Counted => None,
            };
            if let Some(event) = event {
                services.audit.record_system(&tx, request_id, event.outcome(Outcome::Denied)).await?;
                tx.commit().await?;
            }
            Err(TenantsError::Unauthenticated.into())
        }
        LoginOutcome::UnknownTenant => {
            services.throttle.failed(client).await;
            Err(TenantsError::Unauthenticated.into())
        }
    }
}

pub async fn refresh_session(
    services: &Services,
    request_id: &RequestId,
    client: Option<IpAddr>,
    refresh_token: &str,
) -> Result<Session> {
    admitted(services.throttle.admit(client, None).await)?;
    match services.auth.refresh(refresh_token, request_id.clone()).await? {
        RefreshOutcome::Refreshed(sign_in) => commit_sign_in(services, sign_in, action::SESSION_REFRESHED).await,
        RefreshOutcome::ReuseDetected { tx, tenant: _, member } => {
            services.throttle.failed(client).await;
            let mut event = AuditEvent::new(action::REFRESH_REUSE_DETECTED).outcome(Outcome::Denied);
            if let Some(member) = &member {
                event = event.target(Target::member(member));
            }
            services.audit.record_system(&tx, request_id, event).await?;
            // The revocation of the token family commits with its event.
            tx.commit().await?;
            Err(TenantsError::Unauthenticated.into())
        }
        RefreshOutcome::Invalid => {
            services.throttle.failed(client).await;
            Err(TenantsError::Unauthenticated.into())
        }
    }
}

/// Signs a session out: revokes its refresh token (and any successor) at once, with an
/// audit event in the same commit. A token that revokes nothing (already spent,
/// revoked, expired or unknown) is no error: the session is over either way. Admitted
/// by the throttle like a refresh, so it cannot be used to probe tokens quickly.
pub async fn logout(
    services: &Services,
    request_id: &RequestId,
    client: Option<IpAddr>,
    refresh_token: &str,
) -> Result<()> {
    admitted(services.throttle.admit(client, None).await)?;
    if let Some((tx, member)) = services.auth.logout(refresh_token, request_id.clone()).await? {
        services.audit.record(&tx, AuditEvent::new(action::LOGOUT).target(Target::member(&member))).await?;
        tx.commit().await?;
    }
    Ok(())
}

pub async fn accept_invite(
    services: &Services,
    request_id: &RequestId,
    client: Option<IpAddr>,
    token: &str,
    password: &Password,
) -> Result<Session> {
    admitted(services.throttle.admit(client, None).await)?;
    let sign_in = match services.auth.accept_invite(token, password, request_id.clone()).await {
        Ok(sign_in) => sign_in,
        Err(TenantsError::Unauthenticated) => {
            services.throttle.failed(client).await;
            return Err(TenantsError::Unauthenticated.into());
        }
        Err(e) => return Err(e.into()),
    };
    commit_sign_in(services, sign_in, action::INVITE_ACCEPTED).await
}

async fn commit_sign_in(services: &Services, sign_in: SignIn, action: &'static str) -> Result<Session> {
    let SignIn { tx, session } = sign_in;
    let event = AuditEvent::new(action).target(Target::member(&session.member.id));
    services.audit.record(&tx, event).await?;
    tx.commit().await?;
    Ok(session)
}
