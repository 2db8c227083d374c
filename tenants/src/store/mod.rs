//! Persistence of tenants and access objects, mapped to domain types.

pub mod api_keys;
pub mod members;
pub mod sessions;
pub mod tenants;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
