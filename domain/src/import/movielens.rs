//! MovieLens 100K (`u.item`, `u.user`, `u.data`, optionally `u.genre`) into a tenant:
//!
//! - `u.item` (Latin-1) becomes the catalog: kind `movie`, the title as given, the
//!   release date, genres by name (the `unknown` flag is not a genre), the IMDb URL in
//!   the attributes; ids are the MovieLens item ids.
//! - `u.user` becomes end users: age band from the age, gender (`M`/`F` as
//!   `male`/`female`), occupation in the attributes (the zip code is not kept); consent
//!   is the tenant's default.
//! - `u.data` becomes `rating` events with the star rating as value, the event id
//!   `ml-<user>-<item>-<timestamp>`, so a second import finds every event stored.
//!
//! A damaged line is reported with its file and line number and skipped.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use super::{DamagedLine, ImportProgress, ImportReport};
use crate::Services;
use crate::audience::{self, AgeBand, EndUserDraft, NewEndUser};
use crate::batch::{Batch, RowError};
use crate::catalog::{self, ContentDraft, ContentKind, NewContent};
use crate::error::{DomainError, Result};
use crate::interactions::{self, EventType, InteractionDraft, NewInteraction};
use tenants::TenantCtx;

/// Events written per transaction.
const EVENT_BATCH: usize = 10_000;

const DEFAULT_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Latin-1 maps each byte to the code point of the same number.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn read(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path)
        .map_err(|e| DomainError::invalid("dir", format!("cannot read {}: {e}", path.display())))?;
    Ok(latin1(&bytes))
}

/// Non-empty lines with their numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).filter(|(_, l)| !l.trim().is_empty())
}

fn genres(dir: &Path) -> Result<Vec<String>> {
    if !dir.join("u.genre").exists() {
        return Ok(DEFAULT_GENRES.iter().map(|g| (*g).to_owned()).collect());
    }
    let text = read(dir, "u.genre")?;
    let mut out: Vec<(usize, String)> = Vec::new();
    for (_, line) in lines(&text) {
        if let Some((name, index)) = line.rsplit_once('|')
            && let Ok(i) = index.trim().parse::<usize>()
        {
            out.push((i, name.to_owned()));
        }
    }
    out.sort();
    if out.iter().enumerate().any(|(i, (j, _))| i != *j) || out.is_empty() {
        return Ok(DEFAULT_GENRES.iter().map(|g| (*g).to_owned()).collect());
    }
    Ok(out.into_iter().map(|(_, g)| g).collect())
}

fn parse_item(line: &str, genre_names: &[String]) -> std::result::Result<NewContent, String> {
    let fields: Vec<&str> = line.split('|').collect();
    if fields.len() != 5 + genre_names.len() {
        return Err(format!("expected {} fields separated by |, found {}", 5 + genre_names.len(), fields.len()));
    }
    let id: u64 = fields[0].trim().parse().map_err(|_| format!("item id {:?} is not a number", fields[0]))?;
    let release_date = match fields[2].trim() {
        "" => None,
        s => Some(
            NaiveDate::parse_from_str(s, "%d-%b-%Y").map_err(|_| format!("release date {s:?} is not DD-Mon-YYYY"))?,
        ),
    };
    let mut genres = Vec::new();
    for (flag, name) in fields[5..].iter().zip(genre_names) {
        match flag.trim() {
            "0" => {}
            "1" if name != "unknown" => genres.push(name.clone()),
            "1" => {}
            other => return Err(format!("genre flag {other:?} for {name} is not 0 or 1")),
        }
    }
    let mut attributes = serde_json::Map::new();
    if !fields[4].trim().is_empty() {
        attributes.insert("imdbUrl".into(), serde_json::Value::String(fields[4].trim().to_owned()));
    }
    NewContent::parse(ContentDraft {
        genres,
        release_date,
        attributes: Some(serde_json::Value::Object(attributes)),
        ..ContentDraft::new(id.to_string(), ContentKind::Movie, fields[1])
    })
    .map_err(|e| e.to_string())
}

fn parse_user(line: &str) -> std::result::Result<NewEndUser, String> {
    let fields: Vec<&str> = line.split('|').collect();
    if fields.len() != 5 {
        return Err(format!("expected 5 fields separated by |, found {}", fields.len()));
    }
    let id: u64 = fields[0].trim().parse().map_err(|_| format!("user id {:?} is not a number", fields[0]))?;
    let age: u32 = fields[1].trim().parse().map_err(|_| format!("age {:?} is not a number", fields[1]))?;
    if age > 130 {
        return Err(format!("age {age} is not plausible"));
    }
    let gender = match fields[2].trim() {
        "M" => "male".to_owned(),
        "F" => "female".to_owned(),
        other => return Err(format!("gender {other:?} is not M or F")),
    };
    let occupation = fields[3].trim();
    let attributes = (!occupation.is_empty()).then(|| serde_json::json!({ "occupation": occupation }));
    NewEndUser::parse(EndUserDraft {
        id: id.to_string(),
        age_band: Some(AgeBand::from_age(age)),
        gender: Some(gender),
        attributes,
        ..Default::default()
    })
    .map_err(|e| e.to_string())
}

fn parse_rating(line: &str, now: DateTime<Utc>) -> std::result::Result<NewInteraction, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() != 4 {
        return Err(format!("expected 4 tab-separated fields, found {}", fields.len()));
    }
    let num = |i: usize, what: &str| -> std::result::Result<i64, String> {
        fields[i].trim().parse::<i64>().map_err(|_| format!("{what} {:?} is not a number", fields[i]))
    };
    let (user, item, rating, ts) = (num(0, "user id")?, num(1, "item id")?, num(2, "rating")?, num(3, "timestamp")?);
    if !(1..=5).contains(&rating) {
        return Err(format!("rating {rating} is not between 1 and 5"));
    }
    let occurred_at = DateTime::from_timestamp(ts, 0).ok_or_else(|| format!("timestamp {ts} is out of range"))?;
    NewInteraction::parse(
        InteractionDraft {
            event_id: format!("ml-{user}-{item}-{ts}"),
            user_id: user.to_string(),
            content_id: item.to_string(),
            event_type: EventType::Rating,
            value: Some(rating as f64),
            occurred_at: Some(occurred_at),
        },
        now,
    )
    .map_err(|e| e.to_string())
}

fn damaged(file: &str, line: usize, reason: impl Into<String>) -> DamagedLine {
    DamagedLine { file: file.to_owned(), line, reason: reason.into() }
}

/// Row errors of a batch whose row indices are line numbers.
fn report_rows(file: &str, errors: Vec<RowError>, out: &mut Vec<DamagedLine>) {
    out.extend(errors.into_iter().map(|e| {
        let what = e.field.map(|f| format!(" ({f})")).unwrap_or_default();
        damaged(file, e.index, format!("{}{what}", e.message))
    }));
}

/// Parses `text` line by line into a batch indexed by line number.
fn parse_file<T>(
    file: &str,
    text: &str,
    damaged_lines: &mut Vec<DamagedLine>,
    mut parse: impl FnMut(&str) -> std::result::Result<T, String>,
) -> Vec<(usize, T)> {
    let mut rows = Vec::new();
    for (n, line) in lines(text) {
        match parse(line) {
            Ok(row) => rows.push((n, row)),
            Err(reason) => damaged_lines.push(damaged(file, n, reason)),
        }
    }
    rows
}

/// Imports a MovieLens 100K directory into the context's tenant (needs `catalog:write`,
/// `users:write` and `events:write`). Idempotent: a second run stores nothing new.
pub async fn import(
    ctx: &TenantCtx,
    services: &Services,
    dir: &Path,
    progress: &dyn ImportProgress,
) -> Result<ImportReport> {
    for scope in [tenants::Scope::CatalogWrite, tenants::Scope::UsersWrite, tenants::Scope::EventsWrite] {
        ctx.require(scope)?;
    }
    for name in ["u.item", "u.user", "u.data"] {
        if !dir.join(name).is_file() {
            return Err(DomainError::invalid(
                "dir",
                format!("{} has no {name}: not a MovieLens 100K directory", dir.display()),
            ));
        }
    }
    let genre_names = genres(dir)?;
    let (items_text, users_text, data_text) = (read(dir, "u.item")?, read(dir, "u.user")?, read(dir, "u.data")?);
    let count = |t: &str| lines(t).count() as u64;
    progress.start(count(&items_text) + count(&users_text) + count(&data_text));
    let mut report = ImportReport::default();

    progress.phase("u.item");
    let rows = parse_file("u.item", &items_text, &mut report.damaged, |l| parse_item(l, &genre_names));
    let n = rows.len() as u64;
    let outcome = catalog::upsert_unbounded(ctx, services, Batch { rows, errors: Vec::new() }).await?;
    report.items = outcome.counts;
    report_rows("u.item", outcome.errors, &mut report.damaged);
    progress.advance(n);

    progress.phase("u.user");
    let rows = parse_file("u.user", &users_text, &mut report.damaged, parse_user);
    let n = rows.len() as u64;
    let outcome = audience::upsert_unbounded(ctx, services, Batch { rows, errors: Vec::new() }).await?;
    report.users = outcome.counts;
    report_rows("u.user", outcome.errors, &mut report.damaged);
    progress.advance(n);

    progress.phase("u.data");
    let now = Utc::now();
    let rows = parse_file("u.data", &data_text, &mut report.damaged, |l| parse_rating(l, now));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(EVENT_BATCH).collect();
        let n = chunk.len() as u64;
        let outcome = interactions::record_unbounded(ctx, services, Batch { rows: chunk, errors: Vec::new() }).await?;
        report.interactions.add(&outcome.counts);
        report_rows("u.data", outcome.errors, &mut report.damaged);
        progress.advance(n);
    }
    report.damaged.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        DEFAULT_GENRES.iter().map(|g| (*g).to_owned()).collect()
    }

    #[test]
    fn an_item_line_parses_with_latin1_title() {
        let line = latin1(b"1|Caf\xe9 (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0");
        let item = parse_item(&line, &names()).ok();
        let item = item.as_ref();
        assert_eq!(item.map(|i| i.title.as_str()), Some("Café (1995)"));
        assert_eq!(
            item.map(|i| i.genres.clone()),
            Some(vec!["Animation".into(), "Children's".into(), "Comedy".into()])
        );
        assert_eq!(item.and_then(|i| i.release_date), NaiveDate::from_ymd_opt(1995, 1, 1));
    }

    #[test]
    fn damaged_lines_say_why() {
        assert!(parse_item("1|x|01-Jan-1995", &names()).is_err_and(|e| e.contains("fields")));
        assert!(
            parse_item("1|x|31-Foo-1995||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0", &names())
                .is_err_and(|e| e.contains("date"))
        );
        assert!(parse_user("1|x|M|writer|1").is_err_and(|e| e.contains("age")));
        assert!(parse_rating("1\t2\t9\t881250949", Utc::now()).is_err_and(|e| e.contains("rating")));
        let ok = parse_rating("196\t242\t3\t881250949", Utc::now()).ok();
        assert_eq!(ok.map(|e| e.event_id.as_str().to_owned()), Some("ml-196-242-881250949".into()));
    }
}
