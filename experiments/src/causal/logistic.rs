//! Logistic regression by Newton's method (iteratively reweighted least squares): unpenalised by
//! default, optional ridge on the slopes; reports the log-likelihood and refuses separated data.

use crate::linalg::{xt_v, cholesky, chol_solve, gram};
use super::FitError;
use ndarray::{Array1, Array2, ArrayView1, Zip};

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

/// log(1 + e^t) without overflow.
fn log1pexp(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

fn loglik(eta: &Array1<f64>, z: ArrayView1<f64>) -> f64 {
    Zip::from(eta).and(&z).fold(0.0, |acc, &e, &zi| acc + zi * e - log1pexp(e))
}

/// Log-likelihood and fitted probabilities together, from one exp(−|η|) per row.
fn loglik_and_p(eta: &Array1<f64>, z: ArrayView1<f64>) -> (f64, Array1<f64>) {
    let mut p = Array1::zeros(eta.len());
    let mut ll = 0.0;
    for ((pi, &e), &zi) in p.iter_mut().zip(eta).zip(&z) {
        let q = (-e.abs()).exp();
        ll += zi * e - (e.max(0.0) + q.ln_1p());
        *pi = if e >= 0.0 { 1.0 / (1.0 + q) } else { q / (1.0 + q) };
    }
    (ll, p)
}

impl Logit {
    /// Fits P(z = 1 | x) = σ(x'β). `x` carries its intercept in column 0, which the ridge
    /// penalty `ridge/2 · ‖β₁..‖²` leaves alone. `start` warm-starts Newton (e.g. from a fit on
    /// more data); the answer does not depend on it beyond the convergence tolerance.
    pub fn fit(x: &Array2<f64>, z: ArrayView1<f64>, ridge: f64, start: Option<&Array1<f64>>, names: &[String]) -> Result<Logit, FitError> {
        let k = x.ncols();
        let mut beta = start.cloned().unwrap_or_else(|| Array1::zeros(k));
        let mut eta = x.dot(&beta);
        let penalty = |b: &Array1<f64>| 0.5 * ridge * b.iter().skip(1).map(|v| v * v).sum::<f64>();
        let (ll, mut p) = loglik_and_p(&eta, z);
        let mut obj = ll - penalty(&beta);
        for it in 1..=MAX_ITER {
            let w = p.mapv(|p| p * (1.0 - p));
            let mut h = gram(x, Some(w.view()));
            let mut g = xt_v(x, (&z - &p).view());
            for j in 1..k {
                h[[j, j]] += ridge;
                g[j] -= ridge * beta[j];
            }
            let l = match cholesky(&h) {
                Ok(l) => l,
                Err(s) if it > 1 && eta.iter().any(|e| e.abs() > ETA_EDGE) => return Err(separation(&eta, s.index, names)),
                Err(s) => return Err(FitError::singular("the propensity model", names, s.index)),
            };
            let step = chol_solve(&l, &g);
            let mut t = 1.0;
            let (mut nb, mut ne, mut nobj, mut np);
            // Newton steps on this concave objective only need halving far from the optimum.
            loop {
                nb = &beta + &(&step * t);
                ne = x.dot(&nb);
                let (ll, pp) = loglik_and_p(&ne, z);
                nobj = ll - penalty(&nb);
                np = pp;
                if nobj >= obj - 1e-12 * obj.abs() || t < 1e-10 {
                    break;
                }
                t *= 0.5;
            }
            p = np;
            let change = (nobj - obj).abs();
            let dbeta = step.iter().fold(0.0f64, |m, s| m.max((s * t).abs()));
            let scale = nb.iter().fold(1.0f64, |m, b| m.max(b.abs()));
            beta = nb;
            eta = ne;
            obj = nobj;
            if change <= 1e-13 * (obj.abs() + 1.0) && dbeta <= 1e-10 * scale {
                if ridge == 0.0 && eta.iter().any(|e| e.abs() > ETA_EDGE) {
                    return Err(separation(&eta, k, names));
                }
                return Ok(Logit { loglik: loglik(&eta, z), coef: beta, iterations: it, ridge });
            }
        }
        if eta.iter().any(|e| e.abs() > ETA_EDGE / 2.0) {
            return Err(separation(&eta, k, names));
        }
        Err(FitError::NotConverged { what: "the propensity model (logistic regression)".into(), iterations: MAX_ITER })
    }

    /// Fitted probabilities at the rows of `x`.
    pub fn predict(&self, x: &Array2<f64>) -> Array1<f64> {
        x.dot(&self.coef).mapv(sigmoid)
    }
}

fn separation(eta: &Array1<f64>, _pivot: usize, names: &[String]) -> FitError {
    let rows = eta.iter().filter(|e| e.abs() > ETA_EDGE / 2.0).count();
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
