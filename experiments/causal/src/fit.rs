//! AIPW for people: a builder with folds, clipping and a ridge penalty ([`Aipw`]) whose fit
//! ([`AipwFit`]) prints an estimate table with overlap diagnostics, and sensitivity curves over Γ.

use super::basis::OutcomeModel;
use super::estimators::{self, Estimate, Overlap};
use super::frame::Sample;
use super::nuisance::{self, Nuisances, Options};
use super::sensitivity::{self, Curve};
use super::{FitError, folds, plot};
use reprise_stats::display::{escape_html, evcxr_bundle, html_table};
use reprise_stats::normal::two_sided_p;
use serde::Serialize;

/// The NSW experimental sample of Dehejia & Wahba (185 treated, 260 controls) with the standard
/// LaLonde covariates: the data of `causal.lalonde`.
///
/// ```
/// let nsw = reprise_causal::nsw();
/// assert_eq!((nsw.n(), nsw.n1()), (445, 185));
/// ```
pub fn nsw() -> Sample {
    super::lalonde::experimental().expect("the shipped NSW data are a valid sample")
}

/// NSW's treated rows against the 15,992 CPS-1 comparison rows (the observational sample).
pub fn nsw_cps() -> Sample {
    super::lalonde::observational().expect("the shipped NSW and CPS data are a valid sample")
}

/// The doubly robust (augmented IPW) estimate of the ATE and ATT with cross-fitted nuisances: a
/// logistic propensity and per-arm OLS outcome models, row i in fold i mod K (as `causal.lalonde`).
///
/// ```
/// use reprise_causal::{Aipw, nsw};
/// let fit = Aipw::new(&nsw()).folds(5).fit().unwrap();
/// assert!((fit.ate.estimate - 1600.0).abs() < 400.0);   // the experimental benchmark is $1,794
/// assert!(fit.to_text().contains("point_estimate"));
/// let err = Aipw::new(&nsw()).clip(0.7).fit().unwrap_err();
/// assert!(err.to_string().contains("clip"));
/// ```
#[derive(Debug, Clone)]
pub struct Aipw {
    sample: Sample,
    folds: usize,
    options: Options,
}

impl Aipw {
    /// AIPW on `sample` with 5 folds, no clipping and the plain logistic MLE.
    pub fn new(sample: &Sample) -> Aipw {
        Aipw { sample: sample.clone(), folds: 5, options: Options::default() }
    }

    /// Cross-fitting folds K (2 ≤ K ≤ n).
    pub fn folds(mut self, k: usize) -> Aipw {
        self.folds = k;
        self
    }

    /// Clip propensities to [c, 1 − c] (0 ≤ c < 0.5; 0, the default, never clips). Clipped rows are counted.
    pub fn clip(mut self, c: f64) -> Aipw {
        self.options.clip = c;
        self
    }

    /// Ridge penalty on the propensity slopes (0, the default, is the plain MLE).
    pub fn ridge(mut self, r: f64) -> Aipw {
        self.options.ridge = r;
        self
    }

    /// The estimates; an error names the option, the column or the fold rule at fault.
    pub fn fit(&self) -> Result<AipwFit, FitError> {
        let o = &self.options;
        if !(0.0..0.5).contains(&o.clip) {
            return Err(FitError::Option(format!("clip = {} must be in [0, 0.5): propensities are clipped to [clip, 1 − clip]", o.clip)));
        }
        if !(o.ridge >= 0.0 && o.ridge.is_finite()) {
            return Err(FitError::Option(format!("ridge = {} must be a finite number ≥ 0", o.ridge)));
        }
        let s = &self.sample;
        let fold_of = folds::assign(s.n(), self.folds, None);
        let (full, _, cf) = nuisance::full_and_cross_fit(s, &fold_of, self.folds, o)?;
        let [ate, att] = estimators::aipw(s, &cf, &format!("{}-fold cross-fitting", self.folds));
        let overlap = estimators::overlap(s, &full);
        Ok(AipwFit { ate, att, overlap, folds: self.folds, sample: s.clone(), cross_fitted: cf, fold_of })
    }
}

/// A fitted AIPW estimate. In a notebook it shows as an estimate table (estimate, se, z, p, 95% CI)
/// with the overlap diagnostics, as text and HTML, and its numbers as JSON.
#[derive(Clone)]
pub struct AipwFit {
    pub ate: Estimate,
    pub att: Estimate,
    /// Propensity ranges per arm, effective sample sizes, extreme and clipped rows.
    pub overlap: Overlap,
    pub folds: usize,
    sample: Sample,
    cross_fitted: Nuisances,
    fold_of: Vec<usize>,
}

#[derive(Serialize)]
struct Row<'a> {
    estimand: &'a str,
    point_estimate: f64,
    stderr: f64,
    zstat: f64,
    pvalue: f64,
    ci_lower: f64,
    ci_upper: f64,
}

fn row(e: &Estimate) -> Row<'_> {
    let z = e.estimate / e.se;
    Row { estimand: e.estimand, point_estimate: e.estimate, stderr: e.se, zstat: z, pvalue: two_sided_p(z), ci_lower: e.ci95[0], ci_upper: e.ci95[1] }
}

impl AipwFit {
    fn rows(&self) -> [Row<'_>; 2] {
        [row(&self.ate), row(&self.att)]
    }

    fn heading(&self) -> String {
        format!("AIPW (doubly robust) estimates, {}-fold cross-fitting; {}", self.folds, self.sample.describe())
    }

    /// The estimate table (laid out as EconML's population summary) and the overlap diagnostics.
    pub fn to_text(&self) -> String {
        let rule = "=".repeat(78) + "\n";
        let mut s = format!("{}\n{:^78}\n{rule}", self.heading(), "Population summary of results");
        s += &format!("{:<9}{:>15}{:>11}{:>9}{:>9}{:>12}{:>12}\n", "estimand", "point_estimate", "stderr", "zstat", "pvalue", "ci_lower", "ci_upper");
        s += &"-".repeat(78);
        s += "\n";
        for r in self.rows() {
            s += &format!("{:<9}{:>15.3}{:>11.3}{:>9.3}{:>9.3}{:>12.3}{:>12.3}\n", r.estimand, r.point_estimate, r.stderr, r.zstat, r.pvalue, r.ci_lower, r.ci_upper);
        }
        s += &rule;
        let o = &self.overlap;
        s += "Overlap (full-sample propensity ê)\n";
        s += &format!("  ê range, treated         [{:.4}, {:.4}]\n", o.propensity_treated[0], o.propensity_treated[1]);
        s += &format!("  ê range, control         [{:.4}, {:.4}]\n", o.propensity_control[0], o.propensity_control[1]);
        s += &format!("  effective sample size    treated (ATE) {:.1}, control (ATE) {:.1}, control (ATT) {:.1}\n", o.ess_treated_ate, o.ess_control_ate, o.ess_control_att);
        s += &format!("  extreme ê (< 1e-3 or > 1 − 1e-3): {}; clipped: {}\n", o.extreme, o.clipped);
        for w in &o.warnings {
            s += &format!("note: {w}\n");
        }
        s.trim_end().to_string()
    }

    /// The same as HTML tables.
    pub fn to_html(&self) -> String {
        let f = |v: f64| format!("{v:.4}");
        let rows: Vec<Vec<String>> = self.rows().iter().map(|r| vec![r.estimand.to_string(), f(r.point_estimate), f(r.stderr), f(r.zstat), f(r.pvalue), f(r.ci_lower), f(r.ci_upper)]).collect();
        let o = &self.overlap;
        let diag = vec![
            vec!["ê range, treated".into(), format!("[{}, {}]", f(o.propensity_treated[0]), f(o.propensity_treated[1]))],
            vec!["ê range, control".into(), format!("[{}, {}]", f(o.propensity_control[0]), f(o.propensity_control[1]))],
            vec!["ESS treated (ATE)".into(), format!("{:.1}", o.ess_treated_ate)],
            vec!["ESS control (ATE)".into(), format!("{:.1}", o.ess_control_ate)],
            vec!["ESS control (ATT)".into(), format!("{:.1}", o.ess_control_att)],
            vec!["extreme / clipped rows".into(), format!("{} / {}", o.extreme, o.clipped)],
        ];
        let mut h = format!("<p><b>{}</b></p>", escape_html(&self.heading()));
        h += &html_table(&["estimand", "point_estimate", "stderr", "zstat", "pvalue", "ci_lower", "ci_upper"], &rows);
        h += &html_table(&["overlap", ""], &diag);
        for w in &o.warnings {
            h += &format!("<p>note: {}</p>", escape_html(w));
        }
        h
    }

    /// The numbers: both rows with z and p, the overlap diagnostics, the fold count.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "folds": self.folds, "n": self.sample.n(), "treated": self.sample.n1(), "estimates": self.rows(), "overlap": self.overlap })
    }

    /// evcxr's display protocol: the table as text and HTML, and the numbers as JSON.
    pub fn evcxr_display(&self) {
        evcxr_bundle(&[("text/plain", &self.to_text()), ("text/html", &self.to_html()), ("application/json", &self.to_json().to_string())]);
    }

    /// Bounds on the ATE when unobserved confounding may change the odds of treatment by up to Γ,
    /// on `points` values of Γ from 1 to `max_gamma` (log-spaced), with Γ*, the smallest Γ whose
    /// interval covers zero. Uses this fit's cross-fitted nuisances and folds.
    ///
    /// ```
    /// let fit = reprise_causal::Aipw::new(&reprise_causal::nsw()).fit().unwrap();
    /// let s = fit.sensitivity(4.0, 5).unwrap();
    /// assert_eq!(s.curve.bounds.len(), 5);
    /// assert!(s.curve.bounds[0].lower <= s.curve.bounds[0].upper);
    /// ```
    pub fn sensitivity(&self, max_gamma: f64, points: usize) -> Result<Sensitivity, FitError> {
        if !(max_gamma > 1.0 && max_gamma.is_finite()) || points < 2 {
            return Err(FitError::Option(format!("sensitivity over Γ ∈ [1, {max_gamma}] at {points} points: give a largest Γ above 1 and at least 2 points")));
        }
        let grid = sensitivity::gamma_grid(max_gamma, points);
        let curve = sensitivity::curve(&self.sample, &self.cross_fitted, &self.fold_of, self.folds, &grid, OutcomeModel::Linear)?;
        Ok(Sensitivity { curve })
    }
}

impl std::fmt::Debug for AipwFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AipwFit").field("ate", &self.ate).field("att", &self.att).field("folds", &self.folds).finish_non_exhaustive()
    }
}

/// A sensitivity curve: shows as a table of bounds over Γ and plots itself.
#[derive(Debug, Clone)]
pub struct Sensitivity {
    pub curve: Curve,
}

impl Sensitivity {
    /// Γ, the bounds and their 95% interval, one line each, then Γ*.
    pub fn to_text(&self) -> String {
        let mut s = format!("{:>8}{:>12}{:>12}{:>26}\n", "Γ", "lower", "upper", "95% CI of the set");
        for b in &self.curve.bounds {
            s += &format!("{:>8.3}{:>12.2}{:>12.2}{:>26}\n", b.gamma, b.lower, b.upper, format!("[{:.2}, {:.2}]", b.ci95[0], b.ci95[1]));
        }
        s += &match self.curve.gamma_star {
            Some(g) => format!("Γ* = {g:.4}: the smallest Γ whose interval covers 0"),
            None => "no Γ on the grid gives an interval that covers 0".into(),
        };
        s
    }

    /// The bounds against Γ on a log axis, Γ* marked (a `plotly` figure).
    pub fn plot(&self) -> plotly::Plot {
        plot::sensitivity("Sensitivity of the ATE: bounds under odds ratio Γ", &self.curve)
    }

    /// evcxr's display protocol: the figure, with the table as its text.
    pub fn evcxr_display(&self) {
        evcxr_bundle(&[("text/plain", &self.to_text()), ("application/vnd.plotly.v1+json", &self.plot().to_json())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nsw_table_matches_the_lalonde_experiments_cross_fitted_row() {
        let fit = Aipw::new(&nsw()).fit().unwrap();
        let text = fit.to_text();
        println!("{text}");
        let s = nsw();
        let fold_of = folds::assign(s.n(), 5, None);
        let (_, _, cf) = nuisance::full_and_cross_fit(&s, &fold_of, 5, &Options::default()).unwrap();
        let [ate, _] = estimators::aipw(&s, &cf, "5-fold cross-fitting");
        assert_eq!((fit.ate.estimate, fit.ate.se), (ate.estimate, ate.se));
        for want in ["Population summary of results", "point_estimate", "ATE ", "ATT ", "effective sample size", "extreme ê"] {
            assert!(text.contains(want), "{want} missing");
        }
        assert_eq!(fit.to_json()["estimates"][0]["point_estimate"].as_f64(), Some(ate.estimate));
        let e = Aipw::new(&s).folds(1).fit().unwrap_err().to_string();
        assert!(e.contains("choose 2 ≤ K"), "{e}");
        let e = Aipw::new(&s).ridge(-1.0).fit().unwrap_err().to_string();
        assert!(e.contains("ridge = -1"), "{e}");
        let sens = fit.sensitivity(3.0, 4).unwrap();
        println!("{}", sens.to_text());
        assert!(sens.plot().to_json().contains("upper bound"));
        assert!(fit.sensitivity(0.5, 4).unwrap_err().to_string().contains("largest Γ above 1"));
    }
}
