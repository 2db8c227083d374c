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

/// Dot product in f64 with independent accumulators, so it vectorises like [`dot`].
#[inline]
pub fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    const L: usize = 4;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f64; L];
    let ca = a.chunks_exact(L);
    let cb = b.chunks_exact(L);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..L {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0f64;
    for (x, y) in ta.iter().zip(tb) {
        tail += x * y;
    }
    ((acc[0] + acc[2]) + (acc[1] + acc[3])) + tail
}

/// Adds `sum_j scales[j] * y_j y_j^T` to the upper triangle (diagonal included) of the
/// row-major `n x n` matrix `a`, where `y_j` is row j of the row-major `rows`. The lower
/// triangle is left as it was: [`cholesky`] reads only the upper one.
///
/// Four rank-one terms per pass over the triangle, so each entry is loaded and stored
/// once per four items and the inner loop is a plain vectorisable multiply-add.
pub fn add_scaled_outer_upper(a: &mut [f64], n: usize, rows: &[f64], scales: &[f64]) {
    let mut blocks = rows.chunks_exact(4 * n).zip(scales.chunks_exact(4));
    for (y, s) in blocks.by_ref() {
        let (y0, y1, y2, y3) = (&y[..n], &y[n..2 * n], &y[2 * n..3 * n], &y[3 * n..]);
        for r in 0..n {
            let t = [s[0] * y0[r], s[1] * y1[r], s[2] * y2[r], s[3] * y3[r]];
            rank4_update(&mut a[r * n + r..(r + 1) * n], t, [&y0[r..], &y1[r..], &y2[r..], &y3[r..]]);
        }
    }
    let done = scales.len() / 4 * 4;
    for (y, &s) in rows[done * n..].chunks_exact(n).zip(&scales[done..]) {
        for r in 0..n {
            let t = s * y[r];
            for (v, &yk) in a[r * n + r..(r + 1) * n].iter_mut().zip(&y[r..]) {
                *v += t * yk;
            }
        }
    }
}

/// `out += t[0] * v[0] + ... + t[3] * v[3]`, elementwise (the `v` at least as long).
#[inline]
fn rank4_update(out: &mut [f64], t: [f64; 4], v: [&[f64]; 4]) {
    let n = out.len();
    let (v0, v1, v2, v3) = (&v[0][..n], &v[1][..n], &v[2][..n], &v[3][..n]);
    for k in 0..n {
        out[k] += t[0] * v0[k] + t[1] * v1[k] + t[2] * v2[k] + t[3] * v3[k];
    }
}

/// Cholesky factor `U` (upper triangle, row-major, f64; `A = U^T U`) of a symmetric
/// positive-definite `n x n` matrix, of which only the upper triangle is read; `None`
/// when the matrix is not positive definite.
///
/// Right-looking, four rows at a time: once rows k..k+4 of `U` are known, they are
/// subtracted from every later row in one pass of contiguous multiply-adds, with no dot
/// products (whose horizontal sums dominate at the sizes ALS uses).
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut u = a.to_vec();
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + 4).min(n);
        // Finish rows k0..k1: each is scaled, then taken off the rest of the block.
        for k in k0..k1 {
            let d = u[k * n + k];
            if d <= 0.0 || !d.is_finite() {
                return None;
            }
            let d = d.sqrt();
            u[k * n + k] = d;
            for v in &mut u[k * n + k + 1..(k + 1) * n] {
                *v /= d;
            }
            let (done, rest) = u.split_at_mut((k + 1) * n);
            let row_k = &done[k * n..];
            for i in k + 1..k1 {
                let t = row_k[i];
                let row_i = &mut rest[(i - k - 1) * n..(i - k) * n];
                for (v, &w) in row_i[i..].iter_mut().zip(&row_k[i..]) {
                    *v -= t * w;
                }
            }
        }
        // Take the finished rows off every later row at once.
        let (done, rest) = u.split_at_mut(k1 * n);
        let block = &done[k0 * n..];
        let rows: Vec<&[f64]> = block.chunks_exact(n).collect();
        for (i, row_i) in (k1..n).zip(rest.chunks_exact_mut(n)) {
            if rows.len() == 4 {
                let t = [-rows[0][i], -rows[1][i], -rows[2][i], -rows[3][i]];
                rank4_update(&mut row_i[i..], t, [&rows[0][i..], &rows[1][i..], &rows[2][i..], &rows[3][i..]]);
            } else {
                for row_k in &rows {
                    let t = row_k[i];
                    for (v, &w) in row_i[i..].iter_mut().zip(&row_k[i..]) {
                        *v -= t * w;
                    }
                }
            }
        }
        k0 = k1;
    }
    // The lower triangle still holds the input; clear it so `U` is what it says.
    for i in 1..n {
        u[i * n..i * n + i].fill(0.0);
    }
    Some(u)
}

/// Solves `U^T U x = b` given the factor from [`cholesky`].
pub fn cholesky_solve(u: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    // U^T y = b by rows of U: each solved y[i] is taken off the rest in one contiguous
    // multiply-add.
    let mut y = b[..n].to_vec();
    for i in 0..n {
        y[i] /= u[i * n + i];
        let yi = y[i];
        for (yk, &uik) in y[i + 1..].iter_mut().zip(&u[i * n + i + 1..(i + 1) * n]) {
            *yk -= uik * yi;
        }
    }
    // U x = y, bottom up, one contiguous dot product per row.
    for i in (0..n).rev() {
        y[i] = (y[i] - dot_f64(&u[i * n + i + 1..(i + 1) * n], &y[i + 1..])) / u[i * n + i];
    }
    y
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

    #[test]
    fn cholesky_solves_larger_systems_from_the_upper_triangle() {
        for n in [1usize, 3, 4, 5, 8, 17, 64, 130] {
            // Diagonally dominant, so positive definite; the lower triangle is garbage.
            let mut a = vec![f64::NAN; n * n];
            for i in 0..n {
                for j in i..n {
                    a[i * n + j] = if i == j { n as f64 + 1.0 } else { ((i * 7 + j * 3) % 5) as f64 * 0.1 };
                }
            }
            let b: Vec<f64> = (0..n).map(|i| i as f64 - 2.5).collect();
            let x = cholesky_solve(&cholesky(&a, n).unwrap(), n, &b);
            let upper = |r: usize, c: usize| if c >= r { a[r * n + c] } else { a[c * n + r] };
            for (i, bi) in b.iter().enumerate() {
                let ax: f64 = x.iter().enumerate().map(|(k, xk)| upper(i, k) * xk).sum();
                assert!((ax - bi).abs() < 1e-10, "n={n} row {i}: {ax} vs {bi}");
            }
        }
    }

    #[test]
    fn scaled_outer_products_fill_the_upper_triangle() {
        let n = 3;
        for m in [1usize, 4, 6] {
            let rows: Vec<f64> = (0..m * n).map(|i| (i % 7) as f64 - 3.0).collect();
            let scales: Vec<f64> = (0..m).map(|j| 0.5 + j as f64).collect();
            let mut a = vec![0f64; n * n];
            add_scaled_outer_upper(&mut a, n, &rows, &scales);
            for r in 0..n {
                for c in 0..n {
                    let want: f64 =
                        if c >= r { (0..m).map(|j| scales[j] * rows[j * n + r] * rows[j * n + c]).sum() } else { 0.0 };
                    assert!((a[r * n + c] - want).abs() < 1e-12, "m={m} ({r}, {c})");
                }
            }
        }
    }
}
