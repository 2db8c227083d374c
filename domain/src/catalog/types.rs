use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{DomainError, Result};
use crate::validate;
pub use crate::vocab::{ContentId, ContentKind};

/// Most items one `upsertContents` call may carry.
pub const MAX_UPSERT_BATCH: usize = 500;
/// Most ids one `deleteContents` call may carry.
pub const MAX_DELETE_BATCH: usize = 1000;

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_LABELS: usize = 50;
pub const MAX_LABEL_CHARS: usize = 100;
pub const MAX_CREATORS: usize = 100;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_MATURITY_CHARS: usize = 32;
/// Ten years, in seconds.
pub const MAX_DURATION_SECS: i64 = 10 * 366 * 24 * 3600;

/// A content item as a client sends it, before validation.
#[derive(Debug, Clone)]
pub struct ContentDraft {
    pub id: String,
    pub kind: ContentKind,
    pub title: String,
    pub description: Option<String>,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
    pub creators: Vec<String>,
    pub release_date: Option<NaiveDate>,
    pub duration_secs: Option<i64>,
    pub language: Option<String>,
    pub maturity_rating: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub attributes: Option<serde_json::Value>,
}

impl ContentDraft {
    /// A draft with what every item needs and nothing else; set other fields with
    /// struct update syntax.
    pub fn new(id: impl Into<String>, kind: ContentKind, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            title: title.into(),
            description: None,
            genres: Vec::new(),
            tags: Vec::new(),
            provider: None,
            creators: Vec::new(),
            release_date: None,
            duration_secs: None,
            language: None,
            maturity_rating: None,
            available_from: None,
            available_until: None,
            attributes: None,
        }
    }
}

/// A validated content item, ready to store. An upsert replaces every field.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContent {
    pub id: ContentId,
    pub kind: ContentKind,
    pub title: String,
    pub description: Option<String>,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
    pub creators: Vec<String>,
    pub release_date: Option<NaiveDate>,
    pub duration_secs: Option<i32>,
    pub language: Option<String>,
    pub maturity_rating: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A BCP 47 language tag in its common shape (`en`, `pt-BR`, `zh-Hant-TW`).
fn language(raw: Option<String>) -> Result<Option<String>> {
    let Some(raw) = raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) else { return Ok(None) };
    let ok = raw.len() <= 35
        && raw.split('-').all(|part| (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()))
        && raw
            .split('-')
            .next()
            .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    if !ok {
        return Err(DomainError::invalid("language", "use a BCP 47 language tag such as en or pt-BR"));
    }
    Ok(Some(raw))
}

impl NewContent {
    pub fn parse(d: ContentDraft) -> Result<Self> {
        let id = ContentId::parse(d.id)?;
        let duration_secs = match d.duration_secs {
            None => None,
            Some(n) if (0..=MAX_DURATION_SECS).contains(&n) => Some(n as i32),
            Some(_) => {
                return Err(DomainError::invalid("durationSeconds", format!("use 0 to {MAX_DURATION_SECS} seconds")));
            }
        };
        if let (Some(from), Some(until)) = (d.available_from, d.available_until)
            && until <= from
        {
            return Err(DomainError::invalid("availableUntil", "must be after availableFrom"));
        }
        if let Some(date) = d.release_date {
            use chrono::Datelike;
            if !(1800..=2200).contains(&date.year()) {
                return Err(DomainError::invalid("releaseDate", "use a year between 1800 and 2200"));
            }
        }
        Ok(Self {
            id,
            kind: d.kind,
            title: validate::required("title", d.title, MAX_TITLE_CHARS)?,
            description: validate::optional("description", d.description, MAX_DESCRIPTION_CHARS)?,
            genres: validate::labels("genres", d.genres, MAX_LABELS, MAX_LABEL_CHARS)?,
            tags: validate::labels("tags", d.tags, MAX_LABELS, MAX_LABEL_CHARS)?,
            provider: validate::optional("provider", d.provider, MAX_NAME_CHARS)?,
            creators: validate::labels("creators", d.creators, MAX_CREATORS, MAX_NAME_CHARS)?,
            release_date: d.release_date,
            duration_secs,
            language: language(d.language)?,
            maturity_rating: validate::optional("maturityRating", d.maturity_rating, MAX_MATURITY_CHARS)?,
            available_from: d.available_from,
            available_until: d.available_until,
            attributes: validate::attributes("attributes", d.attributes)?,
        })
    }
}

/// A stored content item.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub id: ContentId,
    pub kind: ContentKind,
    pub title: String,
    pub description: Option<String>,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
    pub creators: Vec<String>,
    pub release_date: Option<NaiveDate>,
    pub duration_secs: Option<i32>,
    pub language: Option<String>,
    pub maturity_rating: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Content {
    /// Whether the item may be shown at `at` (inside its availability window).
    pub fn is_available_at(&self, at: DateTime<Utc>) -> bool {
        self.available_from.is_none_or(|f| f <= at) && self.available_until.is_none_or(|u| at < u)
    }
}

/// One catalog item as a training snapshot keeps it: what serving needs to filter
/// recommendations.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotItem {
    pub id: ContentId,
    pub kind: ContentKind,
    pub genres: Vec<String>,
    pub provider: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub maturity_rating: Option<String>,
}

/// Filters of `contents`; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct ContentFilter {
    /// Any of these kinds (none: all kinds).
    pub kinds: Vec<ContentKind>,
    /// Has this genre (exact, case-sensitive).
    pub genre: Option<String>,
    /// Has this tag (exact, case-sensitive).
    pub tag: Option<String>,
    /// Provider equals this (exact).
    pub provider: Option<String>,
    /// Available at this instant.
    pub available_at: Option<DateTime<Utc>>,
    /// Title or description contains this (case-insensitive for ASCII letters).
    pub text: Option<String>,
}

impl ContentFilter {
    pub fn validate(self) -> Result<Self> {
        let label = |field: &str, v: Option<String>, max: usize| -> Result<Option<String>> {
            match v {
                Some(s) if s.chars().count() > max => {
                    Err(DomainError::invalid(field, format!("at most {max} characters")))
                }
                other => Ok(other),
            }
        };
        if self.kinds.len() > ContentKind::ALL.len() {
            return Err(DomainError::invalid("filter.kinds", "too many kinds"));
        }
        Ok(Self {
            kinds: self.kinds,
            genre: label("filter.genre", self.genre, MAX_LABEL_CHARS)?,
            tag: label("filter.tag", self.tag, MAX_LABEL_CHARS)?,
            provider: label("filter.provider", self.provider, MAX_NAME_CHARS)?,
            available_at: self.available_at,
            text: label("filter.text", self.text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()), 200)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentSortField {
    /// In the order items were first stored.
    #[default]
    Created,
    Title,
    /// Items without a release date come first ascending, last descending.
    ReleaseDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContentSort {
    pub field: ContentSortField,
    pub descending: bool,
}

impl ContentSort {
    /// The name a cursor carries, so a cursor from one order is refused by another.
    pub(crate) fn cursor_name(self) -> &'static str {
        match (self.field, self.descending) {
            (ContentSortField::Created, false) => "created",
            (ContentSortField::Created, true) => "created_desc",
            (ContentSortField::Title, false) => "title",
            (ContentSortField::Title, true) => "title_desc",
            (ContentSortField::ReleaseDate, false) => "release_date",
            (ContentSortField::ReleaseDate, true) => "release_date_desc",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOutcome {
    pub deleted: u64,
    /// Ids that named no (live) item.
    pub not_found: Vec<ContentId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ContentDraft {
        ContentDraft::new("m1", ContentKind::Movie, " Heat ")
    }

    #[test]
    fn a_draft_is_validated() {
        assert_eq!(NewContent::parse(draft()).ok().map(|c| c.title), Some("Heat".to_owned()));
        let bad = |f: fn(&mut ContentDraft)| {
            let mut d = draft();
            f(&mut d);
            NewContent::parse(d).err().and_then(|e| e.field())
        };
        assert_eq!(bad(|d| d.title = "x".repeat(501)), Some("title".into()));
        assert_eq!(bad(|d| d.language = Some("english please".into())), Some("language".into()));
        assert_eq!(bad(|d| d.duration_secs = Some(-1)), Some("durationSeconds".into()));
        assert_eq!(bad(|d| d.id = String::new()), Some("id".into()));
        assert!(NewContent::parse(ContentDraft { language: Some("pt-BR".into()), ..draft() }).is_ok());
    }

    #[test]
    fn kinds_parse_from_their_names() {
        assert_eq!(ContentKind::parse("Music_Track").ok(), Some(ContentKind::MusicTrack));
        assert!(ContentKind::parse("hologram").is_err());
    }
}
