//! `causal.simulation`: a Kang–Schafer study. Latent Z ~ N(0, I₄), Y = 210 + 27.4Z₁ + 13.7(Z₂ + Z₃ +
//! Z₄) + ε, P(T = 1 | Z) = expit(−Z₁ + 0.5Z₂ − 0.25Z₃ − 0.1Z₄); the analyst sees either Z (models
//! correct) or X = (e^{Z₁/2}, Z₂/(1 + e^{Z₁}) + 10, (Z₁Z₃/25 + 0.6)³, (Z₂ + Z₄ + 20)²) (misspecified).
//! Y does not depend on T, so the ATE and ATT are 0: bias, RMSE and CI coverage of every estimator.

use super::estimators::{self, Estimate};
use super::frame::Sample;
use super::ipm::{self, Bandwidth};
use super::logistic::sigmoid;
use super::nuisance::{self, Nuisances, Options};
use super::{folds, uniform};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde::Serialize;
use serde_json::json;

/// What the analyst's models see.
pub const SCENARIOS: [&str; 4] = ["both correct", "propensity correct, outcome wrong", "propensity wrong, outcome correct", "both wrong"];

/// One replication's data: latent covariates, observed transforms, treatment, outcome.
pub fn draw(rng: &mut impl Rng, n: usize) -> (Array2<f64>, Array2<f64>, Array1<f64>, Array1<f64>) {
    let mut z = Array2::zeros((n, 4));
    let (mut x, mut t, mut y) = (Array2::zeros((n, 4)), Array1::zeros(n), Array1::zeros(n));
    for i in 0..n {
        let zi: [f64; 4] = std::array::from_fn(|_| rng.sample(StandardNormal));
        let eps: f64 = rng.sample(StandardNormal);
        let u: f64 = rng.random();
        for j in 0..4 {
            z[[i, j]] = zi[j];
        }
        x[[i, 0]] = (zi[0] / 2.0).exp();
        x[[i, 1]] = zi[1] / (1.0 + zi[0].exp()) + 10.0;
        x[[i, 2]] = (zi[0] * zi[2] / 25.0 + 0.6).powi(3);
        x[[i, 3]] = (zi[1] + zi[3] + 20.0).powi(2);
        t[i] = f64::from(u8::from(u < sigmoid(-zi[0] + 0.5 * zi[1] - 0.25 * zi[2] - 0.1 * zi[3])));
        y[i] = 210.0 + 27.4 * zi[0] + 13.7 * (zi[1] + zi[2] + zi[3]) + eps;
    }
    (z, x, t, y)
}

struct Setup {
    n: usize,
    k: usize,
    ipm: bool,
    bw: Bandwidth,
    ridge: f64,
    tol: f64,
}

/// Every estimator under every scenario for one replication, in a fixed order.
fn replicate(ctx: &RunCtx, rep: u64, st: &Setup) -> Result<Vec<(usize, Estimate)>, ExperimentError> {
    let mut rng = ctx.rng_at("replication", rep);
    let (z, x, t, y) = draw(&mut rng, st.n);
    let names: Vec<String> = (1..=4).map(|j| format!("v{j}")).collect();
    let correct = Sample::new(y.clone(), t.clone(), z, names.clone()).map_err(|e| ExperimentError::Failed(format!("replication {rep}: {e}")))?;
    let wrong = Sample::new(y, t, x, names).map_err(|e| ExperimentError::Failed(format!("replication {rep}: {e}")))?;
    let opt = Options::default();
    let fold_of = folds::assign(st.n, st.k, None);
    let mut out = Vec::new();
    let mut fits = Vec::new();
    for (s, scenario) in [(&correct, 0), (&wrong, 3)] {
        let (full, logit) = nuisance::full(s, &opt).map_err(|e| ExperimentError::Failed(format!("replication {rep}, {}: {e}", SCENARIOS[scenario])))?;
        let cf = nuisance::cross_fit(s, &fold_of, st.k, &opt, Some(&logit.coef))?;
        let mut est = vec![estimators::difference_in_means(s)];
        est.extend(estimators::ols_adjustment(s)?.into_iter().filter(|e| e.estimator.ends_with("(HC2)")));
        est.extend(estimators::regression_adjustment(s)?);
        est.extend(estimators::ipw(s, &full.e));
        est.extend(estimators::aipw(s, &full, "full-sample nuisances"));
        est.extend(estimators::aipw(s, &cf, "cross-fitted"));
        est.extend(uniform::att(s, full.e.view(), "propensity score").0);
        if st.ipm {
            est.extend(ipm::estimate(s, st.bw, st.ridge, st.tol, 100_000, false)?.estimates);
        }
        out.extend(est.into_iter().map(|e| (scenario, e)));
        fits.push((full, cf));
    }
    // The mixed scenarios pair one model's propensity with the other's outcome regressions.
    for (scenario, e_from, m_from) in [(1, 0, 1), (2, 1, 0)] {
        for (label, pick) in [("full-sample nuisances", 0), ("cross-fitted", 1)] {
            let get = |i: usize| if pick == 0 { &fits[i].0 } else { &fits[i].1 };
            let nu = Nuisances { e: get(e_from).e.clone(), m1: get(m_from).m1.clone(), m0: get(m_from).m0.clone(), clipped: 0 };
            out.extend(estimators::aipw(&correct, &nu, label).into_iter().map(|e| (scenario, e)));
        }
    }
    Ok(out)
}

/// Bias, RMSE and coverage of one estimator under one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: &'static str,
    pub estimator: String,
    pub estimand: &'static str,
    pub bias: f64,
    pub rmse: f64,
    pub sd: f64,
    pub mean_se: f64,
    pub coverage95: f64,
}

pub struct Simulation;

impl Experiment for Simulation {
    fn name(&self) -> &'static str {
        "causal.simulation"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Kang–Schafer study: bias, RMSE and 95% CI coverage of every estimator with correct and misspecified models; table and figure"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("reps", 1000, 1, 1_000_000, "replications (each draws from stream `replication/<i>`)"),
            ParamSpec::int("n", 1000, 50, 1_000_000, "rows per replication"),
            ParamSpec::int("folds", 5, 2, 50, "cross-fitting folds (row i in fold i mod K)"),
            ParamSpec::bool("ipm", true, "include IPM-MMD balancing (ATT, plain and OLS-augmented)"),
            ParamSpec::choice("kernel_bandwidth", "mean", &["mean", "1", "3", "10"], "Gaussian kernel bandwidth γ for IPM balancing"),
            ParamSpec::float("ipm_ridge", 1e-6, 0.0, 1.0, "ridge on the IPM kernel diagonal"),
            ParamSpec::float("ipm_tol", 1e-6, 1e-12, 1e-1, "IPM duality-gap tolerance relative to the objective"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let st = Setup {
            n: p.int("n") as usize,
            k: p.int("folds") as usize,
            ipm: p.bool("ipm"),
            bw: Bandwidth::parse(p.str("kernel_bandwidth")).map_err(ExperimentError::Failed)?,
            ridge: p.float("ipm_ridge"),
            tol: p.float("ipm_tol"),
        };
        let reps = p.int("reps") as u64;
        ctx.progress.start("replications", reps);
        let all: Vec<Vec<(usize, Estimate)>> = (0..reps)
            .into_par_iter()
            .map(|r| {
                let v = replicate(ctx, r, &st);
                ctx.progress.advance(1);
                v
            })
            .collect::<Result<_, _>>()?;
        ctx.progress.finish();
        let cells = all[0].len();
        let mut rows = Vec::with_capacity(cells);
        let mut raw = Vec::with_capacity(cells * reps as usize * 2);
        for c in 0..cells {
            let (scenario, first) = &all[0][c];
            let est: Vec<f64> = all.iter().map(|r| r[c].1.estimate).collect();
            let se: Vec<f64> = all.iter().map(|r| r[c].1.se).collect();
            let covered = all.iter().filter(|r| r[c].1.ci95[0] <= 0.0 && 0.0 <= r[c].1.ci95[1]).count();
            let m = est.len() as f64;
            let bias = est.iter().sum::<f64>() / m;
            let rmse = (est.iter().map(|e| e * e).sum::<f64>() / m).sqrt();
            let sd = (est.iter().map(|e| (e - bias) * (e - bias)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
            rows.push(Row { scenario: SCENARIOS[*scenario], estimator: first.estimator.clone(), estimand: first.estimand, bias, rmse, sd, mean_se: se.iter().sum::<f64>() / m, coverage95: covered as f64 / m });
            for (e, s) in est.iter().zip(&se) {
                raw.push(*e);
                raw.push(*s);
            }
        }
        let mut out = Outputs::new();
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| vec![format!("\"{}\"", r.scenario), format!("\"{}\"", r.estimator), r.estimand.into(), r.bias.to_string(), r.rmse.to_string(), r.sd.to_string(), r.mean_se.to_string(), r.coverage95.to_string()])
            .collect();
        out.csv("results.csv", &["scenario", "estimator", "estimand", "bias", "rmse", "sd", "mean_se", "coverage95"], &table);
        out.npy("estimates.npy", &[cells, reps as usize, 2], &raw);
        out.bytes("rmse.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&figure(&rows))?);
        out.json("summary.json", &json!({"truth": {"ATE": 0.0, "ATT": 0.0}, "reps": reps, "n": st.n, "scenarios": SCENARIOS, "results": rows, "estimates_npy": "cell × replication × (estimate, se), cells in results.csv order"}))?;
        Ok(out)
    }
}

/// RMSE of each estimator, one bar group per scenario.
fn figure(rows: &[Row]) -> serde_json::Value {
    let data: Vec<serde_json::Value> = SCENARIOS
        .iter()
        .map(|sc| {
            let r: Vec<&Row> = rows.iter().filter(|r| r.scenario == *sc).collect();
            json!({"type": "bar", "orientation": "h", "name": sc,
                   "y": r.iter().map(|r| format!("{} {}", r.estimator, r.estimand)).collect::<Vec<_>>(),
                   "x": r.iter().map(|r| r.rmse).collect::<Vec<_>>(),
                   "customdata": r.iter().map(|r| [r.bias, r.coverage95]).collect::<Vec<_>>(),
                   "hovertemplate": "RMSE %{x:.3f}<br>bias %{customdata[0]:.3f}<br>coverage %{customdata[1]:.3f}"})
        })
        .collect();
    json!({"data": data, "layout": {"title": {"text": "Kang–Schafer: RMSE by estimator and model specification (truth 0)"}, "barmode": "group", "xaxis": {"title": {"text": "RMSE"}, "type": "log"}, "yaxis": {"automargin": true, "autorange": "reversed"}, "height": 900}})
}
