//! One ALS half-step: re-solve every row of `x` against the fixed factors `y`.

use rayon::prelude::*;

use crate::linalg::{axpy, dot, gram, symv, xpby};
use crate::matrix::Interactions;

/// Per-thread work vectors, allocated once per rayon job rather than per user.
struct CgScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl CgScratch {
    fn new(n: usize) -> Self {
        Self { r: vec![0.0; n], p: vec![0.0; n], ap: vec![0.0; n] }
    }
}

/// `implicit`'s `least_squares_cg`: for every row u of `conf` (confidences, already
/// alpha-scaled), take `cg_steps` conjugate-gradient steps on
/// `(Y^T C_u Y + reg I) x_u = Y^T C_u p_u`, starting from the current `x_u`.
///
/// Runs on the current rayon pool. Each row is independent and its arithmetic does not
/// depend on scheduling, so the result is identical for any thread count.
pub(crate) fn least_squares_cg(
    conf: &Interactions,
    x: &mut [f32],
    y: &[f32],
    factors: usize,
    regularization: f32,
    cg_steps: usize,
) {
    let mut a = gram(y, factors);
    for j in 0..factors {
        a[j * factors + j] += regularization;
    }
    let a = &a;
    x.par_chunks_mut(factors)
        .enumerate()
        .with_min_len(16)
        .for_each_init(|| CgScratch::new(factors), |s, (u, xu)| solve_row(conf, u, xu, y, a, factors, cg_steps, s));
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn solve_row(
    conf: &Interactions,
    u: usize,
    x: &mut [f32],
    y: &[f32],
    a: &[f32],
    f: usize,
    cg_steps: usize,
    s: &mut CgScratch,
) {
    let row = conf.row_unchecked(u);
    if row.is_empty() {
        x.fill(0.0);
        return;
    }
    let CgScratch { r, p, ap } = s;
    let item = |i: u32| &y[i as usize * f..(i as usize + 1) * f];

    // r = Y^T C_u p_u - (Y^T C_u Y + reg I) x, using Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y.
    symv(a, x, r);
    for v in r.iter_mut() {
        *v = -*v;
    }
    for (i, c) in row.iter() {
        // A negative weight means "disliked": preference 0 with confidence |c|.
        let (pref, c) = if c > 0.0 { (c, c) } else { (0.0, -c) };
        let yi = item(i);
        // With c == 1 the (c - 1) term vanishes; skipping its dot product changes nothing.
        let t = if c != 1.0 { pref - (c - 1.0) * dot(yi, x) } else { pref };
        axpy(t, yi, r);
    }

    p.copy_from_slice(r);
    let mut rsold = dot(r, r);
    if rsold < 1e-20 {
        return;
    }
    for _ in 0..cg_steps {
        // ap = (Y^T C_u Y + reg I) p without forming Y^T C_u Y.
        symv(a, p, ap);
        for (i, c) in row.iter() {
            let c = c.abs();
            if c != 1.0 {
                let yi = item(i);
                axpy((c - 1.0) * dot(yi, p), yi, ap);
            }
        }
        let step = rsold / dot(p, ap);
        axpy(step, p, x);
        axpy(-step, ap, r);
        let rsnew = dot(r, r);
        if rsnew < 1e-20 {
            break;
        }
        xpby(r, rsnew / rsold, p);
        rsold = rsnew;
    }
}
