//! What callers say happened. Who did it, when, with which request and at which place
//! in the chain is filled in by [`super::Auditor::record`], so callers cannot get it wrong.

use tenants::ids::PublicId;

/// Action names: `<object>.<verb>`, stable (they are stored and filtered on).
pub mod action {
    pub const TENANT_CREATED: &str = "tenant.created";
    pub const MEMBER_CREATED: &str = "member.created";
    pub const MEMBER_INVITED: &str = "member.invited";
    pub const INVITE_ACCEPTED: &str = "member.invite_accepted";
    pub const MEMBER_ROLE_CHANGED: &str = "member.role_changed";
    pub const MEMBER_REMOVED: &str = "member.removed";
    pub const API_KEY_CREATED: &str = "api_key.created";
    pub const API_KEY_REVOKED: &str = "api_key.revoked";
    pub const LOGIN: &str = "session.login";
    pub const LOGIN_FAILED: &str = "session.login_failed";
    /// Failed sign-ins of one account past the per-window threshold, counted.
    pub const LOGIN_FAILURES_COALESCED: &str = "session.login_failures_coalesced";
    pub const SESSION_REFRESHED: &str = "session.refreshed";
    pub const REFRESH_REUSE_DETECTED: &str = "session.refresh_reuse_detected";
    /// A member signed out: their refresh token's family was revoked.
    pub const LOGOUT: &str = "session.logout";
    pub const AUDIT_CHECKPOINTED: &str = "audit.checkpointed";
    /// A sealed segment of the log was archived and left the database.
    pub const AUDIT_ARCHIVED: &str = "audit.archived";
    pub const CONTENT_UPSERTED: &str = "content.upserted";
    pub const CONTENT_DELETED: &str = "content.deleted";
    pub const END_USER_UPSERTED: &str = "end_user.upserted";
    pub const INTERACTIONS_RECORDED: &str = "interactions.recorded";
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    pub const MODEL_TRAINING_QUEUED: &str = "model.training_queued";
    pub const JOB_CANCEL_REQUESTED: &str = "job.cancel_requested";
    pub const MODEL_DEPLOYED: &str = "model.deployed";
    pub const MODEL_ROLLED_BACK: &str = "model.rolled_back";
    pub const MODEL_UPLOADED: &str = "model.uploaded";
    /// Personalized recommendations for one end user (a read of their personal data).
    pub const RECOMMENDATIONS_READ: &str = "recommendations.read";
    /// Why items are (or are not) recommended to one end user.
    pub const RECOMMENDATIONS_EXPLAINED: &str = "recommendations.explained";
    pub const CONSENT_CHANGED: &str = "end_user.consent_changed";
    /// Everything held about one end user, exported.
    pub const END_USER_EXPORTED: &str = "end_user.exported";
    pub const END_USER_ERASED: &str = "end_user.erased";
    /// A later `eraseUser` for an erased person re-checked every model file and table.
    pub const END_USER_ERASURE_RECHECKED: &str = "end_user.erasure_rechecked";
    /// A model that learnt from an erased person was replaced and its files deleted.
    pub const MODEL_RETIRED: &str = "model.retired";
    /// The retention job deleted interactions older than the tenant keeps.
    pub const INTERACTIONS_PURGED: &str = "interactions.retention_purged";
    /// Who engages with one item, how and when (aggregates over consenting people).
    pub const CONTENT_INSIGHTS_READ: &str = "content.insights_read";
    /// What a segment of the audience engages with (aggregates over consenting people).
    pub const AUDIENCE_INSIGHTS_READ: &str = "audience.insights_read";
}

/// How the attempt ended. Mutations write their event in the same transaction as the
/// change, so their events are successes by construction; refusals are recorded where
/// the refusal itself is the news (a failed login, a replayed refresh token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
        }
    }
}

/// What an event is about. Identifiers of people outside the tenant's staff (end users,
/// names typed into a login form) are stored only as keyed pseudonyms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) pseudonymize: bool,
}

impl Target {
    /// An end user of the tenant, by the tenant's own user id (never stored as given).
    pub fn end_user(user_id: &str) -> Self {
        Self { kind: "end_user", id: user_id.to_owned(), pseudonymize: true }
    }
    /// Whatever was typed as the login e-mail: it may be anybody's address, or even a
    /// password typed into the wrong field, so it is kept only as a pseudonym.
    pub fn login_name(name: &str) -> Self {
        Self { kind: "login_name", id: name.to_owned(), pseudonymize: true }
    }
    pub fn member(id: &PublicId) -> Self {
        Self { kind: "member", id: id.as_string(), pseudonymize: false }
    }
    pub fn api_key(id: &PublicId) -> Self {
        Self { kind: "api_key", id: id.as_string(), pseudonymize: false }
    }
    /// A non-personal object (an item, a model, the tenant) by its public id.
    pub fn object(kind: &'static str, id: impl Into<String>) -> Self {
        Self { kind, id: id.into(), pseudonymize: false }
    }
}

/// One thing that happened, as the caller describes it.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub(crate) action: &'static str,
    pub(crate) target: Option<Target>,
    pub(crate) outcome: Outcome,
    pub(crate) details: serde_json::Value,
    /// Only for events without a proven principal ([`super::Auditor::record_system`]).
    pub(crate) principal: Option<String>,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            target: None,
            outcome: Outcome::Success,
            details: serde_json::Value::Object(Default::default()),
            principal: None,
        }
    }
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    /// Facts worth keeping (counts, names of non-personal things). Never personal data.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    /// Who acted, for system events: e.g. `anonymous` for a failed login.
    pub fn by(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }
}
