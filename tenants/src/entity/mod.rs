//! ORM entities for the tables this crate owns. Private: mapped to domain types in
//! `store`.

pub mod api_key;
pub mod member;
pub mod refresh_token;
pub mod tenant;
