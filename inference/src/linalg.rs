//! Small dense kernels on f32 slices, written so the compiler vectorises them.
//!
//! Eight independent accumulators break the floating-point dependency chain, which is
//! what lets LLVM emit packed multiply-adds without `-ffast-math`. Results depend only on
//! the slice contents, never on threading, which keeps training bit-reproducible.

use rayon::prelude::*;

const LANES: usize = 8;

/// Dot product of two equally long slices (the shorter length wins).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ta.iter().zip(tb) {
        tail += x * y;
    }
    let s0 = (acc[0] + acc[4]) + (acc[1] + acc[5]);
    let s1 = (acc[2] + acc[6]) + (acc[3] + acc[7]);
    (s0 + s1) + tail
}

/// `y += alpha * x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `p = r + beta * p` (the conjugate-gradient direction update).
#[inline]
pub fn xpby(r: &[f32], beta: f32, p: &mut [f32]) {
    for (pi, ri) in p.iter_mut().zip(r) {
        *pi = ri + beta * *pi;
    }
}

/// `out = a * x` for a dense row-major symmetric `n x n` matrix `a`.
///
/// Computed as a sum of rows scaled by `x[k]` (row k equals column k by symmetry), over
/// blocks of 32 outputs held in 8 independent accumulators. Unlike row-by-row dot
/// products this needs no horizontal reductions, which dominate at n around 64.
#[inline]
pub fn symv(a: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    let mut j0 = 0;
    while j0 + 4 * LANES <= n {
        let mut acc = [[0f32; LANES]; 4];
        for (row, &xk) in a.chunks_exact(n).zip(x) {
            for (b, acc_b) in acc.iter_mut().enumerate() {
                let seg = &row[j0 + b * LANES..j0 + (b + 1) * LANES];
                for l in 0..LANES {
                    acc_b[l] += seg[l] * xk;
                }
            }
        }
        for (b, acc_b) in acc.iter().enumerate() {
            out[j0 + b * LANES..j0 + (b + 1) * LANES].copy_from_slice(acc_b);
        }
        j0 += 4 * LANES;
    }
    while j0 + LANES <= n {
        let mut acc = [0f32; LANES];
        for (row, &xk) in a.chunks_exact(n).zip(x) {
            let seg = &row[j0..j0 + LANES];
            for l in 0..LANES {
                acc[l] += seg[l] * xk;
            }
        }
        out[j0..j0 + LANES].copy_from_slice(&acc);
        j0 += LANES;
    }
    for j in j0..n {
        let mut acc = 0f32;
        for (row, &xk) in a.chunks_exact(n).zip(x) {
            acc += row[j] * xk;
        }
        out[j] = acc;
    }
}

/// `Y^T Y` of a row-major `rows x n` matrix, as a dense row-major `n x n` matrix.
///
/// Works on the transposed copy so that every entry is one contiguous dot product; the
/// result is exactly symmetric because entry (j, k) and (k, j) are the same computation.
pub fn gram(y: &[f32], n: usize) -> Vec<f32> {
    if n == 0 {
        return Vec::new();
    }
    let rows = y.len() / n;
    let mut cols = vec![0f32; y.len()];
    for (r, row) in y.chunks_exact(n).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            cols[j * rows + r] = v;
        }
    }
    let mut g = vec![0f32; n * n];
    // Upper triangle in parallel (on the caller's rayon pool), then mirrored.
    g.par_chunks_mut(n).enumerate().for_each(|(j, row)| {
        let cj = &cols[j * rows..(j + 1) * rows];
        for k in j..n {
            row[k] = dot(cj, &cols[k * rows..(k + 1) * rows]);
        }
    });
    for j in 0..n {
        for k in 0..j {
            g[j * n + k] = g[k * n + j];
        }
    }
    g
}

/// Cholesky factor (lower triangle, row-major, f64) of a symmetric positive-definite
/// `n x n` matrix; `None` when the matrix is not positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L L^T x = b` given the factor from [`cholesky`].
pub fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0f64; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * y[k];
        }
        y[i] = s / l[i * n + i];
    }
    let mut x = vec![0f64; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    x
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_for_all_tail_lengths() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-3, "n={n}");
        }
    }

    #[test]
    fn symv_matches_naive_for_all_block_shapes() {
        for n in [1usize, 3, 8, 9, 17, 32, 41, 64, 100] {
            let a: Vec<f32> = (0..n * n).map(|i| ((i / n + i % n) % 13) as f32 - 6.0).collect();
            let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
            let mut out = vec![0.0; n];
            symv(&a, &x, &mut out);
            for j in 0..n {
                let naive: f32 = (0..n).map(|k| a[j * n + k] * x[k]).sum();
                assert!((out[j] - naive).abs() < 1e-3, "n={n} j={j}");
            }
        }
    }

    #[test]
    fn gram_is_yty() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 x 2
        assert_eq!(gram(&y, 2), vec![35.0, 44.0, 44.0, 56.0]);
    }

    #[test]
    fn cholesky_solves_and_detects_indefinite() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        let x = cholesky_solve(&l, 2, &[2.0, 1.0]);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
