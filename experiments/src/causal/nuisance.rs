//! Nuisance models shared by the estimators: the propensity e(x) (logistic) and the per-arm outcome
//! regressions m₁, m₀ (OLS), fitted on the whole sample or cross-fitted over folds.

use super::folds;
use super::frame::Sample;
use super::logistic::Logit;
use super::ols::Ols;
use super::{design_names, FitError};
use ndarray::{Array1, Array2};
use rayon::prelude::*;

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

/// Models fitted on one set of rows.
struct Models {
    logit: Logit,
    arm1: Ols,
    arm0: Ols,
}

fn rows_of(a: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    crate::linalg::take_rows(a, rows)
}

/// Fits e, m₁, m₀ on `train` (`None`: every row).
fn fit_models(s: &Sample, d: &Array2<f64>, train: Option<&[usize]>, opt: &Options, start: Option<&Array1<f64>>) -> Result<Models, FitError> {
    let names = design_names(&s.names);
    let logit = Logit::fit_rows(d, train, s.z.view(), opt.ridge, start, &names)?;
    let arm = |a: f64, what: &str| -> Result<Ols, FitError> {
        let rows: Vec<usize> = match train {
            Some(t) => t.iter().copied().filter(|&i| s.z[i] == a).collect(),
            None => (0..s.n()).filter(|&i| s.z[i] == a).collect(),
        };
        Ols::fit_rows(d, &rows, s.y.view(), what, &names)
    };
    Ok(Models { logit, arm1: arm(1.0, "the treated-arm outcome regression")?, arm0: arm(0.0, "the control-arm outcome regression")? })
}

fn clip(e: &mut Array1<f64>, c: f64) -> usize {
    if c <= 0.0 {
        return 0;
    }
    let mut n = 0;
    e.mapv_inplace(|p| {
        let q = p.clamp(c, 1.0 - c);
        n += usize::from(q != p);
        q
    });
    n
}

/// Nuisances fitted once on the whole sample, and the propensity fit itself.
pub fn full(s: &Sample, opt: &Options) -> Result<(Nuisances, Logit), FitError> {
    let d = s.design();
    let m = fit_models(s, &d, None, opt, None)?;
    let mut e = m.logit.predict(&d);
    let clipped = clip(&mut e, opt.clip);
    Ok((Nuisances { e, m1: m.arm1.predict(&d), m0: m.arm0.predict(&d), clipped }, m.logit))
}

/// Cross-fitted nuisances: row i's predictions come from models fitted on the other folds.
/// Folds run in parallel; each writes only its own rows, so the result does not depend on threads.
pub fn cross_fit(s: &Sample, fold_of: &[usize], k: usize, opt: &Options, start: Option<&Array1<f64>>) -> Result<Nuisances, FitError> {
    let d = s.design();
    let parts: Vec<(Vec<usize>, Models)> = (0..k)
        .into_par_iter()
        .map(|f| {
            let (test, train) = folds::split(fold_of, f);
            fit_models(s, &d, Some(&train), opt, start).map(|m| (test, m))
        })
        .collect::<Result<_, _>>()?;
    let n = s.n();
    let (mut e, mut m1, mut m0) = (Array1::zeros(n), Array1::zeros(n), Array1::zeros(n));
    for (test, m) in &parts {
        let dt = rows_of(&d, test);
        let (pe, p1, p0) = (m.logit.predict(&dt), m.arm1.predict(&dt), m.arm0.predict(&dt));
        for (t, &i) in test.iter().enumerate() {
            (e[i], m1[i], m0[i]) = (pe[t], p1[t], p0[t]);
        }
    }
    let clipped = clip(&mut e, opt.clip);
    Ok(Nuisances { e, m1, m0, clipped })
}
