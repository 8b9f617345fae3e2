//! The outcome models of the sensitivity bounds: linear in the covariates, or flexible — each
//! continuous covariate also enters through a natural cubic spline with knots at its quantiles.

use reprise_stats::quantile::type7;
use ndarray::{Array2, Axis, concatenate};

/// The model class of the conditional expectiles (and of the mean regression beside them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutcomeModel {
    Linear,
    /// Natural cubic splines with this many knots (≥ 3) on every covariate with more distinct values.
    Splines(usize),
}

impl OutcomeModel {
    pub fn describe(self) -> Option<String> {
        match self {
            OutcomeModel::Linear => None,
            OutcomeModel::Splines(k) => Some(format!(
                "linear terms plus a natural cubic spline ({k} knots at evenly spaced quantiles from 5% to 95%, on the standardised covariate) for every covariate with more than {} distinct values",
                k + 2
            )),
        }
    }

    /// The design (intercept first, then `names`) extended by this model's terms, with its column names.
    pub fn design(self, d: &Array2<f64>, names: &[String]) -> (Array2<f64>, Vec<String>) {
        let OutcomeModel::Splines(k) = self else { return (d.clone(), names.to_vec()) };
        let mut cols: Vec<Array2<f64>> = vec![d.clone()];
        let mut out = names.to_vec();
        for j in 1..d.ncols() {
            let x = d.column(j);
            let mut sorted = x.to_vec();
            sorted.sort_by(f64::total_cmp);
            let distinct = 1 + sorted.windows(2).filter(|w| w[0] != w[1]).count();
            if distinct <= k + 2 {
                continue;
            }
            let (mean, sd) = reprise_stats::linalg::mean_sd(x);
            let u: Vec<f64> = x.iter().map(|v| (v - mean) / sd).collect();
            let mut knots: Vec<f64> = (0..k)
                .map(|l| (type7(&sorted, 0.05 + 0.9 * l as f64 / (k - 1) as f64) - mean) / sd)
                .collect();
            knots.dedup();
            if knots.len() < 3 {
                continue;
            }
            let terms = natural_spline(&u, &knots);
            for t in 0..terms.ncols() {
                out.push(format!("{}·ns{}", names[j], t + 1));
            }
            cols.push(terms);
        }
        let views: Vec<_> = cols.iter().map(|c| c.view()).collect();
        (concatenate(Axis(1), &views).expect("same rows"), out)
    }
}

/// The K − 2 nonlinear basis functions of the natural cubic spline with knots ξ₁ < … < ξ_K
/// (Hastie, Tibshirani & Friedman, eq. 5.4–5.5): N_k = d_k − d_{K−1}, with
/// d_k(x) = ((x − ξ_k)₊³ − (x − ξ_K)₊³)/(ξ_K − ξ_k). Linear beyond the boundary knots.
fn natural_spline(u: &[f64], knots: &[f64]) -> Array2<f64> {
    let kk = knots.len();
    let last = knots[kk - 1];
    let cube = |v: f64| v.max(0.0).powi(3);
    let d = |x: f64, k: usize| (cube(x - knots[k]) - cube(x - last)) / (last - knots[k]);
    Array2::from_shape_fn((u.len(), kk - 2), |(i, k)| d(u[i], k) - d(u[i], kk - 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_splines_are_cubic_inside_linear_outside_and_skip_binary_columns() {
        let knots = [-1.0, 0.0, 1.0, 2.0];
        let u: Vec<f64> = (0..61).map(|i| -3.0 + 0.1 * i as f64).collect();
        let b = natural_spline(&u, &knots);
        // Beyond the boundary knots every basis function is linear: second differences vanish.
        for c in 0..b.ncols() {
            for i in 1..60 {
                let (x, second) = (u[i], b[[i + 1, c]] - 2.0 * b[[i, c]] + b[[i - 1, c]]);
                if x < -1.1 || x > 2.1 {
                    assert!(second.abs() < 1e-9, "column {c} at {x}: {second}");
                }
            }
        }
        // A binary column and a continuous one: only the continuous one gets spline terms.
        let n = 50;
        let d = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => 1.0,
            1 => (i % 2) as f64,
            _ => (i as f64).sqrt(),
        });
        let (x, names) = OutcomeModel::Splines(4).design(&d, &["intercept".into(), "z".into(), "age".into()]);
        assert_eq!(names, ["intercept", "z", "age", "age·ns1", "age·ns2"]);
        assert_eq!(x.ncols(), 5);
        assert_eq!(OutcomeModel::Linear.design(&d, &["intercept".into(), "z".into(), "age".into()]).0, d);
    }
}
