//! Short-lived access tokens for console members (HS256).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TenantsError};

const ISSUER: &str = "marquee";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The member's public id.
    pub sub: String,
    /// The tenant's internal id; tokens are only ever checked by this service.
    pub tid: i64,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub access_ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], access_ttl_secs: i64) -> Result<Self> {
        if secret.len() < 32 {
            return Err(TenantsError::invalid("jwt_secret", "use at least 32 bytes"));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(|e| TenantsError::Internal(format!("jwt key: {e}")))?,
            decoding: DecodingKey::from_secret(secret).map_err(|e| TenantsError::Internal(format!("jwt key: {e}")))?,
            access_ttl_secs,
        })
    }

    pub fn issue(&self, member_public_id: &str, tenant: i64, role: &str, now: i64) -> Result<String> {
        let claims = AccessClaims {
            sub: member_public_id.to_owned(),
            tid: tenant,
            role: role.to_owned(),
            iat: now,
            exp: now + self.access_ttl_secs,
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TenantsError::Internal(format!("jwt signing failed: {e}")))
    }

    /// Any failure (bad signature, expiry, wrong algorithm, garbage) is simply
    /// "unauthenticated": clients learn nothing about why.
    pub fn verify(&self, token: &str) -> Result<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| TenantsError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> JwtKeys {
        JwtKeys::new(secret, 900).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_and_rejections() -> Result<()> {
        let k = keys(&[7u8; 32]);
        let now = chrono::Utc::now().timestamp();
        let token = k.issue("m-1", 42, "admin", now)?;
        let claims = k.verify(&token)?;
        assert_eq!((claims.tid, claims.role.as_str()), (42, "admin"));

        let other = keys(&[8u8; 32]);
        assert!(other.verify(&token).is_err(), "a token signed with another secret must fail");

        let expired = k.issue("m-1", 42, "admin", now - 10_000)?;
        assert!(k.verify(&expired).is_err());
        assert!(k.verify("not.a.jwt").is_err());
        Ok(())
    }
}
