//! Dense linear algebra the estimators share: weighted Gram matrices and Cholesky solves of small
//! symmetric positive definite systems, with a singular pivot reported by its column.

use ndarray::{Array1, Array2, ArrayView1, Axis};
use rayon::prelude::*;

/// A pivot of a Cholesky factorisation was not positive: column `index` is (nearly) a linear
/// combination of the earlier ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Singular {
    pub index: usize,
}

/// Rows per partial sum in [`gram`]; fixed, so the summation order never depends on threads.
const GRAM_CHUNK: usize = 4096;

/// X'X, or X' diag(w) X when `w` is given. Rows are summed in fixed chunks of `GRAM_CHUNK` (in
/// row order within a chunk), chunks in parallel, and the partial matrices added in chunk order:
/// the same bits on any number of threads.
pub fn gram(x: &Array2<f64>, w: Option<ArrayView1<f64>>) -> Array2<f64> {
    let (n, k) = x.dim();
    let x = x.as_standard_layout();
    let flat = x.as_slice().expect("standard layout");
    let partial = |c: usize| -> Vec<f64> {
        let mut g = vec![0.0; k * k];
        for i in c * GRAM_CHUNK..((c + 1) * GRAM_CHUNK).min(n) {
            let row = &flat[i * k..(i + 1) * k];
            let wi = w.as_ref().map_or(1.0, |w| w[i]);
            // The lower triangle only: the upper one is its mirror (same products, same order).
            for (a, ga) in g.chunks_exact_mut(k).enumerate() {
                let va = wi * row[a];
                for (gb, xb) in ga[..=a].iter_mut().zip(row) {
                    *gb += va * xb;
                }
            }
        }
        g
    };
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(GRAM_CHUNK)).into_par_iter().map(partial).collect();
    let mut g = vec![0.0; k * k];
    for p in &parts {
        for (a, b) in g.iter_mut().zip(p) {
            *a += b;
        }
    }
    Array2::from_shape_fn((k, k), |(a, b)| if b <= a { g[a * k + b] } else { g[b * k + a] })
}

/// X'v: one pass over the rows in order (a transposed matrix–vector product would stride).
pub fn xt_v(x: &Array2<f64>, v: ArrayView1<f64>) -> Array1<f64> {
    let k = x.ncols();
    let mut out = vec![0.0; k];
    for (r, &vi) in x.axis_iter(Axis(0)).zip(&v) {
        for (o, xa) in out.iter_mut().zip(r) {
            *o += vi * xa;
        }
    }
    Array1::from(out)
}

/// The rows `rows` of a row-major matrix, copied in order (ndarray's `select` copies row by row
/// through a slower general path).
pub fn take_rows(a: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    let k = a.ncols();
    match a.as_slice() {
        Some(flat) => {
            let mut v = Vec::with_capacity(rows.len() * k);
            for &i in rows {
                v.extend_from_slice(&flat[i * k..(i + 1) * k]);
            }
            Array2::from_shape_vec((rows.len(), k), v).expect("rows × k")
        }
        None => a.select(Axis(0), rows),
    }
}

/// The lower Cholesky factor of a symmetric positive definite `a`. A pivot below `1e-12` times its
/// diagonal entry counts as singular.
pub fn cholesky(a: &Array2<f64>) -> Result<Array2<f64>, Singular> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut d = a[[j, j]];
        for k in 0..j {
            d -= l[[j, k]] * l[[j, k]];
        }
        if d.is_nan() || d <= 1e-12 * a[[j, j]].abs() || !d.is_finite() {
            return Err(Singular { index: j });
        }
        let d = d.sqrt();
        l[[j, j]] = d;
        for i in j + 1..n {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / d;
        }
    }
    Ok(l)
}

/// Solves L L' x = b given the lower factor L.
pub fn chol_solve(l: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let mut y = b.clone();
    for i in 0..n {
        for k in 0..i {
            y[i] -= l[[i, k]] * y[k];
        }
        y[i] /= l[[i, i]];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= l[[k, i]] * y[k];
        }
        y[i] /= l[[i, i]];
    }
    y
}

/// The inverse of a symmetric positive definite matrix given its lower factor.
pub fn chol_inverse(l: &Array2<f64>) -> Array2<f64> {
    let n = l.nrows();
    let mut inv = Array2::zeros((n, n));
    for j in 0..n {
        let mut e = Array1::zeros(n);
        e[j] = 1.0;
        inv.column_mut(j).assign(&chol_solve(l, &e));
    }
    inv
}

/// Solves the symmetric positive definite system `a x = b`.
pub fn solve_spd(a: &Array2<f64>, b: &Array1<f64>) -> Result<Array1<f64>, Singular> {
    Ok(chol_solve(&cholesky(a)?, b))
}

/// Mean and standard deviation (n − 1 denominator) of a sequence, summed in order.
pub fn mean_sd(v: ArrayView1<f64>) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.sum() / n;
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    (m, (ss / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_solves_and_inverts() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let b = array![1.0, -2.0, 0.5];
        let x = solve_spd(&a, &b).unwrap();
        let r = a.dot(&x) - &b;
        assert!(r.iter().all(|v| v.abs() < 1e-14), "{r}");
        let inv = chol_inverse(&cholesky(&a).unwrap());
        let eye = a.dot(&inv);
        for i in 0..3 {
            for j in 0..3 {
                assert!((eye[[i, j]] - f64::from(u8::from(i == j))).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn singular_column_is_named() {
        let x = array![[1.0, 2.0, 4.0], [1.0, 3.0, 6.0], [1.0, 5.0, 10.0], [1.0, 1.0, 2.0]];
        assert_eq!(cholesky(&gram(&x, None)), Err(Singular { index: 2 }));
    }
}
