//! End users' rights: export everything held about a person, erase them, record their
//! consent, and keep interactions no longer than the tenant allows (docs/privacy.md).
//!
//! Every operation here writes its audit event in its own transaction. Export and
//! erasure need `privacy:manage`; consent needs `privacy:manage` or `users:write` (the
//! tenant's backend relays what the person chose).

mod consent;
mod entity;
mod erase;
mod export;
mod retention;
mod subject;

pub use consent::{ConsentUpdate, set_consent};
pub use erase::{ErasureReceipt, ErasureStatus, count_erasure_receipts, erase_user, list_erasure_receipts};
pub use export::export_user_data;
pub use retention::{RetentionRun, apply_retention, apply_retention_for};
