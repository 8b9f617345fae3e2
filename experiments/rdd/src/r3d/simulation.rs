//! `rdd.r3d_simulation`: the R3D package's Monte Carlo. X ~ U(−1, 1), each unit's draws from
//! DGP 1: N(5 + 5x + Δ·1{x ≥ 0}, max(0.1, |1 + x|)²) or DGP 2: N(2x + Δ·1{x ≥ 0}, 1) + 2·Exp(clamp(1 + x/2, ½, 3/2)).
//! Both have τ(q) = Δ at every q (DGP 2's exponential rate is continuous at the cutoff, so the two
//! limits differ by a location shift Δ). Bias, RMSE, uniform-band coverage and test rejection rates.

use super::bootstrap;
use super::estimate::{estimate, Settings};
use super::fit::Method;
use super::Units;
use crate::parse_list;
use rand::Rng;
use rand_distr::{Distribution, Exp, StandardNormal};
use rayon::prelude::*;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx, SweepCell};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One unit's outcome draws under `dgp` at running variable x.
pub fn unit_draws(rng: &mut impl Rng, dgp: u8, x: f64, delta: f64, draws: usize) -> Vec<f64> {
    let jump = if x >= 0.0 { delta } else { 0.0 };
    (0..draws)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            if dgp == 1 {
                5.0 + 5.0 * x + jump + (1.0 + x).abs().max(0.1) * z
            } else {
                let rate = (1.0 + 0.5 * x).clamp(0.5, 1.5);
                2.0 * x + jump + z + 2.0 * Exp::new(rate).expect("positive rate").sample(rng)
            }
        })
        .collect()
}

/// Results of one replication for one method.
struct Rep {
    tau: Vec<f64>,
    covered: bool,
    null_reject: bool,
    homo_reject: bool,
    h_mean: f64,
}

/// One (dgp, n, Δ) cell and method, over replications.
#[derive(Serialize, Deserialize)]
pub struct Cell {
    pub dgp: u8,
    pub n: usize,
    pub delta: f64,
    pub method: Method,
    pub replications: usize,
    pub failed: usize,
    pub bias: Vec<f64>,
    pub rmse: Vec<f64>,
    pub mean_abs_bias: f64,
    pub mean_rmse: f64,
    pub uniform_coverage: f64,
    pub nullity_rejection: f64,
    pub homogeneity_rejection: f64,
    pub mean_bandwidth: f64,
}

#[derive(Serialize, Deserialize)]
struct Summary {
    grid: Vec<f64>,
    draws_per_unit: usize,
    bootstrap_draws: usize,
    alpha: f64,
    cells: Vec<Cell>,
}

pub struct R3dSimulation;

const METHODS: [Method; 2] = [Method::Simple, Method::Frechet];

#[allow(clippy::too_many_arguments)]
fn replicate(ctx: &RunCtx, cell: &str, rep: u64, dgp: u8, n: usize, delta: f64, per_unit: usize, grid: &[f64], b: usize, alpha: f64) -> [Option<Rep>; 2] {
    let mut rng = ctx.rng_at(&format!("{cell}/data"), rep);
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let samples: Vec<Vec<f64>> = x.iter().map(|&xi| unit_draws(&mut rng, dgp, xi, delta, per_unit)).collect();
    let Ok(u) = Units::from_samples(&x, 0.0, grid, &samples, None, None) else { return [None, None] };
    let boot = format!("{cell}/bootstrap/{rep}");
    METHODS.map(|method| {
        let e = estimate(&u, &Settings { method, ..Settings::default() }).ok()?;
        let s = bootstrap::scores(&u, &e, Default::default());
        let (band, _) = bootstrap::run(&u, &e, &s, b, |k| { let mut r = ctx.rng_at(&boot, k as u64); (0..n).map(|_| StandardNormal.sample(&mut r)).collect() }, alpha, [0.0, 1.0]);
        Some(Rep {
            covered: band.lower.iter().zip(&band.upper).all(|(l, h)| *l <= delta && delta <= *h),
            null_reject: band.nullity.p_value < alpha,
            homo_reject: band.homogeneity.p_value < alpha,
            h_mean: e.h.iter().sum::<f64>() / e.h.len() as f64,
            tau: e.tau,
        })
    })
}

fn summarise(dgp: u8, n: usize, delta: f64, method: Method, reps: &[Option<&Rep>]) -> Cell {
    let ok: Vec<&Rep> = reps.iter().flatten().copied().collect();
    let r = ok.len().max(1) as f64;
    let m = ok.first().map_or(0, |x| x.tau.len());
    let bias: Vec<f64> = (0..m).map(|j| ok.iter().map(|x| x.tau[j] - delta).sum::<f64>() / r).collect();
    let rmse: Vec<f64> = (0..m).map(|j| (ok.iter().map(|x| (x.tau[j] - delta).powi(2)).sum::<f64>() / r).sqrt()).collect();
    let rate = |f: fn(&Rep) -> bool| ok.iter().filter(|x| f(x)).count() as f64 / r;
    Cell {
        dgp,
        n,
        delta,
        method,
        replications: ok.len(),
        failed: reps.len() - ok.len(),
        mean_abs_bias: bias.iter().map(|b| b.abs()).sum::<f64>() / m.max(1) as f64,
        mean_rmse: rmse.iter().sum::<f64>() / m.max(1) as f64,
        bias,
        rmse,
        uniform_coverage: rate(|x| x.covered),
        nullity_rejection: rate(|x| x.null_reject),
        homogeneity_rejection: rate(|x| x.homo_reject),
        mean_bandwidth: ok.iter().map(|x| x.h_mean).sum::<f64>() / r,
    }
}

impl Experiment for R3dSimulation {
    fn name(&self) -> &'static str {
        "rdd.r3d_simulation"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "The R3D Monte Carlo (DGP 1 and 2, both methods): bias, RMSE, uniform-band coverage, nullity and homogeneity rejection rates"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("dgp", "1,2", &[], "data-generating processes to run (comma list of 1, 2)"),
            ParamSpec::choice("n", "200,500", &[], "numbers of units (comma list)"),
            ParamSpec::choice("delta", "0,1,2", &[], "jumps Δ at the cutoff (comma list); τ(q) = Δ"),
            ParamSpec::int("replications", 500, 1, 100_000, "Monte Carlo replications per cell (one random stream each)"),
            ParamSpec::int("draws_per_unit", 50, 2, 100_000, "outcome draws within each unit"),
            ParamSpec::int("bootstrap_draws", 200, 10, 100_000, "multiplier bootstrap draws B per replication"),
            ParamSpec::float("alpha", 0.05, 0.001, 0.5, "level of the bands and tests"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let dgps: Vec<u8> = parse_list("dgp", p.str("dgp"))?;
        if let Some(d) = dgps.iter().find(|d| **d != 1 && **d != 2) {
            return Err(ExperimentError::refused(format!("parameter dgp: {d} is not a design; use 1 or 2")));
        }
        let ns: Vec<usize> = parse_list("n", p.str("n"))?;
        if let Some(n) = ns.iter().find(|n| **n < 20) {
            return Err(ExperimentError::refused(format!("parameter n: {n} units is too few for local quadratic fits on both sides; use at least 20")));
        }
        let deltas: Vec<f64> = parse_list("delta", p.str("delta"))?;
        let reps = p.int("replications") as u64;
        let (per_unit, b, alpha) = (p.int("draws_per_unit") as usize, p.int("bootstrap_draws") as usize, p.float("alpha"));
        let grid: Vec<f64> = (1..=9).map(|k| k as f64 / 10.0).collect();
        let mut cells = Vec::new();
        for &d in &dgps {
            for &n in &ns {
                cells.extend(deltas.iter().map(|&dl| (d, n, dl)));
            }
        }
        ctx.progress.start(&format!("R3D Monte Carlo: {} cells × {reps} replications × 2 methods", cells.len()), cells.len() as u64 * reps);
        let mut out_cells = Vec::new();
        for &(dgp, n, delta) in &cells {
            let name = format!("dgp{dgp}/n{n}/delta{delta}");
            let results: Vec<[Option<Rep>; 2]> = (0..reps)
                .into_par_iter()
                .map(|r| {
                    let x = replicate(ctx, &name, r, dgp, n, delta, per_unit, &grid, b, alpha);
                    ctx.progress.advance(1);
                    x
                })
                .collect();
            for (k, method) in METHODS.iter().enumerate() {
                let per: Vec<Option<&Rep>> = results.iter().map(|r| r[k].as_ref()).collect();
                out_cells.push(summarise(dgp, n, delta, *method, &per));
            }
        }
        ctx.progress.finish();
        outputs(out_cells, grid, per_unit, b, alpha, reps)
    }

    /// A sweep over designs (`--grid dgp=1,2 --grid delta=0,1,2 …`, one seed, the other params
    /// shared) gets the table of every design: each design draws from its own streams, so its
    /// rows are the ones a single run gives, and the table is that run's, bit for bit (designs
    /// in ascending order, as a single run with ascending lists has them).
    fn aggregate(&self, cells: &[SweepCell]) -> Result<Option<Outputs>, ExperimentError> {
        let design = ["dgp", "n", "delta"];
        let head = &cells[0];
        let same = |c: &SweepCell| c.seed == head.seed && c.params.0.iter().all(|(k, v)| design.contains(&k.as_str()) || head.params.0.get(k) == Some(v));
        if cells.len() < 2 || !cells.iter().all(same) {
            return Ok(None);
        }
        let mut all: Vec<Cell> = Vec::new();
        let mut summary: Option<Summary> = None;
        for c in cells {
            let bytes = c.outputs.get("summary.json").ok_or_else(|| ExperimentError::Failed("a sweep cell has no summary.json".into()))?;
            let mut s: Summary = serde_json::from_slice(bytes).map_err(|e| ExperimentError::Failed(format!("a sweep cell's summary.json: {e}")))?;
            all.extend(s.cells.drain(..));
            summary.get_or_insert(s);
        }
        all.sort_by(|a, b| (a.dgp, a.n).cmp(&(b.dgp, b.n)).then(a.delta.total_cmp(&b.delta)).then((a.method == Method::Frechet).cmp(&(b.method == Method::Frechet))));
        if let Some(w) = all.windows(2).find(|w| (w[0].dgp, w[0].n, w[0].delta.to_bits(), w[0].method) == (w[1].dgp, w[1].n, w[1].delta.to_bits(), w[1].method)) {
            return Err(ExperimentError::refused(format!("rdd.r3d_simulation over a sweep: design dgp={} n={} delta={} appears in two cells; give each design once", w[0].dgp, w[0].n, w[0].delta)));
        }
        let s = summary.expect("two cells at least");
        outputs(all, s.grid, s.draws_per_unit, s.bootstrap_draws, s.alpha, head.params.int("replications") as u64).map(Some)
    }
}

/// The study's files from its cells (in table order).
fn outputs(out_cells: Vec<Cell>, grid: Vec<f64>, per_unit: usize, b: usize, alpha: f64, reps: u64) -> Result<Outputs, ExperimentError> {
    let mut out = Outputs::new();
    let rows: Vec<Vec<String>> = out_cells
        .iter()
        .map(|c| {
            let m = if c.method == Method::Simple { "simple" } else { "frechet" };
            vec![c.dgp.to_string(), c.n.to_string(), c.delta.to_string(), m.into(), c.replications.to_string(), c.failed.to_string(), c.mean_abs_bias.to_string(), c.mean_rmse.to_string(), c.uniform_coverage.to_string(), c.nullity_rejection.to_string(), c.homogeneity_rejection.to_string(), c.mean_bandwidth.to_string()]
        })
        .collect();
    out.csv("cells.csv", &["dgp", "n", "delta", "method", "replications", "failed", "mean_abs_bias", "mean_rmse", "uniform_coverage", "nullity_rejection", "homogeneity_rejection", "mean_bandwidth"], &rows);
    let by_q: Vec<Vec<String>> = out_cells
        .iter()
        .flat_map(|c| {
            let m = if c.method == Method::Simple { "simple" } else { "frechet" };
            grid.iter().enumerate().map(move |(j, q)| vec![c.dgp.to_string(), c.n.to_string(), c.delta.to_string(), m.into(), q.to_string(), c.bias.get(j).map_or("NA".into(), f64::to_string), c.rmse.get(j).map_or("NA".into(), f64::to_string)])
        })
        .collect();
    out.csv("bias_rmse_by_q.csv", &["dgp", "n", "delta", "method", "q", "bias", "rmse"], &by_q);
    let mut lines: Vec<(u8, usize, Method)> = out_cells.iter().map(|c| (c.dgp, c.n, c.method)).collect();
    lines.sort_by_key(|&(d, n, m)| (d, n, m == Method::Frechet));
    lines.dedup();
    let traces: Vec<serde_json::Value> = lines
        .into_iter()
        .map(|(dgp, n, method)| {
            let pts: Vec<&Cell> = out_cells.iter().filter(|c| c.dgp == dgp && c.n == n && c.method == method).collect();
            json!({"type": "scatter", "mode": "lines+markers", "name": format!("DGP {dgp}, n = {n}, {}", if method == Method::Simple { "simple" } else { "Fréchet" }),
                   "x": pts.iter().map(|c| c.delta).collect::<Vec<_>>(), "y": pts.iter().map(|c| c.nullity_rejection).collect::<Vec<_>>(),
                   "text": pts.iter().map(|c| format!("coverage {:.3}, RMSE {:.3}", c.uniform_coverage, c.mean_rmse)).collect::<Vec<_>>()})
        })
        .collect();
    let fig = json!({
        "data": traces,
        "layout": {"title": {"text": format!("R3D Monte Carlo: rejection rate of H0: τ ≡ 0 ({reps} replications, level {alpha})")},
                   "xaxis": {"title": {"text": "jump Δ"}}, "yaxis": {"title": {"text": "rejection rate"}, "range": [0, 1]},
                   "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": alpha, "y1": alpha, "line": {"dash": "dot", "color": "#888"}}]}
    });
    out.bytes("power.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
    out.json("summary.json", &Summary { grid, draws_per_unit: per_unit, bootstrap_draws: b, alpha, cells: out_cells })?;
    Ok(out)
}
