//! The demo audience: end users with attributes, consent states and hidden tastes.
//! Two groups are under-served on purpose, so the first fairness report has something
//! to say: older users favour the long tail (harder to recommend for), and users on the
//! free plan leave fewer events.

use chrono::{Duration, NaiveDate};

use super::catalog::{GENRES, MOODS};
use super::rng::Rng;
use crate::audience::{AgeBand, EndUserDraft, NewEndUser};
use crate::error::{DomainError, Result};

pub(super) struct DemoUser {
    pub user: NewEndUser,
    /// A weight per genre of [`GENRES`].
    pub taste: Vec<f64>,
    /// Favourite moods (indices into [`MOODS`]): within a favourite genre, items of
    /// these moods are picked most of the time.
    pub moods: Vec<usize>,
    /// Share of draws that follow the taste (the rest follow overall popularity).
    pub focus: f64,
    /// Draws within the taste favour the long tail instead of the popular items.
    pub long_tail: bool,
    /// Mean events of this user.
    pub activity: f64,
}

const AGE_BANDS: [(AgeBand, f64); 6] = [
    (AgeBand::From18To24, 2.5),
    (AgeBand::From25To34, 3.0),
    (AgeBand::From35To44, 2.2),
    (AgeBand::From45To54, 1.4),
    (AgeBand::From55To64, 0.8),
    (AgeBand::From65, 0.5),
];
const COUNTRIES: [(&str, f64); 10] = [
    ("US", 4.0),
    ("GB", 1.5),
    ("DE", 1.3),
    ("FR", 1.1),
    ("BR", 1.2),
    ("IN", 1.2),
    ("JP", 0.9),
    ("ES", 0.8),
    ("CA", 0.7),
    ("MX", 0.6),
];
const PLANS: [(&str, f64); 3] = [("free", 3.0), ("standard", 4.0), ("premium", 2.0)];
const GENDERS: [(&str, f64); 3] = [("female", 4.8), ("male", 4.8), ("non_binary", 0.4)];

fn choose<T: Copy>(r: &mut Rng, table: &[(T, f64)]) -> T {
    let weights: Vec<f64> = table.iter().map(|t| t.1).collect();
    table[r.weighted(&weights)].0
}

pub(super) fn generate(rng: &Rng, count: usize, today: NaiveDate) -> Result<Vec<DemoUser>> {
    (0..count).map(|i| user(&mut rng.fork(0x5EED_0000 + i as u64), i + 1, today)).collect()
}

fn user(r: &mut Rng, number: usize, today: NaiveDate) -> Result<DemoUser> {
    let age_band = choose(r, &AGE_BANDS);
    let plan = choose(r, &PLANS);
    let older = matches!(age_band, AgeBand::From55To64 | AgeBand::From65);
    // Two to four favourite genres with uneven weights.
    let mut taste = vec![0.0; GENRES.len()];
    for _ in 0..2 + r.below(3) {
        taste[r.below(GENRES.len())] += 0.5 + r.unit();
    }
    let mut moods = vec![r.below(MOODS.len())];
    if r.chance(0.5) {
        moods.push(r.below(MOODS.len()));
    }
    let focus = if older { 0.55 } else { 0.8 };
    let activity = if plan == "free" { 18.0 } else { 30.0 };
    let user = NewEndUser::parse(EndUserDraft {
        id: format!("u-{number:05}"),
        age_band: Some(age_band),
        gender: Some(choose(r, &GENDERS).to_owned()),
        country: Some(choose(r, &COUNTRIES).to_owned()),
        plan: Some(plan.to_owned()),
        signup_date: Some(today - Duration::days(30 + r.below(1000) as i64)),
        attributes: Some(serde_json::json!({ "demo": true })),
        consent_personalization: Some(!r.chance(0.07)),
        consent_analytics: Some(!r.chance(0.04)),
    })
    .map_err(|e| DomainError::internal(format!("demo user does not validate: {e}")))?;
    Ok(DemoUser { user, taste, moods, focus, long_tail: older, activity })
}
