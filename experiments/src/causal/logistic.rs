//! Logistic regression by Newton's method (iteratively reweighted least squares): unpenalised by
//! default, optional ridge on the slopes; reports the log-likelihood and refuses separated data.

use crate::linalg::{cholesky, chol_solve, dot4, Columns, GRAM_CHUNK};
use rayon::prelude::*;
use super::FitError;
use ndarray::{Array1, Array2, ArrayView1};

/// A converged fit.
#[derive(Debug, Clone)]
pub struct Logit {
    pub coef: Array1<f64>,
    /// Log-likelihood at `coef` (without the ridge penalty).
    pub loglik: f64,
    pub iterations: u32,
    pub ridge: f64,
}

const MAX_ITER: u32 = 100;
/// |η| beyond this gives fitted probabilities within 1e-16 of 0 or 1.
const ETA_EDGE: f64 = 36.0;

pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// The log-likelihood, the score X'(z − p) and the information X' diag(p(1 − p)) X at one β, from
/// one pass over the rows (one exp(−|η|) per row), with the largest |η| for the separation check.
struct Pass {
    ll: f64,
    score: Array1<f64>,
    info: Array2<f64>,
    max_eta: f64,
}

/// Rows per product of (1 + e^−|η|) before its logarithm is taken: 2^512 cannot overflow.
const LOG_BLOCK: usize = 512;

fn pass(flat: &[f64], index: Option<&[usize]>, z: &[f64], beta: &Array1<f64>) -> Pass {
    let (n, k) = (index.map_or(z.len(), <[usize]>::len), beta.len());
    let row = |i: usize| index.map_or(i, |x| x[i]);
    let chunk = |c: usize| -> Vec<f64> {
        let (lo, hi) = (c * GRAM_CHUNK, ((c + 1) * GRAM_CHUNK).min(n));
        let m = hi - lo;
        let cols = Columns::new(flat, k, index, lo, hi);
        let mut eta = vec![0.0; m];
        for (a, b) in beta.iter().enumerate() {
            for (e, x) in eta.iter_mut().zip(cols.col(a)) {
                *e += b * x;
            }
        }
        // [log-likelihood, max |η|, score (k), information's lower triangle (k × k, row-major)]
        let mut acc = vec![0.0; 2 + k + k * k];
        let (mut resid, mut weight) = (vec![0.0; m], vec![0.0; m]);
        let mut prod = 1.0f64;
        for (i, &e) in eta.iter().enumerate() {
            let q = (-e.abs()).exp();
            let zi = z[row(lo + i)];
            acc[0] += zi * e - e.max(0.0);
            acc[1] = acc[1].max(e.abs());
            prod *= 1.0 + q;
            if (i + 1) % LOG_BLOCK == 0 {
                acc[0] -= prod.ln();
                prod = 1.0;
            }
            let p = if e >= 0.0 { 1.0 / (1.0 + q) } else { q / (1.0 + q) };
            resid[i] = zi - p;
            weight[i] = q / ((1.0 + q) * (1.0 + q));
        }
        acc[0] -= prod.ln();
        for (a, s) in acc[2..2 + k].iter_mut().enumerate() {
            *s = dot4(cols.col(a), &resid);
        }
        cols.lower_gram(Some(&weight), &mut acc[2 + k..]);
        acc
    };
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(GRAM_CHUNK)).into_par_iter().map(chunk).collect();
    let mut acc = vec![0.0f64; 2 + k + k * k];
    for part in &parts {
        acc[1] = acc[1].max(part[1]);
        acc[0] += part[0];
        for (a, b) in acc[2..].iter_mut().zip(&part[2..]) {
            *a += b;
        }
    }
    let info = &acc[2 + k..];
    Pass {
        ll: acc[0],
        score: Array1::from(acc[2..2 + k].to_vec()),
        info: Array2::from_shape_fn((k, k), |(a, b)| if b <= a { info[a * k + b] } else { info[b * k + a] }),
        max_eta: acc[1],
    }
}

impl Logit {
    /// Fits P(z = 1 | x) = σ(x'β). `x` carries its intercept in column 0, which the ridge
    /// penalty `ridge/2 · ‖β₁..‖²` leaves alone. `start` warm-starts Newton (e.g. from a fit on
    /// more data); the answer does not depend on it beyond the convergence tolerance.
    pub fn fit(x: &Array2<f64>, z: ArrayView1<f64>, ridge: f64, start: Option<&Array1<f64>>, names: &[String]) -> Result<Logit, FitError> {
        Logit::fit_rows(x, None, z, ridge, start, names)
    }

    /// [`Logit::fit`] on the rows of `x` (and `z`) that `rows` lists, in its order, without
    /// copying them; `None` takes every row.
    pub fn fit_rows(x: &Array2<f64>, rows: Option<&[usize]>, z: ArrayView1<f64>, ridge: f64, start: Option<&Array1<f64>>, names: &[String]) -> Result<Logit, FitError> {
        let k = x.ncols();
        let x = x.as_standard_layout();
        let flat = x.as_slice().expect("standard layout");
        let z = z.to_vec();
        let mut beta = start.cloned().unwrap_or_else(|| Array1::zeros(k));
        let penalty = |b: &Array1<f64>| 0.5 * ridge * b.iter().skip(1).map(|v| v * v).sum::<f64>();
        let mut cur = pass(flat, rows, &z, &beta);
        let mut obj = cur.ll - penalty(&beta);
        for it in 1..=MAX_ITER {
            let (mut h, mut g) = (cur.info.clone(), cur.score.clone());
            for j in 1..k {
                h[[j, j]] += ridge;
                g[j] -= ridge * beta[j];
            }
            let l = match cholesky(&h) {
                Ok(l) => l,
                Err(_) if it > 1 && cur.max_eta > ETA_EDGE => return Err(separation(flat, rows, &beta, names)),
                Err(s) => return Err(FitError::singular("the propensity model", names, s.index)),
            };
            let step = chol_solve(&l, &g);
            let mut t = 1.0;
            let (mut nb, mut next, mut nobj);
            // Newton steps on this concave objective only need halving far from the optimum.
            loop {
                nb = &beta + &(&step * t);
                next = pass(flat, rows, &z, &nb);
                nobj = next.ll - penalty(&nb);
                if nobj >= obj - 1e-12 * obj.abs() || t < 1e-10 {
                    break;
                }
                t *= 0.5;
            }
            let change = (nobj - obj).abs();
            let dbeta = step.iter().fold(0.0f64, |m, s| m.max((s * t).abs()));
            let scale = nb.iter().fold(1.0f64, |m, b| m.max(b.abs()));
            beta = nb;
            cur = next;
            obj = nobj;
            if change <= 1e-13 * (obj.abs() + 1.0) && dbeta <= 1e-10 * scale {
                if ridge == 0.0 && cur.max_eta > ETA_EDGE {
                    return Err(separation(flat, rows, &beta, names));
                }
                return Ok(Logit { loglik: cur.ll, coef: beta, iterations: it, ridge });
            }
        }
        if cur.max_eta > ETA_EDGE / 2.0 {
            return Err(separation(flat, rows, &beta, names));
        }
        Err(FitError::NotConverged { what: "the propensity model (logistic regression)".into(), iterations: MAX_ITER })
    }

    /// Fitted probabilities at the rows of `x`.
    pub fn predict(&self, x: &Array2<f64>) -> Array1<f64> {
        x.dot(&self.coef).mapv(sigmoid)
    }
}

/// The separation error, counting the rows whose fitted probability at `beta` is all but 0 or 1.
fn separation(flat: &[f64], index: Option<&[usize]>, beta: &Array1<f64>, names: &[String]) -> FitError {
    let k = beta.len();
    let all: Vec<usize>;
    let index = match index {
        Some(x) => x,
        None => {
            all = (0..flat.len() / k).collect();
            &all
        }
    };
    let rows = index.iter().filter(|&&r| flat[r * k..(r + 1) * k].iter().zip(beta).map(|(a, b)| a * b).sum::<f64>().abs() > ETA_EDGE / 2.0).count();
    FitError::Separation { rows, covariates: names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|j| format!("x{j}")).collect()
    }

    #[test]
    fn score_is_zero_at_the_fit() {
        let x = array![[1.0, 0.1], [1.0, 0.9], [1.0, 0.4], [1.0, 0.7], [1.0, 0.2], [1.0, 0.6]];
        let z = array![0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let f = Logit::fit(&x, z.view(), 0.0, None, &names(2)).unwrap();
        let score = x.t().dot(&(&z - &f.predict(&x)));
        assert!(score.iter().all(|s| s.abs() < 1e-12), "{score}");
        assert!(f.loglik < 0.0 && f.loglik > -6.0 * std::f64::consts::LN_2);
    }

    #[test]
    fn separated_data_are_refused_and_ridge_fits_them() {
        let x = array![[1.0, 0.1], [1.0, 0.2], [1.0, 0.3], [1.0, 0.7], [1.0, 0.8], [1.0, 0.9]];
        let z = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let err = Logit::fit(&x, z.view(), 0.0, None, &names(2)).unwrap_err();
        assert!(matches!(err, FitError::Separation { rows: 6, .. }), "{err}");
        assert!(err.to_string().contains("ridge"), "{err}");
        let f = Logit::fit(&x, z.view(), 0.1, None, &names(2)).unwrap();
        assert!(f.coef[1] > 0.0 && f.coef[1].is_finite());
    }
}
