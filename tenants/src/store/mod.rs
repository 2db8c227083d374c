//! Persistence of tenants and access objects, mapped to domain types.

pub mod api_keys;
pub mod member_admin;
pub mod members;
pub mod sessions;
pub mod tenants;

/// Lower-case hex of a digest (on every authenticated request and audit event, so it
/// avoids a formatter call per byte).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
