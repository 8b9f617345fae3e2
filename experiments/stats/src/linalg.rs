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
pub const GRAM_CHUNK: usize = 4096;

/// X'X, or X' diag(w) X when `w` is given. Rows are summed in fixed chunks of `GRAM_CHUNK`,
/// chunks in parallel, and the partial matrices added in chunk order: the same bits on any number
/// of threads. Within a chunk the rows are transposed to columns and each entry is a [`dot4`].
pub fn gram(x: &Array2<f64>, w: Option<ArrayView1<f64>>) -> Array2<f64> {
    let x = x.as_standard_layout();
    let w = w.map(|w| w.to_vec());
    gram_of(RowMajor::of(x.as_slice().expect("standard layout"), x.ncols()), None, w.as_deref())
}

/// [`gram`] of a [`RowMajor`] view, over the rows `index` lists in its order (`w` then weighs them
/// by position in `index`); `None` takes every row.
pub fn gram_of(x: RowMajor, index: Option<&[usize]>, w: Option<&[f64]>) -> Array2<f64> {
    let k = x.k;
    let n = index.map_or(x.rows(), <[usize]>::len);
    let partial = |c: usize| -> Vec<f64> {
        let (lo, hi) = (c * GRAM_CHUNK, ((c + 1) * GRAM_CHUNK).min(n));
        let mut g = vec![0.0; k * k];
        Columns::new(x, index, lo, hi).lower_gram(w.map(|w| &w[lo..hi]), &mut g);
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

/// The first `k` columns of a row-major matrix whose rows lie `stride` apart in `flat` (a design
/// stored beside its outcome column is read without copying it out).
#[derive(Debug, Clone, Copy)]
pub struct RowMajor<'a> {
    pub flat: &'a [f64],
    pub stride: usize,
    pub k: usize,
}

impl<'a> RowMajor<'a> {
    /// Every column of a row-major matrix with `k` columns.
    pub fn of(flat: &'a [f64], k: usize) -> RowMajor<'a> {
        RowMajor { flat, stride: k, k }
    }

    pub fn rows(&self) -> usize {
        self.flat.len() / self.stride
    }

    pub fn row(&self, r: usize) -> &'a [f64] {
        &self.flat[r * self.stride..r * self.stride + self.k]
    }
}

/// Rows `lo..hi` of a [`RowMajor`] matrix (or, given `index`, the rows it lists at positions
/// `lo..hi`), as `k` contiguous columns. Columns sit `m + 8` apart: a power-of-two
/// stride would send every column's writes to the same cache sets.
pub struct Columns {
    data: Vec<f64>,
    m: usize,
    stride: usize,
}

impl Columns {
    pub fn new(x: RowMajor, index: Option<&[usize]>, lo: usize, hi: usize) -> Columns {
        let (m, stride) = (hi - lo, hi - lo + 8);
        let mut data = vec![0.0; x.k * stride];
        let mut put = |i: usize, row: &[f64]| {
            for (a, v) in row.iter().enumerate() {
                data[a * stride + i] = *v;
            }
        };
        match index {
            Some(index) => index[lo..hi].iter().enumerate().for_each(|(i, &r)| put(i, x.row(r))),
            None => (lo..hi).enumerate().for_each(|(i, r)| put(i, x.row(r))),
        }
        Columns { data, m, stride }
    }

    pub fn rows(&self) -> usize {
        self.m
    }

    pub fn count(&self) -> usize {
        self.data.len() / self.stride
    }

    pub fn col(&self, a: usize) -> &[f64] {
        &self.data[a * self.stride..a * self.stride + self.m]
    }

    /// Writes the lower triangle of C' diag(w) C (row-major, k × k) into `out`.
    pub fn lower_gram(&self, w: Option<&[f64]>, out: &mut [f64]) {
        let k = self.count();
        let mut wcol = vec![0.0; self.m];
        for a in 0..k {
            let ca = self.col(a);
            let left = match w {
                Some(w) => {
                    for ((o, x), w) in wcol.iter_mut().zip(ca).zip(w) {
                        *o = w * x;
                    }
                    &wcol[..]
                }
                None => ca,
            };
            for b in 0..=a {
                out[a * k + b] = dot4(left, self.col(b));
            }
        }
    }
}

/// Σ aᵢbᵢ in four interleaved partial sums (so the compiler can use vector lanes), added pairwise.
pub fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        let (x, y): (&[f64; 4], &[f64; 4]) = (x.try_into().expect("4 lanes"), y.try_into().expect("4 lanes"));
        for j in 0..4 {
            s[j] += x[j] * y[j];
        }
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
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

/// The lower Cholesky factor of a symmetric positive definite `a`. A pivot below `1e-12` times its
/// diagonal entry counts as singular.
pub fn cholesky(a: &Array2<f64>) -> Result<Array2<f64>, Singular> {
    cholesky_extend(Array2::zeros((0, 0)), |i, j| a[[i, j]], a.nrows())
}

/// Grows `l`, the lower Cholesky factor of a matrix's leading rows and columns, to its first `m`,
/// reading entries `a(i, j)` with j ≤ i. Row i depends only on the rows before it and each entry
/// takes the same operations in the same order however the factor was grown, so a factor grown
/// row by row (or cut back and regrown) is bit for bit the one [`cholesky`] makes at once.
pub fn cholesky_extend(l: Array2<f64>, a: impl Fn(usize, usize) -> f64, m: usize) -> Result<Array2<f64>, Singular> {
    let have = l.nrows();
    let mut out = Array2::<f64>::zeros((m, m));
    out.slice_mut(ndarray::s![..have, ..have]).assign(&l);
    let flat = out.as_slice_mut().expect("a new matrix is contiguous");
    for i in have..m {
        let (above, rest) = flat.split_at_mut(i * m);
        let row = &mut rest[..m];
        for j in 0..i {
            let lj = &above[j * m..j * m + j];
            let s = row[..j].iter().zip(lj).fold(a(i, j), |s, (x, y)| s - x * y);
            row[j] = s / above[j * m + j];
        }
        let diag = a(i, i);
        let d = row[..i].iter().fold(diag, |d, x| d - x * x);
        if d.is_nan() || d <= 1e-12 * diag.abs() || !d.is_finite() {
            return Err(Singular { index: i });
        }
        row[i] = d.sqrt();
    }
    Ok(out)
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
    fn a_factor_grown_cut_back_and_regrown_is_the_one_made_at_once() {
        let x = Array2::from_shape_fn((40, 12), |(i, j)| ((i * 31 + j * 17) % 23) as f64 / 7.0 - 1.3 + if i == j { 2.0 } else { 0.0 });
        let a = gram(&x, None);
        let whole = cholesky(&a).unwrap();
        let entry = |i: usize, j: usize| a[[i, j]];
        let mut l = Array2::zeros((0, 0));
        for m in [3, 4, 9, 12] {
            l = cholesky_extend(l, entry, m).unwrap();
        }
        assert!(l == whole, "grown factor differs from the one-shot factor");
        let cut = l.slice(ndarray::s![..5, ..5]).to_owned();
        assert!(cholesky_extend(cut, entry, 12).unwrap() == whole, "regrown factor differs");
    }

    #[test]
    fn singular_column_is_named() {
        let x = array![[1.0, 2.0, 4.0], [1.0, 3.0, 6.0], [1.0, 5.0, 10.0], [1.0, 1.0, 2.0]];
        assert_eq!(cholesky(&gram(&x, None)), Err(Singular { index: 2 }));
    }
}
