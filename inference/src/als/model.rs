//! The trained ALS model: fitting, scoring and fold-in of new users.

use std::borrow::Cow;
use std::sync::OnceLock;

use ndarray::Array2;
use rayon::prelude::*;

use super::params::AlsParams;
use super::train::{pool, train_on};
use crate::error::{InferenceError, Result};
use crate::linalg::{add_scaled_outer_upper, cholesky, cholesky_solve, dot};
use crate::matrix::{Interactions, Row};
use crate::rank::Scorer;

/// A fitted implicit-feedback ALS model over dense user and item indices.
#[derive(Debug, Clone)]
pub struct AlsModel {
    user_factors: Array2<f32>,
    item_factors: Array2<f32>,
    params: AlsParams,
    /// `Y^T Y + reg I` in f64 and its Cholesky factor, computed on first use (exact user
    /// vectors, fold-in, explanations) and kept: serving needs them on every call.
    base: OnceLock<BaseSystem>,
}

/// The part of every user's system that does not depend on the user.
#[derive(Debug, Clone)]
struct BaseSystem {
    a: Vec<f64>,
    /// The factor of `a` itself: the whole system of a user whose confidences are all 1
    /// (binary data with alpha 1), who then costs one triangular solve.
    chol: Option<Vec<f64>>,
}

impl AlsModel {
    /// Fits the model on `data` (users x items weights).
    ///
    /// After the last iteration every user's vector is solved exactly from the final item
    /// factors ([`Self::solve_users_exactly`]), so it is what [`Self::fold_in`] gives for
    /// the user's row and what [`Self::explain`] decomposes: a served score and its
    /// explanation are one number.
    ///
    /// `progress` is called after each iteration with the fraction done (0, 1]; returning
    /// `false` stops training with [`InferenceError::Cancelled`]. Uses a private pool of
    /// `params.threads` threads; the same seed gives bit-identical factors.
    pub fn fit(data: &Interactions, params: &AlsParams, progress: impl FnMut(f32) -> bool) -> Result<Self> {
        params.validate()?;
        let pool = pool(params.threads)?;
        let mut model = Self::iterate(&pool, data, params, progress)?;
        pool.install(|| model.solve_users_in_pool(data))?;
        Ok(model)
    }

    /// [`Self::fit`] without the exact user solve: the user vectors are the last
    /// conjugate-gradient iterates, as `implicit`'s are, and as automatic tuning scores
    /// its trials (it reads several iteration counts off one run).
    pub fn fit_cg_only(data: &Interactions, params: &AlsParams, progress: impl FnMut(f32) -> bool) -> Result<Self> {
        params.validate()?;
        Self::iterate(&pool(params.threads)?, data, params, progress)
    }

    fn iterate(
        pool: &rayon::ThreadPool,
        data: &Interactions,
        params: &AlsParams,
        mut progress: impl FnMut(f32) -> bool,
    ) -> Result<Self> {
        let total = params.iterations as f32;
        let (x, y) = train_on(pool, data, params, None, |it, _, _| Ok(progress(it as f32 / total)))?;
        let user_factors = to_array(x, data.n_rows(), params.factors)?;
        let item_factors = to_array(y, data.n_cols(), params.factors)?;
        Self::from_parts(user_factors, item_factors, params.clone())
    }

    /// Like [`Self::fit`], but starting from the given factors instead of random ones
    /// (`implicit` does the same when factors are already set): a warm start when
    /// retraining on updated data, and a way to compare with other implementations
    /// step for step. Shapes must be `[users, factors]` and `[items, factors]`.
    ///
    /// The user vectors stay the last conjugate-gradient iterates, as `implicit`'s, so
    /// two calls chain exactly; [`Self::solve_users_exactly`] makes them exact.
    pub fn fit_from(
        data: &Interactions,
        params: &AlsParams,
        user_factors: Array2<f32>,
        item_factors: Array2<f32>,
        mut progress: impl FnMut(f32) -> bool,
    ) -> Result<Self> {
        params.validate()?;
        let f = params.factors;
        let flat = |m: Array2<f32>, rows: usize, what: &'static str| -> Result<Vec<f32>> {
            if m.nrows() != rows {
                return Err(InferenceError::DimensionMismatch { what, expected: rows, actual: m.nrows() });
            }
            if m.ncols() != f {
                return Err(InferenceError::DimensionMismatch {
                    what: "initial factor columns",
                    expected: f,
                    actual: m.ncols(),
                });
            }
            if m.iter().any(|v| !v.is_finite()) {
                return Err(InferenceError::invalid("initial factors", "contain NaN or infinite values"));
            }
            Ok(m.as_standard_layout().iter().copied().collect())
        };
        let x = flat(user_factors, data.n_rows(), "initial user factor rows")?;
        let y = flat(item_factors, data.n_cols(), "initial item factor rows")?;
        let total = params.iterations as f32;
        let pool = pool(params.threads)?;
        let (x, y) = train_on(&pool, data, params, Some((x, y)), |it, _, _| Ok(progress(it as f32 / total)))?;
        Self::from_parts(to_array(x, data.n_rows(), f)?, to_array(y, data.n_cols(), f)?, params.clone())
    }

    /// Replaces every user's vector with the exact solution of their least-squares system
    /// against the current item factors (the f64 Cholesky solve of [`Self::fold_in`], for
    /// the user's row of `data`), on a pool of `params.threads` threads. [`Self::fit`]
    /// already does this; a model from [`Self::fit_from`] or [`Self::from_parts`] may need it.
    ///
    /// A user whose system is not positive definite (only possible without
    /// regularization) keeps the vector they had.
    pub fn solve_users_exactly(&mut self, data: &Interactions) -> Result<()> {
        pool(self.params.threads)?.install(|| self.solve_users_in_pool(data))
    }

    /// [`Self::solve_users_exactly`] on the current rayon pool. Each user is solved on
    /// its own, so the result does not depend on the thread count.
    fn solve_users_in_pool(&mut self, data: &Interactions) -> Result<()> {
        if data.n_rows() != self.n_users() {
            return Err(InferenceError::DimensionMismatch {
                what: "interaction rows",
                expected: self.n_users(),
                actual: data.n_rows(),
            });
        }
        if data.n_cols() != self.n_items() {
            return Err(InferenceError::DimensionMismatch {
                what: "interaction columns",
                expected: self.n_items(),
                actual: data.n_cols(),
            });
        }
        let this = &*self;
        let solved: Vec<Option<Vec<f32>>> = (0..data.n_rows())
            .into_par_iter()
            .with_min_len(8)
            .map(|u| {
                let history: Vec<(u32, f32)> = data.row_unchecked(u).iter().collect();
                match this.fold_in(&history) {
                    Ok(x) => Ok(Some(x)),
                    Err(InferenceError::NotPositiveDefinite) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .collect::<Result<_>>()?;
        for (mut row, x) in self.user_factors.rows_mut().into_iter().zip(solved) {
            if let Some(x) = x {
                row.iter_mut().zip(x).for_each(|(v, s)| *v = s);
            }
        }
        Ok(())
    }

    /// Rebuilds a model from stored factors (e.g. loaded from the model store).
    pub fn from_parts(user_factors: Array2<f32>, item_factors: Array2<f32>, params: AlsParams) -> Result<Self> {
        params.validate()?;
        for (what, m) in [("user factor columns", &user_factors), ("item factor columns", &item_factors)] {
            if m.ncols() != params.factors {
                return Err(InferenceError::DimensionMismatch { what, expected: params.factors, actual: m.ncols() });
            }
        }
        let item_factors = item_factors.as_standard_layout().into_owned();
        let user_factors = user_factors.as_standard_layout().into_owned();
        Ok(Self { user_factors, item_factors, params, base: OnceLock::new() })
    }

    /// Users x factors.
    pub fn user_factors(&self) -> &Array2<f32> {
        &self.user_factors
    }

    /// Items x factors.
    pub fn item_factors(&self) -> &Array2<f32> {
        &self.item_factors
    }

    /// The parameters the model was trained with.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.user_factors.nrows()
    }

    /// Number of catalog items.
    pub fn n_items(&self) -> usize {
        self.item_factors.nrows()
    }

    /// Latent dimensions.
    pub fn factors(&self) -> usize {
        self.params.factors
    }

    /// One user's factor vector.
    pub fn user_vector(&self, user: u32) -> Result<&[f32]> {
        if user as usize >= self.n_users() {
            return Err(InferenceError::UserOutOfRange { index: user, count: self.n_users() });
        }
        self.user_factors.row(user as usize).to_slice().ok_or(InferenceError::invalid("user_factors", "not contiguous"))
    }

    /// Scores of every item for a trained user.
    pub fn score_user(&self, user: u32) -> Result<Vec<f32>> {
        let v = self.user_vector(user)?.to_vec();
        self.score_vector(&v)
    }

    /// Scores of every item for an arbitrary user vector (e.g. from [`Self::fold_in`]).
    pub fn score_vector(&self, user_vector: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.n_items()];
        self.score_vector_into(user_vector, &mut out)?;
        Ok(out)
    }

    fn score_vector_into(&self, user_vector: &[f32], out: &mut [f32]) -> Result<()> {
        let f = self.factors();
        if user_vector.len() != f {
            return Err(InferenceError::DimensionMismatch {
                what: "user vector length",
                expected: f,
                actual: user_vector.len(),
            });
        }
        let items = self.item_slice()?;
        for (o, yi) in out.iter_mut().zip(items.chunks_exact(f)) {
            *o = dot(yi, user_vector);
        }
        Ok(())
    }

    pub(super) fn item_slice(&self) -> Result<&[f32]> {
        self.item_factors.as_slice().ok_or(InferenceError::invalid("item_factors", "not contiguous"))
    }

    pub(super) fn item_vector(&self, item: u32) -> Result<&[f32]> {
        let f = self.factors();
        if item as usize >= self.n_items() {
            return Err(InferenceError::ItemOutOfRange { index: item, count: self.n_items() });
        }
        let all = self.item_slice()?;
        Ok(&all[item as usize * f..(item as usize + 1) * f])
    }

    /// A user vector computed from a history, as `implicit`'s `recalculate_user`: the exact
    /// least-squares solution against the fixed item factors (Cholesky, not CG), for users
    /// newer than the model or whose history changed. An empty history gives zeros.
    pub fn fold_in(&self, history: &[(u32, f32)]) -> Result<Vec<f32>> {
        let Some(system) = self.user_system(history)? else {
            return Ok(vec![0.0; self.factors()]);
        };
        let x = cholesky_solve(&system.chol, self.factors(), &system.b);
        Ok(x.into_iter().map(|v| v as f32).collect())
    }

    fn base(&self) -> &BaseSystem {
        self.base.get_or_init(|| {
            let f = self.factors();
            let mut a = gram_f64(&self.item_factors, f);
            for j in 0..f {
                a[j * f + j] += f64::from(self.params.regularization);
            }
            let chol = cholesky(&a, f);
            BaseSystem { a, chol }
        })
    }

    /// Factorises `A = Y^T C_u Y + reg I` and builds `b = Y^T C_u p_u` for a history
    /// (section 5 of the paper calls `A^-1` the user's weight matrix `W^u`); `None` for
    /// an empty history.
    pub(super) fn user_system(&self, history: &[(u32, f32)]) -> Result<Option<UserSystem<'_>>> {
        let f = self.factors();
        let merged = merge_history(history, self.n_items())?;
        if merged.is_empty() {
            return Ok(None);
        }
        let mut b = vec![0f64; f];
        let mut confidences = Vec::with_capacity(merged.len());
        // The items whose confidence is not 1, as f64 rows, with their (c - 1).
        let mut rows = Vec::new();
        let mut scales = Vec::new();
        for (item, weight) in merged {
            let conf = f64::from(self.params.alpha) * f64::from(weight);
            let y = self.item_vector(item)?;
            let (pref, c) = if conf > 0.0 { (conf, conf) } else { (0.0, -conf) };
            if pref != 0.0 {
                for (bj, &yj) in b.iter_mut().zip(y) {
                    *bj += pref * f64::from(yj);
                }
            }
            if c != 1.0 {
                rows.extend(y.iter().map(|&v| f64::from(v)));
                scales.push(c - 1.0);
            }
            confidences.push((item, conf));
        }
        let base = self.base();
        let chol = if scales.is_empty() {
            Cow::Borrowed(base.chol.as_deref().ok_or(InferenceError::NotPositiveDefinite)?)
        } else {
            let mut a = base.a.clone();
            add_scaled_outer_upper(&mut a, f, &rows, &scales);
            Cow::Owned(cholesky(&a, f).ok_or(InferenceError::NotPositiveDefinite)?)
        };
        Ok(Some(UserSystem { chol, b, confidences }))
    }
}

/// The factorised normal equations of one user; see [`AlsModel::user_system`].
pub(super) struct UserSystem<'m> {
    /// Cholesky factor `U` of `A = U^T U` (shared with the model when every confidence is 1).
    pub(super) chol: Cow<'m, [f64]>,
    pub(super) b: Vec<f64>,
    /// (item, alpha * weight) after merging duplicates.
    pub(super) confidences: Vec<(u32, f64)>,
}

/// Sorts a history by item and sums repeated items, as the CSR matrix does in training.
fn merge_history(history: &[(u32, f32)], n_items: usize) -> Result<Vec<(u32, f32)>> {
    let mut h = history.to_vec();
    for &(item, w) in &h {
        if item as usize >= n_items {
            return Err(InferenceError::ItemOutOfRange { index: item, count: n_items });
        }
        if !w.is_finite() {
            return Err(InferenceError::NonFiniteWeight { user: u32::MAX, item });
        }
    }
    h.sort_by_key(|&(i, _)| i);
    h.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
    Ok(h)
}

fn to_array(v: Vec<f32>, rows: usize, cols: usize) -> Result<Array2<f32>> {
    Array2::from_shape_vec((rows, cols), v).map_err(|e| InferenceError::invalid("factors", format!("shape error: {e}")))
}

/// `Y^T Y` accumulated in f64: fold-in and explanations solve exact systems and deserve
/// the extra precision.
fn gram_f64(items: &Array2<f32>, f: usize) -> Vec<f64> {
    let mut g = vec![0f64; f * f];
    for row in items.rows() {
        for j in 0..f {
            let yj = f64::from(row[j]);
            for k in j..f {
                g[j * f + k] += yj * f64::from(row[k]);
            }
        }
    }
    for j in 0..f {
        for k in 0..j {
            g[j * f + k] = g[k * f + j];
        }
    }
    g
}

impl Scorer for AlsModel {
    fn n_items(&self) -> usize {
        self.item_factors.nrows()
    }

    fn score_into(&self, user: u32, _history: Row<'_>, out: &mut [f32]) -> Result<()> {
        let v = self.user_vector(user)?;
        self.score_vector_into(v, out)
    }
}
