//! How a catalog view grew from earlier ones without changing what they admitted, so a
//! person's answer kept over an earlier view can outlive a catalog change that could not
//! have altered it.
//!
//! A plain request's answer depends on the catalog only through which items it admits
//! (live, inside their availability window). When a new view keeps every item of the one
//! before with the same window (it adds items, or changes titles and descriptions), an
//! item can enter an answer made over the earlier view only if it was added since and
//! either the model knows it or the blend already weighed it then, unadmitted. Everything
//! else the answer left out is still out. Without this, upserting 10,000 items made every
//! person of the tenant be scored and blended afresh at once when the view was read
//! again: a second of a third of the throughput, the 99th percentile of the busy run.

use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use super::data::ItemFacets;
use super::serving::LoadedModel;
use crate::content::ModelTransfer;

/// How many earlier views a view remembers growing from: one per 10 s reading, so an
/// answer up to about five minutes old can outlive the catalog's changes.
const GROWTH_REMEMBERED: usize = 32;

/// Precomputations a view keeps answers about (models in service, indexes in use).
const REACH_REMEMBERED: usize = 4;

#[derive(Default)]
pub(crate) struct CatalogGrowth {
    /// Earlier generations this view only adds to, oldest first, each with how many of
    /// `added` it already held.
    earlier: Vec<(u64, usize)>,
    /// Items added since the oldest of `earlier`, in the order they came.
    added: Vec<Arc<str>>,
    /// [`Reach`] per model and index, worked out once for the view.
    reach: Mutex<Vec<(ReachKey, Arc<Vec<Reach>>)>>,
}

type ReachKey = (tenants::ids::PublicId, u64);

/// Of the items added since `generation`: `None` when the model knows one (its score
/// was never weighed), else the first position among the precomputation's new items that
/// one of them holds (`usize::MAX`: none is embedded).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reach {
    generation: u64,
    first_new: Option<usize>,
}

/// A view's items, with whatever else it keeps of each (`Arc<Content>` in serving).
type Items<C> = FxHashMap<String, (ItemFacets, C)>;

impl CatalogGrowth {
    /// The growth of a view holding `items`, read after `previous` (generation
    /// `previous_generation`): empty unless every earlier item is still there with the
    /// same availability window.
    pub(crate) fn after<C>(previous: &Items<C>, previous_generation: u64, growth: &Self, items: &Items<C>) -> Self {
        let admits_the_same = previous.iter().all(|(id, (old, _))| {
            items.get(id).is_some_and(|(new, _)| {
                new.deleted == old.deleted
                    && new.available_from == old.available_from
                    && new.available_until == old.available_until
            })
        });
        if !admits_the_same {
            return Self::default();
        }
        let mut earlier = growth.earlier.clone();
        earlier.push((previous_generation, growth.added.len()));
        let mut added = growth.added.clone();
        added.extend(items.keys().filter(|id| !previous.contains_key(*id)).map(|id| Arc::from(id.as_str())));
        if earlier.len() > GROWTH_REMEMBERED {
            let dropped = earlier.len() - GROWTH_REMEMBERED;
            let cut = earlier[dropped].1;
            earlier.drain(..dropped);
            added.drain(..cut);
            earlier.iter_mut().for_each(|(_, held)| *held -= cut);
        }
        Self { earlier, added, reach: Mutex::default() }
    }

    /// Whether an answer made over the view of `generation` for `model`, blended over
    /// index `kept_content` (0: not blended), is still what this view would answer.
    /// `transfer`: the model's blend precomputation in use, `None` without a blend.
    pub(crate) fn keeps(
        &self,
        generation: u64,
        model: &LoadedModel,
        transfer: Option<&ModelTransfer>,
        kept_content: u64,
    ) -> bool {
        if !self.earlier.iter().any(|(g, _)| *g == generation) {
            return false;
        }
        let reach = self.reach_for(model, transfer);
        let Some(first_new) = reach.iter().find(|r| r.generation == generation).and_then(|r| r.first_new) else {
            return false;
        };
        // The new items the answer weighed: an added one among them was weighed while not
        // admitted. Not knowing which (an index it did not grow from), all of them.
        transfer.is_none_or(|t| first_new >= t.added_since(kept_content).unwrap_or(t.new.len()))
    }

    fn reach_for(&self, model: &LoadedModel, transfer: Option<&ModelTransfer>) -> Arc<Vec<Reach>> {
        let key = (model.id, transfer.map_or(0, |t| t.index.version));
        // Held while working it out: the requests that find the view new all ask at once,
        // and one pass serves them all. The memo only ever holds whole entries: a panic
        // elsewhere leaves it usable.
        let mut memo = self.reach.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, reach)) = memo.iter().find(|(k, _)| *k == key) {
            return reach.clone();
        }
        let new_position = |id: &str| {
            let t = transfer?;
            t.new.binary_search(&t.index.position(id)?).ok()
        };
        let reach = Arc::new(self.work_out_reach(|id| model.item_index.contains_key(id), new_position));
        if memo.len() >= REACH_REMEMBERED {
            memo.remove(0);
        }
        memo.push((key, reach.clone()));
        reach
    }

    /// [`Reach`] for every earlier generation, newest first: one pass over the added
    /// items from the newest back, each looked up once.
    /// `known`: whether the model knows an item; `new_position`: an item's position among
    /// the precomputation's new items.
    fn work_out_reach(&self, known: impl Fn(&str) -> bool, new_position: impl Fn(&str) -> Option<usize>) -> Vec<Reach> {
        let mut first_new = Some(usize::MAX);
        let mut end = self.added.len();
        let mut reach = Vec::with_capacity(self.earlier.len());
        for &(generation, held) in self.earlier.iter().rev() {
            for id in &self.added[held..end] {
                first_new = match first_new {
                    Some(_) if known(id) => None,
                    Some(first) => Some(new_position(id).map_or(first, |j| first.min(j))),
                    None => None,
                };
            }
            end = held;
            reach.push(Reach { generation, first_new });
        }
        reach
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn items(ids: &[(&str, Option<i64>)]) -> Items<()> {
        ids.iter()
            .map(|&(id, from)| {
                let facets = ItemFacets {
                    kind: "movie".into(),
                    genres: vec![],
                    tags: vec![],
                    provider: None,
                    available_from: from.and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
                    available_until: None,
                    deleted: false,
                };
                (id.to_owned(), (facets, ()))
            })
            .collect()
    }

    #[test]
    fn a_view_grows_from_earlier_ones_only_while_it_admits_what_they_did() {
        let first = items(&[("a", None), ("b", Some(10))]);
        let second = items(&[("a", None), ("b", Some(10)), ("c", None)]);
        let g2 = CatalogGrowth::after(&first, 1, &CatalogGrowth::default(), &second);
        assert_eq!((g2.earlier.clone(), g2.added.len()), (vec![(1, 0)], 1));
        let third = items(&[("a", None), ("b", Some(10)), ("c", None), ("d", None), ("e", None)]);
        let g3 = CatalogGrowth::after(&second, 2, &g2, &third);
        assert_eq!(g3.earlier, vec![(1, 0), (2, 1)]);
        assert_eq!(g3.added.len(), 3);
        // A window moved: nothing earlier is kept.
        let moved = items(&[("a", None), ("b", Some(20)), ("c", None), ("d", None), ("e", None)]);
        assert!(CatalogGrowth::after(&third, 3, &g3, &moved).earlier.is_empty());
        // An item gone (not through a deletion's announcement): nothing earlier is kept.
        let fewer = items(&[("a", None), ("b", Some(10)), ("c", None), ("d", None)]);
        assert!(CatalogGrowth::after(&third, 3, &g3, &fewer).earlier.is_empty());
    }

    #[test]
    fn an_earlier_answer_is_reached_only_by_added_items_the_model_knows_or_the_blend_weighed() {
        let mut growth = CatalogGrowth::default();
        let mut view = items(&[("a", None)]);
        // Generations 1..=3 each add one item: b, then c, then d.
        for (generation, id) in [(1, "b"), (2, "c"), (3, "d")] {
            let mut next = view.keys().map(|id| (id.as_str(), None)).collect::<Vec<_>>();
            next.push((id, None));
            let next = items(&next);
            growth = CatalogGrowth::after(&view, generation, &growth, &next);
            view = next;
        }
        let reach = |known: &'static str, embedded: &'static [(&'static str, usize)]| {
            growth.work_out_reach(|id| id == known, |id| embedded.iter().find(|(e, _)| *e == id).map(|&(_, j)| j))
        };
        let first_new = |reach: &[Reach]| reach.iter().map(|r| (r.generation, r.first_new)).collect::<Vec<_>>();
        // Nothing added is known or embedded: every earlier answer holds.
        assert_eq!(
            first_new(&reach("a", &[])),
            vec![(3, Some(usize::MAX)), (2, Some(usize::MAX)), (1, Some(usize::MAX))]
        );
        // c is known to the model: answers from before c came lapse.
        assert_eq!(first_new(&reach("c", &[])), vec![(3, Some(usize::MAX)), (2, None), (1, None)]);
        // d is the precomputation's 5th new item, b its 2nd.
        assert_eq!(first_new(&reach("a", &[("d", 5), ("b", 2)])), vec![(3, Some(5)), (2, Some(5)), (1, Some(2))]);
    }

    #[test]
    fn a_view_remembers_a_bounded_number_of_earlier_ones() {
        let mut growth = CatalogGrowth::default();
        let mut ids: Vec<String> = vec!["x".into()];
        let mut view = items(&[("x", None)]);
        for generation in 1..=(GROWTH_REMEMBERED as u64 + 5) {
            ids.push(format!("i{generation}"));
            let next = items(&ids.iter().map(|id| (id.as_str(), None)).collect::<Vec<_>>());
            growth = CatalogGrowth::after(&view, generation, &growth, &next);
            view = next;
        }
        assert_eq!(growth.earlier.len(), GROWTH_REMEMBERED);
        assert_eq!(growth.earlier[0], (6, 0), "the oldest remembered holds none of the added");
        assert_eq!(growth.added.len(), GROWTH_REMEMBERED);
        assert_eq!(&*growth.added[0], "i6");
    }
}
