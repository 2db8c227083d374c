use tenants::auth::Session;
use tenants::password::Password;

use crate::Services;
use crate::error::Result;

pub async fn login(services: &Services, tenant_slug: &str, email: &str, password: &str) -> Result<Session> {
    Ok(services.auth.login(tenant_slug, email, password).await?)
}

pub async fn refresh_session(services: &Services, refresh_token: &str) -> Result<Session> {
    Ok(services.auth.refresh(refresh_token).await?)
}

pub async fn accept_invite(services: &Services, token: &str, password: &Password) -> Result<Session> {
    Ok(services.auth.accept_invite(token, password).await?)
}
