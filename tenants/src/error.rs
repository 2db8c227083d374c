use crate::scope::Scope;

/// Everything that can go wrong in tenancy and access. The API maps each variant to
/// one public error code; `Database` carries the cause for the logs only.
#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error("missing or invalid credentials")]
    Unauthenticated,
    #[error("this operation needs the `{0}` scope")]
    MissingScope(Scope),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl TenantsError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field, reason: reason.into() }
    }
}

pub type Result<T, E = TenantsError> = std::result::Result<T, E>;
