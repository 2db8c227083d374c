//! ORM entities of the audit tables. Private to `audit`: the rest of the code sees
//! [`super::AuditRecord`] and [`super::VerifyReport`].

pub mod archive;
pub mod checkpoint;
pub mod event;
pub mod head;
