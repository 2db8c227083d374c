//! The blend's precomputation for one model over one semantic index: which embedded items
//! the model knows, which it does not, and the stand-ins of the latter
//! ([`super::blend::ContentTransfer`]). Built once per model (off the executor: about
//! (1,000 + new items) × known items × dimensions multiply-adds); a new index (each
//! embedded batch makes one) costs only its changed items, since stand-ins of unchanged
//! vectors over unchanged known items are reused.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::blend::ContentTransfer;
use super::index::SemanticIndex;

/// A list made by [`ModelTransfer::top_with_new_items`] over an earlier index.
#[derive(Clone, Copy)]
pub struct KeptList<'a> {
    /// Item ids with their scores, best first.
    pub ranked: &'a [(Arc<str>, f32)],
    /// The version of the index it was made over.
    pub index_version: u64,
}

pub struct ModelTransfer {
    /// The index it was built over: a rebuilt index makes it stale.
    pub(crate) index: Arc<SemanticIndex>,
    /// Model positions of the embedded items the model knows, in the transfer's order.
    pub known: Vec<u32>,
    /// Index positions of the same known items.
    known_rows: Vec<usize>,
    /// Index positions of the embedded items the model does not know, in its order.
    pub new: Vec<usize>,
    pub transfer: ContentTransfer,
    /// Earlier indexes (by version) this one only adds new items to, with how many new
    /// items each had: theirs are the first of `new`, with the same stand-ins and the
    /// same calibration, so an answer blended over one of them is brought up to date by
    /// scoring the added items alone. Newest last, at most [`GROWTH_REMEMBERED`].
    grown_from: Vec<(u64, usize)>,
    /// The version of the index the transfer this one was built from had (0: none):
    /// answers made over it stay usable for a moment while people move over.
    pub(crate) replaced_version: u64,
    /// When it was built: people move over to it spread over the interval after.
    pub(crate) made_at: std::time::Instant,
}

/// How many earlier indexes a transfer remembers growing from: batches are applied at
/// most every `BATCHES_EVERY` (10 s), so a person's answer up to some minutes old is
/// brought up to date rather than blended afresh.
const GROWTH_REMEMBERED: usize = 32;

impl ModelTransfer {
    /// `item_index`: the model's item ids and positions. `previous`: the transfer of the
    /// same model over an earlier index, whose stand-ins are reused where the known items
    /// and a new item's vector are unchanged.
    pub fn build(index: Arc<SemanticIndex>, item_index: &FxHashMap<String, u32>, previous: Option<&Self>) -> Self {
        let mut known: Vec<(u32, usize)> =
            item_index.iter().filter_map(|(id, &m)| index.position(id).map(|p| (m, p))).collect();
        known.sort_unstable();
        let new: Vec<usize> =
            (0..index.len()).filter(|&p| !item_index.contains_key(index.items[p].id.as_str())).collect();
        let known_vectors: Vec<&[f32]> = known.iter().map(|&(_, p)| index.vector(p)).collect();
        let new_vectors: Vec<&[f32]> = new.iter().map(|&p| index.vector(p)).collect();
        let same_known = |prev: &&Self| {
            prev.known.len() == known.len()
                && prev
                    .known
                    .iter()
                    .zip(&prev.known_rows)
                    .zip(&known)
                    .all(|((&m, &row), &(m2, p))| m == m2 && prev.index.vector(row) == index.vector(p))
        };
        let mut grown_from = Vec::new();
        let transfer = match previous.filter(same_known) {
            Some(prev) => {
                let kept: FxHashMap<&str, (usize, usize)> =
                    prev.new.iter().enumerate().map(|(j, &p)| (prev.index.items[p].id.as_str(), (j, p))).collect();
                let reuse: Vec<Option<usize>> = new
                    .iter()
                    .map(|&p| {
                        let &(j, old) = kept.get(index.items[p].id.as_str())?;
                        (prev.index.vector(old) == index.vector(p)).then_some(j)
                    })
                    .collect();
                let only_added = new.len() >= prev.new.len()
                    && reuse.iter().take(prev.new.len()).enumerate().all(|(i, &j)| j == Some(i));
                if only_added && prev.index.version != 0 {
                    let skip = (prev.grown_from.len() + 1).saturating_sub(GROWTH_REMEMBERED);
                    grown_from.extend(prev.grown_from.iter().skip(skip).copied());
                    grown_from.push((prev.index.version, prev.new.len()));
                }
                prev.transfer.with_new_items(&known_vectors, &new_vectors, &reuse)
            }
            None => ContentTransfer::build(&known_vectors, &new_vectors),
        };
        let known_rows = known.iter().map(|&(_, p)| p).collect();
        let known = known.into_iter().map(|(m, _)| m).collect();
        let replaced_version = previous.map_or(0, |p| p.index.version);
        Self {
            index,
            known,
            known_rows,
            new,
            transfer,
            grown_from,
            replaced_version,
            made_at: std::time::Instant::now(),
        }
    }

    /// How many of `new` an answer blended over index `version` already weighed, when
    /// this transfer only adds new items to that index's ([`Self::grown_from`]).
    pub fn added_since(&self, version: u64) -> Option<usize> {
        if version == 0 {
            return None;
        }
        if version == self.index.version {
            return Some(self.new.len());
        }
        self.grown_from.iter().rev().find(|(v, _)| *v == version).map(|&(_, count)| count)
    }

    /// The `first` best admitted items: the model's scores for the items it knows
    /// (`item_ids`, `scores` and `admitted` by model position) and the blend's for the
    /// new ones (`admits` says which may be listed). `kept`: a list made the same way
    /// over an earlier index, with that index's version; when this transfer only adds new
    /// items to that index's, the kept list is the best of everything weighed then, and
    /// only the added items are scored and merged into it (the same list as a fresh one,
    /// at the cost of the added items alone).
    #[allow(clippy::too_many_arguments)]
    pub fn top_with_new_items(
        &self,
        item_ids: &[String],
        scores: &[f32],
        admitted: &[bool],
        weight: f32,
        first: usize,
        admits: impl Fn(&str) -> bool,
        kept: Option<KeptList<'_>>,
    ) -> Vec<(String, f32)> {
        let known_scores: Vec<f32> =
            self.known.iter().map(|&m| scores.get(m as usize).copied().unwrap_or(f32::NAN)).collect();
        let candidate = |p: usize| admitted.get(self.known[p] as usize).copied().unwrap_or(false);
        let scale = self.transfer.calibrate(&known_scores, candidate, weight);
        let new_score = |i: usize| scale.as_ref().and_then(|s| self.transfer.new_item_score(s, &known_scores, i));
        let mut ids: Vec<&str> = Vec::new();
        let mut listed = Vec::new();
        let weighed = kept.and_then(|k| Some((k.ranked, self.added_since(k.index_version)?)));
        let from = match weighed {
            Some((list, from)) => {
                for (id, score) in list {
                    ids.push(id.as_ref());
                    listed.push(*score);
                }
                from
            }
            None => {
                ids.reserve(item_ids.len() + self.new.len());
                listed.reserve(ids.capacity());
                for ((id, &score), _) in item_ids.iter().zip(scores).zip(admitted).filter(|(_, a)| **a) {
                    ids.push(id);
                    listed.push(score);
                }
                0
            }
        };
        // Only a new item scoring above the `first`-best of what is listed so far can
        // enter the list (ties go to the items listed first), so only those few pay for
        // the admission check, a string lookup or two: over thousands of new items it was
        // most of a blend's cost.
        let listed_top = super::top_positions(&listed, first);
        let bar = match listed_top.last() {
            Some(&(_, kth)) if listed_top.len() >= first => kth,
            _ => f32::NEG_INFINITY,
        };
        for (i, &p) in self.new.iter().enumerate().skip(from) {
            let id = self.index.items[p].id.as_str();
            // An added item is never in the kept list; asked only of those that would enter.
            let unlisted = |id: &str| weighed.is_none() || !ids.contains(&id);
            if let Some(score) = new_score(i).filter(|s| *s > bar && admits(id) && unlisted(id)) {
                ids.push(id);
                listed.push(score);
            }
        }
        super::top_positions(&listed, first).into_iter().map(|(i, s)| (ids[i].to_owned(), s)).collect()
    }

    pub fn is_current(&self, index: &Arc<SemanticIndex>) -> bool {
        Arc::ptr_eq(&self.index, index) || (index.version != 0 && self.index.version == index.version)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::content::index::bare_item;
    use crate::content::store::embeddings::StoredVector;
    use crate::content::vector;

    /// `index` with the given items' vectors set (appended when new), numbered `version`.
    fn with(index: &SemanticIndex, version: u64, rows: &[(i64, &str, [f32; 2])]) -> Arc<SemanticIndex> {
        let items = rows.iter().map(|&(row, id, _)| (row, bare_item(id.to_owned()))).collect();
        let stored = rows
            .iter()
            .map(|&(row, _, v)| StoredVector {
                item_row: row,
                bytes: vector::to_bytes(&v),
                embedded_at: chrono::Utc::now(),
            })
            .collect();
        let mut next = index.with_vectors(items, stored);
        next.version = version;
        Arc::new(next)
    }

    #[test]
    fn a_transfer_knows_which_earlier_indexes_it_only_adds_to() {
        let known: FxHashMap<String, u32> = [("i0".to_owned(), 0), ("i1".to_owned(), 1)].into_iter().collect();
        let base = SemanticIndex::from_vectors("m", 2, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let first = with(&base, 1, &[(10, "x", [0.6, 0.8])]);
        let t1 = ModelTransfer::build(first.clone(), &known, None);
        assert_eq!((t1.new.len(), t1.added_since(1), t1.added_since(0)), (1, Some(1), None));

        let second = with(&first, 2, &[(11, "y", [0.8, 0.6])]);
        let t2 = ModelTransfer::build(second.clone(), &known, Some(&t1));
        assert_eq!((t2.new.len(), t2.added_since(1), t2.added_since(2)), (2, Some(1), Some(2)));
        let third = with(&second, 3, &[(12, "z", [0.0, 1.0])]);
        let t3 = ModelTransfer::build(third.clone(), &known, Some(&t2));
        assert_eq!((t3.added_since(1), t3.added_since(2), t3.added_since(3)), (Some(1), Some(2), Some(3)));

        // A new item's vector changed: answers over earlier indexes weighed the old one.
        let changed = with(&third, 4, &[(10, "x", [0.0, 1.0])]);
        let t4 = ModelTransfer::build(changed, &known, Some(&t3));
        assert_eq!((t4.added_since(1), t4.added_since(3), t4.added_since(4)), (None, None, Some(3)));
        // A known item's vector changed: nothing is reused.
        let moved = with(&third, 5, &[(1, "i1", [0.6, 0.8])]);
        let t5 = ModelTransfer::build(moved, &known, Some(&t3));
        assert_eq!(t5.added_since(3), None);
    }

    #[test]
    fn a_kept_list_brought_up_to_date_is_the_fresh_list() {
        let ids: Vec<String> = (0..4).map(|n| format!("i{n}")).collect();
        let known: FxHashMap<String, u32> = ids.iter().cloned().zip(0..).collect();
        let unit = |a: f32| vec![a.cos(), a.sin()];
        let base = SemanticIndex::from_vectors("m", 2, (0..4).map(|n| unit(n as f32 * 0.5)).collect());
        let point = |a: f32| [a.cos(), a.sin()];
        let first = with(&base, 1, &[(10, "x", point(1.4))]);
        let t1 = ModelTransfer::build(first.clone(), &known, None);
        let second = with(&first, 2, &[(11, "y", point(0.05)), (12, "z", point(0.6))]);
        let t2 = ModelTransfer::build(second, &known, Some(&t1));
        // i0 is the person's history; the others are candidates.
        let (scores, admitted) = ([0.9, 0.6, 0.3, 0.1], [false, true, true, true]);
        for (length, weight) in (1..=5).flat_map(|n| [(n, 1.0), (n, 2.5)]) {
            let kept = t1.top_with_new_items(&ids, &scores, &admitted, weight, length, |_| true, None);
            let kept: Vec<(Arc<str>, f32)> = kept.into_iter().map(|(id, s)| (Arc::from(id), s)).collect();
            let fresh = t2.top_with_new_items(&ids, &scores, &admitted, weight, length, |_| true, None);
            let brought = t2.top_with_new_items(
                &ids,
                &scores,
                &admitted,
                weight,
                length,
                |_| true,
                Some(KeptList { ranked: &kept, index_version: 1 }),
            );
            assert_eq!(brought, fresh, "first {length}, weight {weight}");
            assert_eq!(fresh.len(), length.min(6));
        }
        let fresh = t2.top_with_new_items(&ids, &scores, &admitted, 2.5, 5, |_| true, None);
        let added: Vec<&str> = fresh.iter().map(|(id, _)| id.as_str()).filter(|id| !id.starts_with('i')).collect();
        assert_eq!(added.len(), 2, "{fresh:?}: three known candidates, so two of the new items");
        // Not admitted: never listed, kept list or not.
        let brought = t2.top_with_new_items(&ids, &scores, &admitted, 2.5, 5, |id| id != "y", None);
        assert!(brought.iter().all(|(id, _)| id != "y" && id != "i0"), "{brought:?}");
    }
}
