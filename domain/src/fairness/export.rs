//! CSV export: one figure per row, long format, so any spreadsheet can pivot it.

use super::thresholds::Status;
use super::types::{FairnessReport, Figures, Tradeoff};

fn field(s: &str) -> String {
    // RFC 4180 quoting; a leading formula character is neutralized so a spreadsheet
    // never evaluates a group name a tenant typed.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

struct Rows(String);

impl Rows {
    #[allow(clippy::too_many_arguments)] // one argument per CSV column
    fn push(
        &mut self,
        variant: &str,
        section: &str,
        dimension: &str,
        group: &str,
        metric: &str,
        value: Option<f64>,
        status: Option<Status>,
    ) {
        let value = value.map(|v| format!("{v:.6}")).unwrap_or_default();
        let status = status.map(Status::as_str).unwrap_or("");
        let text = [variant, section, dimension, group, metric].map(field);
        self.0.push_str(&format!("{},{value},{status}", text.join(",")));
        self.0.push('\n');
    }
}

fn figures(rows: &mut Rows, variant: &str, f: &Figures) {
    rows.push(variant, "overall", "", "", "users", Some(f.overall.users as f64), None);
    rows.push(variant, "overall", "", "", "ndcg", Some(f.overall.ndcg), None);
    rows.push(variant, "overall", "", "", "recall", Some(f.overall.recall), None);
    for a in &f.user_groups {
        for g in &a.groups {
            let name = g.group.as_deref().unwrap_or("(not set)");
            if g.suppressed {
                rows.push(variant, "user_group", &a.attribute, name, "suppressed", None, None);
                continue;
            }
            rows.push(variant, "user_group", &a.attribute, name, "size", g.size.map(|s| s as f64), None);
            rows.push(variant, "user_group", &a.attribute, name, "ndcg", g.ndcg, g.ndcg_status);
            rows.push(variant, "user_group", &a.attribute, name, "recall", g.recall, g.recall_status);
        }
        for (metric, d) in [("ndcg", a.ndcg), ("recall", a.recall)] {
            if let Some(d) = d {
                rows.push(
                    variant,
                    "user_group",
                    &a.attribute,
                    "",
                    &format!("{metric}_difference"),
                    Some(d.difference),
                    Some(d.difference_status),
                );
                rows.push(
                    variant,
                    "user_group",
                    &a.attribute,
                    "",
                    &format!("{metric}_ratio"),
                    Some(d.ratio),
                    Some(d.ratio_status),
                );
            }
        }
    }
    for grouping in &f.item_groups {
        let dim = grouping.grouping.as_str();
        for g in &grouping.groups {
            rows.push(variant, "item_group", dim, &g.group, "items", Some(g.items as f64), None);
            rows.push(variant, "item_group", dim, &g.group, "exposure_share", Some(g.exposure_share), None);
            rows.push(variant, "item_group", dim, &g.group, "catalog_share", Some(g.catalog_share), None);
            rows.push(variant, "item_group", dim, &g.group, "interaction_share", Some(g.interaction_share), None);
            rows.push(variant, "item_group", dim, &g.group, "exposure_ratio", Some(g.exposure_ratio), Some(g.status));
        }
    }
    let p = &f.popularity;
    rows.push(variant, "popularity", "", "", "average_popularity", Some(p.average_popularity), None);
    rows.push(variant, "popularity", "", "", "catalog_average_popularity", Some(p.catalog_average_popularity), None);
    rows.push(
        variant,
        "popularity",
        "",
        "",
        "popularity_lift",
        Some(p.popularity_lift),
        Some(p.popularity_lift_status),
    );
    rows.push(variant, "popularity", "", "", "long_tail_share", Some(p.long_tail_share), Some(p.long_tail_status));
    rows.push(variant, "popularity", "", "", "gini", Some(p.gini), Some(p.gini_status));
    rows.push(variant, "popularity", "", "", "coverage", Some(p.coverage), Some(p.coverage_status));
}

/// The curve: variant `tradeoff`, section `curve`, dimension the strategy, group the
/// strength; then the recommended setting: variant `recommended`, section `setting`.
fn tradeoff(rows: &mut Rows, t: &Tradeoff) {
    rows.push("tradeoff", "tolerance", "", "", "max_ndcg_cost", Some(t.max_ndcg_cost), None);
    for curve in &t.curves {
        let strategy = curve.strategy.as_str();
        for p in &curve.points {
            let strength = format!("{:.2}", p.strength);
            for (metric, value) in [
                ("ndcg", p.ndcg),
                ("gini", p.gini),
                ("long_tail_share", p.long_tail_share),
                ("coverage", p.coverage),
                ("ndcg_relative_change", p.ndcg_relative_change),
                ("gini_relative_change", p.gini_relative_change),
            ] {
                rows.push("tradeoff", "curve", strategy, &strength, metric, Some(value), None);
            }
        }
    }
    if let Some(r) = &t.recommended {
        let (strategy, strength) = (r.strategy.as_str(), format!("{:.2}", r.strength));
        for (metric, value) in [
            ("ndcg", r.ndcg),
            ("gini", r.gini),
            ("long_tail_share", r.long_tail_share),
            ("coverage", r.coverage),
            ("ndcg_relative_change", r.ndcg_relative_change),
            ("gini_relative_change", r.gini_relative_change),
            ("long_tail_share_change", r.long_tail_share_change),
            ("coverage_change", r.coverage_change),
        ] {
            rows.push("recommended", "setting", strategy, &strength, metric, Some(value), None);
        }
    }
}

/// `variant,section,dimension,group,metric,value,status`; `variant` is `baseline`,
/// `reranked`, `tradeoff` (the curve) or `recommended` (the recommended setting).
pub fn to_csv(report: &FairnessReport) -> String {
    let mut rows = Rows("variant,section,dimension,group,metric,value,status\n".to_owned());
    figures(&mut rows, "baseline", &report.body.baseline);
    if let Some(after) = &report.body.reranked {
        figures(&mut rows, "reranked", after);
    }
    if let Some(t) = &report.body.tradeoff {
        tradeoff(&mut rows, t);
    }
    rows.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
    }
}
