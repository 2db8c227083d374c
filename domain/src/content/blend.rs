//! Content in recommendations: a person's taste in embedding space, blended with the
//! collaborative model's scores so that items nobody has engaged with yet (which no
//! collaborative model can score) reach the people whose history they resemble.
//!
//! The blend, per person (docs/content.md, "The blend"):
//!
//! - profile `p` = the weighted mean of the embeddings of the items in their history
//!   (weights: the tenant's event weights), normalised; content score `s(i) = cos(p, e_i)`;
//! - both scores are standardised over the candidates (z-scores), so a weight means the
//!   same for every algorithm and person: `zc(i)` for items the model knows, `zs(i)` for
//!   every embedded item;
//! - a known item scores `zc(i) + w·zs(i)`;
//! - an item the model does not know gets its collaborative part estimated from its
//!   content: `ρ·zs(i)`, where `ρ` is the correlation of `zc` and `zs` over the known
//!   items for this person (how much content explains their collaborative scores, never
//!   below 0), so it scores `(ρ + w)·zs(i)`.
//!
//! With `w = 0` known items keep the model's order exactly; new items still enter when
//! content explains the person's taste well. `w` (setting `content.blend_weight`) trades
//! the model's order among known items for more content.

/// The default weight of the content score (measured on MovieLens 100K: bench/README.md).
pub const DEFAULT_BLEND_WEIGHT: f32 = 0.1;

/// The weighted mean of `vectors` (each of `dims` floats, unit length), normalised;
/// `None` when nothing has weight.
pub fn profile_of<'a>(vectors: impl Iterator<Item = (&'a [f32], f32)>, dims: usize) -> Option<Vec<f32>> {
    let mut profile = vec![0.0_f32; dims];
    let mut total = 0.0_f32;
    for (v, w) in vectors {
        if v.len() != dims || w.is_nan() || w <= 0.0 {
            continue;
        }
        total += w;
        profile.iter_mut().zip(v).for_each(|(p, x)| *p += w * x);
    }
    if total <= 0.0 {
        return None;
    }
    super::vector::normalize(&mut profile);
    Some(profile)
}

fn mean_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let (n, sum) = values.clone().fold((0usize, 0.0_f64), |(n, s), v| (n + 1, s + f64::from(v)));
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n as f64;
    let std = var.sqrt();
    (mean as f32, if std > 1e-9 { std as f32 } else { 1.0 })
}

/// Blended scores of candidates: `collab[i]` is the model's score (`None`: the model
/// does not know the item), `content[i]` the cosine with the person's profile (`None`:
/// the item has no embedding). Candidates with neither score `f32::NEG_INFINITY`.
pub fn blend_scores(collab: &[Option<f32>], content: &[Option<f32>], weight: f32) -> Vec<f32> {
    let (mc, sc) = mean_std(collab.iter().flatten().copied());
    let (ms, ss) = mean_std(content.iter().flatten().copied());
    let zc = |c: f32| (c - mc) / sc;
    let zs = |s: f32| (s - ms) / ss;
    // How far content explains this person's collaborative scores.
    let pairs: Vec<(f32, f32)> = collab.iter().zip(content).filter_map(|(c, s)| Some((zc((*c)?), zs((*s)?)))).collect();
    let rho = if pairs.len() > 2 {
        let n = pairs.len() as f32;
        let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f32>() / n, pairs.iter().map(|p| p.1).sum::<f32>() / n);
        let cov: f32 = pairs.iter().map(|(a, b)| (a - ma) * (b - mb)).sum::<f32>() / n;
        let va: f32 = pairs.iter().map(|(a, _)| (a - ma).powi(2)).sum::<f32>() / n;
        let vb: f32 = pairs.iter().map(|(_, b)| (b - mb).powi(2)).sum::<f32>() / n;
        if va > 1e-12 && vb > 1e-12 { (cov / (va.sqrt() * vb.sqrt())).max(0.0) } else { 0.0 }
    } else {
        0.0
    };
    collab
        .iter()
        .zip(content)
        .map(|(c, s)| match (c, s) {
            (Some(c), Some(s)) => zc(*c) + weight * zs(*s),
            (Some(c), None) => zc(*c),
            (None, Some(s)) => (rho + weight) * zs(*s),
            (None, None) => f32::NEG_INFINITY,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_weight_known_items_keep_the_models_order() {
        let collab = [Some(3.0), Some(1.0), Some(2.0), None];
        let content = [Some(0.1), Some(0.9), Some(0.5), Some(0.8)];
        let blended = blend_scores(&collab, &content, 0.0);
        assert!(blended[0] > blended[2] && blended[2] > blended[1]);
        // Here content runs against the model (rho clamps to 0): the new item gets no lift.
        assert_eq!(blended[3], 0.0);
    }

    #[test]
    fn a_new_item_like_what_the_person_likes_enters_their_list() {
        let collab = [Some(3.0), Some(2.0), Some(1.0), Some(0.0), None];
        let content = [Some(0.9), Some(0.7), Some(0.3), Some(0.1), Some(0.95)];
        let blended = blend_scores(&collab, &content, 0.1);
        let best_known = blended[..4].iter().copied().fold(f32::MIN, f32::max);
        assert!(blended[4] > blended[2], "{blended:?}");
        assert!(best_known.is_finite());
        let profile = profile_of([(&[1.0_f32, 0.0][..], 1.0), (&[0.0_f32, 1.0][..], 1.0)].into_iter(), 2);
        let p = profile.unwrap_or_default();
        assert!((p[0] - p[1]).abs() < 1e-6 && (p[0] * p[0] + p[1] * p[1] - 1.0).abs() < 1e-5);
    }
}
