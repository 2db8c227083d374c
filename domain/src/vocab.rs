//! The words every feature shares: the tenant's own ids, the closed sets of values
//! (kinds, event types, age bands), consent and upsert counts.
//!
//! A leaf: it imports nothing of `domain` but the error type, so any feature can use it
//! without reaching into another feature.

use crate::error::{DomainError, Result};

/// Maximum length of a tenant's own id (content, user, event), in characters.
pub const MAX_ID_CHARS: usize = 256;

/// A tenant's own identifier: kept exactly as sent (no trimming), 1 to 256 characters,
/// no control characters and no surrounding whitespace. Writes and reads parse ids the
/// same way, so an id that can be written can be asked about.
pub fn external_id(field: &str, raw: String) -> Result<String> {
    let n = raw.chars().count();
    if n == 0 || n > MAX_ID_CHARS {
        return Err(DomainError::invalid(field, format!("use 1 to {MAX_ID_CHARS} characters")));
    }
    if raw.chars().any(char::is_control) || raw.trim() != raw {
        return Err(DomainError::invalid(field, "no control characters or surrounding spaces"));
    }
    Ok(raw)
}

/// An id type in the tenant's own id space, parsed by [`external_id`]. `$field` is the
/// input field its errors name by default.
macro_rules! external_id_type {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        // Serialised forms (changes sent to other replicas) are parsed like any input.
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(raw: String) -> Result<Self> {
                Self::parse(raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self> {
                Self::parse_as($field, raw)
            }
            /// Parses an id for an argument or input field other than the default one.
            pub fn parse_as(field: &str, raw: impl Into<String>) -> Result<Self> {
                external_id(field, raw.into()).map(Self)
            }
            /// An id read back from the database: it was parsed when it was written.
            pub(crate) fn from_db(raw: String) -> Self {
                Self(raw)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

external_id_type!(
    /// A content item's id in the tenant's own id space.
    ContentId,
    "id"
);
external_id_type!(
    /// An end user's id in the tenant's own id space.
    UserId,
    "id"
);
external_id_type!(
    /// An event's idempotency key, unique per tenant: the same event sent twice is stored once.
    EventId,
    "eventId"
);

/// A closed set of lower-case values, parsed case-insensitively from clients and
/// strictly from the database.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self> {
                let wanted = raw.trim().to_ascii_lowercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| DomainError::invalid($field, format!("unknown value {raw:?}")))
            }

            /// Reads a stored value; a value this version does not know is corruption.
            pub(crate) fn from_db(raw: &str) -> Result<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == raw)
                    .ok_or_else(|| DomainError::internal(format!("corrupt {} {raw:?}", $field)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a content item is.
    ContentKind, "kind", {
        Movie => "movie",
        Series => "series",
        Season => "season",
        Episode => "episode",
        Short => "short",
        Documentary => "documentary",
        MusicTrack => "music_track",
        Album => "album",
        MusicVideo => "music_video",
        Podcast => "podcast",
        PodcastEpisode => "podcast_episode",
        Audiobook => "audiobook",
        Book => "book",
        Game => "game",
        LiveEvent => "live_event",
        Other => "other",
    }
);

string_enum!(
    /// What the end user did.
    EventType, "type", {
        View => "view",
        Play => "play",
        Complete => "complete",
        Like => "like",
        Dislike => "dislike",
        Rating => "rating",
        Purchase => "purchase",
        AddToList => "add_to_list",
        Skip => "skip",
    }
);

impl EventType {
    /// Position in [`EventType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

string_enum!(
    /// An age band: what Marquee keeps instead of an age or a birth date.
    AgeBand, "ageBand", {
        Under18 => "under_18",
        From18To24 => "18_24",
        From25To34 => "25_34",
        From35To44 => "35_44",
        From45To54 => "45_54",
        From55To64 => "55_64",
        From65 => "65_plus",
    }
);

impl AgeBand {
    pub fn from_age(age: u32) -> Self {
        match age {
            0..=17 => AgeBand::Under18,
            18..=24 => AgeBand::From18To24,
            25..=34 => AgeBand::From25To34,
            35..=44 => AgeBand::From35To44,
            45..=54 => AgeBand::From45To54,
            55..=64 => AgeBand::From55To64,
            _ => AgeBand::From65,
        }
    }
}

/// What an end user agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    /// Their data may shape their recommendations and train models.
    pub personalization: bool,
    /// Their data may appear in analytics (insights, reports).
    pub analytics: bool,
}

/// What an upsert did with its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub created: u64,
    pub updated: u64,
    /// Rows equal to what was stored: nothing was written.
    pub unchanged: u64,
}

impl UpsertCounts {
    pub fn accepted(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }
    pub fn add(&mut self, other: &UpsertCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_as_sent_and_counted_in_characters() {
        let accented = "é".repeat(MAX_ID_CHARS);
        assert_eq!(UserId::parse(accented.clone()).ok().map(UserId::into_string), Some(accented.clone()));
        assert_eq!(ContentId::parse(accented).ok().map(|c| c.as_str().chars().count()), Some(MAX_ID_CHARS));
        assert!(UserId::parse("é".repeat(MAX_ID_CHARS + 1)).is_err());
        assert_eq!(UserId::parse(" u1").err().and_then(|e| e.field()), Some("id".to_owned()));
        assert_eq!(EventId::parse("").err().and_then(|e| e.field()), Some("eventId".to_owned()));
        assert_eq!(UserId::parse_as("userId", "a\u{7}").err().and_then(|e| e.field()), Some("userId".to_owned()));
        assert!(ContentId::parse("abc-1").is_ok());
        assert!(ContentId::parse("a\u{0}").is_err());
        assert!(ContentId::parse("x".repeat(MAX_ID_CHARS + 1)).is_err());
    }

    #[test]
    fn closed_sets_parse_loosely_from_clients_and_strictly_from_storage() {
        assert_eq!(AgeBand::from_age(7), AgeBand::Under18);
        assert_eq!(AgeBand::from_age(18), AgeBand::From18To24);
        assert_eq!(AgeBand::from_age(34), AgeBand::From25To34);
        assert_eq!(AgeBand::from_age(73), AgeBand::From65);
        assert_eq!(AgeBand::parse("65_PLUS").ok(), Some(AgeBand::From65));
        assert_eq!(EventType::parse(" Like ").ok(), Some(EventType::Like));
        assert!(EventType::from_db("Like").is_err());
        assert_eq!(EventType::ALL[EventType::Skip.index()], EventType::Skip);
    }
}
