//! How a stored event keeps its hashes and pseudonyms (docs/audit.md, "Storage
//! encodings"). The chain covers the logical event, in which they are lowercase hex, so
//! the encoding is a matter of bytes at rest only: a v2 row and the v1 row it would have
//! been hash alike, and checkpoints signed before v2 still verify.
//!
//! - v1 (rows written before migration `m0016_audit_compact`): `hash`, `prev_hash` and a
//!   pseudonymous `target` as 64 hex characters.
//! - v2: the same values as 32 raw bytes in `hash_bin`, `prev_hash_bin` and `target_bin`,
//!   the text columns empty. A target that is not a pseudonym (an API key's id, a model's)
//!   stays text.
//!
//! Every reader turns a row into its logical (v1) form first with [`decoded`], so
//! verification, listing and export have one code path for both.

use super::chain;
use super::entity::event;

pub const V1: i16 = 1;
pub const V2: i16 = 2;

/// The row as the chain sees it: hashes and pseudonyms as hex text.
pub(super) fn decoded(mut row: event::Model) -> event::Model {
    if row.encoding != V2 {
        return row;
    }
    // A missing or mis-sized value shows as a hash that matches nothing: verification
    // then names the row, as it would an altered hex value.
    let hex = |bytes: &Option<Vec<u8>>| bytes.as_deref().map(chain::to_hex).unwrap_or_default();
    row.hash = hex(&row.hash_bin);
    row.prev_hash = hex(&row.prev_hash_bin);
    if row.target_bin.is_some() {
        row.target = hex(&row.target_bin);
    }
    row
}

/// What a v2 row stores for a target: a pseudonym (64 hex digits) as its 32 bytes,
/// anything else as text.
pub(super) fn stored_target(target: String, pseudonymized: bool) -> (String, Option<Vec<u8>>) {
    match chain::from_hex(&target) {
        Some(bytes) if pseudonymized => (String::new(), Some(bytes.to_vec())),
        _ => (target, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_row() -> event::Model {
        event::Model {
            id: 1,
            tenant_id: 7,
            seq: 1,
            occurred_at: chrono::DateTime::default(),
            principal: "operator".into(),
            action: "end_user.read".into(),
            target_kind: "end_user".into(),
            target: String::new(),
            request_id: "r".into(),
            outcome: "success".into(),
            details: "{}".into(),
            prev_hash: String::new(),
            hash: String::new(),
            encoding: V2,
            hash_bin: Some(vec![0xab; 32]),
            prev_hash_bin: Some(vec![0; 32]),
            target_bin: Some(vec![0x01; 32]),
        }
    }

    #[test]
    fn a_v2_row_reads_as_the_hex_it_replaces() {
        let row = decoded(v2_row());
        assert_eq!(row.hash, "ab".repeat(32));
        assert_eq!(row.prev_hash, "0".repeat(64));
        assert_eq!(row.target, "01".repeat(32));
        let plain = event::Model { target_bin: None, target: "key-id".into(), ..v2_row() };
        assert_eq!(decoded(plain).target, "key-id");
        let v1 = event::Model { encoding: V1, hash: "cd".repeat(32), ..v2_row() };
        assert_eq!(decoded(v1).hash, "cd".repeat(32), "v1 rows are read as stored");
    }

    #[test]
    fn only_pseudonyms_are_stored_as_bytes() {
        let pseudonym = "0f".repeat(32);
        assert_eq!(stored_target(pseudonym.clone(), true), (String::new(), Some(vec![0x0f; 32])));
        assert_eq!(stored_target(pseudonym.clone(), false), (pseudonym, None));
        assert_eq!(stored_target("not-hex".into(), true), ("not-hex".into(), None));
    }
}
