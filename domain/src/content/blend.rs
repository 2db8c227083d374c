//! Content in recommendations: items the model does not know yet (new since training,
//! no interactions) reach the people who will like them, by way of the known items
//! that read like them.
//!
//! The blend (docs/content.md, "The blend"):
//!
//! - Every new item stands in for its `k` nearest known items by embedding (cosine,
//!   weights = the cosines above zero). A person's **estimate** for a new item is the
//!   weighted mean of the model's scores of those items for that person: "people who
//!   like what this reads like". Measured on MovieLens 100K, the estimate ranks new items
//!   five times better than the cosine with a profile of the person's history.
//! - An estimate is a mean, so it is shrunk towards the middle and would never reach a
//!   top 10 on the model's own scale. It is put on that scale by **quantiles**: a sample
//!   of known items gets estimates the same way (from their nearest *other* known
//!   items); a new item whose estimate beats a share `q` of theirs scores what the
//!   person's `q`-quantile of known candidates scores. The weight `w` mixes this with the
//!   least-squares prediction of the model's score from the estimate (the shrunk,
//!   "expected" value): `w·quantile + (1 − w)·regression`. `w = 1` trusts the estimate's
//!   rank fully; above 1 new items are favoured beyond it (a freshness boost).
//! - Known items keep the model's scores, so their order among themselves is the
//!   model's: the blend never reorders what the model knows.

/// The default weight `w` (setting `content.blend_weight`; measured on MovieLens 100K:
/// docs/content.md).
pub const DEFAULT_BLEND_WEIGHT: f32 = 2.5;

/// How many known items stand in for a new one.
pub const TRANSFER_NEIGHBOURS: usize = 20;

/// How many known items calibrate the estimates (every n-th, for a spread sample).
pub const CALIBRATION_SAMPLE: usize = 1000;

/// An item's stand-ins: (position among the known items, weight).
type StandIns = Vec<(u32, f32)>;

/// What the blend precomputes for one model and one set of embeddings.
pub struct ContentTransfer {
    /// Stand-ins of each new item, in the order the new items were given.
    new_items: Vec<StandIns>,
    /// Known items that calibrate the estimates, with their stand-ins among the others.
    calibration: Vec<(u32, StandIns)>,
}

/// The `k` known items nearest to `query`, skipping `skip`, with positive weights.
fn stand_ins(query: &[f32], known: &[&[f32]], k: usize, skip: Option<usize>) -> StandIns {
    let cosines: Vec<f32> = known.iter().map(|v| super::vector::dot(v, query)).collect();
    super::top_of(&cosines, k, |p| Some(p) != skip)
        .into_iter()
        .filter(|(_, c)| *c > 0.0)
        .filter_map(|(p, c)| Some((u32::try_from(p).ok()?, c)))
        .collect()
}

/// The weighted mean of `scores` over `stand_ins`; `None` when nothing has weight.
fn estimate(stand_ins: &StandIns, scores: &[f32]) -> Option<f32> {
    let (mut sum, mut total) = (0.0_f64, 0.0_f64);
    for &(p, w) in stand_ins {
        let s = *scores.get(p as usize)?;
        if s.is_finite() {
            sum += f64::from(w) * f64::from(s);
            total += f64::from(w);
        }
    }
    (total > 0.0).then(|| (sum / total) as f32)
}

/// The `q`-quantile (0..=1) of ascending `sorted`, interpolated linearly.
fn quantile(sorted: &[f32], q: f64) -> f32 {
    let last = sorted.len().saturating_sub(1);
    let at = q.clamp(0.0, 1.0) * last as f64;
    let (lo, frac) = (at.floor() as usize, at.fract() as f32);
    let hi = (lo + 1).min(last);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

impl ContentTransfer {
    /// Stand-ins for `new` items among `known` ones (unit vectors of one text model).
    pub fn build(known: &[&[f32]], new: &[&[f32]]) -> Self {
        let new_items = new.iter().map(|v| stand_ins(v, known, TRANSFER_NEIGHBOURS, None)).collect();
        let step = known.len().div_ceil(CALIBRATION_SAMPLE).max(1);
        let calibration = (0..known.len())
            .step_by(step)
            .filter_map(|p| Some((u32::try_from(p).ok()?, stand_ins(known[p], known, TRANSFER_NEIGHBOURS, Some(p)))))
            .collect();
        Self { new_items, calibration }
    }

    /// The same for a changed set of new items over the same known items: stand-ins
    /// already computed are reused (`reuse[i]`: the position in `self`'s new items of an
    /// item whose vector has not changed), the rest are computed, the calibration is
    /// kept. Embedding a catalog in batches then costs each batch its own items only.
    pub fn with_new_items(&self, known: &[&[f32]], new: &[&[f32]], reuse: &[Option<usize>]) -> Self {
        let new_items = new
            .iter()
            .enumerate()
            .map(|(i, v)| match reuse.get(i).copied().flatten().and_then(|j| self.new_items.get(j)) {
                Some(kept) => kept.clone(),
                None => stand_ins(v, known, TRANSFER_NEIGHBOURS, None),
            })
            .collect();
        Self { new_items, calibration: self.calibration.clone() }
    }

    pub fn new_item_count(&self) -> usize {
        self.new_items.len()
    }

    /// Scores of the new items on the scale of the model's `scores` of the known items
    /// (every known item, in the `known` order of [`Self::build`]; a person's history
    /// included, since what they engaged with says most about them). `candidate(p)`
    /// says whether known item `p` could be recommended: the scale is theirs. `None`
    /// for a new item without stand-ins, or when there is nothing to calibrate against.
    pub fn new_item_scores(&self, scores: &[f32], candidate: impl Fn(usize) -> bool, weight: f32) -> Vec<Option<f32>> {
        match self.calibrate(scores, candidate, weight) {
            Some(scale) => (0..self.new_items.len()).map(|i| self.new_item_score(&scale, scores, i)).collect(),
            None => vec![None; self.new_items.len()],
        }
    }

    /// A person's scale for new items (what [`Self::new_item_scores`] puts every new
    /// item on): the same for every new item, so a few added ones can be scored on it
    /// alone. `None` when there is nothing to calibrate against.
    pub fn calibrate(&self, scores: &[f32], candidate: impl Fn(usize) -> bool, weight: f32) -> Option<PersonScale> {
        let mut targets: Vec<f32> =
            scores.iter().enumerate().filter(|(p, s)| s.is_finite() && candidate(*p)).map(|(_, s)| *s).collect();
        let pairs: Vec<(f32, f32)> = self
            .calibration
            .iter()
            .filter(|(p, _)| candidate(*p as usize))
            .filter_map(|(p, s)| Some((estimate(s, scores)?, *scores.get(*p as usize)?)))
            .filter(|(_, s)| s.is_finite())
            .collect();
        if targets.len() < 2 || pairs.len() < 2 {
            return None;
        }
        targets.sort_by(f32::total_cmp);
        let mut estimates: Vec<f32> = pairs.iter().map(|p| p.0).collect();
        estimates.sort_by(f32::total_cmp);
        // Least squares of the model's score on the estimate.
        let n = pairs.len() as f64;
        let (mx, my) = pairs.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + f64::from(*x) / n, b + f64::from(*y) / n));
        let (sxy, sxx) = pairs.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
            let dx = f64::from(*x) - mx;
            (a + dx * (f64::from(*y) - my), b + dx * dx)
        });
        let slope = if sxx > 1e-12 { sxy / sxx } else { 0.0 };
        Some(PersonScale { targets, estimates, mean_estimate: mx, mean_score: my, slope, weight: f64::from(weight) })
    }

    /// New item `i`'s score on `scale` (made from the same `scores`); `None` without
    /// stand-ins.
    pub fn new_item_score(&self, scale: &PersonScale, scores: &[f32], i: usize) -> Option<f32> {
        let e = estimate(self.new_items.get(i)?, scores)?;
        let below = scale.estimates.partition_point(|x| *x < e);
        let calibrated = f64::from(quantile(&scale.targets, below as f64 / scale.estimates.len() as f64));
        let expected = scale.mean_score + scale.slope * (f64::from(e) - scale.mean_estimate);
        Some((scale.weight * calibrated + (1.0 - scale.weight) * expected) as f32)
    }
}

/// One person's calibration of estimates ([`ContentTransfer::calibrate`]).
pub struct PersonScale {
    /// The model's scores of the person's candidates, ascending.
    targets: Vec<f32>,
    /// The calibration sample's estimates, ascending.
    estimates: Vec<f32>,
    /// The regression of the model's score on the estimate.
    mean_estimate: f64,
    mean_score: f64,
    slope: f64,
    weight: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(angle: f32) -> Vec<f32> {
        vec![angle.cos(), angle.sin()]
    }

    /// Known items spread over a quarter circle; the person likes those near angle 0.
    fn world() -> (Vec<Vec<f32>>, Vec<f32>) {
        let known: Vec<Vec<f32>> = (0..40).map(|i| unit(i as f32 * 0.04)).collect();
        let scores = (0..40).map(|i| 1.0 - i as f32 / 40.0).collect();
        (known, scores)
    }

    #[test]
    fn a_new_item_that_reads_like_the_persons_favourites_scores_among_them() {
        let (known, scores) = world();
        let refs: Vec<&[f32]> = known.iter().map(Vec::as_slice).collect();
        let (near, far) = (unit(0.01), unit(1.5));
        let transfer = ContentTransfer::build(&refs, &[&near, &far]);
        assert_eq!(transfer.new_item_count(), 2);
        let new = transfer.new_item_scores(&scores, |p| p >= 5, 1.0);
        let (near, far) = (new[0].unwrap_or(f32::NAN), new[1].unwrap_or(f32::NAN));
        // The best candidate scores 0.875 (items 0..5 are the history): the near item
        // matches the best stand-in estimate and takes the top of the candidates' scale.
        assert!(near > 0.85, "{near}");
        assert!(far < 0.4, "{far}");
        // Without trust in the estimate's rank the near item falls back towards the
        // regression's expected score, below the top.
        let shrunk = transfer.new_item_scores(&scores, |p| p >= 5, 0.0)[0].unwrap_or(f32::NAN);
        assert!(shrunk < near, "{shrunk} vs {near}");
    }

    #[test]
    fn reused_stand_ins_give_the_same_scores_as_a_fresh_build() {
        let (known, scores) = world();
        let refs: Vec<&[f32]> = known.iter().map(Vec::as_slice).collect();
        let (a, b, c) = (unit(0.01), unit(1.5), unit(0.7));
        let first = ContentTransfer::build(&refs, &[&a, &b]);
        let grown = first.with_new_items(&refs, &[&c, &a, &b], &[None, Some(0), Some(1)]);
        let fresh = ContentTransfer::build(&refs, &[&c, &a, &b]);
        assert_eq!(grown.new_item_scores(&scores, |p| p >= 5, 2.5), fresh.new_item_scores(&scores, |p| p >= 5, 2.5));
    }

    #[test]
    fn one_scale_scores_each_item_as_the_whole_list_does() {
        let (known, scores) = world();
        let refs: Vec<&[f32]> = known.iter().map(Vec::as_slice).collect();
        let (a, b, c) = (unit(0.01), unit(1.5), unit(0.7));
        let transfer = ContentTransfer::build(&refs, &[&a, &b, &c]);
        let whole = transfer.new_item_scores(&scores, |p| p >= 5, 2.5);
        let scale = transfer.calibrate(&scores, |p| p >= 5, 2.5);
        let one_by_one: Vec<Option<f32>> =
            (0..3).map(|i| scale.as_ref().and_then(|s| transfer.new_item_score(s, &scores, i))).collect();
        assert_eq!(one_by_one, whole);
        assert!(whole.iter().all(Option::is_some));
    }

    #[test]
    fn nothing_to_calibrate_against_gives_no_scores() {
        let (known, scores) = world();
        let refs: Vec<&[f32]> = known.iter().map(Vec::as_slice).collect();
        let near = unit(0.01);
        let transfer = ContentTransfer::build(&refs, &[&near]);
        assert_eq!(transfer.new_item_scores(&scores, |_| false, 1.0), vec![None]);
        // An item pointing away from every known one has no stand-ins.
        let away = vec![-1.0, 0.0];
        let transfer = ContentTransfer::build(&refs, &[&away]);
        assert_eq!(transfer.new_item_scores(&scores, |_| true, 1.0), vec![None]);
    }

    #[test]
    fn quantiles_interpolate() {
        let sorted = [0.0, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&sorted, 0.0), 0.0);
        assert_eq!(quantile(&sorted, 1.0), 4.0);
        assert!((quantile(&sorted, 0.5) - 1.5).abs() < 1e-6);
        assert_eq!(quantile(&[3.0], 0.7), 3.0);
    }
}
