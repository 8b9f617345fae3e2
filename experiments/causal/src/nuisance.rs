//! Nuisance models shared by the estimators: the propensity e(x) (logistic) and the per-arm outcome
//! regressions m₁, m₀ (OLS), fitted on the whole sample or cross-fitted over folds.

use super::frame::Sample;
use super::logistic::{sigmoid, Logit};
use super::ols::Ols;
use super::{design_names, FitError};
use reprise_stats::linalg::{gram_of, RowMajor};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use std::borrow::Cow;

/// How the nuisances are fitted.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Ridge penalty on the propensity slopes (0 = the plain MLE).
    pub ridge: f64,
    /// Clip propensities to [clip, 1 − clip]; 0 = never (the default). Clipped rows are counted.
    pub clip: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { ridge: 0.0, clip: 0.0 }
    }
}

/// Nuisance predictions at every row.
#[derive(Debug, Clone)]
pub struct Nuisances {
    pub e: Array1<f64>,
    pub m1: Array1<f64>,
    pub m0: Array1<f64>,
    /// Rows whose propensity was clipped.
    pub clipped: usize,
}

/// The coefficients of e, m₁ and m₀ fitted on one set of rows.
struct Coefs {
    e: Array1<f64>,
    m1: Array1<f64>,
    m0: Array1<f64>,
}

const ARM_WHAT: [&str; 2] = ["the control-arm outcome regression", "the treated-arm outcome regression"];

fn clip(e: &mut [f64], c: f64) -> usize {
    if c <= 0.0 {
        return 0;
    }
    let mut n = 0;
    for p in e {
        let q = p.clamp(c, 1.0 - c);
        n += usize::from(q != *p);
        *p = q;
    }
    n
}

/// Rows per parallel task of [`predict`].
const PREDICT_CHUNK: usize = 4096;

/// e, m₁, m₀ at every row of the design `x`, row i from the models
/// `models[model_of(i)]`, each prediction a dot product summed in column order.
fn predict(x: RowMajor, model_of: impl Fn(usize) -> usize + Sync, models: &[Coefs], clip_at: f64) -> Nuisances {
    let n = x.rows();
    let (mut e, mut m1, mut m0) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let dot = |x: &[f64], b: &Array1<f64>| x.iter().zip(b).map(|(x, b)| x * b).sum::<f64>();
    e.par_chunks_mut(PREDICT_CHUNK).zip(m1.par_chunks_mut(PREDICT_CHUNK)).zip(m0.par_chunks_mut(PREDICT_CHUNK)).enumerate().for_each(|(c, ((e, m1), m0))| {
        for j in 0..e.len() {
            let i = c * PREDICT_CHUNK + j;
            let (x, m) = (x.row(i), &models[model_of(i)]);
            (e[j], m1[j], m0[j]) = (sigmoid(dot(x, &m.e)), dot(x, &m.m1), dot(x, &m.m0));
        }
    });
    let clipped = clip(&mut e, clip_at);
    Nuisances { e: Array1::from(e), m1: Array1::from(m1), m0: Array1::from(m0), clipped }
}

/// Refuses fold labels that cross-fitting cannot use: fewer than two folds, more folds than rows, a
/// label for each row missing, or a label outside 0..K.
fn check_folds(fold_of: &[usize], k: usize, n: usize) -> Result<(), FitError> {
    let why = if k < 2 {
        "each fold's models are fitted on the other folds, so there must be at least two".to_string()
    } else if k > n {
        "more folds than rows".to_string()
    } else if fold_of.len() != n {
        format!("{} fold labels were given for {n} rows", fold_of.len())
    } else if let Some(i) = fold_of.iter().position(|&f| f >= k) {
        format!("row {i} has fold label {} (labels run 0..{k})", fold_of[i])
    } else {
        return Ok(());
    };
    Err(FitError::Folds { k, n, why })
}

/// The full-sample nuisances and propensity fit, and with `folds` = (fold of each row, K) the
/// cross-fitted nuisances: row i's predictions from models fitted on the other folds.
///
/// The passes are shared. The propensity fit keeps each pass per fold, and fold f's fit starts
/// Newton where the full-sample fit made its last pass, with the other folds' parts summed (in
/// fold order), so it needs no pass of its own to begin. The outcome regressions solve normal equations whose X'X
/// and X'y are sums of per-(fold, arm) parts from one Gram of [X | y]. Folds fit in parallel and
/// every sum has a fixed order: the result does not depend on threads.
fn fit(s: &Sample, folds: Option<(&[usize], usize)>, opt: &Options) -> Result<(Nuisances, Logit, Option<Nuisances>), FitError> {
    let (names, n, p) = (design_names(&s.names), s.n(), s.x.ncols() + 1);
    let (fold_of, k) = match folds {
        Some((f, k)) => {
            check_folds(f, k, n)?;
            (Cow::Borrowed(f), k)
        }
        None => (Cow::Owned(vec![0; n]), 1),
    };
    let mut by_arm = vec![Vec::new(); 2 * k];
    for i in 0..n {
        by_arm[2 * fold_of[i] + usize::from(s.z[i] == 1.0)].push(i);
    }
    // One row-major copy of [1 | X | y]: the design is its first p columns.
    let mut aug = Vec::with_capacity(n * (p + 1));
    for (row, y) in s.x.rows().into_iter().zip(&s.y) {
        aug.push(1.0);
        aug.extend(row.iter());
        aug.push(*y);
    }
    let d = RowMajor { flat: &aug, stride: p + 1, k: p };
    let (logit, split) = Logit::fit_split(d, s.z.view(), opt.ridge, &names, &fold_of, k)?;
    let grams: Vec<Array2<f64>> = by_arm.par_iter().map(|rows| gram_of(RowMajor::of(&aug, p + 1), Some(rows), None)).collect();
    let arm = |a: usize, drop: Option<usize>| -> Result<Array1<f64>, FitError> {
        let mut g = Array2::zeros((p + 1, p + 1));
        for f in (0..k).filter(|&f| Some(f) != drop) {
            g += &grams[2 * f + a];
        }
        Ols::solve_augmented(&g, ARM_WHAT[a], &names)
    };
    let full = [Coefs { e: logit.coef.clone(), m1: arm(1, None)?, m0: arm(0, None)? }];
    let cross = match folds {
        None => None,
        Some(_) => {
            let models = (0..k)
                .into_par_iter()
                .map(|f| {
                    let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
                    let e = Logit::refit_without(d, s.z.view(), opt.ridge, &names, &split, f, &train)?;
                    Ok(Coefs { e, m1: arm(1, Some(f))?, m0: arm(0, Some(f))? })
                })
                .collect::<Result<Vec<_>, FitError>>()?;
            Some(predict(d, |i| fold_of[i], &models, opt.clip))
        }
    };
    Ok((predict(d, |_| 0, &full, opt.clip), logit, cross))
}

/// Nuisances fitted once on the whole sample, and the propensity fit itself.
pub fn full(s: &Sample, opt: &Options) -> Result<(Nuisances, Logit), FitError> {
    let (full, logit, _) = fit(s, None, opt)?;
    Ok((full, logit))
}

/// The full-sample nuisances and propensity fit, and the nuisances cross-fitted over `k` folds
/// (`fold_of[i]` is row i's fold): row i's predictions come from models fitted on the other folds.
pub fn full_and_cross_fit(s: &Sample, fold_of: &[usize], k: usize, opt: &Options) -> Result<(Nuisances, Logit, Nuisances), FitError> {
    let (full, logit, cross) = fit(s, Some((fold_of, k)), opt)?;
    Ok((full, logit, cross.expect("folds were given")))
}

/// Cross-fitted nuisances alone (see [`full_and_cross_fit`]).
pub fn cross_fit(s: &Sample, fold_of: &[usize], k: usize, opt: &Options) -> Result<Nuisances, FitError> {
    Ok(full_and_cross_fit(s, fold_of, k, opt)?.2)
}
