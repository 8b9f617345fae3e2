//! `rdd.jump_test_simulation`: size and power of the metric-space jump test on the density design
//! (c = 0.5, X ~ U(0, 1), 100 draws per unit from N(0.8(x − 0.5) + 1.5·1{x ≥ 0.5}·[alternative], 1)).

use super::jump::{self, Sample};
use rayon::prelude::*;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
struct Row {
    n: usize,
    hypothesis: &'static str,
    replications: usize,
    failed: usize,
    rejection_rate: f64,
    mean_statistic: f64,
    mean_bandwidth: f64,
}

pub struct JumpSimulation;

impl Experiment for JumpSimulation {
    fn name(&self) -> &'static str {
        "rdd.jump_test_simulation"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Size and power of the jump test for conditional Fréchet means (2-Wasserstein, densities) by sample size"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::choice("n", "200,500,1000", &[], "numbers of units (comma list)"),
            ParamSpec::int("replications", 1000, 1, 100_000, "replications per (n, hypothesis), one random stream each"),
            ParamSpec::int("draws_per_unit", 100, 2, 100_000, "outcome draws within each unit"),
            ParamSpec::int("grid_points", 101, 3, 10_000, "points of the quantile grid spanning [0, 1]"),
            ParamSpec::float("alpha", 0.05, 0.001, 0.5, "level of the test"),
            ParamSpec::float("h", 0.0, 0.0, 1.0, "fixed bandwidth of the Fréchet means (0: 5-fold cross-validation)"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let ns: Vec<usize> = super::parse_list("n", p.str("n"))?;
        if let Some(n) = ns.iter().find(|n| **n < 20) {
            return Err(ExperimentError::refused(format!("parameter n: {n} units is too few; use at least 20")));
        }
        let (reps, draws, alpha) = (p.int("replications") as u64, p.int("draws_per_unit") as usize, p.float("alpha"));
        let m = p.int("grid_points") as usize;
        let grid: Vec<f64> = (0..m).map(|k| k as f64 / (m - 1) as f64).collect();
        let h = Some(p.float("h")).filter(|h| *h > 0.0);
        ctx.progress.start(&format!("jump test: {} sizes × 2 hypotheses × {reps} replications", ns.len()), ns.len() as u64 * 2 * reps);
        let mut rows = Vec::new();
        for &n in &ns {
            for (hyp, alt) in [("null", false), ("alternative", true)] {
                let stream = format!("n{n}/{hyp}");
                let res: Vec<Option<(f64, f64, f64)>> = (0..reps)
                    .into_par_iter()
                    .map(|r| {
                        let mut rng = ctx.rng_at(&stream, r);
                        let (x, q) = jump::density_design(&mut rng, n, draws, alt, &grid);
                        let t = jump::test(&Sample { x: &x, q: &q, grid: &grid, c: 0.5 }, h).ok();
                        ctx.progress.advance(1);
                        t.map(|t| (t.statistic, t.p_value, t.h))
                    })
                    .collect();
                let ok: Vec<&(f64, f64, f64)> = res.iter().flatten().collect();
                let k = ok.len().max(1) as f64;
                rows.push(Row {
                    n,
                    hypothesis: hyp,
                    replications: ok.len(),
                    failed: res.len() - ok.len(),
                    rejection_rate: ok.iter().filter(|t| t.1 < alpha).count() as f64 / k,
                    mean_statistic: ok.iter().map(|t| t.0).sum::<f64>() / k,
                    mean_bandwidth: ok.iter().map(|t| t.2).sum::<f64>() / k,
                });
            }
        }
        ctx.progress.finish();
        let mut out = Outputs::new();
        let cells: Vec<Vec<String>> = rows.iter().map(|r| vec![r.n.to_string(), r.hypothesis.into(), r.replications.to_string(), r.failed.to_string(), r.rejection_rate.to_string(), r.mean_statistic.to_string(), r.mean_bandwidth.to_string()]).collect();
        out.csv("rejection.csv", &["n", "hypothesis", "replications", "failed", "rejection_rate", "mean_statistic", "mean_bandwidth"], &cells);
        let trace = |hyp: &str, name: &str| {
            let r: Vec<&Row> = rows.iter().filter(|r| r.hypothesis == hyp).collect();
            json!({"type": "bar", "name": name, "x": r.iter().map(|r| r.n.to_string()).collect::<Vec<_>>(), "y": r.iter().map(|r| r.rejection_rate).collect::<Vec<_>>()})
        };
        let fig = json!({
            "data": [trace("null", "size (no jump)"), trace("alternative", "power (jump 1.5)")],
            "layout": {"title": {"text": format!("Jump test: rejection rates at level {alpha} ({reps} replications)")}, "barmode": "group",
                       "xaxis": {"title": {"text": "units N"}, "type": "category"}, "yaxis": {"title": {"text": "rejection rate"}, "range": [0, 1]},
                       "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": alpha, "y1": alpha, "line": {"dash": "dot", "color": "#888"}}]}
        });
        out.bytes("rejection.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        out.json("summary.json", &json!({"alpha": alpha, "grid_points": m, "draws_per_unit": draws, "rows": rows}))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use reprise_core::{Experiment, NoProgress, Params, RunCtx, Seed};

    #[test]
    fn identical_on_any_thread_count_and_rejects_under_the_alternative() {
        let exp = super::JumpSimulation;
        let args = ["n=80", "replications=4", "draws_per_unit=20", "grid_points=21"];
        let run = || {
            let ctx = RunCtx { params: Params::from_args(&exp.params(), &args).unwrap(), seed: Seed(2), inputs: Default::default(), progress: &NoProgress };
            exp.run(&ctx).unwrap().0["summary.json"].bytes.clone()
        };
        let many = run();
        assert_eq!(many, rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run));
        let s: serde_json::Value = serde_json::from_slice(&many).unwrap();
        assert_eq!(s["rows"][1]["hypothesis"], "alternative");
        assert_eq!(s["rows"][1]["rejection_rate"].as_f64(), Some(1.0), "{s}");
    }
}
