//! The standard estimators of the ATE and ATT, each with its standard error: difference in means,
//! OLS adjustment (HC0–HC3), separate-arm regression, IPW (Horvitz–Thompson, Hájek, odds), AIPW.

use super::frame::Sample;
use reprise_stats::linalg::mean_sd;
use super::nuisance::Nuisances;
use super::ols::{Hc, Ols};
use super::{design_names, FitError, Z95};
use ndarray::{Array1, Array2, Axis, Zip};
use serde::Serialize;

/// One estimate of one estimand.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub estimator: String,
    /// `ATE` or `ATT`.
    pub estimand: &'static str,
    pub estimate: f64,
    pub se: f64,
    pub ci95: [f64; 2],
}

impl Estimate {
    pub fn new(estimator: &str, estimand: &'static str, estimate: f64, se: f64) -> Estimate {
        Estimate { estimator: estimator.into(), estimand, estimate, se, ci95: [estimate - Z95 * se, estimate + Z95 * se] }
    }

    /// The estimate `mean(φ)` with standard error `sd(φ)/√n`, from per-row influence values.
    pub fn from_influence(estimator: &str, estimand: &'static str, phi: &Array1<f64>) -> Estimate {
        let (m, sd) = mean_sd(phi.view());
        Estimate::new(estimator, estimand, m, sd / (phi.len() as f64).sqrt())
    }

    /// `estimate` with standard error `sqrt(Σψ²)/n` from a mean-zero influence function ψ.
    fn from_centred(estimator: &str, estimand: &'static str, estimate: f64, psi: &Array1<f64>) -> Estimate {
        let n = psi.len() as f64;
        Estimate::new(estimator, estimand, estimate, psi.mapv(|v| v * v).sum().sqrt() / n)
    }
}

fn arm_mean(s: &Sample, a: f64) -> (f64, f64, f64) {
    let v: Array1<f64> = s.y.iter().zip(&s.z).filter(|(_, z)| **z == a).map(|(y, _)| *y).collect();
    let (m, sd) = mean_sd(v.view());
    (m, sd, v.len() as f64)
}

/// Ȳ₁ − Ȳ₀ with the Neyman standard error sqrt(s₁²/n₁ + s₀²/n₀).
pub fn difference_in_means(s: &Sample) -> Estimate {
    let (m1, s1, n1) = arm_mean(s, 1.0);
    let (m0, s0, n0) = arm_mean(s, 0.0);
    Estimate::new("difference in means", "ATE", m1 - m0, (s1 * s1 / n1 + s0 * s0 / n0).sqrt())
}

/// The coefficient on Z in OLS of y on (1, Z, X), with each sandwich standard error.
pub fn ols_adjustment(s: &Sample) -> Result<Vec<Estimate>, FitError> {
    let n = s.n();
    let mut d = Array2::ones((n, s.x.ncols() + 2));
    d.column_mut(1).assign(&s.z);
    d.slice_mut(ndarray::s![.., 2..]).assign(&s.x);
    let mut names = design_names(&s.names);
    names.insert(1, "treatment".into());
    let fit = Ols::fit(&d, s.y.view(), "the OLS adjustment regression", &names)?;
    Ok(Hc::ALL.iter().map(|&hc| Estimate::new(&format!("OLS adjustment ({})", hc.name()), "ATE", fit.coef[1], fit.se(&d, hc, 1))).collect())
}

/// Separate-arm regression adjustment: ATE = mean(m̂₁ − m̂₀) over all rows, ATT = mean over the
/// treated of Y − m̂₀. Standard errors from the influence function that includes the arms' OLS
/// estimation error.
pub fn regression_adjustment(s: &Sample) -> Result<[Estimate; 2], FitError> {
    let d = s.design();
    let names = design_names(&s.names);
    let n = s.n() as f64;
    let rows1 = s.arm_rows(1);
    let rows0 = s.arm_rows(0);
    let fit = |rows: &[usize], what| -> Result<(Ols, Array2<f64>, Array2<f64>), FitError> {
        let x = d.select(Axis(0), rows);
        let ols = Ols::fit(&x, s.y.select(Axis(0), rows).view(), what, &names)?;
        let inv = ols.xtx_inv().clone();
        Ok((ols, x, inv))
    };
    let (f1, x1, a1) = fit(&rows1, "the treated-arm outcome regression")?;
    let (f0, x0, a0) = fit(&rows0, "the control-arm outcome regression")?;
    let delta = &f1.coef - &f0.coef;
    let xbar = d.mean_axis(Axis(0)).expect("rows");
    let ate = xbar.dot(&delta);
    // ψᵢ = (xᵢ'δ − τ) + n·x̄'A₁⁻¹xᵢeᵢ (treated) − n·x̄'A₀⁻¹xᵢeᵢ (control), A_z = Σ_arm xx'.
    let mut psi = d.dot(&delta) - ate;
    let (g1, g0) = (a1.dot(&xbar), a0.dot(&xbar));
    for (t, &i) in rows1.iter().enumerate() {
        psi[i] += n * x1.row(t).dot(&g1) * f1.resid[t];
    }
    for (t, &i) in rows0.iter().enumerate() {
        psi[i] -= n * x0.row(t).dot(&g0) * f0.resid[t];
    }
    let ate_est = Estimate::from_centred("regression adjustment (separate arms)", "ATE", ate, &psi);
    let n1 = rows1.len() as f64;
    let x1bar = x1.mean_axis(Axis(0)).expect("treated rows");
    let gap: Array1<f64> = &s.y.select(Axis(0), &rows1) - &x1.dot(&f0.coef);
    let att = gap.sum() / n1;
    let mut psi = Array1::zeros(s.n());
    for (t, &i) in rows1.iter().enumerate() {
        psi[i] = gap[t] - att;
    }
    let h0 = a0.dot(&x1bar);
    for (t, &i) in rows0.iter().enumerate() {
        psi[i] = -n1 * x0.row(t).dot(&h0) * f0.resid[t];
    }
    // ψ above is on the n₁ scale; from_centred divides by n.
    psi *= n / n1;
    let att_est = Estimate::from_centred("regression adjustment (separate arms)", "ATT", att, &psi);
    Ok([ate_est, att_est])
}

/// Inverse propensity weighting: Horvitz–Thompson and Hájek ATE, odds-weighted ATT (Hájek and
/// Horvitz–Thompson). Plug-in standard errors that treat ê as known (conservative for the ATE).
pub fn ipw(s: &Sample, e: &Array1<f64>) -> Vec<Estimate> {
    let (y, z) = (&s.y, &s.z);
    let ht = Zip::from(y).and(z).and(e).map_collect(|&y, &z, &e| z * y / e - (1.0 - z) * y / (1.0 - e));
    let w1 = Zip::from(z).and(e).map_collect(|&z, &e| z / e);
    let w0 = Zip::from(z).and(e).map_collect(|&z, &e| (1.0 - z) / (1.0 - e));
    let mu1 = (&w1 * y).sum() / w1.sum();
    let mu0 = (&w0 * y).sum() / w0.sum();
    let (c1, c0) = (w1.mean().expect("rows"), w0.mean().expect("rows"));
    let hajek = Zip::from(y).and(&w1).and(&w0).map_collect(|&y, &a, &b| a * (y - mu1) / c1 - b * (y - mu0) / c0);
    let n = s.n() as f64;
    let p = s.n1() as f64 / n;
    let omega = Zip::from(z).and(e).map_collect(|&z, &e| (1.0 - z) * e / (1.0 - e));
    let ybar1 = (z * y).sum() / (p * n);
    let mu0w = (&omega * y).sum() / omega.sum();
    let att_h = ybar1 - mu0w;
    let phi_h = Zip::from(y).and(z).and(&omega).map_collect(|&y, &z, &w| (z * (y - ybar1) - w * (y - mu0w)) / p);
    let att_ht = ((z * y).sum() - (&omega * y).sum()) / (p * n);
    let phi_ht = Zip::from(y).and(z).and(&omega).map_collect(|&y, &z, &w| (z * y - w * y - z * att_ht) / p);
    vec![
        Estimate::from_influence("IPW (Horvitz–Thompson)", "ATE", &ht),
        sd_of("IPW (Hájek)", "ATE", mu1 - mu0, &hajek),
        sd_of("IPW odds weights (Hájek)", "ATT", att_h, &phi_h),
        sd_of("IPW odds weights (Horvitz–Thompson)", "ATT", att_ht, &phi_ht),
    ]
}

/// `estimate` with standard error sd(φ)/√n.
fn sd_of(name: &str, estimand: &'static str, estimate: f64, phi: &Array1<f64>) -> Estimate {
    let (_, sd) = mean_sd(phi.view());
    Estimate::new(name, estimand, estimate, sd / (phi.len() as f64).sqrt())
}

/// AIPW influence values for the ATE: φ = m̂₁ − m̂₀ + Z(Y − m̂₁)/ê − (1 − Z)(Y − m̂₀)/(1 − ê).
pub fn aipw_ate_phi(s: &Sample, nu: &Nuisances) -> Array1<f64> {
    let mut phi = Array1::zeros(s.n());
    for i in 0..s.n() {
        let (y, z, e) = (s.y[i], s.z[i], nu.e[i]);
        phi[i] = nu.m1[i] - nu.m0[i] + z * (y - nu.m1[i]) / e - (1.0 - z) * (y - nu.m0[i]) / (1.0 - e);
    }
    phi
}

/// AIPW for the ATE and the ATT (`label` says how the nuisances were fitted).
pub fn aipw(s: &Sample, nu: &Nuisances, label: &str) -> [Estimate; 2] {
    let ate = Estimate::from_influence(&format!("AIPW ({label})"), "ATE", &aipw_ate_phi(s, nu));
    let n = s.n() as f64;
    let p = s.n1() as f64 / n;
    let r = Zip::from(&s.y).and(&s.z).and(&nu.e).and(&nu.m0).map_collect(|&y, &z, &e, &m0| z * (y - m0) - (1.0 - z) * e / (1.0 - e) * (y - m0));
    let att = r.sum() / (p * n);
    let phi = Zip::from(&r).and(&s.z).map_collect(|&r, &z| (r - z * att) / p);
    [ate, sd_of(&format!("AIPW ({label})"), "ATT", att, &phi)]
}

/// Overlap diagnostics a careful user reads before trusting weights.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    pub propensity_treated: [f64; 2],
    pub propensity_control: [f64; 2],
    /// Kish effective sample sizes (Σw)²/Σw² of the ATE weights per arm and of the ATT odds weights.
    pub ess_treated_ate: f64,
    pub ess_control_ate: f64,
    pub ess_control_att: f64,
    /// Rows with ê < 1e-3 or ê > 1 − 1e-3.
    pub extreme: usize,
    pub clipped: usize,
    pub warnings: Vec<String>,
}

fn ess(w: impl Iterator<Item = f64>) -> f64 {
    let (s, s2) = w.fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    s * s / s2
}

pub fn overlap(s: &Sample, nu: &Nuisances) -> Overlap {
    let range = |a: f64| {
        s.z.iter().zip(&nu.e).filter(|(z, _)| **z == a).fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], (_, e)| [lo.min(*e), hi.max(*e)])
    };
    let arm = |a: f64| s.z.iter().zip(&nu.e).filter(move |(z, _)| **z == a).map(|(_, e)| *e);
    let extreme = nu.e.iter().filter(|e| **e < 1e-3 || **e > 1.0 - 1e-3).count();
    let mut warnings = Vec::new();
    if extreme > 0 {
        warnings.push(format!("overlap: {extreme} rows have an estimated propensity below 1e-3 or above 1 − 1e-3; IPW and AIPW weights there are extreme"));
    }
    if nu.clipped > 0 {
        warnings.push(format!("{} propensities were clipped (as asked)", nu.clipped));
    }
    Overlap {
        propensity_treated: range(1.0),
        propensity_control: range(0.0),
        ess_treated_ate: ess(arm(1.0).map(|e| 1.0 / e)),
        ess_control_ate: ess(arm(0.0).map(|e| 1.0 / (1.0 - e))),
        ess_control_att: ess(arm(0.0).map(|e| e / (1.0 - e))),
        extreme,
        clipped: nu.clipped,
        warnings,
    }
}
