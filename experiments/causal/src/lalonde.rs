//! `causal.lalonde`: every estimator on the Dehejia–Wahba NSW experimental sample and on NSW
//! treated vs the CPS-1 comparison group, against the experimental benchmark; sensitivity curves.

use super::estimators::{self, Estimate, Overlap};
use super::frame::{Frame, Sample};
use super::ipm::{self, Bandwidth, Convergence, Smd};
use super::logistic::Logit;
use super::nuisance::{self, Options};
use super::basis::OutcomeModel;
use super::sensitivity::{self, Curve};
use super::{folds, plot, uniform};
use ndarray::{Array1, Array2};
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde::Serialize;
use std::collections::BTreeMap;

pub const NSW_CSV: &[u8] = include_bytes!("../../data/causal/nsw_mixtape.csv");
pub const CPS_CSV: &[u8] = include_bytes!("../../data/causal/cps_mixtape.csv");

/// The standard LaLonde covariates, in design order.
pub const COVARIATES: [&str; 12] = ["age", "age2", "educ", "educ2", "black", "hisp", "married", "nodegree", "re74k", "re75k", "u74", "u75"];

/// Builds the standard covariates from a mixtape table (earnings in thousands of dollars).
pub fn covariates(f: &Frame) -> Result<Array2<f64>, ExperimentError> {
    let col = |c: &str| f.numeric(c).map_err(|e| bad(e.to_string()));
    let (age, educ, re74, re75) = (col("age")?, col("educ")?, col("re74")?, col("re75")?);
    let cols: [Array1<f64>; 12] = [
        age.clone(),
        age.mapv(|a| a * a),
        educ.clone(),
        educ.mapv(|e| e * e),
        col("black")?,
        col("hisp")?,
        col("marr")?,
        col("nodegree")?,
        re74.mapv(|v| v / 1000.0),
        re75.mapv(|v| v / 1000.0),
        re74.mapv(|v| f64::from(u8::from(v == 0.0))),
        re75.mapv(|v| f64::from(u8::from(v == 0.0))),
    ];
    let mut x = Array2::zeros((f.rows(), cols.len()));
    for (j, c) in cols.iter().enumerate() {
        x.column_mut(j).assign(c);
    }
    Ok(x)
}

fn bad(why: String) -> ExperimentError {
    ExperimentError::BadInput { name: "lalonde data".into(), why }
}

fn names() -> Vec<String> {
    COVARIATES.iter().map(|s| s.to_string()).collect()
}

/// The NSW experimental sample (185 treated, 260 controls).
pub fn experimental() -> Result<Sample, ExperimentError> {
    let f = Frame::from_csv(NSW_CSV).map_err(|e| bad(e.to_string()))?;
    Sample::new(f.numeric("re78").map_err(|e| bad(e.to_string()))?, f.numeric("treat").map_err(|e| bad(e.to_string()))?, covariates(&f)?, names()).map_err(|e| bad(e.to_string()))
}

/// NSW treated rows first, then every CPS-1 row.
pub fn observational() -> Result<Sample, ExperimentError> {
    let nsw = experimental()?;
    let cps = Frame::from_csv(CPS_CSV).map_err(|e| bad(e.to_string()))?;
    let treated = nsw.arm_rows(1);
    let xc = covariates(&cps)?;
    let yc = cps.numeric("re78").map_err(|e| bad(e.to_string()))?;
    let zc = cps.numeric("treat").map_err(|e| bad(e.to_string()))?;
    let x = ndarray::concatenate![ndarray::Axis(0), nsw.x.select(ndarray::Axis(0), &treated), xc];
    let y = ndarray::concatenate![ndarray::Axis(0), nsw.y.select(ndarray::Axis(0), &treated), yc];
    let z = ndarray::concatenate![ndarray::Axis(0), nsw.z.select(ndarray::Axis(0), &treated), zc];
    Sample::new(y, z, x, names()).map_err(|e| bad(e.to_string()))
}

#[derive(Serialize)]
struct PropensityFit {
    coefficients: BTreeMap<String, f64>,
    loglik: f64,
    iterations: u32,
    ridge: f64,
}

#[derive(Serialize)]
struct SampleReport {
    n: usize,
    treated: usize,
    control: usize,
    propensity: PropensityFit,
    overlap: Overlap,
    estimates: Vec<Estimate>,
    sensitivity: Curve,
    ipm_convergence: Vec<(String, Convergence)>,
    balance: Vec<Smd>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    benchmark: Estimate,
    folds: usize,
    fold_rule: &'static str,
    samples: BTreeMap<&'static str, SampleReport>,
}

pub struct Lalonde;

/// Everything `causal.lalonde` and `causal.simulation` compute on one sample.
pub struct Settings {
    pub k: usize,
    pub opt: Options,
    pub shuffle: bool,
    pub grid: Vec<f64>,
    pub bw: Bandwidth,
    pub ipm_ridge: f64,
    pub ipm_tol: f64,
    pub ipm_max_iter: u32,
    pub model: OutcomeModel,
}

impl Settings {
    pub fn from_ctx(ctx: &RunCtx) -> Result<Settings, ExperimentError> {
        let p = &ctx.params;
        Ok(Settings {
            k: p.int("folds") as usize,
            opt: Options { ridge: p.float("ridge"), clip: p.float("clip") },
            shuffle: p.bool("shuffle_folds"),
            grid: sensitivity::gamma_grid(p.float("gamma_max"), p.int("gamma_points") as usize),
            bw: Bandwidth::parse(p.str("kernel_bandwidth")).map_err(ExperimentError::refused)?,
            ipm_ridge: p.float("ipm_ridge"),
            ipm_tol: p.float("ipm_tol"),
            ipm_max_iter: p.int("ipm_max_iter") as u32,
            model: match p.str("expectile_model") {
                "splines" => OutcomeModel::Splines(p.int("spline_knots") as usize),
                _ => OutcomeModel::Linear,
            },
        })
    }

    pub fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("folds", 5, 2, 50, "cross-fitting folds K; row i is in fold i mod K"),
            ParamSpec::bool("shuffle_folds", false, "shuffle fold labels with the `folds` random stream instead of i mod K"),
            ParamSpec::float("ridge", 0.0, 0.0, 1e6, "ridge penalty on the propensity slopes (0 = plain maximum likelihood)"),
            ParamSpec::float("clip", 0.0, 0.0, 0.49, "clip propensities to [clip, 1 - clip]; 0 = never (clipped rows are reported)"),
            ParamSpec::float("gamma_max", 3.0, 1.0, 100.0, "largest sensitivity parameter Γ on the curve"),
            ParamSpec::int("gamma_points", 9, 2, 100, "points on the Γ grid, evenly spaced in log Γ from 1"),
            ParamSpec::choice("kernel_bandwidth", "mean", &["mean", "1", "3", "10"], "Gaussian kernel bandwidth γ for IPM balancing; `mean` averages γ ∈ {1, 3, 10}"),
            ParamSpec::float("ipm_ridge", 1e-6, 0.0, 1.0, "ridge added to the IPM kernel's diagonal: makes the weights unique, moves MMD² by at most this"),
            ParamSpec::float("ipm_tol", 1e-6, 1e-12, 1e-1, "IPM solver stops once its duality gap proves MMD² is within this relative margin of the minimum"),
            ParamSpec::int("ipm_max_iter", 20_000, 1, 1_000_000, "IPM solver iteration cap (the convergence report says if it was hit)"),
            ParamSpec::choice("expectile_model", "linear", &["linear", "splines"], "model class of the sensitivity bounds' expectiles and mean: linear in the covariates, or plus a natural cubic spline of each continuous covariate"),
            ParamSpec::int("spline_knots", 4, 3, 10, "knots per spline (expectile_model=splines), at evenly spaced quantiles from 5% to 95%"),
        ]
    }
}

fn analyse(s: &Sample, st: &Settings, ctx: &RunCtx, ate_ipm: bool) -> Result<SampleReport, ExperimentError> {
    let mut rng = ctx.rng("folds");
    let fold_of = folds::assign(s.n(), st.k, if st.shuffle { Some(&mut rng) } else { None });
    let (full, logit, cf): (_, Logit, _) = nuisance::full_and_cross_fit(s, &fold_of, st.k, &st.opt)?;
    ctx.progress.advance(1);
    let mut est = vec![estimators::difference_in_means(s)];
    est.extend(estimators::ols_adjustment(s)?);
    est.extend(estimators::regression_adjustment(s)?);
    est.extend(estimators::ipw(s, &full.e));
    est.extend(estimators::aipw(s, &full, "full-sample nuisances"));
    est.extend(estimators::aipw(s, &cf, &format!("{}-fold cross-fitting", st.k)));
    est.extend(uniform::att(s, full.e.view(), "propensity score").0);
    let ipm = ipm::estimate(s, st.bw, st.ipm_ridge, st.ipm_tol, st.ipm_max_iter, ate_ipm)?;
    ctx.progress.advance(1);
    est.extend(ipm.estimates);
    let curve = sensitivity::curve(s, &cf, &fold_of, st.k, &st.grid, st.model)?;
    ctx.progress.advance(1);
    let overlap = estimators::overlap(s, &full);
    let mut warnings = overlap.warnings.clone();
    for (name, c) in &ipm.convergence {
        if !c.converged {
            warnings.push(format!("IPM weights ({name}) stopped after {} iterations with duality gap {:.3e} > tolerance {:.3e}; raise ipm_max_iter", c.iterations, c.gap, c.tolerance));
        }
    }
    for (name, arm) in s.constant_within_arm() {
        warnings.push(format!("covariate `{name}` is constant within arm {arm}"));
    }
    let design = super::design_names(&s.names);
    Ok(SampleReport {
        n: s.n(),
        treated: s.n1(),
        control: s.n() - s.n1(),
        propensity: PropensityFit { coefficients: design.into_iter().zip(logit.coef.iter().copied()).collect(), loglik: logit.loglik, iterations: logit.iterations, ridge: logit.ridge },
        overlap,
        estimates: est,
        sensitivity: curve,
        ipm_convergence: ipm.convergence,
        balance: ipm.balance,
        warnings,
    })
}

pub fn estimates_csv(out: &mut Outputs, name: &str, rows: &[(String, &Estimate)]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(sample, e)| vec![sample.clone(), format!("\"{}\"", e.estimator), e.estimand.into(), e.estimate.to_string(), e.se.to_string(), e.ci95[0].to_string(), e.ci95[1].to_string()])
        .collect();
    out.csv(name, &["sample", "estimator", "estimand", "estimate", "se", "ci95_low", "ci95_high"], &rows);
}

impl Experiment for Lalonde {
    fn name(&self) -> &'static str {
        "causal.lalonde"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Every causal estimator on NSW (experimental) and NSW vs CPS-1 (observational); sensitivity curves; summary.json, CSV tables, plotly figures"
    }
    fn params(&self) -> Vec<ParamSpec> {
        Settings::params()
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let st = Settings::from_ctx(ctx)?;
        ctx.progress.start("estimating (2 samples × nuisances, IPM weights, sensitivity curve)", 6);
        let nsw = experimental()?;
        let obs = observational()?;
        let benchmark = estimators::difference_in_means(&nsw);
        let mut samples = BTreeMap::new();
        samples.insert("nsw_experimental", analyse(&nsw, &st, ctx, true)?);
        // The observational ATE weights would balance 16k controls to the full sample; the ATT is the target here.
        samples.insert("nsw_vs_cps", analyse(&obs, &st, ctx, false)?);
        ctx.progress.finish();

        let mut out = Outputs::new();
        let all: Vec<(String, &Estimate)> = samples.iter().flat_map(|(k, r)| r.estimates.iter().map(move |e| (k.to_string(), e))).collect();
        estimates_csv(&mut out, "estimates.csv", &all);
        let fig = plot::forest("LaLonde: estimates with 95% CIs vs the experimental benchmark", &all, Some((benchmark.estimate, "NSW experimental difference in means")));
        out.bytes("estimates.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        for (k, r) in &samples {
            let fig = plot::sensitivity(&format!("Sensitivity of the ATE ({k}): bounds under odds ratio Γ"), &r.sensitivity);
            out.bytes(&format!("sensitivity_{k}.plotly.json"), MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        }
        let rows: Vec<Vec<String>> = samples
            .iter()
            .flat_map(|(k, r)| r.sensitivity.bounds.iter().map(move |b| vec![k.to_string(), b.gamma.to_string(), b.lower.to_string(), b.upper.to_string(), b.se_lower.to_string(), b.se_upper.to_string(), b.ci95[0].to_string(), b.ci95[1].to_string()]))
            .collect();
        out.csv("sensitivity.csv", &["sample", "gamma", "lower", "upper", "se_lower", "se_upper", "ci95_low", "ci95_high"], &rows);
        let rows: Vec<Vec<String>> = samples.iter().flat_map(|(k, r)| r.balance.iter().map(move |b| vec![k.to_string(), b.covariate.clone(), b.before.to_string(), b.after.to_string()])).collect();
        out.csv("balance.csv", &["sample", "covariate", "smd_before", "smd_after_ipm_att"], &rows);
        out.json("summary.json", &Summary { benchmark, folds: st.k, fold_rule: if st.shuffle { "shuffled (stream `folds`)" } else { "row i in fold i mod K" }, samples })?;
        Ok(out)
    }
}
