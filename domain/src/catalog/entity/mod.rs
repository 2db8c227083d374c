//! ORM entities of the catalog's tables. Private to `catalog`, and only its store uses
//! them: every other feature reads items through `catalog::store`.

pub mod content_genre;
pub mod content_item;
pub mod content_tag;
