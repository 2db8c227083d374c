use async_graphql::{Enum, InputObject, Json, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::{
    Content, ContentDraft, ContentFilter, ContentKind, ContentSort, ContentSortField, DeleteOutcome, UpsertOutcome,
};

use super::batch::{BatchRowErrorGql, count};

/// A GraphQL enum that mirrors a domain enum variant for variant, with the conversions
/// both ways, from one list of variants (so the two cannot drift apart).
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $gql:ident mirrors $dom:ident { $($(#[$vmeta:meta])* $v:ident),+ $(,)? }) => {
        #[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
        $(#[$meta])*
        pub enum $gql { $($(#[$vmeta])* $v),+ }

        impl From<$gql> for $dom {
            fn from(k: $gql) -> Self {
                match k { $($gql::$v => $dom::$v),+ }
            }
        }
        impl From<$dom> for $gql {
            fn from(k: $dom) -> Self {
                match k { $($dom::$v => $gql::$v),+ }
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    #[graphql(name = "ContentKind")]
    ContentKindGql mirrors ContentKind {
        Movie,
        Series,
        Season,
        Episode,
        Short,
        Documentary,
        MusicTrack,
        Album,
        MusicVideo,
        Podcast,
        PodcastEpisode,
        Audiobook,
        Book,
        Game,
        LiveEvent,
        Other,
    }
);

/// A content item of the catalog.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Content")]
pub struct ContentGql {
    /// The tenant's own id.
    pub id: String,
    pub kind: ContentKindGql,
    pub title: String,
    pub description: Option<String>,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    /// Provider or studio.
    pub provider: Option<String>,
    pub creators: Vec<String>,
    pub release_date: Option<NaiveDate>,
    pub duration_seconds: Option<i32>,
    /// BCP 47 language tag.
    pub language: Option<String>,
    pub maturity_rating: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    /// Free JSON object.
    pub attributes: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Content> for ContentGql {
    fn from(c: Content) -> Self {
        Self {
            id: c.id.into_string(),
            kind: c.kind.into(),
            title: c.title,
            description: c.description,
            genres: c.genres,
            tags: c.tags,
            provider: c.provider,
            creators: c.creators,
            release_date: c.release_date,
            duration_seconds: c.duration_secs,
            language: c.language,
            maturity_rating: c.maturity_rating,
            available_from: c.available_from,
            available_until: c.available_until,
            attributes: Json(serde_json::Value::Object(c.attributes)),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A content item to store. An upsert replaces every field of the item with this id:
/// a field left out is cleared.
#[derive(InputObject)]
pub struct ContentInput {
    /// The tenant's own id: 1 to 256 characters, no control characters or surrounding spaces.
    pub id: String,
    pub kind: ContentKindGql,
    /// 1 to 500 characters.
    pub title: String,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// Up to 50 genres of up to 100 characters each.
    #[graphql(default)]
    pub genres: Vec<String>,
    /// Up to 50 tags of up to 100 characters each.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Provider or studio, up to 200 characters.
    pub provider: Option<String>,
    /// Up to 100 names (directors, artists, developers) of up to 200 characters each.
    #[graphql(default)]
    pub creators: Vec<String>,
    /// `YYYY-MM-DD`.
    pub release_date: Option<NaiveDate>,
    /// 0 to ten years.
    pub duration_seconds: Option<i32>,
    /// BCP 47 language tag, e.g. `en`, `pt-BR`.
    pub language: Option<String>,
    /// E.g. `PG-13`, `TV-MA`, `16+`; up to 32 characters.
    pub maturity_rating: Option<String>,
    /// When the item becomes available (RFC 3339); absent: always was.
    pub available_from: Option<DateTime<Utc>>,
    /// When it stops being available; absent: never. Must be after `availableFrom`.
    pub available_until: Option<DateTime<Utc>>,
    /// A JSON object of at most 16 KiB.
    pub attributes: Option<Json<serde_json::Value>>,
}

impl From<ContentInput> for ContentDraft {
    fn from(i: ContentInput) -> Self {
        Self {
            id: i.id,
            kind: i.kind.into(),
            title: i.title,
            description: i.description,
            genres: i.genres,
            tags: i.tags,
            provider: i.provider,
            creators: i.creators,
            release_date: i.release_date,
            duration_secs: i.duration_seconds.map(i64::from),
            language: i.language,
            maturity_rating: i.maturity_rating,
            available_from: i.available_from,
            available_until: i.available_until,
            attributes: i.attributes.map(|j| j.0),
        }
    }
}

/// Filters of `contents`; every one given must hold.
#[derive(InputObject, Default)]
pub struct ContentFilterInput {
    /// Any of these kinds.
    #[graphql(default)]
    pub kinds: Vec<ContentKindGql>,
    /// Has this genre (exact match).
    pub genre: Option<String>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    /// Provider or studio (exact match).
    pub provider: Option<String>,
    /// Available at this instant (inside its availability window).
    pub available_at: Option<DateTime<Utc>>,
    /// Title or description contains this text (case-insensitive for ASCII letters).
    pub text: Option<String>,
}

impl From<ContentFilterInput> for ContentFilter {
    fn from(f: ContentFilterInput) -> Self {
        Self {
            kinds: f.kinds.into_iter().map(Into::into).collect(),
            genre: f.genre,
            tag: f.tag,
            provider: f.provider,
            available_at: f.available_at,
            text: f.text,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ContentSortField")]
pub enum ContentSortFieldGql {
    /// The order items were first stored.
    Created,
    Title,
    /// Items without a release date come first ascending, last descending.
    ReleaseDate,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SortDirection")]
pub enum SortDirectionGql {
    Asc,
    Desc,
}

/// A sort order. Ties are broken by storage order, so pages never skip or repeat rows.
#[derive(InputObject)]
pub struct ContentSortInput {
    pub field: ContentSortFieldGql,
    #[graphql(default_with = "SortDirectionGql::Asc")]
    pub direction: SortDirectionGql,
}

impl From<ContentSortInput> for ContentSort {
    fn from(s: ContentSortInput) -> Self {
        Self {
            field: match s.field {
                ContentSortFieldGql::Created => ContentSortField::Created,
                ContentSortFieldGql::Title => ContentSortField::Title,
                ContentSortFieldGql::ReleaseDate => ContentSortField::ReleaseDate,
            },
            descending: s.direction == SortDirectionGql::Desc,
        }
    }
}

/// What `upsertContents` and `upsertEndUsers` did. `accepted = created + updated + unchanged`.
#[derive(SimpleObject)]
pub struct UpsertPayload {
    pub accepted: i32,
    pub created: i32,
    pub updated: i32,
    /// Rows equal to what was stored: nothing was written.
    pub unchanged: i32,
    /// Rows not stored, with the reason. The others were stored.
    pub errors: Vec<BatchRowErrorGql>,
}

impl From<UpsertOutcome> for UpsertPayload {
    fn from(o: UpsertOutcome) -> Self {
        Self {
            accepted: count(o.counts.accepted()),
            created: count(o.counts.created),
            updated: count(o.counts.updated),
            unchanged: count(o.counts.unchanged),
            errors: o.errors.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct DeleteContentsPayload {
    pub deleted: i32,
    /// Ids that named no live item.
    pub not_found: Vec<String>,
}

impl From<DeleteOutcome> for DeleteContentsPayload {
    fn from(o: DeleteOutcome) -> Self {
        Self { deleted: count(o.deleted), not_found: o.not_found.into_iter().map(|id| id.into_string()).collect() }
    }
}
