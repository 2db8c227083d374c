//! ORM entities of the catalog, audience and interaction tables. Private to `domain`:
//! mapped to domain types in each module's store.

pub(crate) mod content_genre;
pub(crate) mod content_item;
pub(crate) mod content_tag;
pub(crate) mod end_user;
pub(crate) mod interaction;
