//! The file of an archived segment (docs/audit.md, "Archival"): self-describing, so
//! anyone holding it can recompute its part of the chain without Marquee. JSON Lines:
//! a header, then one line per event, oldest first, each in the logical (hex) form the
//! chain covers. The SHA-256 of the whole file is kept in `audit_archives` and beside
//! the file.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chain;
use super::encoding;
use super::entity::{checkpoint, event};
use crate::error::{DomainError, Result};

pub const FORMAT: &str = "marquee.audit.archive.v1";
pub const FILE_NAME: &str = "segment.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub tenant_id: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    /// The hash of event `from_seq - 1` (zeros for the first segment).
    pub prev_hash: String,
    pub last_hash: String,
    /// The signed checkpoint at `to_seq` that seals the segment.
    pub checkpoint: SignedCheckpoint,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub seq: i64,
    pub hash: String,
    /// As the signature covers it: RFC 3339, six fractional digits, `Z`.
    pub signed_at: String,
    pub key_id: String,
    pub signature: String,
    pub interval_every: Option<i64>,
    pub interval_since: Option<i64>,
    pub previous_interval_since: Option<i64>,
}

/// One event: the fields the chain covers, as it covers them, and its hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Line {
    seq: i64,
    occurred_at: String,
    principal: String,
    action: String,
    target_kind: String,
    target: String,
    request_id: String,
    outcome: String,
    /// The canonical JSON text exactly as hashed.
    details: String,
    hash: String,
}

impl SignedCheckpoint {
    pub fn of(cp: &checkpoint::Model) -> Self {
        Self {
            seq: cp.seq,
            hash: cp.hash.clone(),
            signed_at: chain::format_time(cp.signed_at),
            key_id: cp.key_id.clone(),
            signature: cp.signature.clone(),
            interval_every: cp.interval_every,
            interval_since: cp.interval_since,
            previous_interval_since: cp.previous_interval_since,
        }
    }

    /// As a stored checkpoint, to check with the same code as those in the database.
    pub fn to_model(&self, tenant_id: i64) -> Option<checkpoint::Model> {
        Some(checkpoint::Model {
            id: 0,
            tenant_id,
            seq: self.seq,
            hash: self.hash.clone(),
            signed_at: parse_time(&self.signed_at)?,
            key_id: self.key_id.clone(),
            signature: self.signature.clone(),
            interval_every: self.interval_every,
            interval_since: self.interval_since,
            previous_interval_since: self.previous_interval_since,
        })
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn json_line(out: &mut Vec<u8>, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(|e| DomainError::internal_from("audit archive", e))?;
    out.push(b'\n');
    Ok(())
}

/// The file's bytes: the header, then `rows` (in their logical form) one per line.
pub fn encode(header: &Header, rows: &[event::Model]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 + rows.len() * 320);
    json_line(&mut out, header)?;
    for row in rows {
        json_line(
            &mut out,
            &Line {
                seq: row.seq,
                occurred_at: chain::format_time(row.occurred_at),
                principal: row.principal.clone(),
                action: row.action.clone(),
                target_kind: row.target_kind.clone(),
                target: row.target.clone(),
                request_id: row.request_id.clone(),
                outcome: row.outcome.clone(),
                details: row.details.clone(),
                hash: row.hash.clone(),
            },
        )?;
    }
    Ok(out)
}

/// The header and the events, as rows in their logical form, each linked to the one
/// before it (the first to the header's `prevHash`); `Err` says what is malformed.
pub fn decode(bytes: &[u8]) -> std::result::Result<(Header, Vec<event::Model>), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_owned())?;
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap_or_default())
        .map_err(|e| format!("the header does not parse: {e}"))?;
    if header.format != FORMAT {
        return Err(format!("unknown format {:?}", header.format));
    }
    let mut prev = header.prev_hash.clone();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let line: Line = serde_json::from_str(line).map_err(|e| format!("line {} does not parse: {e}", i + 2))?;
        let occurred_at = parse_time(&line.occurred_at).ok_or_else(|| format!("line {}: bad time", i + 2))?;
        let hash = line.hash;
        rows.push(event::Model {
            id: 0,
            tenant_id: header.tenant_id,
            seq: line.seq,
            occurred_at,
            principal: line.principal,
            action: line.action,
            target_kind: line.target_kind,
            target: line.target,
            request_id: line.request_id,
            outcome: line.outcome,
            details: line.details,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
            encoding: encoding::V1,
            hash_bin: None,
            prev_hash_bin: None,
            target_bin: None,
        });
    }
    Ok((header, rows))
}

/// The file's bytes, or `None` when it is gone.
pub async fn read(dir: &Path, location: &str) -> Result<Option<Vec<u8>>> {
    let path = dir.join(location);
    tokio::task::spawn_blocking(move || match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DomainError::internal_from(format!("audit archive {}", path.display()), e)),
    })
    .await
    .map_err(|e| DomainError::internal_from("audit archive thread", e))?
}

/// Writes a segment's file as `<dir>/<key>/<FILE_NAME>`, whole or not at all.
pub async fn write(dir: &Path, key: &str, bytes: Vec<u8>) -> Result<()> {
    let path = dir.join(key).join(FILE_NAME);
    tokio::task::spawn_blocking(move || {
        crate::durable_file::write_new(&path, &bytes)
            .map_err(|e| DomainError::internal_from(format!("audit archive {}", path.display()), e))
    })
    .await
    .map_err(|e| DomainError::internal_from("audit archive thread", e))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(seq: i64, hash: &str) -> event::Model {
        event::Model {
            id: 9,
            tenant_id: 7,
            seq,
            occurred_at: parse_time("2025-01-02T03:04:05.000001Z").unwrap(),
            principal: "operator".into(),
            action: "end_user.read".into(),
            target_kind: "end_user".into(),
            target: "ab".repeat(32),
            request_id: "r".into(),
            outcome: "success".into(),
            details: r#"{"a":1}"#.into(),
            prev_hash: String::new(),
            hash: hash.into(),
            encoding: encoding::V1,
            hash_bin: None,
            prev_hash_bin: None,
            target_bin: None,
        }
    }

    #[test]
    fn a_segment_reads_back_as_written_and_links_its_events() {
        let header = Header {
            format: FORMAT.into(),
            tenant_id: 7,
            from_seq: 5,
            to_seq: 6,
            prev_hash: "00".repeat(32),
            last_hash: "22".repeat(32),
            checkpoint: SignedCheckpoint {
                seq: 6,
                hash: "22".repeat(32),
                signed_at: "2025-01-02T03:04:05.000000Z".into(),
                key_id: "k".into(),
                signature: "s".into(),
                interval_every: Some(100),
                interval_since: Some(1),
                previous_interval_since: None,
            },
        };
        let bytes = encode(&header, &[row(5, &"11".repeat(32)), row(6, &"22".repeat(32))]).unwrap();
        let (read, rows) = decode(&bytes).unwrap();
        assert_eq!(read, header);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].prev_hash, "00".repeat(32));
        assert_eq!(rows[1].prev_hash, "11".repeat(32));
        assert_eq!(rows[1].occurred_at, row(6, "").occurred_at);
        assert_eq!(rows[1].details, r#"{"a":1}"#);
        assert!(decode(b"{\"format\":\"other\"}").is_err());
        assert_eq!(header.checkpoint.to_model(7).unwrap().signed_at.timestamp(), 1_735_787_045);
    }
}
