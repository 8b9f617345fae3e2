//! Sensitivity bounds under unobserved confounding (Yadlowsky, Namkoong, Basu, Duchi & Tian): when a
//! hidden confounder changes the odds of treatment by at most Γ, E[Y(1)|X, Z=0] lies between the
//! 1/(1+Γ)- and Γ/(1+Γ)-expectiles of Y given X, Z=1; ATE bounds come from a cross-fitted
//! Neyman-orthogonal score. The conditional CDF in the score's denominator is estimated from the
//! arm's residual distribution around its mean regression (a location model). Expectiles and mean
//! are linear in the covariates, or flexible (natural cubic splines, `basis::OutcomeModel`).

use super::basis::OutcomeModel;
use super::folds;
use super::frame::Sample;
use reprise_stats::linalg::{xt_v, chol_solve, cholesky, gram, mean_sd};
use super::nuisance::Nuisances;
use super::ols::Ols;
use super::{design_names, FitError, Z95};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rayon::prelude::*;
use serde::Serialize;

const MAX_ITER: u32 = 200;

/// Linear expectile regression: minimises Σ a·(y − x'β)₊² + b·(x'β − y)₊² by iteratively
/// reweighted least squares from the OLS fit; the weights take finitely many patterns and the
/// iteration stops when the pattern repeats. With a = b the answer is the OLS fit, bit for bit.
pub fn expectile(x: &Array2<f64>, y: ArrayView1<f64>, above: f64, below: f64, names: &[String]) -> Result<Array1<f64>, FitError> {
    let what = "the expectile regression";
    let mut coef = Ols::fit(x, y, what, names)?.coef;
    let weights = |c: &Array1<f64>| -> Array1<f64> { ndarray::Zip::from(&y).and(&x.dot(c)).map_collect(|&y, &f| if y > f { above } else { below }) };
    let mut w = weights(&coef);
    for _ in 0..MAX_ITER {
        let l = cholesky(&gram(x, Some(w.view()))).map_err(|s| FitError::singular(what, names, s.index))?;
        coef = chol_solve(&l, &xt_v(x, (&w * &y).view()));
        let next = weights(&coef);
        if next == w {
            return Ok(coef);
        }
        w = next;
    }
    Err(FitError::NotConverged { what: what.into(), iterations: MAX_ITER })
}

/// Which end of the identified set a score bounds.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Upper,
    Lower,
}

/// One arm's training data in one fold, with what does not depend on Γ: the mean fit and its
/// sorted residuals.
struct ArmFold {
    test: Vec<usize>,
    x: Array2<f64>,
    y: Array1<f64>,
    mean: Array1<f64>,
    resid: Vec<f64>,
}

/// The Γ-free part of the bounds, fitted once for a whole curve: the design and, per arm and
/// fold, the training rows and mean regression.
struct Prepared {
    d: Array2<f64>,
    names: Vec<String>,
    arms: [Vec<ArmFold>; 2],
}

impl Prepared {
    fn new(s: &Sample, fold_of: &[usize], k: usize, model: OutcomeModel) -> Result<Prepared, FitError> {
        let (d, names) = model.design(&s.design(), &design_names(&s.names));
        let arm = |arm: f64| -> Result<Vec<ArmFold>, FitError> {
            (0..k)
                .into_par_iter()
                .map(|f| {
                    let (test, train) = folds::split(fold_of, f);
                    let rows: Vec<usize> = train.into_iter().filter(|&i| s.z[i] == arm).collect();
                    let x = d.select(Axis(0), &rows);
                    let y = s.y.select(Axis(0), &rows);
                    let mean = Ols::fit(&x, y.view(), "the outcome regression", &names)?;
                    let mut resid = mean.resid.to_vec();
                    resid.sort_by(f64::total_cmp);
                    Ok(ArmFold { test, x, y, mean: mean.coef, resid })
                })
                .collect()
        };
        let arms = [arm(0.0)?, arm(1.0)?];
        Ok(Prepared { d, names, arms })
    }

    /// The score φ of one arm's bound on E[Y(arm)], cross-fitted over the folds.
    fn arm_score(&self, s: &Sample, nu: &Nuisances, arm: f64, end: End, gamma: f64) -> Result<Array1<f64>, FitError> {
        let (above, below) = if end == End::Upper { (gamma, 1.0) } else { (1.0, gamma) };
        let folds = &self.arms[usize::from(arm == 1.0)];
        let thetas: Vec<Array1<f64>> = folds.par_iter().map(|af| expectile(&af.x, af.y.view(), above, below, &self.names)).collect::<Result<_, FitError>>()?;
        let mut phi = Array1::zeros(s.n());
        for (af, coef) in folds.iter().zip(&thetas) {
            let m = af.resid.len() as f64;
            for &i in &af.test {
                let xi = self.d.row(i);
                let theta = xi.dot(coef);
                // F(θ | x) = P(Y ≤ θ | x, arm) = share of residuals ≤ θ(x) − m(x).
                let cut = theta - xi.dot(&af.mean);
                let f = af.resid.partition_point(|r| *r <= cut) as f64 / m;
                let (y, a) = (s.y[i], if arm == 1.0 { s.z[i] } else { 1.0 - s.z[i] });
                let pi = if arm == 1.0 { nu.e[i] } else { 1.0 - nu.e[i] };
                let (psi, denom) = match end {
                    End::Upper => (gamma * (y - theta).max(0.0) - (theta - y).max(0.0), gamma - (gamma - 1.0) * f),
                    End::Lower => ((y - theta).max(0.0) - gamma * (theta - y).max(0.0), 1.0 + (gamma - 1.0) * f),
                };
                phi[i] = a * y + (1.0 - a) * theta + a * (1.0 - pi) / pi * psi / denom;
            }
        }
        Ok(phi)
    }

    fn bounds(&self, s: &Sample, nu: &Nuisances, gamma: f64) -> Result<Bounds, FitError> {
        let up = &self.arm_score(s, nu, 1.0, End::Upper, gamma)? - &self.arm_score(s, nu, 0.0, End::Lower, gamma)?;
        let lo = &self.arm_score(s, nu, 1.0, End::Lower, gamma)? - &self.arm_score(s, nu, 0.0, End::Upper, gamma)?;
        let rn = (s.n() as f64).sqrt();
        let (upper, su) = mean_sd(up.view());
        let (lower, sl) = mean_sd(lo.view());
        let (se_upper, se_lower) = (su / rn, sl / rn);
        Ok(Bounds { gamma, lower, upper, se_lower, se_upper, ci95: [lower - Z95 * se_lower, upper + Z95 * se_upper] })
    }
}

/// ATE bounds at one Γ.
#[derive(Debug, Clone, Serialize)]
pub struct Bounds {
    pub gamma: f64,
    pub lower: f64,
    pub upper: f64,
    pub se_lower: f64,
    pub se_upper: f64,
    /// [lower − z·se_lower, upper + z·se_upper]: covers the identified set with probability ≥ 95%.
    pub ci95: [f64; 2],
}

impl Bounds {
    pub fn covers_zero(&self) -> bool {
        self.ci95[0] <= 0.0 && 0.0 <= self.ci95[1]
    }
}

/// Bounds on the ATE at sensitivity `gamma` ≥ 1, from cross-fitted nuisances `nu` on folds `fold_of`.
pub fn ate_bounds(s: &Sample, nu: &Nuisances, fold_of: &[usize], k: usize, gamma: f64, model: OutcomeModel) -> Result<Bounds, FitError> {
    Prepared::new(s, fold_of, k, model)?.bounds(s, nu, gamma)
}

/// The sensitivity curve on a grid of Γ, and the smallest Γ whose interval covers zero (refined
/// by bisection between grid points; `None` when no Γ on the grid reaches zero).
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    pub bounds: Vec<Bounds>,
    pub gamma_star: Option<f64>,
    /// The expectiles' model class when it is not linear in the covariates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

pub fn curve(s: &Sample, nu: &Nuisances, fold_of: &[usize], k: usize, grid: &[f64], model: OutcomeModel) -> Result<Curve, FitError> {
    let prep = Prepared::new(s, fold_of, k, model)?;
    let bounds: Vec<Bounds> = grid.iter().map(|&g| prep.bounds(s, nu, g)).collect::<Result<_, _>>()?;
    let gamma_star = match bounds.iter().position(Bounds::covers_zero) {
        None => None,
        Some(0) => Some(bounds[0].gamma),
        Some(j) => {
            let (mut lo, mut hi) = (bounds[j - 1].gamma, bounds[j].gamma);
            for _ in 0..14 {
                let mid = 0.5 * (lo + hi);
                if prep.bounds(s, nu, mid)?.covers_zero() {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            Some(hi)
        }
    };
    Ok(Curve { bounds, gamma_star, model: model.describe() })
}

/// `points` values of Γ spaced evenly in log Γ from 1 to `max`.
pub fn gamma_grid(max: f64, points: usize) -> Vec<f64> {
    (0..points).map(|i| if i == 0 { 1.0 } else { (max.ln() * i as f64 / (points - 1) as f64).exp() }).collect()
}
