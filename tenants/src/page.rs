//! Keyset pagination shared by every list: stable under concurrent inserts because it
//! continues after the last row seen instead of skipping an offset.
//!
//! A cursor is opaque to clients. Lists sorted by id carry the row id ([`i64`]); lists
//! sorted by another value carry a [`SortCursor`] (the sort's name, the last row's sort
//! value and its id as the tie-break), so a page continues exactly after that row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TenantsError};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// What a cursor can encode: the key a list continues after.
pub trait CursorKey: Sized {
    fn encode(&self) -> String;
    fn decode(raw: &str) -> Result<Self>;
}

impl CursorKey for i64 {
    fn encode(&self) -> String {
        encode_cursor(*self)
    }
    fn decode(raw: &str) -> Result<Self> {
        decode_cursor(raw)
    }
}

/// A sort value as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    Null,
    Int(i64),
    Text(String),
}

/// The position after one row of a list sorted by `sort` (a name the list defines, so a
/// cursor from one order is refused by another), then by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortCursor {
    pub sort: String,
    pub value: SortValue,
    pub id: i64,
}

impl SortCursor {
    /// Refuses a cursor that was made for another sort order.
    pub fn check_sort(&self, sort: &str) -> Result<()> {
        if self.sort == sort {
            Ok(())
        } else {
            Err(TenantsError::invalid("after", "this cursor belongs to a different sort order"))
        }
    }
}

impl CursorKey for SortCursor {
    fn encode(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("c2:{json}"))
    }
    fn decode(raw: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|s| s.strip_prefix("c2:").and_then(|json| serde_json::from_str(json).ok()))
            .ok_or_else(|| TenantsError::invalid("after", "not a cursor from this API"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K = i64> {
    pub first: u64,
    /// Continue after the row with this sort key.
    pub after: Option<K>,
}

impl<K: CursorKey> PageRequest<K> {
    pub fn parse(first: Option<i64>, after: Option<&str>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(_) => {
                return Err(TenantsError::invalid("first", format!("must be between 1 and {MAX_PAGE_SIZE}")));
            }
        };
        let after = after.map(K::decode).transpose()?;
        Ok(Self { first, after })
    }
}

impl<K> PageRequest<K> {
    /// How many rows to fetch: one more than asked, to learn whether a next page exists.
    pub fn limit(&self) -> u64 {
        self.first + 1
    }
}

impl Copy for PageRequest<i64> {}

pub fn encode_cursor(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{key}"))
}

pub fn decode_cursor(raw: &str) -> Result<i64> {
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("c1:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| TenantsError::invalid("after", "not a cursor from this API"))
}

/// One page of rows, each with the key its cursor encodes.
#[derive(Debug, Clone)]
pub struct Page<T, K = i64> {
    pub items: Vec<(K, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T, K> Page<T, K> {
    /// Builds a page from up to `first + 1` fetched rows; the extra row only proves
    /// there is a next page.
    pub fn from_overfetch(mut rows: Vec<(K, T)>, req: impl PageShape) -> Self {
        let has_next_page = rows.len() as u64 > req.first();
        rows.truncate(req.first() as usize);
        Self { items: rows, has_next_page, has_previous_page: req.continues() }
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U, K> {
        Page {
            items: self.items.into_iter().map(|(k, v)| (k, f(v))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

/// What [`Page::from_overfetch`] needs of a request.
pub trait PageShape {
    fn first(&self) -> u64;
    fn continues(&self) -> bool;
}

impl<K> PageShape for PageRequest<K> {
    fn first(&self) -> u64 {
        self.first
    }
    fn continues(&self) -> bool {
        self.after.is_some()
    }
}

impl<K> PageShape for &PageRequest<K> {
    fn first(&self) -> u64 {
        self.first
    }
    fn continues(&self) -> bool {
        self.after.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(12345)).ok(), Some(12345));
        assert!(decode_cursor("garbage!").is_err());
        assert!(PageRequest::<i64>::parse(Some(0), None).is_err());
        assert!(PageRequest::<i64>::parse(Some(101), None).is_err());
        assert_eq!(PageRequest::<i64>::parse(None, None).ok().map(|p| p.first), Some(DEFAULT_PAGE_SIZE));
    }

    #[test]
    fn sort_cursors_round_trip_and_are_bound_to_their_sort() {
        let c = SortCursor { sort: "title".into(), value: SortValue::Text("Héllo, \"x\"".into()), id: 7 };
        let back = SortCursor::decode(&c.encode()).ok();
        assert_eq!(back.as_ref(), Some(&c));
        assert!(c.check_sort("title").is_ok());
        assert!(c.check_sort("release_date").is_err());
        assert!(SortCursor::decode(&encode_cursor(3)).is_err(), "an id cursor is not a sort cursor");
        assert!(i64::decode(&c.encode()).is_err());
    }

    #[test]
    fn overfetch_sets_has_next() {
        let req: PageRequest = PageRequest { first: 2, after: None };
        let page = Page::from_overfetch(vec![(1, 'a'), (2, 'b'), (3, 'c')], req);
        assert_eq!(page.items.len(), 2);
        assert!(page.has_next_page);
        let page = Page::from_overfetch(vec![(1, 'a')], req);
        assert!(!page.has_next_page);
    }
}
