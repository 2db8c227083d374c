//! The cold-start measurement of issue #13 on MovieLens 100K, shared by the
//! `content_cold_start` example (which prints it) and the e2e test (which asserts it).
//!
//! Protocol: 10% of the items (seeded) are held out as new: the model never sees their
//! interactions, only their titles and genres. The remaining (warm) interactions are
//! split per user 80/20 as in DESIGN.md's protocol; ALS is trained on the warm training
//! part. For every evaluated user the candidates are every item outside their training
//! history; the collaborative list ranks the warm candidates by the model, the blended
//! list adds the new items with the blend's scores (`ContentTransfer`):
//! - warm items' NDCG@10: the blend keeps the model's scores of warm items, so their
//!   ranking among themselves is the collaborative one (asserted item by item);
//! - the whole list's NDCG@10 with every later engagement relevant (the warm test items
//!   and the new items the person engaged with): collaborative against blended, so the
//!   slots new items take are paid for by their hits, not assumed free;
//! - the warm test items' NDCG@10 of the blended list, the strictest view (a slot given to
//!   a new item counts as a miss even when the person engaged with it), printed;
//! - new items' Recall@10: for users who engaged with new items, the share of those
//!   items in their top 10 (users with at least one training item), blended list against
//!   most-popular (popularity from the training data, as a model trained then sees it)
//!   and against an oracle most-popular that knows the new items' future popularity.

use std::collections::HashSet;

use domain::content::ContentTransfer;
use inference::als::{AlsModel, AlsParams};
use inference::matrix::Interactions;
use inference::movielens::MovieLens;
use inference::rng::SplitMix64;

/// Titles and genres of ml-100k's `u.item`, in dense item order (raw ids ascending).
pub fn item_texts(dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let genres: Vec<String> = std::fs::read(dir.join("u.genre"))
        .map(|b| String::from_utf8_lossy(&b).lines().filter_map(|l| l.split('|').next().map(str::to_owned)).collect())
        .unwrap_or_default();
    let bytes = std::fs::read(dir.join("u.item")).expect("u.item");
    let mut items: Vec<(u64, String, Vec<String>)> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('|').collect();
            let flags = &fields[fields.len() - genres.len()..];
            let g = flags.iter().zip(&genres).filter(|(f, _)| **f == "1").map(|(_, g)| g.clone()).collect();
            (fields[0].parse().unwrap(), fields[1].to_owned(), g)
        })
        .collect();
    items.sort_by_key(|i| i.0);
    items.into_iter().map(|(_, t, g)| (t, g)).collect()
}

pub struct Figures {
    pub weight: f32,
    pub warm_ndcg_collaborative: f64,
    /// Warm test items only, slots given to new items counted as misses.
    pub warm_ndcg_blended: f64,
    /// Whether every blended list ranked its warm items exactly as the model did.
    pub warm_order_kept: bool,
    pub all_ndcg_collaborative: f64,
    pub all_ndcg_blended: f64,
    pub new_recall_blended: f64,
    pub new_recall_popular: f64,
    pub new_recall_oracle_popular: f64,
    pub warm_users: usize,
    pub new_users: usize,
}

fn ndcg(ranked: &[usize], relevant: &HashSet<usize>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, i)| relevant.contains(i))
        .map(|(r, _)| 1.0 / ((r + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(10)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}

fn recall(ranked: &[usize], relevant: &HashSet<usize>) -> f64 {
    ranked.iter().take(10).filter(|i| relevant.contains(i)).count() as f64 / relevant.len() as f64
}

fn top10(scores: &[f32], admits: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| admits(i) && scores[i].is_finite()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(10);
    order
}

/// Runs the protocol for each weight; `embeddings[i]` is item i's unit vector.
pub fn evaluate(ml: &MovieLens, embeddings: &[Vec<f32>], weights: &[f32], seed: u64) -> Vec<Figures> {
    let n_items = ml.n_items;
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..n_items).collect();
    rng.shuffle(&mut order);
    let new: HashSet<usize> = order[..n_items / 10].iter().copied().collect();

    let mut warm_by_user: Vec<Vec<usize>> = vec![Vec::new(); ml.n_users];
    let mut new_by_user: Vec<HashSet<usize>> = vec![HashSet::new(); ml.n_users];
    let mut oracle_popularity = vec![0.0_f32; n_items];
    for r in &ml.ratings {
        let (u, i) = (r.user as usize, r.item as usize);
        oracle_popularity[i] += 1.0;
        if new.contains(&i) {
            new_by_user[u].insert(i);
        } else {
            warm_by_user[u].push(i);
        }
    }
    // Per-user 80/20 split of the warm interactions (DESIGN.md's protocol).
    let mut train: Vec<Vec<usize>> = Vec::with_capacity(ml.n_users);
    let mut test: Vec<HashSet<usize>> = Vec::with_capacity(ml.n_users);
    for items in &warm_by_user {
        let mut items = items.clone();
        items.sort_unstable();
        items.dedup();
        if items.len() >= 5 {
            rng.shuffle(&mut items);
            let k = ((items.len() as f64 * 0.2).round() as usize).max(1);
            test.push(items[..k].iter().copied().collect());
            train.push(items[k..].to_vec());
        } else {
            test.push(HashSet::new());
            train.push(items);
        }
    }
    let triplets: Vec<(u32, u32, f32)> =
        train.iter().enumerate().flat_map(|(u, items)| items.iter().map(move |&i| (u as u32, i as u32, 1.0))).collect();
    let data = Interactions::from_triplets(ml.n_users, n_items, &triplets).unwrap();
    let params = AlsParams { factors: 64, regularization: 0.05, iterations: 15, seed, ..AlsParams::default() };
    let als = AlsModel::fit(&data, &params, |_| true).unwrap();
    let mut popularity = vec![0.0_f32; n_items];
    for &(_, i, _) in &triplets {
        popularity[i as usize] += 1.0;
    }

    let known: Vec<usize> = (0..n_items).filter(|i| !new.contains(i)).collect();
    let fresh: Vec<usize> = (0..n_items).filter(|i| new.contains(i)).collect();
    let known_vectors: Vec<&[f32]> = known.iter().map(|&i| embeddings[i].as_slice()).collect();
    let fresh_vectors: Vec<&[f32]> = fresh.iter().map(|&i| embeddings[i].as_slice()).collect();
    let transfer = ContentTransfer::build(&known_vectors, &fresh_vectors);

    weights
        .iter()
        .map(|&weight| {
            let (mut warm_c, mut warm_b, mut all_c, mut all_b, mut warm_users) = (0.0, 0.0, 0.0, 0.0, 0);
            let (mut new_b, mut new_p, mut new_o, mut new_users) = (0.0, 0.0, 0.0, 0);
            let mut warm_order_kept = true;
            for u in 0..ml.n_users {
                if train[u].is_empty() || (test[u].is_empty() && new_by_user[u].is_empty()) {
                    continue;
                }
                let seen: HashSet<usize> = train[u].iter().copied().collect();
                let collab_all = als.score_user(u as u32).unwrap();
                let known_scores: Vec<f32> = known.iter().map(|&i| collab_all[i]).collect();
                let new_scores = transfer.new_item_scores(&known_scores, |p| !seen.contains(&known[p]), weight);
                let mut blended = vec![f32::NEG_INFINITY; n_items];
                for &i in &known {
                    blended[i] = collab_all[i];
                }
                for (&i, s) in fresh.iter().zip(&new_scores) {
                    blended[i] = s.unwrap_or(f32::NEG_INFINITY);
                }
                let blended_top = top10(&blended, |i| !seen.contains(&i));
                let collab_top = top10(&collab_all, |i| !seen.contains(&i) && !new.contains(&i));
                let blended_warm: Vec<usize> = blended_top.iter().copied().filter(|i| !new.contains(i)).collect();
                warm_order_kept &= collab_top.starts_with(&blended_warm);
                if !test[u].is_empty() {
                    let everything: HashSet<usize> = test[u].union(&new_by_user[u]).copied().collect();
                    warm_c += ndcg(&collab_top, &test[u]);
                    warm_b += ndcg(&blended_top, &test[u]);
                    all_c += ndcg(&collab_top, &everything);
                    all_b += ndcg(&blended_top, &everything);
                    warm_users += 1;
                }
                if !new_by_user[u].is_empty() {
                    new_b += recall(&blended_top, &new_by_user[u]);
                    new_p += recall(&top10(&popularity, |i| !seen.contains(&i)), &new_by_user[u]);
                    new_o += recall(&top10(&oracle_popularity, |i| !seen.contains(&i)), &new_by_user[u]);
                    new_users += 1;
                }
            }
            let avg = |x: f64, n: usize| if n > 0 { x / n as f64 } else { 0.0 };
            Figures {
                weight,
                warm_ndcg_collaborative: avg(warm_c, warm_users),
                warm_ndcg_blended: avg(warm_b, warm_users),
                warm_order_kept,
                all_ndcg_collaborative: avg(all_c, warm_users),
                all_ndcg_blended: avg(all_b, warm_users),
                new_recall_blended: avg(new_b, new_users),
                new_recall_popular: avg(new_p, new_users),
                new_recall_oracle_popular: avg(new_o, new_users),
                warm_users,
                new_users,
            }
        })
        .collect()
}

pub fn print(figures: &[Figures]) {
    println!(
        "weight  whole list NDCG@10 (collab -> blend)  warm test items only (strict)  warm order kept  new items Recall@10 (blend | popular | oracle popular)"
    );
    for f in figures {
        let change = |a: f64, b: f64| (b / a - 1.0) * 100.0;
        println!(
            "{:>6.2}  {:.4} -> {:.4} ({:+.2}%)             {:.4} -> {:.4} ({:+.2}%)    {:<5}            {:.4} | {:.4} | {:.4}   ({} warm users, {} with new items)",
            f.weight,
            f.all_ndcg_collaborative,
            f.all_ndcg_blended,
            change(f.all_ndcg_collaborative, f.all_ndcg_blended),
            f.warm_ndcg_collaborative,
            f.warm_ndcg_blended,
            change(f.warm_ndcg_collaborative, f.warm_ndcg_blended),
            f.warm_order_kept,
            f.new_recall_blended,
            f.new_recall_popular,
            f.new_recall_oracle_popular,
            f.warm_users,
            f.new_users
        );
    }
}
/// ml-100k, its items' embeddings (titles and genres, as the catalog would embed them)
/// by the model in `model_dir`.
pub fn load(ml_dir: &std::path::Path, model_dir: &std::path::Path, threads: usize) -> (MovieLens, Vec<Vec<f32>>) {
    let ml = MovieLens::load(ml_dir).expect("ml-100k");
    let texts: Vec<String> = item_texts(ml_dir)
        .into_iter()
        .map(|(title, genres)| domain::content::embedding_text(&title, None, &genres, &[]))
        .collect();
    assert_eq!(texts.len(), ml.n_items, "u.item and u.data disagree");
    let ort = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/onnxruntime/libonnxruntime.so.1.31.1")
    });
    inference::runtime::OrtRuntime::init(&ort).expect("ONNX Runtime");
    let files = inference::text::TextEncoderFiles::in_dir(model_dir);
    let encoder = inference::text::TextEncoder::load(&files, threads).expect("text model");
    let mut embeddings = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        embeddings.extend(encoder.embed(&refs).expect("embed"));
    }
    (ml, embeddings)
}
