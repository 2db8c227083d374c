//! Whether the history serving reads for a person is the one their trained ALS vector was
//! solved from. Training stores a digest of every person's history; serving serves the
//! trained vector only when the digest of the history it reads matches, and folds a
//! vector in from that history otherwise. Either way the served vector is the exact
//! solution for the history an explanation decomposes, so the two give one score.
//!
//! They differ when events arrived after the snapshot (also back-dated ones), when events
//! were deleted (retention, deleted items), when the tenant changed its event weights, and
//! for people with more events than serving reads (`data::HISTORY_LIMIT`, the most recent).

use inference::matrix::Interactions;

use crate::error::{DomainError, Result};

/// Bytes per person in the stored file.
const DIGEST_BYTES: usize = 24;
/// Relative tolerance on the weight sums: training and serving add a person's events on
/// one item in different orders, which changes the last bits of an f32 sum. A real change
/// of history moves them by far more.
const WEIGHT_TOLERANCE: f64 = 1e-5;

/// A summary of one history in model index space (items merged, weights summed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryDigest {
    /// Order-independent hash of the set of items (it changes with the count as well).
    items: u64,
    /// Sum of the weights.
    weight: f64,
    /// Sum of the weights, each times a pseudo-random factor in [1, 2) of its item: moving
    /// weight between items changes it.
    spread: f64,
}

impl HistoryDigest {
    /// The digest of a merged history: each item once, with its summed weight.
    pub fn of(history: impl IntoIterator<Item = (u32, f32)>) -> Self {
        let mut digest = Self { items: 0, weight: 0.0, spread: 0.0 };
        for (item, weight) in history {
            let h = mix(u64::from(item));
            digest.items = digest.items.wrapping_add(h);
            let w = f64::from(weight);
            digest.weight += w;
            // The top 52 bits of another mix of the item as a fraction in [0, 1).
            digest.spread += w * (1.0 + (mix(h) >> 12) as f64 / (1u64 << 52) as f64);
        }
        digest
    }

    /// Whether two digests describe the same history (up to the order of additions).
    pub fn matches(&self, other: &Self) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= WEIGHT_TOLERANCE * a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
        self.items == other.items && close(self.weight, other.weight) && close(self.spread, other.spread)
    }
}

/// The digest of every row of the training matrix, in row order.
pub fn digests(data: &Interactions) -> Vec<HistoryDigest> {
    (0..data.n_rows() as u32)
        .map(|u| data.row(u).map(|row| HistoryDigest::of(row.iter())).unwrap_or(HistoryDigest::of([])))
        .collect()
}

pub fn to_bytes(digests: &[HistoryDigest]) -> Vec<u8> {
    let mut out = Vec::with_capacity(digests.len() * DIGEST_BYTES);
    for d in digests {
        out.extend_from_slice(&d.items.to_le_bytes());
        out.extend_from_slice(&d.weight.to_le_bytes());
        out.extend_from_slice(&d.spread.to_le_bytes());
    }
    out
}

pub fn from_bytes(bytes: &[u8]) -> Result<Vec<HistoryDigest>> {
    if !bytes.len().is_multiple_of(DIGEST_BYTES) {
        return Err(DomainError::internal("corrupt history digest file"));
    }
    let word = |c: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&c[at..at + 8]);
        w
    };
    Ok(bytes
        .chunks_exact(DIGEST_BYTES)
        .map(|c| HistoryDigest {
            items: u64::from_le_bytes(word(c, 0)),
            weight: f64::from_le_bytes(word(c, 8)),
            spread: f64::from_le_bytes(word(c, 16)),
        })
        .collect())
}

/// Erases the digests of these rows (an erased person's history is personal data too);
/// what is left is the digest of an empty history.
pub fn scrub(bytes: &mut [u8], rows: &[usize]) {
    for &row in rows {
        if let Some(slot) = bytes.get_mut(row * DIGEST_BYTES..(row + 1) * DIGEST_BYTES) {
            slot.fill(0);
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of an index.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_same_history_matches_and_any_change_does_not() {
        let h = [(3u32, 1.0f32), (7, 2.5), (11, 0.3)];
        let d = HistoryDigest::of(h);
        // Another order, and a weight a rounding away (a sum taken in another order).
        assert!(d.matches(&HistoryDigest::of([(11, 0.3f32), (3, 1.0), (7, 2.5)])));
        let next_up = f32::from_bits(0.3f32.to_bits() + 1);
        assert!(d.matches(&HistoryDigest::of([(3, 1.0), (7, 2.5), (11, next_up)])));
        for changed in [
            vec![(3u32, 1.0f32), (7, 2.5)],
            vec![(3, 1.0), (7, 2.5), (11, 0.3), (12, 1.0)],
            vec![(3, 1.0), (7, 2.5), (12, 0.3)],
            vec![(3, 1.0), (7, 2.5), (11, 0.31)],
            // The same total, moved between items.
            vec![(3, 2.5), (7, 1.0), (11, 0.3)],
        ] {
            assert!(!d.matches(&HistoryDigest::of(changed.clone())), "{changed:?}");
        }
        assert!(HistoryDigest::of([]).matches(&HistoryDigest::of([])));
        assert!(!HistoryDigest::of([]).matches(&d));
    }

    #[test]
    fn digests_round_trip_and_scrub_to_empty() {
        let data = Interactions::from_triplets(3, 5, &[(0, 1, 1.0), (0, 1, 2.0), (0, 4, 0.5), (2, 3, 1.0)]).unwrap();
        let all = digests(&data);
        assert!(all[0].matches(&HistoryDigest::of([(4, 0.5), (1, 3.0)])));
        assert!(all[1].matches(&HistoryDigest::of([])));
        let mut bytes = to_bytes(&all);
        assert_eq!(from_bytes(&bytes).unwrap(), all);
        scrub(&mut bytes, &[0]);
        assert_eq!(from_bytes(&bytes).unwrap()[0], HistoryDigest::of([]));
        assert_eq!(from_bytes(&bytes).unwrap()[2], all[2]);
        assert!(from_bytes(&bytes[1..]).is_err());
    }
}
