//! Helpers for bulk statements that work on SQLite and PostgreSQL alike.

use chrono::{DateTime, Utc};

/// Bound parameters per statement: below SQLite's 32,766 and PostgreSQL's 65,535.
pub const MAX_BIND: usize = 30_000;

/// Rows per multi-row statement for a table with `columns` bound columns.
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_BIND / columns.max(1)).max(1)
}

/// Milliseconds per day: events are counted by UTC day as `occurred_at / DAY_MS`.
pub const DAY_MS: i64 = 86_400_000;

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
