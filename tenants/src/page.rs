//! Keyset pagination shared by every list: stable under concurrent inserts because it
//! continues after the last row seen instead of skipping an offset.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Result, TenantsError};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub first: u64,
    /// Continue after the row with this sort key.
    pub after: Option<i64>,
}

impl PageRequest {
    pub fn parse(first: Option<i64>, after: Option<&str>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(_) => {
                return Err(TenantsError::invalid(
                    "first",
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self { first, after })
    }
}

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
pub struct Page<T> {
    pub items: Vec<(i64, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` fetched rows; the extra row only proves
    /// there is a next page.
    pub fn from_overfetch(mut rows: Vec<(i64, T)>, req: PageRequest) -> Self {
        let has_next_page = rows.len() as u64 > req.first;
        rows.truncate(req.first as usize);
        Self { items: rows, has_next_page, has_previous_page: req.after.is_some() }
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(k, v)| (k, f(v))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(12345)).ok(), Some(12345));
        assert!(decode_cursor("garbage!").is_err());
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert_eq!(PageRequest::parse(None, None).ok().map(|p| p.first), Some(DEFAULT_PAGE_SIZE));
    }

    #[test]
    fn overfetch_sets_has_next() {
        let req = PageRequest { first: 2, after: None };
        let page = Page::from_overfetch(vec![(1, 'a'), (2, 'b'), (3, 'c')], req);
        assert_eq!(page.items.len(), 2);
        assert!(page.has_next_page);
        let page = Page::from_overfetch(vec![(1, 'a')], req);
        assert!(!page.has_next_page);
    }
}
