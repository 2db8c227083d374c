//! The public algorithm of the audit chain (docs/audit.md states it for outside
//! verifiers; a test below pins a known answer so it cannot drift silently).
//!
//! Canonical bytes of an event: the tag `marquee.audit.event.v1`, then tenant id and
//! sequence number as 8-byte big-endian integers, then occurred-at (RFC 3339 UTC with
//! exactly six fractional digits and `Z`), principal, action, target kind, target,
//! request id, outcome and details (canonical JSON text), each string as a 4-byte
//! big-endian byte length followed by its UTF-8 bytes. Length prefixes make the encoding
//! unambiguous: no choice of field values can make two different events encode alike.
//!
//! `hash_n = SHA-256(hash_{n-1} || canonical bytes of event n)`, with `hash_0` 32 zero
//! bytes. Hashes are stored and shown as lowercase hex.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{DomainError, Result};

pub const GENESIS: [u8; 32] = [0; 32];
const EVENT_TAG: &str = "marquee.audit.event.v1";
const CHECKPOINT_TAG: &str = "marquee.audit.checkpoint.v1";
const CHECKPOINT_TAG_V2: &str = "marquee.audit.checkpoint.v2";

/// The checkpoint interval a checkpoint was signed under: what makes the signed
/// checkpoints say which others must exist (docs/audit.md, "Which checkpoints were due").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// A checkpoint was due at every multiple of this sequence number (0: none).
    pub every: i64,
    /// The event whose checkpoint opened this interval; a checkpoint with `since ==
    /// seq` is the opening one.
    pub since: i64,
    /// On an opening checkpoint: where the interval before it opened; 0 when there was
    /// none (the tenant's first event), `None` when it began before intervals were
    /// recorded. Empty on other checkpoints.
    pub previous_since: Option<i64>,
}

/// Every field of an event that the chain covers, as stored.
#[derive(Debug, Clone)]
pub struct ChainFields<'a> {
    pub tenant_id: i64,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub principal: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target: &'a str,
    pub request_id: &'a str,
    pub outcome: &'a str,
    pub details: &'a str,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Fields are bounded far below 4 GiB (the API caps every input), so this never saturates.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub fn canonical_bytes(f: &ChainFields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + f.details.len());
    put_str(&mut out, EVENT_TAG);
    out.extend_from_slice(&f.tenant_id.to_be_bytes());
    out.extend_from_slice(&f.seq.to_be_bytes());
    for s in [
        format_time(f.occurred_at).as_str(),
        f.principal,
        f.action,
        f.target_kind,
        f.target,
        f.request_id,
        f.outcome,
        f.details,
    ] {
        put_str(&mut out, s);
    }
    out
}

/// `SHA-256(prev || canonical_bytes(fields))`.
pub fn chain_hash(prev: &[u8; 32], fields: &ChainFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical_bytes(fields));
    h.finalize().into()
}

/// RFC 3339, UTC, microseconds: the precision both databases store exactly.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, cut to what the databases keep, so the time hashed is the time read back.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.with_nanosecond(micros).unwrap_or(now)
}

pub fn to_hex(bytes: &[u8]) -> String {
    tenants::store::hex(bytes)
}

/// Parses a stored 64-digit hash; `None` when it is not one (itself a sign of tampering).
pub fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// JSON with object keys sorted at every level and no whitespace, so equal documents
/// always hash alike whatever map order produced them.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_json(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// What a checkpoint signs: tenant, position, the chain hash there, when it was signed
/// and (from v2 on) the interval in force. Checkpoints written before intervals were
/// recorded keep their v1 signatures.
fn checkpoint_message(
    tenant_id: i64,
    seq: i64,
    hash_hex: &str,
    signed_at: DateTime<Utc>,
    interval: Option<&Interval>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    put_str(&mut out, if interval.is_some() { CHECKPOINT_TAG_V2 } else { CHECKPOINT_TAG });
    out.extend_from_slice(&tenant_id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    put_str(&mut out, hash_hex);
    put_str(&mut out, &format_time(signed_at));
    if let Some(i) = interval {
        out.extend_from_slice(&i.every.to_be_bytes());
        out.extend_from_slice(&i.since.to_be_bytes());
        out.extend_from_slice(&i.previous_since.unwrap_or(-1).to_be_bytes());
    }
    out
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>> {
    // HMAC accepts keys of any length, so this only fails if the crate's contract changes.
    Hmac::<Sha256>::new_from_slice(key).map_err(|e| DomainError::internal_from("hmac key", e))
}

/// HMAC-SHA256 of the checkpoint message with the server's signing key, as hex.
pub fn sign_checkpoint(
    key: &[u8],
    tenant_id: i64,
    seq: i64,
    hash_hex: &str,
    signed_at: DateTime<Utc>,
    interval: Option<&Interval>,
) -> Result<String> {
    let mut m = mac(key)?;
    m.update(&checkpoint_message(tenant_id, seq, hash_hex, signed_at, interval));
    Ok(to_hex(&m.finalize().into_bytes()))
}

/// Checks a stored signature in constant time.
pub fn checkpoint_signature_ok(
    key: &[u8],
    tenant_id: i64,
    seq: i64,
    hash_hex: &str,
    signed_at: DateTime<Utc>,
    interval: Option<&Interval>,
    signature_hex: &str,
) -> bool {
    let Some(sig) = from_hex(signature_hex) else { return false };
    let Ok(mut m) = mac(key) else { return false };
    m.update(&checkpoint_message(tenant_id, seq, hash_hex, signed_at, interval));
    m.verify_slice(&sig).is_ok()
}

/// Names a signing key without revealing it, so a checkpoint says which key made it.
pub fn key_id(key: &[u8]) -> String {
    to_hex(&Sha256::digest(key)[..8])
}

/// The keyed pseudonym of an identifier: HMAC-SHA256 over the kind, the tenant and the
/// id. The tenant is mixed in so one person known to two tenants cannot be linked
/// across them; only the holder of the deployment's secret can recompute it.
pub fn pseudonym(secret: &[u8], kind: &str, tenant_id: i64, id: &str) -> Result<String> {
    let mut m = mac(secret)?;
    let mut msg = Vec::with_capacity(64 + id.len());
    put_str(&mut msg, kind);
    msg.extend_from_slice(&tenant_id.to_be_bytes());
    put_str(&mut msg, id);
    m.update(&msg);
    Ok(to_hex(&m.finalize().into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> ChainFields<'static> {
        ChainFields {
            tenant_id: 7,
            seq: 1,
            occurred_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().unwrap_or_default(),
            principal: "member:00000000-0000-0000-0000-000000000001",
            action: "api_key.created",
            target_kind: "api_key",
            target: "00000000-0000-0000-0000-000000000002",
            request_id: "req-1",
            outcome: "success",
            details: r#"{"name":"ingest"}"#,
        }
    }

    #[test]
    fn known_answer_matches_the_documented_vector() {
        // The same vector is printed in docs/audit.md for outside verifiers.
        assert_eq!(format_time(sample().occurred_at), "2025-01-02T03:04:05.000000Z");
        assert_eq!(
            to_hex(&chain_hash(&GENESIS, &sample())),
            "0285f306c19dda27e24e483267af9859fcb77207e6cc33a2b0a446e8ebd64647"
        );
    }

    #[test]
    fn every_field_and_the_predecessor_change_the_hash() {
        let base = chain_hash(&GENESIS, &sample());
        let mut other = sample();
        other.seq = 2;
        assert_ne!(chain_hash(&GENESIS, &other), base);
        let mut other = sample();
        other.outcome = "denied";
        assert_ne!(chain_hash(&GENESIS, &other), base);
        assert_ne!(chain_hash(&[1; 32], &sample()), base);
        // Length prefixes: moving a character from one field to the next is a change.
        let mut shifted = sample();
        shifted.target_kind = "api_key0";
        shifted.target = "0000000-0000-0000-0000-000000000002";
        assert_ne!(chain_hash(&GENESIS, &shifted), base);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = serde_json::json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "x"}], "c": null}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#);
    }

    #[test]
    fn checkpoint_signatures_verify_only_with_the_key_and_the_same_values() {
        let t = sample().occurred_at;
        let sig = sign_checkpoint(b"key", 7, 10, "ab", t, None).unwrap();
        assert!(checkpoint_signature_ok(b"key", 7, 10, "ab", t, None, &sig));
        assert!(!checkpoint_signature_ok(b"other", 7, 10, "ab", t, None, &sig));
        assert!(!checkpoint_signature_ok(b"key", 7, 11, "ab", t, None, &sig));
        assert!(!checkpoint_signature_ok(b"key", 7, 10, "ac", t, None, &sig));
        assert!(!checkpoint_signature_ok(b"key", 7, 10, "ab", t, None, "zz"));
    }

    #[test]
    fn the_signed_interval_cannot_be_changed_or_dropped() {
        let t = sample().occurred_at;
        let interval = Interval { every: 100, since: 1, previous_since: Some(0) };
        let sig = sign_checkpoint(b"key", 7, 100, "ab", t, Some(&interval)).unwrap();
        assert!(checkpoint_signature_ok(b"key", 7, 100, "ab", t, Some(&interval), &sig));
        assert!(!checkpoint_signature_ok(b"key", 7, 100, "ab", t, None, &sig), "no longer a v1 checkpoint");
        for other in [
            Interval { every: 0, ..interval },
            Interval { since: 50, ..interval },
            Interval { previous_since: None, ..interval },
        ] {
            assert!(!checkpoint_signature_ok(b"key", 7, 100, "ab", t, Some(&other), &sig), "{other:?}");
        }
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_per_tenant() {
        let p = |secret: &[u8], tenant, id| pseudonym(secret, "end_user", tenant, id).unwrap();
        let a = p(b"s", 1, "alice");
        assert_eq!(a, p(b"s", 1, "alice"));
        assert_ne!(a, p(b"s", 2, "alice"));
        assert_ne!(a, p(b"t", 1, "alice"));
        assert!(!a.contains("alice"));
        assert_eq!(from_hex(&a).map(|b| to_hex(&b)), Some(a));
    }
}
