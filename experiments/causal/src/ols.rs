//! Ordinary least squares with heteroskedasticity-consistent standard errors HC0–HC3
//! (statsmodels' conventions: HC1 = HC0·n/(n−k), HC2 and HC3 divide by (1−h) and (1−h)²).

use reprise_stats::linalg::{xt_v, chol_inverse, chol_solve, cholesky, gram};
use super::FitError;
use ndarray::{Array1, Array2, ArrayView1};

/// Which sandwich to use for OLS standard errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Hc {
    HC0,
    HC1,
    HC2,
    HC3,
}

impl Hc {
    pub const ALL: [Hc; 4] = [Hc::HC0, Hc::HC1, Hc::HC2, Hc::HC3];
    pub fn name(self) -> &'static str {
        match self {
            Hc::HC0 => "HC0",
            Hc::HC1 => "HC1",
            Hc::HC2 => "HC2",
            Hc::HC3 => "HC3",
        }
    }
}

/// A least-squares fit of `y` on the columns of a design matrix (which carries its own intercept).
#[derive(Debug, Clone)]
pub struct Ols {
    pub coef: Array1<f64>,
    pub resid: Array1<f64>,
    xtx_inv: Array2<f64>,
}

impl Ols {
    /// Fits `y ~ x`; `names[j]` names column j of `x` in the singular-design error.
    pub fn fit(x: &Array2<f64>, y: ArrayView1<f64>, what: &str, names: &[String]) -> Result<Ols, FitError> {
        let l = cholesky(&gram(x, None)).map_err(|s| FitError::singular(what, names, s.index))?;
        let coef = chol_solve(&l, &xt_v(x, y));
        let resid = &y - &x.dot(&coef);
        Ok(Ols { coef, resid, xtx_inv: chol_inverse(&l) })
    }

    /// The coefficients from the Gram matrix of [X | y] (X'X, with X'y in its last row): the
    /// normal equations [`Ols::fit`] solves, for fits whose Gram is a sum of parts.
    pub fn solve_augmented(g: &Array2<f64>, what: &str, names: &[String]) -> Result<Array1<f64>, FitError> {
        let k = g.nrows() - 1;
        let xtx = g.slice(ndarray::s![..k, ..k]).to_owned();
        let l = cholesky(&xtx).map_err(|s| FitError::singular(what, names, s.index))?;
        Ok(chol_solve(&l, &g.slice(ndarray::s![k, ..k]).to_owned()))
    }

    /// (X'X)⁻¹ of the fit.
    pub fn xtx_inv(&self) -> &Array2<f64> {
        &self.xtx_inv
    }

    /// Predictions at the rows of `x`.
    pub fn predict(&self, x: &Array2<f64>) -> Array1<f64> {
        x.dot(&self.coef)
    }

    /// The sandwich covariance of the coefficients.
    pub fn cov(&self, x: &Array2<f64>, hc: Hc) -> Array2<f64> {
        let (n, k) = x.dim();
        let e2 = self.resid.mapv(|e| e * e);
        let w = match hc {
            Hc::HC0 | Hc::HC1 => e2,
            Hc::HC2 | Hc::HC3 => {
                let h = (x.dot(&self.xtx_inv) * x).sum_axis(ndarray::Axis(1));
                let p = if hc == Hc::HC2 { 1 } else { 2 };
                ndarray::Zip::from(&e2).and(&h).map_collect(|e, h| e / (1.0 - h).powi(p))
            }
        };
        let meat = gram(x, Some(w.view()));
        let mut v = self.xtx_inv.dot(&meat).dot(&self.xtx_inv);
        if hc == Hc::HC1 {
            v *= n as f64 / (n - k) as f64;
        }
        v
    }

    /// The standard error of coefficient `j`.
    pub fn se(&self, x: &Array2<f64>, hc: Hc, j: usize) -> f64 {
        self.cov(x, hc)[[j, j]].sqrt()
    }
}
