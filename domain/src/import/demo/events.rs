//! The demo's interactions, drawn from the users' hidden tastes: a user picks a
//! favourite genre and an item of it (by popularity, or from the long tail), or now and
//! then anything popular; what they do with it depends on whether it suits them.

use chrono::{DateTime, Duration, Utc};

use super::audience::DemoUser;
use super::catalog::{DemoItem, GENRES, MOODS};
use super::rng::{Cumulative, Rng};
use crate::error::{DomainError, Result};
use crate::interactions::{EventType, InteractionDraft, NewInteraction};

/// The days the events spread over, up to the anchor.
pub(super) const DAYS: i64 = 120;

struct Tables {
    popular: Cumulative,
    /// Per genre, weighted by a damped popularity (tastes matter more than the charts).
    by_genre: Vec<(Vec<usize>, Cumulative)>,
    /// Per genre, nearly flat: the long tail gets its share.
    by_genre_tail: Vec<(Vec<usize>, Cumulative)>,
    /// Per genre and mood (`genre * MOODS.len() + mood`), weighted by popularity.
    by_style: Vec<(Vec<usize>, Cumulative)>,
}

/// How often a draw within a favourite genre keeps to a favourite mood: the structure
/// that a collaborative model finds and a popularity chart does not.
const MOOD_FOCUS: f64 = 0.6;

fn tables(items: &[DemoItem]) -> Tables {
    let popular = Cumulative::new(items.iter().map(|i| if i.available { i.popularity } else { 0.0 }));
    let per_genre = |exponent: f64| -> Vec<(Vec<usize>, Cumulative)> {
        (0..GENRES.len())
            .map(|g| {
                let members: Vec<usize> =
                    (0..items.len()).filter(|&i| items[i].available && items[i].genres.contains(&g)).collect();
                let weights = Cumulative::new(members.iter().map(|&i| items[i].popularity.powf(exponent)));
                (members, weights)
            })
            .collect()
    };
    let by_style = (0..GENRES.len() * MOODS.len())
        .map(|cell| {
            let (genre, mood) = (cell / MOODS.len(), cell % MOODS.len());
            let members: Vec<usize> = (0..items.len())
                .filter(|&i| items[i].available && items[i].mood == mood && items[i].genres.contains(&genre))
                .collect();
            let weights = Cumulative::new(members.iter().map(|&i| items[i].popularity.powf(0.8)));
            (members, weights)
        })
        .collect();
    Tables { popular, by_genre: per_genre(0.8), by_genre_tail: per_genre(0.1), by_style }
}

/// Every user's events; `anchor` is the moment the newest event stays before.
pub(super) fn generate(
    rng: &Rng,
    users: &[DemoUser],
    items: &[DemoItem],
    anchor: DateTime<Utc>,
) -> Result<Vec<NewInteraction>> {
    let tables = tables(items);
    let mut out = Vec::new();
    for (u, user) in users.iter().enumerate() {
        let mut r = rng.fork(0xE7E7_0000 + u as u64);
        // Log-normal activity: most users do a little, a few a lot.
        let n = (user.activity * (0.8 * r.normal()).exp()).round().clamp(5.0, 400.0) as usize;
        let mut made = 0;
        while made < n {
            let (item, suits) = draw(&mut r, user, &tables, items);
            // Sessions lean towards recent days (the service is growing).
            let days_back = (DAYS as f64 * r.unit().powf(1.4)) as i64;
            // At least three hours back: a sitting lasts up to about two, and no event may lie after the anchor.
            let start = anchor - Duration::days(days_back) - Duration::seconds(3 * 3600 + r.below(20 * 3600) as i64);
            for (k, (event_type, value)) in session(&mut r, &items[item], suits).into_iter().enumerate() {
                let draft = InteractionDraft {
                    event_id: format!("demo-{}-{made}", user.user.id.as_str()),
                    user_id: user.user.id.as_str().to_owned(),
                    content_id: items[item].content.id.as_str().to_owned(),
                    event_type,
                    value,
                    occurred_at: Some(start + Duration::minutes(k as i64 * 25)),
                };
                out.push(
                    NewInteraction::parse(draft, anchor)
                        .map_err(|e| DomainError::internal(format!("demo event does not validate: {e}")))?,
                );
                made += 1;
            }
        }
    }
    Ok(out)
}

/// An item for the user, and whether it suits their taste.
fn draw(r: &mut Rng, user: &DemoUser, tables: &Tables, items: &[DemoItem]) -> (usize, bool) {
    if r.chance(user.focus) {
        let genre = r.weighted(&user.taste);
        if !user.long_tail && r.chance(MOOD_FOCUS) {
            let (members, weights) = &tables.by_style[genre * MOODS.len() + *r.pick(&user.moods)];
            if !weights.is_empty() {
                return (members[weights.draw(r)], true);
            }
        }
        let (members, weights) = if user.long_tail { &tables.by_genre_tail[genre] } else { &tables.by_genre[genre] };
        if !weights.is_empty() {
            return (members[weights.draw(r)], true);
        }
    }
    let item = tables.popular.draw(r);
    let suits = items[item].genres.iter().any(|g| user.taste[*g] > 0.0);
    (item, suits)
}

/// What a user does with one item in one sitting.
fn session(r: &mut Rng, item: &DemoItem, suits: bool) -> Vec<(EventType, Option<f64>)> {
    use crate::catalog::ContentKind;
    let mut out = Vec::with_capacity(4);
    if !suits {
        out.push((EventType::View, None));
        if r.chance(0.4) {
            out.push((EventType::Skip, None));
        } else if r.chance(0.2) {
            out.push((EventType::Dislike, None));
        } else if r.chance(0.15) {
            out.push((EventType::Rating, Some((1 + r.below(3)) as f64)));
        }
        return out;
    }
    if item.content.kind == ContentKind::Game && r.chance(0.35) {
        out.push((EventType::Purchase, None));
    }
    out.push((EventType::Play, None));
    if r.chance(0.6) {
        out.push((EventType::Complete, None));
    }
    if r.chance(0.25) {
        out.push((EventType::Like, None));
    } else if r.chance(0.12) {
        out.push((EventType::Rating, Some((3 + r.below(3)) as f64)));
    } else if r.chance(0.1) {
        out.push((EventType::AddToList, None));
    }
    out
}
