//! Bulk imports of public datasets into a tenant, through the same bulk paths as the
//! API (parsed into the same domain types, written by the same stores), so an import
//! obeys every rule a client does and is idempotent the same way.

pub mod demo;
pub mod movielens;

use crate::catalog::UpsertCounts;
use crate::interactions::IngestCounts;

/// Where an import reports its progress (the CLI draws a bar; tests stay silent).
pub trait ImportProgress: Send + Sync {
    /// The total amount of work, in input lines.
    fn start(&self, _total_lines: u64) {}
    /// A new phase begins (a file name).
    fn phase(&self, _name: &str) {}
    /// `lines` more lines are done.
    fn advance(&self, _lines: u64) {}
}

/// No progress reporting.
pub struct Silent;
impl ImportProgress for Silent {}

/// A line that could not be imported; the rest of the file still is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedLine {
    pub file: String,
    /// From 1.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for DamagedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub items: UpsertCounts,
    pub users: UpsertCounts,
    pub interactions: IngestCounts,
    pub damaged: Vec<DamagedLine>,
}

impl ImportReport {
    /// Whether the import stored or changed anything.
    pub fn changed_anything(&self) -> bool {
        self.items.created + self.items.updated + self.users.created + self.users.updated > 0
            || self.interactions.accepted + self.interactions.users_created > 0
    }
}
