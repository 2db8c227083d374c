//! Shared rules for the text a client sends: lengths in characters, no control
//! characters, JSON objects of bounded size.

use crate::error::{DomainError, Result};

/// Maximum size of a free JSON attributes object, serialised.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Required text, trimmed, 1 to `max` characters.
pub fn required(field: &str, raw: String, max: usize) -> Result<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(DomainError::invalid(field, format!("use 1 to {max} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(DomainError::invalid(field, "no control characters"));
    }
    Ok(t.to_owned())
}

/// Optional text: absent or blank becomes `None`; otherwise as [`required`].
pub fn optional(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => required(field, s, max).map(Some),
    }
}

/// A list of short labels (genres, tags, creators): trimmed, blanks dropped, exact
/// duplicates dropped (first spelling kept), order kept.
pub fn labels(field: &str, raw: Vec<String>, max_items: usize, max_chars: usize) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let t = s.trim();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > max_chars || has_control(t) {
            return Err(DomainError::invalid(
                field,
                format!("each entry: 1 to {max_chars} characters, no control characters"),
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    if out.len() > max_items {
        return Err(DomainError::invalid(field, format!("at most {max_items} entries")));
    }
    Ok(out)
}

/// The values of a filter (genres, providers, kinds to match any of): at most
/// `max_items` as sent, counted before anything else is looked at, so an oversized list
/// costs nothing; then trimmed, blanks and exact duplicates dropped.
pub fn filter_values(field: &str, raw: Vec<String>, max_items: usize, max_chars: usize) -> Result<Vec<String>> {
    if raw.len() > max_items {
        return Err(DomainError::invalid(field, format!("at most {max_items} values; this list has {}", raw.len())));
    }
    labels(field, raw, max_items, max_chars)
}

/// Free attributes: a JSON object of at most 16 KiB serialised; absent means empty.
pub fn attributes(field: &str, raw: Option<serde_json::Value>) -> Result<serde_json::Map<String, serde_json::Value>> {
    match raw {
        None | Some(serde_json::Value::Null) => Ok(serde_json::Map::new()),
        Some(serde_json::Value::Object(map)) => {
            let size = serde_json::to_string(&map).map(|s| s.len()).unwrap_or(usize::MAX);
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(DomainError::invalid(field, format!("at most {MAX_ATTRIBUTES_BYTES} bytes of JSON")));
            }
            Ok(map)
        }
        Some(_) => Err(DomainError::invalid(field, "must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_deduplicated() {
        let got = labels("genres", vec![" Drama ".into(), "".into(), "Drama".into(), "Comedy".into()], 5, 10).ok();
        assert_eq!(got, Some(vec!["Drama".to_owned(), "Comedy".to_owned()]));
        assert!(labels("genres", vec!["x".repeat(11)], 5, 10).is_err());
    }

    #[test]
    fn filter_lists_are_bounded_as_sent() {
        let err = filter_values("filter.genres", vec!["Drama".to_owned(); 101], 100, 10).err();
        assert_eq!(err.and_then(|e| e.field()).as_deref(), Some("filter.genres"));
        assert_eq!(filter_values("g", vec!["Drama".to_owned(); 100], 100, 10).ok(), Some(vec!["Drama".to_owned()]));
    }

    #[test]
    fn attributes_must_be_small_objects() {
        assert!(attributes("a", Some(serde_json::json!([1]))).is_err());
        assert!(attributes("a", Some(serde_json::json!({"k": "x".repeat(20_000)}))).is_err());
        assert_eq!(attributes("a", None).ok().map(|m| m.len()), Some(0));
    }
}
