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
use super::Z95;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx, SweepCell};
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
        let (full, _, cf) = nuisance::full_and_cross_fit(s, &fold_of, st.k, &opt).map_err(|e| ExperimentError::Failed(format!("replication {rep}, {}: {e}", SCENARIOS[scenario])))?;
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
            ParamSpec::int("first_rep", 0, 0, 1_000_000_000, "index of the first replication (a sweep splits replications: --grid first_rep=0,R,…)"),
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
            bw: Bandwidth::parse(p.str("kernel_bandwidth")).map_err(ExperimentError::refused)?,
            ridge: p.float("ipm_ridge"),
            tol: p.float("ipm_tol"),
        };
        let reps = p.int("reps") as u64;
        let first = p.int("first_rep") as u64;
        ctx.progress.start("replications", reps);
        let all: Vec<Vec<(usize, Estimate)>> = (first..first + reps)
            .into_par_iter()
            .map(|r| {
                let v = replicate(ctx, r, &st);
                ctx.progress.advance(1);
                v
            })
            .collect::<Result<_, _>>()?;
        ctx.progress.finish();
        let labels: Vec<Label> = all[0].iter().map(|(sc, e)| Label { scenario: *sc, estimator: e.estimator.clone(), estimand: e.estimand }).collect();
        let values: Vec<Vec<(f64, f64)>> = (0..labels.len()).map(|c| all.iter().map(|r| (r[c].1.estimate, r[c].1.se)).collect()).collect();
        tables(&labels, &values, st.n, first)
    }

    /// A sweep that split the replications into cells (`--grid first_rep=0,R,2R,… -p reps=R`, one
    /// seed) gets the table of all of them, bit for bit the one a single run of every
    /// replication gives.
    fn aggregate(&self, cells: &[SweepCell]) -> Result<Option<Outputs>, ExperimentError> {
        if cells.iter().all(|c| c.params.int("first_rep") == 0) {
            return Ok(None);
        }
        let bad = |why: String| {
            ExperimentError::refused(format!(
                "causal.simulation over a sweep makes one table from cells that split the replications (one seed, -p reps=R --grid first_rep=0,R,2R,…): {why}"
            ))
        };
        let head = &cells[0];
        let same = |c: &SweepCell| c.seed == head.seed && c.params.0.iter().all(|(k, v)| k == "first_rep" || head.params.0.get(k) == Some(v));
        if !cells.iter().all(same) {
            return Err(bad("its cells differ in seed or in a parameter other than first_rep".into()));
        }
        let mut order: Vec<&SweepCell> = cells.iter().collect();
        order.sort_by_key(|c| c.params.int("first_rep"));
        let mut labels: Option<Vec<Label>> = None;
        let mut values: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut next = 0i64;
        for c in order {
            let (first, reps) = (c.params.int("first_rep"), c.params.int("reps"));
            if first != next {
                return Err(bad(format!("replications {next}.. are {} (the next cell starts at {first})", if first > next { "missing" } else { "covered twice" })));
            }
            next += reps;
            let (l, v) = cell_values(c).map_err(|why| bad(format!("cell first_rep={first}: {why}")))?;
            match &labels {
                None => {
                    values = v;
                    labels = Some(l);
                }
                Some(known) if *known == l => values.iter_mut().zip(v).for_each(|(all, more)| all.extend(more)),
                Some(_) => return Err(bad(format!("cell first_rep={first} has other table rows than the first cell"))),
            }
        }
        tables(&labels.expect("at least one cell"), &values, head.params.int("n") as usize, 0).map(Some)
    }
}

/// One row of the table, before its figures.
#[derive(Clone, Debug, PartialEq)]
struct Label {
    scenario: usize,
    estimator: String,
    estimand: &'static str,
}

/// A cell's table rows and, per row, its replications' (estimate, se), from its stored outputs.
fn cell_values(c: &SweepCell) -> Result<(Vec<Label>, Vec<Vec<(f64, f64)>>), String> {
    let summary: serde_json::Value = serde_json::from_slice(c.outputs.get("summary.json").ok_or("no summary.json")?).map_err(|e| format!("summary.json: {e}"))?;
    let rows = summary["results"].as_array().ok_or("summary.json has no results")?;
    let labels = rows
        .iter()
        .map(|r| {
            let scenario = SCENARIOS.iter().position(|s| r["scenario"] == *s).ok_or("an unknown scenario")?;
            let estimand = match r["estimand"].as_str() {
                Some("ATE") => "ATE",
                Some("ATT") => "ATT",
                _ => return Err("an unknown estimand"),
            };
            Ok(Label { scenario, estimator: r["estimator"].as_str().unwrap_or_default().to_string(), estimand })
        })
        .collect::<Result<Vec<_>, &str>>()?;
    let npy = reprise_core::npy::decode(c.outputs.get("estimates.npy").ok_or("no estimates.npy")?).map_err(|e| format!("estimates.npy: {e}"))?;
    let reps = c.params.int("reps") as usize;
    if npy.shape != [labels.len(), reps, 2] {
        return Err(format!("estimates.npy has shape {:?}, not [{}, {reps}, 2]", npy.shape, labels.len()));
    }
    let values = (0..labels.len()).map(|row| (0..reps).map(|r| (npy.get_f64((row * reps + r) * 2), npy.get_f64((row * reps + r) * 2 + 1))).collect()).collect();
    Ok((labels, values))
}

/// The study's outputs from each table row's (estimate, se) pairs in replication order. Coverage
/// uses the same interval as `Estimate::new` (estimate ± Z95·se), so it is recomputed exactly.
fn tables(labels: &[Label], values: &[Vec<(f64, f64)>], n: usize, first_rep: u64) -> Result<Outputs, ExperimentError> {
    let reps = values.first().map_or(0, Vec::len);
    let mut rows = Vec::with_capacity(labels.len());
    let mut raw = Vec::with_capacity(labels.len() * reps * 2);
    for (label, vals) in labels.iter().zip(values) {
        let est: Vec<f64> = vals.iter().map(|v| v.0).collect();
        let se: Vec<f64> = vals.iter().map(|v| v.1).collect();
        let covered = vals.iter().filter(|(e, s)| e - Z95 * s <= 0.0 && 0.0 <= e + Z95 * s).count();
        let m = est.len() as f64;
        let bias = est.iter().sum::<f64>() / m;
        let rmse = (est.iter().map(|e| e * e).sum::<f64>() / m).sqrt();
        let sd = (est.iter().map(|e| (e - bias) * (e - bias)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
        rows.push(Row { scenario: SCENARIOS[label.scenario], estimator: label.estimator.clone(), estimand: label.estimand, bias, rmse, sd, mean_se: se.iter().sum::<f64>() / m, coverage95: covered as f64 / m });
        for (e, s) in vals {
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
    out.npy("estimates.npy", &[labels.len(), reps, 2], &raw);
    out.bytes("rmse.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&figure(&rows))?);
    let mut summary = json!({"truth": {"ATE": 0.0, "ATT": 0.0}, "reps": reps, "n": n, "scenarios": SCENARIOS, "results": rows, "estimates_npy": "cell × replication × (estimate, se), cells in results.csv order"});
    if first_rep != 0 {
        summary["first_rep"] = first_rep.into();
    }
    out.json("summary.json", &summary)?;
    Ok(out)
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
