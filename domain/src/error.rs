use std::panic::Location;

use tenants::TenantsError;

/// The one table of public error codes. Every error a client sees carries exactly one
/// of these in `extensions.code`; the API maps each to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    PayloadTooLarge,
    MethodNotAllowed,
    NotAcceptable,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooComplex,
    PersistedQueryNotFound,
    Unauthenticated,
    Forbidden,
    /// A request authenticated by the console's session cookie without the matching
    /// `X-CSRF-Token` header (double submit): possibly forged by another site.
    CsrfRejected,
    NotFound,
    InvalidInput,
    Conflict,
    RateLimited,
    QuotaExceeded,
    ModelNotReady,
    ModelFailed,
    /// A model file does not match the checksum stored with it: it is not served.
    ModelCorrupt,
    /// The database cannot be reached: retry shortly.
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::BadRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotAcceptable,
        ErrorCode::GraphqlParseFailed,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::QueryTooComplex,
        ErrorCode::PersistedQueryNotFound,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::CsrfRejected,
        ErrorCode::NotFound,
        ErrorCode::InvalidInput,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::QuotaExceeded,
        ErrorCode::ModelNotReady,
        ErrorCode::ModelFailed,
        ErrorCode::ModelCorrupt,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Access(#[from] TenantsError),
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    ModelNotReady(String),
    /// The tenant's own uploaded model failed while answering (time or memory limit, or
    /// an error of its own); the message says which and is meant for the tenant.
    #[error("{0}")]
    ModelFailed(String),
    /// A stored model file failed its checksum (`models::artifacts`); the message names
    /// the file, never its content.
    #[error("{0}")]
    ModelCorrupt(String),
    /// The database failed underneath a request. `location` is where the error entered
    /// the domain (the `?` that converted it).
    #[error("database error at {location}")]
    Database { source: sea_orm::DbErr, location: &'static Location<'static> },
    /// A fault of the service (corrupt data, a broken invariant, an I/O failure). The
    /// message and cause are for the logs only; clients see a request id.
    #[error("internal error at {location}: {message}")]
    Internal {
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        location: &'static Location<'static>,
    },
}

impl From<sea_orm::DbErr> for DomainError {
    #[track_caller]
    fn from(source: sea_orm::DbErr) -> Self {
        Self::Database { source, location: Location::caller() }
    }
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), reason: reason.into() }
    }

    /// A fault of the service with no underlying error value; records the caller.
    #[track_caller]
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal { message: message.into(), source: None, location: Location::caller() }
    }

    /// A fault of the service caused by `source`, which the logs keep.
    #[track_caller]
    pub fn internal_from(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal { message: message.into(), source: Some(Box::new(source)), location: Location::caller() }
    }

    /// Where an internal or database error arose, for the log line that reports it.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        match self {
            DomainError::Database { location, .. } | DomainError::Internal { location, .. } => Some(location),
            _ => None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::Access(e) => match e {
                TenantsError::Unauthenticated => ErrorCode::Unauthenticated,
                TenantsError::MissingScope(_) | TenantsError::Forbidden(_) => ErrorCode::Forbidden,
                TenantsError::InvalidInput { .. } => ErrorCode::InvalidInput,
                TenantsError::NotFound(_) => ErrorCode::NotFound,
                TenantsError::Conflict(_) => ErrorCode::Conflict,
                TenantsError::Database(e) if unreachable(e) => ErrorCode::Unavailable,
                TenantsError::Database(_) | TenantsError::Internal(_) => ErrorCode::Internal,
            },
            DomainError::InvalidInput { .. } => ErrorCode::InvalidInput,
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::Conflict(_) => ErrorCode::Conflict,
            DomainError::Forbidden(_) => ErrorCode::Forbidden,
            DomainError::RateLimited { .. } => ErrorCode::RateLimited,
            DomainError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            DomainError::ModelNotReady(_) => ErrorCode::ModelNotReady,
            DomainError::ModelFailed(_) => ErrorCode::ModelFailed,
            DomainError::ModelCorrupt(_) => ErrorCode::ModelCorrupt,
            DomainError::Database { source, .. } if unreachable(source) => ErrorCode::Unavailable,
            DomainError::Database { .. } | DomainError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// What a client may read. Internal causes stay in the logs.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error; quote the request id to support".to_owned(),
            ErrorCode::Unavailable => "the service cannot reach its database; retry shortly".to_owned(),
            _ => self.to_string(),
        }
    }

    /// The input field at fault, when there is one.
    pub fn field(&self) -> Option<String> {
        match self {
            DomainError::InvalidInput { field, .. } => Some(field.clone()),
            DomainError::Access(TenantsError::InvalidInput { field, .. }) => Some((*field).to_owned()),
            _ => None,
        }
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Whether a database error means the database cannot be reached (no connection within
/// the acquire timeout, a connection that broke), rather than a fault of a statement.
pub fn unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match e {
        sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => return true,
        sea_orm::DbErr::Exec(r) | sea_orm::DbErr::Query(r) => r,
        _ => return false,
    };
    match runtime {
        // A connection that broke mid-statement reports an I/O or a protocol error.
        sea_orm::RuntimeErr::SqlxError(e) => matches!(
            e.as_ref(),
            Sqlx::Io(_)
                | Sqlx::Protocol(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::Tls(_)
                | Sqlx::WorkerCrashed
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_are_not_shown() {
        let e = DomainError::internal("connection string postgres://secret");
        assert!(!e.public_message().contains("secret"));
        let e = DomainError::Access(TenantsError::Internal("boom at line 3".into()));
        assert_eq!(e.code(), ErrorCode::Internal);
        assert!(!e.public_message().contains("boom"));
    }

    #[test]
    fn internal_errors_keep_their_cause_and_where_they_arose() {
        let line = line!() + 1;
        let e = DomainError::internal_from("reading a model file", std::io::Error::other("disk on fire"));
        let location = e.location().map(|l| (l.file(), l.line()));
        assert_eq!(location, Some((file!(), line)));
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("disk on fire"));

        fn convert() -> Result<()> {
            Err(sea_orm::DbErr::Custom("gone".into()))?;
            Ok(())
        }
        let e = convert().err();
        let location = e.as_ref().and_then(DomainError::location).map(|l| l.line());
        assert!(matches!(e, Some(DomainError::Database { .. })));
        assert!(location.is_some_and(|l| l < line!()), "the `?` inside convert is the location: {location:?}");
    }
}
