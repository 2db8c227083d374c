//! Signing in, refreshing and redeeming invitations. `tenants` does the credential work
//! and hands back its transaction uncommitted; the audit event is added here and both
//! commit together, so no session exists without its event.

use tenants::RequestId;
use tenants::TenantsError;
use tenants::auth::{LoginOutcome, RefreshOutcome, Session, SignIn};
use tenants::password::Password;

use crate::Services;
use crate::audit::{AuditEvent, Outcome, Target, action};
use crate::error::Result;

pub async fn login(
    services: &Services,
    request_id: &RequestId,
    tenant_slug: &str,
    email: &str,
    password: &str,
) -> Result<Session> {
    match services.auth.login(tenant_slug, email, password, request_id.clone()).await? {
        LoginOutcome::SignedIn(sign_in) => commit_sign_in(services, sign_in, action::LOGIN).await,
        LoginOutcome::Refused { tx, tenant: _, login_name } => {
            let event = AuditEvent::new(action::LOGIN_FAILED)
                .target(Target::login_name(&login_name))
                .outcome(Outcome::Denied);
            services.audit.record_system(&tx, request_id, event).await?;
            tx.commit().await?;
            Err(TenantsError::Unauthenticated.into())
        }
        LoginOutcome::UnknownTenant => Err(TenantsError::Unauthenticated.into()),
    }
}

pub async fn refresh_session(services: &Services, request_id: &RequestId, refresh_token: &str) -> Result<Session> {
    match services.auth.refresh(refresh_token, request_id.clone()).await? {
        RefreshOutcome::Refreshed(sign_in) => commit_sign_in(services, sign_in, action::SESSION_REFRESHED).await,
        RefreshOutcome::ReuseDetected { tx, tenant: _, member } => {
            let mut event = AuditEvent::new(action::REFRESH_REUSE_DETECTED).outcome(Outcome::Denied);
            if let Some(member) = &member {
                event = event.target(Target::member(member));
            }
            services.audit.record_system(&tx, request_id, event).await?;
            // The revocation of the token family commits with its event.
            tx.commit().await?;
            Err(TenantsError::Unauthenticated.into())
        }
        RefreshOutcome::Invalid => Err(TenantsError::Unauthenticated.into()),
    }
}

pub async fn accept_invite(services: &Services, request_id: &RequestId, token: &str, password: &Password) -> Result<Session> {
    let sign_in = services.auth.accept_invite(token, password, request_id.clone()).await?;
    commit_sign_in(services, sign_in, action::INVITE_ACCEPTED).await
}

async fn commit_sign_in(services: &Services, sign_in: SignIn, action: &'static str) -> Result<Session> {
    let SignIn { tx, ctx, session } = sign_in;
    let event = AuditEvent::new(action).target(Target::member(&session.member.id));
    services.audit.record(&ctx, &tx, event).await?;
    tx.commit().await?;
    Ok(session)
}
