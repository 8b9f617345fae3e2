//! `rdd.r3d`: R3D on a CSV of units — wide (x, quantile columns) or long (unit, x, outcome draws);
//! τ(q) with its uniform and pointwise bands, the tests, a table and a figure.

use super::bootstrap::{self, Band};
use super::estimate::{estimate, Estimate, Settings};
use super::fit::Method;
use super::{Quirks, Units};
use reprise_stats::frame::Frame;
use crate::Kernel;
use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde::Serialize;
use serde_json::json;

pub const SHARP_20_CSV: &[u8] = include_bytes!("../../../data/rdd/r3d_sharp_20.csv");

fn bad(why: String) -> ExperimentError {
    ExperimentError::BadInput { name: "data".into(), why }
}

/// A quantile grid: `auto` (k/(m+1) for m wide columns, 0.01..0.99 for long data), `a:b:step`, or a
/// comma list.
pub fn parse_grid(spec: &str, wide_columns: Option<usize>) -> Result<Vec<f64>, String> {
    let spec = spec.trim();
    if spec == "auto" {
        return Ok(match wide_columns {
            Some(m) => (1..=m).map(|k| k as f64 / (m + 1) as f64).collect(),
            None => (1..=99).map(|k| k as f64 / 100.0).collect(),
        });
    }
    let num = |s: &str| s.trim().parse::<f64>().map_err(|_| format!("grid: `{s}` is not a number"));
    if let [a, b, step] = spec.split(':').collect::<Vec<_>>()[..] {
        let (a, b, step) = (num(a)?, num(b)?, num(step)?);
        if step.is_nan() || step <= 0.0 || b < a {
            return Err(format!("grid `{spec}`: want start:end:step with end ≥ start and step > 0"));
        }
        let k = ((b - a) / step + 1e-9).floor() as usize;
        return Ok((0..=k).map(|i| a + i as f64 * step).collect());
    }
    spec.split(',').map(num).collect()
}

/// Units from wide rows: x, optional take-up, and every column named `<prefix><k>`.
fn wide(f: &Frame, x: &str, prefix: &str, take_up: Option<&str>, grid: &str, c: f64) -> Result<Units, ExperimentError> {
    let qcols: Vec<&String> = f.names().iter().filter(|n| n.strip_prefix(prefix).is_some_and(|k| k.parse::<usize>().is_ok())).collect();
    if qcols.is_empty() {
        return Err(bad(format!("no quantile columns named {prefix}1, {prefix}2, … (columns: {}); for one row per draw use format=long", f.names().join(", "))));
    }
    let grid = parse_grid(grid, Some(qcols.len())).map_err(bad)?;
    let xs = f.numeric(x).map_err(|e| bad(e.to_string()))?;
    let mut q = Array2::zeros((f.rows(), qcols.len()));
    for (j, name) in qcols.iter().enumerate() {
        q.column_mut(j).assign(&f.numeric(name).map_err(|e| bad(e.to_string()))?);
    }
    let t = take_up.map(|t| f.numeric(t).map(|v| v.to_vec())).transpose().map_err(|e| bad(e.to_string()))?;
    Ok(Units::from_quantiles(xs.as_slice().expect("contiguous"), c, &grid, q, t)?)
}

/// Units from long rows (one per draw), grouped by `unit` in order of first appearance.
#[allow(clippy::too_many_arguments)]
fn long(f: &Frame, unit: &str, x: &str, y: &str, weight: Option<&str>, take_up: Option<&str>, grid: &str, c: f64) -> Result<Units, ExperimentError> {
    let grid = parse_grid(grid, None).map_err(bad)?;
    let ids = f.text(unit).map_err(|e| bad(e.to_string()))?;
    let (xs, ys) = (f.numeric(x).map_err(|e| bad(e.to_string()))?, f.numeric(y).map_err(|e| bad(e.to_string()))?);
    let ws = weight.map(|w| f.numeric(w)).transpose().map_err(|e| bad(e.to_string()))?;
    let ts = take_up.map(|t| f.numeric(t)).transpose().map_err(|e| bad(e.to_string()))?;
    let mut order: Vec<&str> = Vec::new();
    let mut at = std::collections::BTreeMap::new();
    let (mut ux, mut ut, mut samples, mut weights) = (Vec::new(), Vec::new(), Vec::<Vec<f64>>::new(), Vec::<Vec<f64>>::new());
    for i in 0..f.rows() {
        let k = *at.entry(ids[i].as_str()).or_insert_with(|| {
            order.push(ids[i].as_str());
            ux.push(xs[i]);
            ut.push(ts.as_ref().map_or(0.0, |t| t[i]));
            samples.push(Vec::new());
            weights.push(Vec::new());
            order.len() - 1
        });
        if xs[i] != ux[k] {
            return Err(bad(format!("unit `{}` has two values of {x} ({} and {}, row {}); the running variable is one per unit", ids[i], ux[k], xs[i], i + 1)));
        }
        if ts.as_ref().is_some_and(|t| t[i] != ut[k]) {
            return Err(bad(format!("unit `{}` has two take-up values (row {}); take-up is one per unit", ids[i], i + 1)));
        }
        samples[k].push(ys[i]);
        weights[k].push(ws.as_ref().map_or(1.0, |w| w[i]));
    }
    Ok(Units::from_samples(&ux, c, &grid, &samples, ws.as_ref().map(|_| weights.as_slice()), take_up.map(|_| ut))?)
}

#[derive(Serialize)]
struct Summary {
    data: serde_json::Value,
    estimate: Estimate,
    bootstrap: Band,
}

pub struct R3d;

/// The figure: τ(q) with the uniform band and the pointwise band.
pub fn band_figure(title: &str, grid: &[f64], tau: &[f64], band: &Band) -> serde_json::Value {
    json!({
        "data": [
            {"type": "scatter", "mode": "lines", "x": grid, "y": band.upper, "line": {"width": 0}, "showlegend": false, "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "x": grid, "y": band.lower, "fill": "tonexty", "fillcolor": "rgba(60,110,200,0.15)", "line": {"width": 0}, "name": format!("uniform {:.0}% band", 100.0 * (1.0 - band.alpha))},
            {"type": "scatter", "mode": "lines", "x": grid, "y": band.pointwise_upper, "line": {"width": 0}, "showlegend": false, "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "x": grid, "y": band.pointwise_lower, "fill": "tonexty", "fillcolor": "rgba(60,110,200,0.3)", "line": {"width": 0}, "name": "pointwise band"},
            {"type": "scatter", "mode": "lines+markers", "x": grid, "y": tau, "name": "τ(q)", "line": {"color": "#2a5db0"}}
        ],
        "layout": {
            "title": {"text": format!("{title}<br><sub>nullity p = {:.3}, homogeneity p = {:.3}, {} bootstrap draws</sub>", band.nullity.p_value, band.homogeneity.p_value, band.draws)},
            "xaxis": {"title": {"text": "quantile q"}}, "yaxis": {"title": {"text": "τ(q): jump in the q-th quantile"}},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"color": "#888"}}]
        }
    })
}

/// Where the bootstrap's multipliers come from.
pub enum Multipliers {
    /// Standard normals, one ChaCha stream per draw (`<stream>/<b>`), summed on the CPU.
    Gaussian,
    /// ±1 from Philox under the stream's key, summed on a backend (CPU or CUDA: same bits).
    Rademacher(std::sync::Arc<dyn reprise_gpu::Backend>),
}

/// Estimate and bootstrap with multipliers from the run's `stream` (one per draw).
pub fn analyse(u: &Units, st: &Settings, draws: usize, alpha: f64, range: [f64; 2], ctx: &RunCtx, stream: &str, mult: &Multipliers) -> Result<(Estimate, Band), ExperimentError> {
    let e = estimate(u, st)?;
    let s = bootstrap::scores(u, &e, st.quirks);
    let n = u.n();
    let (band, _) = match mult {
        Multipliers::Gaussian => bootstrap::run(u, &e, &s, draws, |b| { let mut r = ctx.rng_at(stream, b as u64); (0..n).map(|_| StandardNormal.sample(&mut r)).collect() }, alpha, range),
        Multipliers::Rademacher(backend) => bootstrap::run_rademacher(u, &e, &s, draws, backend.as_ref(), ctx.seed.philox_key(stream), alpha, range).map_err(|e| ExperimentError::Failed(e.to_string()))?,
    };
    Ok((e, band))
}

/// The backend a run asked for, resolved (the runner recorded the same contract in the spec).
pub fn backend(request: &str) -> Result<std::sync::Arc<dyn reprise_gpu::Backend>, ExperimentError> {
    let req: reprise_gpu::Request = request.parse().map_err(|e: reprise_gpu::GpuError| ExperimentError::refused(e.to_string()))?;
    reprise_gpu::select(req).map(|s| s.backend).map_err(|e| ExperimentError::refused(e.to_string()))
}

impl Experiment for R3d {
    fn name(&self) -> &'static str {
        "rdd.r3d"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "RDD with distribution-valued outcomes (R3D): τ(q) with uniform and pointwise bootstrap bands, nullity/homogeneity/Gini tests; R3D's sharp example by default"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("format", "wide", &["wide", "long"], "wide: one row per unit with quantile columns; long: one row per outcome draw"),
            ParamSpec::choice("x", "X", &[], "running-variable column"),
            ParamSpec::float("c", 0.0, -1e15, 1e15, "cutoff: units with x ≥ c are treated"),
            ParamSpec::choice("quantile_prefix", "Q", &[], "wide: quantile columns are <prefix>1, <prefix>2, …"),
            ParamSpec::choice("unit", "unit", &[], "long: unit id column"),
            ParamSpec::choice("y", "y", &[], "long: outcome column"),
            ParamSpec::choice("weight", "", &[], "long: per-draw weight column (empty: unweighted)"),
            ParamSpec::choice("fuzzy", "", &[], "take-up column for a fuzzy design (empty: sharp)"),
            ParamSpec::choice("grid", "auto", &[], "quantile levels: auto (k/(m+1) wide, 0.01:0.99:0.01 long), a:b:step, or a comma list"),
            ParamSpec::choice("method", "simple", &["simple", "frechet"], "simple: local polynomial per quantile + rearrangement; frechet: one bandwidth + isotonic projection"),
            ParamSpec::int("p", 2, 0, 6, "order of the local polynomial"),
            ParamSpec::int("s", 1, 0, 5, "pilot order of the bandwidth selector"),
            ParamSpec::choice("kernel", "epanechnikov", &Kernel::NAMES, "kernel (the package's default is Epanechnikov)"),
            ParamSpec::float("h", 0.0, 0.0, 1e15, "fixed bandwidth for every quantile (0: select)"),
            ParamSpec::bool("coverage", false, "scale bandwidths for coverage-error-optimal bands"),
            ParamSpec::int("draws", 200, 10, 100_000, "multiplier bootstrap draws B"),
            ParamSpec::float("alpha", 0.05, 0.001, 0.5, "1 − confidence level of the bands"),
            ParamSpec::float("test_from", 0.0, 0.0, 1.0, "tests use grid points q with test_from ≤ q ≤ test_to"),
            ParamSpec::float("test_to", 1.0, 0.0, 1.0, "upper end of the tests' quantile range"),
            ParamSpec::bool("pilot_kernel_as_chosen", false, "corrected Q1: the selector's pilot uses the chosen kernel (package: always triangular)"),
            ParamSpec::bool("all_kernel_units", false, "corrected Q3: variance pieces and residuals from every unit the kernel reaches (package: positive intercept weights only)"),
            ParamSpec::bool("take_up_weights", false, "corrected Q4: fuzzy bootstrap weights take-up residuals with the take-up fit's weights"),
            ParamSpec::bool("bias_next_order", false, "corrected Q2: the selector's bias from an order-(s+1) local fit's (s+1)-th derivative, with the kernel constants (package: the s-th coefficient of the order-s fit)"),
            ParamSpec::choice("multipliers", "gaussian", &["gaussian", "rademacher"], "bootstrap multipliers: gaussian (the package's) or rademacher (±1 from Philox; runs on the GPU with backend=cuda, same bits)"),
            ParamSpec::choice("backend", "auto", &["auto", "cpu", "cuda"], "with rademacher multipliers: where the bootstrap sums run (auto: CUDA when usable, else CPU)"),
        ]
    }
    fn backend_request(&self, params: &reprise_core::Params) -> Option<String> {
        (params.str("multipliers") == "rademacher").then(|| params.str("backend").to_string())
    }
    fn optional_inputs(&self) -> Vec<&'static str> {
        vec!["data"]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let (bytes, source) = match ctx.inputs.get("data") {
            Some(b) => (b.as_slice(), "input `data`"),
            None => (SHARP_20_CSV, "R3D's sharp reference example (r3d_sharp_20.csv: 200 units, 20 quantiles)"),
        };
        let f = Frame::from_csv(bytes).map_err(|e| bad(e.to_string()))?;
        let nonempty = |k: &str| Some(p.str(k)).filter(|s| !s.is_empty());
        let u = match p.str("format") {
            "wide" => wide(&f, p.str("x"), p.str("quantile_prefix"), nonempty("fuzzy"), p.str("grid"), p.float("c"))?,
            _ => long(&f, p.str("unit"), p.str("x"), p.str("y"), nonempty("weight"), nonempty("fuzzy"), p.str("grid"), p.float("c"))?,
        };
        let st = Settings {
            method: if p.str("method") == "frechet" { Method::Frechet } else { Method::Simple },
            p: p.int("p") as usize,
            s: p.int("s") as usize,
            kernel: Kernel::parse(p.str("kernel")).map_err(ExperimentError::refused)?,
            h: Some(p.float("h")).filter(|h| *h > 0.0),
            coverage: p.bool("coverage"),
            quirks: Quirks { pilot_kernel_as_chosen: p.bool("pilot_kernel_as_chosen"), all_kernel_units: p.bool("all_kernel_units"), take_up_weights: p.bool("take_up_weights"), bias_next_order: p.bool("bias_next_order") },
        };
        let mult = match p.str("multipliers") {
            "rademacher" => Multipliers::Rademacher(backend(p.str("backend"))?),
            _ => Multipliers::Gaussian,
        };
        ctx.progress.start("R3D: bandwidths, estimate, multiplier bootstrap", 1);
        let (e, band) = analyse(&u, &st, p.int("draws") as usize, p.float("alpha"), [p.float("test_from"), p.float("test_to")], ctx, "bootstrap", &mult)?;
        ctx.progress.finish();
        let mut out = Outputs::new();
        let rows: Vec<Vec<String>> = (0..u.grid.len())
            .map(|j| [u.grid[j], e.tau[j], e.h[j], e.int_plus[j], e.int_minus[j], band.lower[j], band.upper[j], band.pointwise_lower[j], band.pointwise_upper[j]].iter().map(f64::to_string).collect())
            .collect();
        out.csv("tau.csv", &["q", "tau", "h", "int_plus", "int_minus", "uniform_lower", "uniform_upper", "pointwise_lower", "pointwise_upper"], &rows);
        let fig = band_figure(&format!("R3D ({}, {}): τ(q)", p.str("method"), if u.t.is_some() { "fuzzy" } else { "sharp" }), &u.grid, &e.tau, &band);
        out.bytes("tau.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        let data = json!({"source": source, "units": u.n(), "left": u.x.iter().filter(|v| **v < 0.0).count(), "right": u.x.iter().filter(|v| **v >= 0.0).count(), "quantiles": u.grid.len(), "cutoff": u.c, "fuzzy": u.t.is_some()});
        out.json("summary.json", &Summary { data, estimate: e, bootstrap: band })?;
        Ok(out)
    }
}
