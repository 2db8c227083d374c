//! Assembles a report from the evaluation split: the lists (the model's top k, and
//! optionally re-ranked ones), the figures of each, PASS/WARN and suppression. Pure:
//! the data comes in already loaded, so the whole report is checked by hand in tests.

use super::metrics::{self, PopularityBucket};
use super::rerank::{self, CandidateFacts};
use super::thresholds::{FairnessThresholds, Status};
use super::types::*;

/// One evaluated user, with the values of the requested attributes (in the input's
/// order), the model's best candidates, best first, the tail candidates evaluation
/// kept beside them (for `EXPOSURE_GINI`; empty for models trained before), and the
/// items of their training history (for the strategies personalized by it).
pub struct ReportUser {
    pub groups: Vec<Option<String>>,
    pub test: Vec<u32>,
    pub candidates: Vec<(u32, f32)>,
    pub tail_candidates: Vec<(u32, f32)>,
    pub history: Vec<u32>,
}

/// One catalog item as the model indexes it; `None` facts for items since deleted.
#[derive(Debug, Clone, Default)]
pub struct ReportItem {
    pub known: bool,
    pub kind: String,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub provider: Option<String>,
}

pub struct ReportData {
    pub users: Vec<ReportUser>,
    pub excluded_users: usize,
    pub items: Vec<ReportItem>,
    pub item_train_counts: Vec<u32>,
}

const NONE: &str = "(none)";
const UNKNOWN: &str = "(deleted)";

fn item_groups(grouping: ItemGrouping, data: &ReportData) -> Vec<Vec<String>> {
    let buckets = metrics::popularity_buckets(&data.item_train_counts);
    data.items
        .iter()
        .enumerate()
        .map(|(i, item)| match grouping {
            ItemGrouping::PopularityBucket => {
                vec![buckets.get(i).copied().unwrap_or(PopularityBucket::Tail).as_str().to_owned()]
            }
            _ if !item.known => vec![UNKNOWN.to_owned()],
            ItemGrouping::Genre if item.genres.is_empty() => vec![NONE.to_owned()],
            ItemGrouping::Genre => item.genres.clone(),
            ItemGrouping::Provider => vec![item.provider.clone().unwrap_or_else(|| NONE.to_owned())],
            ItemGrouping::Kind => vec![item.kind.clone()],
        })
        .collect()
}

/// What every user's re-ranking shares: the catalog's groups and shares, computed once.
struct Catalog {
    buckets: Vec<PopularityBucket>,
    /// Exposure strategies: each item's group and each group's catalog share.
    groups: Vec<usize>,
    targets: Vec<f64>,
    /// The catalog's interaction shares of head, mid and tail: the profile of a user
    /// without history.
    interaction_profile: [f64; 3],
}

impl Catalog {
    fn new(rerank: &Rerank, data: &ReportData) -> Self {
        let buckets = metrics::popularity_buckets(&data.item_train_counts);
        let names: Vec<String> = match rerank.strategy {
            RerankStrategy::ProviderExposure => {
                data.items.iter().map(|it| it.provider.clone().unwrap_or_else(|| NONE.to_owned())).collect()
            }
            RerankStrategy::PopularityExposure => buckets.iter().map(|b| b.as_str().to_owned()).collect(),
            _ => Vec::new(),
        };
        let (ids, targets) = rerank::group_targets(names.iter().map(String::as_str));
        let groups = names.iter().map(|n| ids.get(n).copied().unwrap_or(0)).collect();
        let mut interactions = [0.0; 3];
        for (b, &c) in buckets.iter().zip(&data.item_train_counts) {
            interactions[b.index()] += f64::from(c);
        }
        let total: f64 = interactions.iter().sum();
        let interaction_profile = if total > 0.0 { interactions.map(|c| c / total) } else { [1.0 / 3.0; 3] };
        Self { buckets, groups, targets, interaction_profile }
    }

    fn bucket(&self, item: u32) -> PopularityBucket {
        self.buckets.get(item as usize).copied().unwrap_or(PopularityBucket::Tail)
    }
}

/// The facts a re-ranking needs about one user's candidates.
fn candidate_facts(rerank: &Rerank, data: &ReportData, catalog: &Catalog, user: &ReportUser) -> CandidateFacts {
    let candidates = &user.candidates;
    let mut facts = CandidateFacts {
        scores: candidates.iter().map(|c| c.1).collect(),
        groups: Vec::new(),
        targets: Vec::new(),
        features: Vec::new(),
        buckets: Vec::new(),
        profile: catalog.interaction_profile,
    };
    match rerank.strategy {
        RerankStrategy::ProviderExposure | RerankStrategy::PopularityExposure => {
            facts.groups = candidates.iter().map(|c| catalog.groups.get(c.0 as usize).copied().unwrap_or(0)).collect();
            facts.targets = catalog.targets.clone();
        }
        RerankStrategy::ExposureGini => {}
        RerankStrategy::MmrDiversity => {
            facts.features = candidates
                .iter()
                .map(|c| {
                    data.items
                        .get(c.0 as usize)
                        .map(|it| it.genres.iter().chain(&it.tags).map(|s| s.to_lowercase()).collect())
                        .unwrap_or_default()
                })
                .collect();
        }
        RerankStrategy::PopularityXquad | RerankStrategy::PopularityCalibration => {
            facts.buckets = candidates.iter().map(|c| catalog.bucket(c.0)).collect();
            facts.profile =
                rerank::profile(user.history.iter().map(|&i| catalog.bucket(i)), catalog.interaction_profile);
        }
    }
    facts
}

/// Every user's list of k: the model's order, or re-ranked from its candidates.
pub fn lists(data: &ReportData, k: usize, rerank: Option<&Rerank>) -> Vec<Vec<u32>> {
    if let Some(r) = rerank.filter(|r| r.strategy == RerankStrategy::ExposureGini) {
        let pools: Vec<Vec<(u32, f32)>> =
            data.users.iter().map(|u| u.candidates.iter().chain(&u.tail_candidates).copied().collect()).collect();
        return inference::exposure::rerank_all(&pools, data.item_train_counts.len(), k, r.strength);
    }
    let catalog = rerank.map(|r| Catalog::new(r, data));
    data.users
        .iter()
        .map(|u| match (rerank, &catalog) {
            (Some(r), Some(catalog)) => {
                let facts = candidate_facts(r, data, catalog, u);
                rerank::rerank(r, &facts, k).into_iter().map(|i| u.candidates[i].0).collect()
            }
            _ => u.candidates.iter().take(k).map(|c| c.0).collect(),
        })
        .collect()
}

/// The strengths a trade-off curve is drawn at: 0, 0.1, ..., 1.
pub const CURVE_STRENGTHS: usize = 11;

fn tradeoff_point(data: &ReportData, k: usize, lists: &[Vec<u32>], strength: f64) -> TradeoffPoint {
    let quality = metrics::mean_quality(data.users.iter().zip(lists).map(|(u, l)| metrics::ndcg_recall(l, &u.test, k)));
    let p = metrics::popularity_figures(lists, &data.item_train_counts, k);
    TradeoffPoint {
        strength,
        ndcg: quality.ndcg,
        gini: p.gini,
        long_tail_share: p.long_tail_share,
        coverage: p.coverage,
        ndcg_relative_change: 0.0,
        gini_relative_change: 0.0,
    }
}

fn relative(after: f64, before: f64) -> f64 {
    if before > 0.0 { after / before - 1.0 } else { 0.0 }
}

/// NDCG@k, exposure Gini, long-tail share and coverage of each popularity strategy
/// over the strength grid, on the same users and candidates as the report, and the
/// recommended setting: the lowest Gini below the unranked list's whose relative NDCG
/// cost is at most `max_ndcg_cost` (ties: the better NDCG).
pub fn tradeoff(data: &ReportData, k: usize, max_ndcg_cost: f64) -> Tradeoff {
    let baseline = tradeoff_point(data, k, &lists(data, k, None), 0.0);
    let relative_to_baseline = |mut p: TradeoffPoint| {
        p.ndcg_relative_change = relative(p.ndcg, baseline.ndcg);
        p.gini_relative_change = relative(p.gini, baseline.gini);
        p
    };
    let curves: Vec<TradeoffCurve> = RerankStrategy::POPULARITY
        .iter()
        .map(|&strategy| TradeoffCurve {
            strategy,
            points: (0..CURVE_STRENGTHS)
                .map(|step| {
                    let strength = step as f64 / (CURVE_STRENGTHS - 1) as f64;
                    if step == 0 {
                        return relative_to_baseline(baseline);
                    }
                    let r = Rerank { strategy, strength };
                    relative_to_baseline(tradeoff_point(data, k, &lists(data, k, Some(&r)), strength))
                })
                .collect(),
        })
        .collect();
    let mut recommended: Option<(RerankStrategy, TradeoffPoint)> = None;
    for curve in &curves {
        for p in curve.points.iter().filter(|p| p.strength > 0.0) {
            let within = -p.ndcg_relative_change <= max_ndcg_cost + 1e-12;
            let better = recommended.is_none_or(|(_, best)| (p.gini, -p.ndcg) < (best.gini, -best.ndcg));
            if within && p.gini < baseline.gini - 1e-12 && better {
                recommended = Some((curve.strategy, *p));
            }
        }
    }
    let recommended = recommended.map(|(strategy, p)| RecommendedRerank {
        strategy,
        strength: p.strength,
        ndcg: p.ndcg,
        gini: p.gini,
        long_tail_share: p.long_tail_share,
        coverage: p.coverage,
        ndcg_relative_change: p.ndcg_relative_change,
        gini_relative_change: p.gini_relative_change,
        long_tail_share_change: p.long_tail_share - baseline.long_tail_share,
        coverage_change: p.coverage - baseline.coverage,
    });
    Tradeoff { max_ndcg_cost, baseline: relative_to_baseline(baseline), curves, recommended }
}

fn disparity(values: &[f64], t: &FairnessThresholds) -> Option<Disparity> {
    metrics::difference_and_ratio(values).map(|(difference, ratio)| Disparity {
        difference,
        ratio,
        difference_status: Status::of(difference <= t.max_difference + 1e-12),
        ratio_status: Status::of(ratio + 1e-12 >= t.min_ratio),
    })
}

fn relative_status(value: f64, overall: f64, t: &FairnessThresholds) -> Status {
    Status::of(overall <= 0.0 || value / overall + 1e-12 >= t.min_ratio)
}

pub fn figures(input: &ReportInput, t: &FairnessThresholds, data: &ReportData, lists: &[Vec<u32>]) -> Figures {
    let k = input.k;
    let per_user: Vec<(f64, f64)> =
        data.users.iter().zip(lists).map(|(u, l)| metrics::ndcg_recall(l, &u.test, k)).collect();
    let overall = metrics::mean_quality(per_user.iter().copied());
    let user_groups = input
        .user_groups
        .iter()
        .enumerate()
        .map(|(a, attribute)| {
            let rows: Vec<(Option<String>, f64, f64)> = data
                .users
                .iter()
                .zip(&per_user)
                .map(|(u, (n, r))| (u.groups.get(a).cloned().flatten(), *n, *r))
                .collect();
            let mut groups = Vec::new();
            let (mut ndcgs, mut recalls) = (Vec::new(), Vec::new());
            for (group, q) in metrics::by_group(&rows) {
                if q.users < t.min_group_size as usize {
                    groups.push(UserGroupFigures {
                        group,
                        suppressed: true,
                        size: None,
                        ndcg: None,
                        recall: None,
                        ndcg_status: None,
                        recall_status: None,
                    });
                    continue;
                }
                ndcgs.push(q.ndcg);
                recalls.push(q.recall);
                groups.push(UserGroupFigures {
                    group,
                    suppressed: false,
                    size: Some(q.users),
                    ndcg: Some(q.ndcg),
                    recall: Some(q.recall),
                    ndcg_status: Some(relative_status(q.ndcg, overall.ndcg, t)),
                    recall_status: Some(relative_status(q.recall, overall.recall, t)),
                });
            }
            AttributeFigures {
                attribute: attribute.name(),
                groups,
                ndcg: disparity(&ndcgs, t),
                recall: disparity(&recalls, t),
            }
        })
        .collect();
    let exposure = metrics::item_exposure(lists, data.items.len(), k);
    let item_groups = input
        .item_groups
        .iter()
        .map(|&grouping| GroupingFigures {
            grouping,
            groups: metrics::group_shares(&item_groups(grouping, data), &exposure, &data.item_train_counts)
                .into_iter()
                .map(|s| {
                    let exposure_ratio = if s.catalog_share > 0.0 { s.exposure_share / s.catalog_share } else { 0.0 };
                    ItemGroupFigures {
                        status: Status::of(exposure_ratio + 1e-12 >= t.min_exposure_ratio),
                        group: s.group,
                        items: s.items,
                        exposure_share: s.exposure_share,
                        catalog_share: s.catalog_share,
                        interaction_share: s.interaction_share,
                        exposure_ratio,
                    }
                })
                .collect(),
        })
        .collect();
    let p = metrics::popularity_figures(lists, &data.item_train_counts, k);
    let lift =
        if p.catalog_average_popularity > 0.0 { p.average_popularity / p.catalog_average_popularity } else { 0.0 };
    Figures {
        overall: OverallQuality { users: overall.users, ndcg: overall.ndcg, recall: overall.recall },
        user_groups,
        item_groups,
        popularity: PopularityBias {
            average_popularity: p.average_popularity,
            catalog_average_popularity: p.catalog_average_popularity,
            popularity_lift: lift,
            popularity_lift_status: Status::of(lift <= t.max_popularity_lift + 1e-12),
            long_tail_share: p.long_tail_share,
            long_tail_status: Status::of(p.long_tail_share + 1e-12 >= t.min_long_tail_share),
            gini: p.gini,
            gini_status: Status::of(p.gini <= t.max_gini + 1e-12),
            coverage: p.coverage,
            coverage_status: Status::of(p.coverage + 1e-12 >= t.min_coverage),
        },
    }
}

pub fn assemble(input: &ReportInput, t: &FairnessThresholds, data: &ReportData) -> ReportBody {
    let baseline = figures(input, t, data, &lists(data, input.k, None));
    let reranked = input.rerank.as_ref().map(|r| figures(input, t, data, &lists(data, input.k, Some(r))));
    let comparison = reranked.as_ref().map(|after| Comparison {
        ndcg_change: after.overall.ndcg - baseline.overall.ndcg,
        ndcg_relative_change: if baseline.overall.ndcg > 0.0 {
            after.overall.ndcg / baseline.overall.ndcg - 1.0
        } else {
            0.0
        },
        recall_change: after.overall.recall - baseline.overall.recall,
        gini_change: after.popularity.gini - baseline.popularity.gini,
        long_tail_share_change: after.popularity.long_tail_share - baseline.popularity.long_tail_share,
        coverage_change: after.popularity.coverage - baseline.popularity.coverage,
    });
    let tradeoff = Some(tradeoff(data, input.k, t.max_ndcg_cost));
    ReportBody {
        k: input.k,
        thresholds: *t,
        excluded_users: data.excluded_users,
        baseline,
        reranked,
        comparison,
        tradeoff,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::tradeoff as tradeoff_fn;
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Four items: 0 and 1 by "P" (Drama), 2 by "Q" (Comedy), 3 by nobody (no genre).
    /// Training counts 5, 3, 1, 1. Users, k = 2:
    ///   u0 female: candidates 0, 1, 2; test {0}      -> list [0, 1]: NDCG 1,    recall 1
    ///   u1 female: candidates 0, 2, 3; test {2, 3}   -> list [0, 2]: NDCG w2/(1+w2), recall 1/2
    ///   u2 male:   candidates 1, 0;    test {3}      -> list [1, 0]: NDCG 0,    recall 0
    ///   u3 no gender: candidates 0, 1; test {1}      -> list [0, 1]: NDCG w2,   recall 1
    /// with w2 = 1/log2 3 = 0.6309.
    fn data() -> (ReportInput, ReportData) {
        let item = |genre: Option<&str>, provider: Option<&str>| ReportItem {
            known: true,
            kind: "movie".into(),
            genres: genre.into_iter().map(str::to_owned).collect(),
            tags: Vec::new(),
            provider: provider.map(str::to_owned),
        };
        let user = |g: Option<&str>, test: Vec<u32>, c: Vec<u32>| ReportUser {
            groups: vec![g.map(str::to_owned)],
            test,
            candidates: c.iter().enumerate().map(|(i, &x)| (x, 1.0 - i as f32 * 0.1)).collect(),
            tail_candidates: Vec::new(),
            history: Vec::new(),
        };
        let data = ReportData {
            users: vec![
                user(Some("female"), vec![0], vec![0, 1, 2]),
                user(Some("female"), vec![2, 3], vec![0, 2, 3]),
                user(Some("male"), vec![3], vec![1, 0]),
                user(None, vec![1], vec![0, 1]),
            ],
            excluded_users: 1,
            items: vec![
                item(Some("Drama"), Some("P")),
                item(Some("Drama"), Some("P")),
                item(Some("Comedy"), Some("Q")),
                item(None, None),
            ],
            item_train_counts: vec![5, 3, 1, 1],
        };
        let input = ReportInput {
            model_id: "m".into(),
            user_groups: vec![UserAttribute::Gender],
            item_groups: vec![ItemGrouping::Genre, ItemGrouping::Provider, ItemGrouping::PopularityBucket],
            k: 2,
            rerank: None,
        };
        (input, data)
    }

    #[test]
    fn report_figures_by_hand() {
        let (input, data) = data();
        let t = FairnessThresholds { min_group_size: 2, ..FairnessThresholds::default() };
        let body = assemble(&input, &t, &data);
        let w2 = 1.0 / 3f64.log2();
        let f = &body.baseline;
        // Overall: NDCG (1 + w2/(1+w2) + 0 + w2) / 4, recall (1 + 0.5 + 0 + 1) / 4.
        assert_eq!(f.overall.users, 4);
        assert!(close(f.overall.ndcg, (1.0 + w2 / (1.0 + w2) + w2) / 4.0), "{}", f.overall.ndcg);
        assert!(close(f.overall.recall, 0.625));
        // Gender: female (2 users) shown, male and unset (1 each) suppressed, so there
        // is one group and no difference to state.
        let g = &f.user_groups[0];
        assert_eq!(g.attribute, "gender");
        let female = g.groups.iter().find(|x| x.group.as_deref() == Some("female")).unwrap();
        assert_eq!(female.size, Some(2));
        assert!(close(female.ndcg.unwrap(), (1.0 + w2 / (1.0 + w2)) / 2.0));
        assert!(close(female.recall.unwrap(), 0.75));
        // female NDCG 0.6967 over overall 0.4897 >= 0.8: PASS.
        assert_eq!(female.ndcg_status, Some(Status::Pass));
        let male = g.groups.iter().find(|x| x.group.as_deref() == Some("male")).unwrap();
        assert!(male.suppressed && male.size.is_none() && male.ndcg.is_none());
        assert!(g.ndcg.is_none());

        // With groups of one allowed: female 0.6967, male 0, unset w2 = 0.6309:
        // difference 0.6967, ratio 0, both WARN; male's own status WARN.
        let t1 = FairnessThresholds { min_group_size: 1, ..FairnessThresholds::default() };
        let f1 = assemble(&input, &t1, &data).baseline;
        let d = f1.user_groups[0].ndcg.unwrap();
        assert!(close(d.difference, (1.0 + w2 / (1.0 + w2)) / 2.0) && close(d.ratio, 0.0));
        assert_eq!((d.difference_status, d.ratio_status), (Status::Warn, Status::Warn));
        let male = f1.user_groups[0].groups.iter().find(|x| x.group.as_deref() == Some("male")).unwrap();
        assert_eq!(male.ndcg_status, Some(Status::Warn));

        // Exposure. Lists [0,1], [0,2], [1,0], [0,1]: item 0 = 3 + w2, item 1 = 1 + 2 w2,
        // item 2 = w2, item 3 = 0; total 4 + 4 w2.
        let total = 4.0 + 4.0 * w2;
        let genre = &f.item_groups[0];
        let drama = genre.groups.iter().find(|x| x.group == "Drama").unwrap();
        assert_eq!(drama.items, 2);
        assert!(close(drama.exposure_share, (4.0 + 3.0 * w2) / total));
        assert!(close(drama.catalog_share, 0.5));
        assert!(close(drama.interaction_share, 0.8));
        assert_eq!(drama.status, Status::Pass);
        let none = genre.groups.iter().find(|x| x.group == "(none)").unwrap();
        assert!(
            close(none.exposure_share, 0.0) && close(none.catalog_share, 0.25) && close(none.interaction_share, 0.1)
        );
        assert_eq!(none.status, Status::Warn);
        let comedy = genre.groups.iter().find(|x| x.group == "Comedy").unwrap();
        // w2 / (4 + 4 w2) = 0.0968, over 0.25 = 0.387 < 0.5: WARN.
        assert!(close(comedy.exposure_ratio, (w2 / total) / 0.25));
        assert_eq!(comedy.status, Status::Warn);
        // Popularity: 4 items -> head = item 0 (ceil 0.8 = 1), mid = items 1, 2 (ceil 1.2 = 2).
        let buckets = &f.item_groups[2];
        let head = buckets.groups.iter().find(|x| x.group == "head").unwrap();
        assert_eq!(head.items, 1);
        assert!(close(head.exposure_share, (3.0 + w2) / total));

        // ARP: lists' mean counts 4, 3, 4, 4 -> 3.75; catalog mean 2.5; lift 1.5 PASS.
        // Long tail: 8 slots, 4 of them item 0 -> 0.5. Coverage 3/4.
        let p = f.popularity;
        assert!(
            close(p.average_popularity, 3.75)
                && close(p.catalog_average_popularity, 2.5)
                && close(p.popularity_lift, 1.5)
        );
        assert!(close(p.long_tail_share, 0.5) && close(p.coverage, 0.75));
        // Gini: sorted 0, w2, 1 + 2 w2, 3 + w2 with weights -3, -1, 1, 3:
        // (-w2 + 1 + 2 w2 + 9 + 3 w2) / (4 * total) = (10 + 4 w2) / (4 (4 + 4 w2)).
        assert!(close(p.gini, (10.0 + 4.0 * w2) / (4.0 * total)), "{}", p.gini);
        assert_eq!(p.gini_status, Status::Pass);
        assert_eq!(body.excluded_users, 1);
        assert!(body.reranked.is_none());
    }

    #[test]
    fn reranking_by_popularity_spreads_exposure_and_states_its_cost() {
        let (mut input, data) = data();
        input.rerank = Some(Rerank { strategy: RerankStrategy::PopularityExposure, strength: 1.0 });
        let t = FairnessThresholds { min_group_size: 1, ..FairnessThresholds::default() };
        let body = assemble(&input, &t, &data);
        let after = body.reranked.as_ref().unwrap();
        let c = body.comparison.unwrap();
        assert!(after.popularity.gini < body.baseline.popularity.gini, "{after:?}");
        assert!(close(c.gini_change, after.popularity.gini - body.baseline.popularity.gini));
        assert!(close(c.ndcg_change, after.overall.ndcg - body.baseline.overall.ndcg));
    }

    #[test]
    fn tradeoff_curves_and_the_recommended_setting() {
        let (input, mut data) = data();
        // u1 plays mostly tail items: the personalized strategies can serve it some.
        data.users[1].history = vec![3, 2];
        let t = FairnessThresholds { min_group_size: 1, ..FairnessThresholds::default() };
        let body = assemble(&input, &t, &data);
        let tradeoff = body.tradeoff.as_ref().unwrap();
        assert_eq!(tradeoff.max_ndcg_cost, 0.03);
        assert!(close(tradeoff.baseline.ndcg, body.baseline.overall.ndcg));
        assert!(close(tradeoff.baseline.gini, body.baseline.popularity.gini));
        let strategies: Vec<RerankStrategy> = tradeoff.curves.iter().map(|c| c.strategy).collect();
        assert_eq!(strategies, RerankStrategy::POPULARITY);
        for curve in &tradeoff.curves {
            assert_eq!(curve.points.len(), CURVE_STRENGTHS);
            assert_eq!(curve.points[0], tradeoff.baseline);
            assert!(close(curve.points[10].strength, 1.0));
            // Each point is the report of that re-ranking.
            let r = Rerank { strategy: curve.strategy, strength: 0.7 };
            let f = figures(&input, &t, &data, &lists(&data, input.k, Some(&r)));
            let p = curve.points[7];
            assert!(close(p.ndcg, f.overall.ndcg) && close(p.gini, f.popularity.gini), "{p:?}");
            assert!(close(p.ndcg_relative_change, p.ndcg / tradeoff.baseline.ndcg - 1.0));
        }

        // Every tolerance: the recommendation is the lowest Gini among the points within
        // it, or none when no point lowers the Gini there.
        for tolerance in [0.0, 0.03, 0.2, 0.5, 1.0] {
            let tr = tradeoff_fn(&data, input.k, tolerance);
            let eligible: Vec<(RerankStrategy, TradeoffPoint)> = tr
                .curves
                .iter()
                .flat_map(|c| c.points.iter().skip(1).map(move |p| (c.strategy, *p)))
                .filter(|(_, p)| p.ndcg_relative_change >= -tolerance - 1e-12 && p.gini < tr.baseline.gini - 1e-12)
                .collect();
            let lowest = eligible.iter().map(|(_, p)| p.gini).fold(f64::INFINITY, f64::min);
            match tr.recommended {
                None => assert!(eligible.is_empty(), "{tolerance}: {eligible:?}"),
                Some(r) => {
                    assert!(close(r.gini, lowest), "{tolerance}: {r:?}");
                    assert!(-r.ndcg_relative_change <= tolerance + 1e-12);
                    assert!(close(r.coverage_change, r.coverage - tr.baseline.coverage));
                }
            }
        }
        // At any cost, popularity exposure at full strength lowers this Gini (see above).
        assert!(tradeoff_fn(&data, input.k, 1.0).recommended.is_some());
    }

    #[test]
    fn exposure_gini_reaches_into_the_tail_candidates() {
        // Three users whose best candidates are the same two items (0, 1); each has one
        // tail candidate of their own (2 + u), which only the tail candidates hold.
        let item = ReportItem { known: true, kind: "movie".into(), ..ReportItem::default() };
        let data = ReportData {
            users: (0..3u32)
                .map(|u| ReportUser {
                    groups: Vec::new(),
                    test: vec![0],
                    candidates: vec![(0, 1.0), (1, 0.9)],
                    tail_candidates: vec![(2 + u, 0.8)],
                    history: Vec::new(),
                })
                .collect(),
            excluded_users: 0,
            items: vec![item; 5],
            item_train_counts: vec![60, 50, 1, 1, 1],
        };
        let gini = |lists: &[Vec<u32>]| metrics::popularity_figures(lists, &data.item_train_counts, 2).gini;
        let unranked = lists(&data, 2, None);
        let r = Rerank { strategy: RerankStrategy::ExposureGini, strength: 0.2 };
        let after = lists(&data, 2, Some(&r));
        assert!(gini(&after) <= 0.8 * gini(&unranked) + 1e-12, "{after:?}");
        assert!(after.iter().flatten().any(|&i| i >= 2), "a tail candidate comes in: {after:?}");
        assert!(after.iter().all(|l| l.len() == 2), "{after:?}");
        assert_eq!(lists(&data, 2, Some(&Rerank { strength: 0.0, ..r })), unranked);
    }

    #[test]
    fn personalized_strategies_follow_the_history() {
        // Ten items: 0, 1 head; 2-4 mid; 5-9 tail (counts 10..1). One user whose
        // candidates are head first, with a history of head items only, then of tail
        // items only.
        let item = ReportItem { known: true, kind: "movie".into(), ..ReportItem::default() };
        let user = |history: Vec<u32>| ReportUser {
            groups: Vec::new(),
            test: vec![9],
            candidates: vec![(0, 1.0), (1, 0.9), (2, 0.8), (5, 0.7), (9, 0.6)],
            tail_candidates: Vec::new(),
            history,
        };
        let data = |history: Vec<u32>| ReportData {
            users: vec![user(history)],
            excluded_users: 0,
            items: vec![item.clone(); 10],
            item_train_counts: (1..=10).rev().collect(),
        };
        for strategy in [RerankStrategy::PopularityXquad, RerankStrategy::PopularityCalibration] {
            let r = Rerank { strategy, strength: 0.8 };
            let tail_fan = lists(&data(vec![6, 7, 8]), 2, Some(&r));
            let head_fan = lists(&data(vec![0, 1]), 2, Some(&r));
            assert_eq!(head_fan, vec![vec![0, 1]], "{strategy:?}: a head-only history keeps the head");
            assert!(tail_fan[0].iter().any(|&i| i >= 2), "{strategy:?}: outside the head: {tail_fan:?}");
        }
    }
}
