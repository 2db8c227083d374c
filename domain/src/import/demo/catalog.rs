//! The demo catalog: movies, series, albums and games with genres, tags, providers,
//! descriptions from templates, release dates and a long-tail popularity that the
//! audience's draws follow.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::rng::Rng;
use crate::catalog::{ContentDraft, ContentKind, NewContent};
use crate::error::{DomainError, Result};

/// One generated item with the hidden figures the audience draws from.
pub(super) struct DemoItem {
    pub content: NewContent,
    /// Indices into [`GENRES`].
    pub genres: Vec<usize>,
    /// Index into [`MOODS`]: the style that tastes pick within a genre.
    pub mood: usize,
    /// Relative popularity (long tail: a few items take most of the attention).
    pub popularity: f64,
    /// Unavailable items take no new events.
    pub available: bool,
}

/// The genres across kinds; a user's taste is a weighting over them.
pub(super) const GENRES: [&str; 20] = [
    "Action",
    "Comedy",
    "Drama",
    "Sci-Fi",
    "Horror",
    "Romance",
    "Documentary",
    "Animation",
    "Thriller",
    "Fantasy",
    "Crime",
    "Family",
    "Rock",
    "Pop",
    "Jazz",
    "Electronic",
    "Classical",
    "Puzzle",
    "Strategy",
    "RPG",
];

struct KindSpec {
    kind: ContentKind,
    prefix: &'static str,
    share: f64,
    noun: &'static str,
    genres: &'static [usize],
    /// Providers with their weights; the last, small one is the under-exposed indie.
    providers: &'static [(&'static str, f64)],
    /// Duration range in minutes.
    minutes: (i64, i64),
}

const SCREEN_GENRES: &[usize] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const KINDS: [KindSpec; 4] = [
    KindSpec {
        kind: ContentKind::Movie,
        prefix: "mv",
        share: 0.45,
        noun: "film",
        genres: SCREEN_GENRES,
        providers: &[
            ("Northlight Studios", 5.0),
            ("Bluefin Pictures", 4.0),
            ("Harbor Films", 3.0),
            ("Tiny Lantern", 0.6),
        ],
        minutes: (80, 170),
    },
    KindSpec {
        kind: ContentKind::Series,
        prefix: "sr",
        share: 0.2,
        noun: "series",
        genres: SCREEN_GENRES,
        providers: &[("Northlight Studios", 3.0), ("Streamside Originals", 5.0), ("Tiny Lantern", 0.5)],
        minutes: (300, 900),
    },
    KindSpec {
        kind: ContentKind::Album,
        prefix: "al",
        share: 0.2,
        noun: "album",
        genres: &[12, 13, 14, 15, 16, 2],
        providers: &[("Echo Records", 5.0), ("Vinyl Owl", 3.0), ("Basement Tapes", 0.6)],
        minutes: (30, 75),
    },
    KindSpec {
        kind: ContentKind::Game,
        prefix: "gm",
        share: 0.15,
        noun: "game",
        genres: &[0, 3, 9, 11, 17, 18, 19],
        providers: &[("Pixelforge", 5.0), ("Quiet Bear Games", 3.0), ("Moth Cabin", 0.6)],
        minutes: (240, 3000),
    },
];

const ADJECTIVES: &str = "\
    Silent Crimson Hidden Electric Golden Broken Midnight Northern Wild Lost Burning Quiet Distant Neon \
    Frozen Restless Paper Velvet Iron Hollow Bright Secret Last Endless Savage Gentle Shattered Radiant \
    Stolen Wandering Scarlet Silver Forgotten Sunken Rising Falling Lonely Clever Brave Strange";
const NOUNS: &str = "\
    Harbor Circuit Orchard Empire Signal Garden Frontier Echo Horizon Lighthouse Kingdom River Protocol \
    Summer Machine Carnival Archive Voyage Tide Citadel Meadow Station Mirror Canyon Compass Lantern \
    Parade Forest Engine Island Galaxy Alley Requiem Harvest Crossing Avenue Comet Labyrinth Anthem \
    Refuge";
const SUBJECTS: [&str; 12] = [
    "a family that keeps one secret too many",
    "two rivals forced to work together",
    "a city that forgets its own history",
    "an unlikely friendship on the road",
    "a heist that goes wrong in every way",
    "the last days of a small-town festival",
    "a crew stranded far from home",
    "a detective with nothing left to lose",
    "first love in a summer that changes everything",
    "a kingdom on the edge of war",
    "an inventor whose machine works too well",
    "a band's long way back to the stage",
];
pub(super) const MOODS: [&str; 10] =
    ["feel-good", "dark", "slow-burn", "fast-paced", "quirky", "epic", "intimate", "mind-bending", "cozy", "gritty"];
const LANGUAGES: [(&str, f64); 6] = [("en", 8.0), ("es", 1.5), ("fr", 1.0), ("de", 0.8), ("ja", 1.0), ("ko", 0.8)];
const RATINGS: [&str; 4] = ["G", "PG", "PG-13", "R"];

/// One word of a space-separated list.
fn word(r: &mut Rng, list: &'static str) -> &'static str {
    let n = list.split_whitespace().count();
    list.split_whitespace().nth(r.below(n)).unwrap_or_default()
}

/// Generates `count` items; `today` anchors release dates and availability windows.
pub(super) fn generate(rng: &Rng, count: usize, today: NaiveDate) -> Result<Vec<DemoItem>> {
    let mut out = Vec::with_capacity(count);
    let mut per_kind = [0usize; KINDS.len()];
    let shares: Vec<f64> = KINDS.iter().map(|k| k.share).collect();
    for i in 0..count {
        let mut r = rng.fork(i as u64 + 1);
        let k = r.weighted(&shares);
        per_kind[k] += 1;
        out.push(item(&mut r, &KINDS[k], per_kind[k], today)?);
    }
    Ok(out)
}

fn item(r: &mut Rng, spec: &KindSpec, number: usize, today: NaiveDate) -> Result<DemoItem> {
    let mut genres = vec![*r.pick(spec.genres)];
    for _ in 0..r.below(3) {
        let g = *r.pick(spec.genres);
        if !genres.contains(&g) {
            genres.push(g);
        }
    }
    let provider_weights: Vec<f64> = spec.providers.iter().map(|p| p.1).collect();
    let (provider, _) = spec.providers[r.weighted(&provider_weights)];
    let title = match r.below(3) {
        0 => format!("The {} {}", word(r, ADJECTIVES), word(r, NOUNS)),
        1 => format!("{} {}", word(r, ADJECTIVES), word(r, NOUNS)),
        _ => format!("{} of the {} {}", word(r, NOUNS), word(r, ADJECTIVES), word(r, NOUNS)),
    };
    let mood_index = r.below(MOODS.len());
    let mood = MOODS[mood_index];
    let genre_names: Vec<String> = genres.iter().map(|g| GENRES[*g].to_owned()).collect();
    let description = format!(
        "{title} is a {mood} {} {} from {provider} about {}.",
        genre_names[0].to_lowercase(),
        spec.noun,
        r.pick(&SUBJECTS)
    );
    // Most releases are recent; the catalog reaches back to 1970.
    let years_back = (56.0 * r.unit().powi(3)) as i64;
    let release_date = today - Duration::days(years_back * 365 + r.below(365) as i64 + 1);
    let (lo, hi) = spec.minutes;
    let minutes = lo + r.below((hi - lo + 1) as usize) as i64;
    let language_weights: Vec<f64> = LANGUAGES.iter().map(|l| l.1).collect();
    let language = LANGUAGES[r.weighted(&language_weights)].0;
    // Heavy tail: popularity ~ 1 / rank, with the rank drawn at random.
    let popularity = 1.0 / (1.0 + 400.0 * r.unit()).powf(1.1);
    let available = !r.chance(0.03);
    let now: DateTime<Utc> = today.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    let mut tags = vec![mood.to_owned()];
    if years_back >= 25 {
        tags.push("classic".to_owned());
    }
    if popularity > 0.05 {
        tags.push("trending".to_owned());
    }
    let content = NewContent::parse(ContentDraft {
        description: Some(description),
        genres: genre_names,
        tags,
        provider: Some(provider.to_owned()),
        creators: vec![format!("{} {}", word(r, ADJECTIVES), word(r, NOUNS))],
        release_date: Some(release_date),
        duration_secs: Some(minutes * 60),
        language: Some(language.to_owned()),
        maturity_rating: Some((*r.pick(&RATINGS)).to_owned()),
        available_until: (!available).then(|| now - Duration::days(10)),
        attributes: Some(serde_json::json!({ "demo": true })),
        ..ContentDraft::new(format!("{}-{number:04}", spec.prefix), spec.kind, title)
    })
    .map_err(|e| DomainError::internal(format!("demo item does not validate: {e}")))?;
    Ok(DemoItem { content, genres, mood: mood_index, popularity, available })
}
