//! `demo.pi`: Monte Carlo estimate of π from points uniform in the unit square, split over
//! `tasks` independent named streams summed in index order, so the thread count never changes a bit.

use ndarray::{Array2, Axis};
use ndarray_rand::RandomExt;
use rand::distr::{Distribution, Uniform};
use rayon::prelude::*;
use reprise_core::{Experiment, ExperimentError, Outputs, ParamSpec, RunCtx};
use serde::Serialize;

pub struct Pi;

#[derive(Serialize)]
struct Summary {
    estimate: f64,
    std_error: f64,
    ci95: [f64; 2],
    abs_error: f64,
    n: u64,
    hits: u64,
    tasks: u64,
}

/// Progress is reported every this many points.
const TICK: u64 = 1 << 16;

fn inside(x: f64, y: f64) -> bool {
    x * x + y * y <= 1.0
}

impl Experiment for Pi {
    fn name(&self) -> &'static str {
        "demo.pi"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Monte Carlo estimate of pi over parallel named streams; outputs summary.json, samples.npy, hits.npy"
    }
    fn headline(&self) -> Vec<&'static str> {
        vec!["estimate", "std_error", "abs_error"]
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("n", 1_000_000, 1, 100_000_000_000, "number of points drawn"),
            ParamSpec::int("tasks", 64, 1, 65_536, "independent streams (`points/<i>`); fixes the work split, not the thread count"),
            ParamSpec::int("keep", 1000, 0, 1_000_000, "points of task 0 saved to samples.npy as (x, y, inside) rows"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let n = ctx.params.int("n") as u64;
        let tasks = ctx.params.int("tasks") as u64;
        let keep = ctx.params.int("keep") as u64;
        if tasks > n {
            return Err(ExperimentError::refused(format!("tasks = {tasks} exceeds n = {n}: every task needs at least one point")));
        }
        let unit = Uniform::new(0.0f64, 1.0).expect("0 < 1");
        ctx.progress.start("drawing points", n);
        let per_task: Vec<(u64, Option<Array2<f64>>)> = (0..tasks)
            .into_par_iter()
            .map(|i| {
                let count = n / tasks + u64::from(i < n % tasks);
                let mut rng = ctx.rng_at("points", i);
                let (mut hits, mut drawn, mut kept) = (0u64, 0u64, None);
                if i == 0 && keep > 0 {
                    // Task 0's first points are drawn as an array and saved; drawing (x, y) row by
                    // row consumes the stream exactly as the loop below does.
                    let k = keep.min(count) as usize;
                    let pts = Array2::random_using((k, 2), unit, &mut rng);
                    hits = pts.axis_iter(Axis(0)).filter(|p| inside(p[0], p[1])).count() as u64;
                    drawn = k as u64;
                    ctx.progress.advance(drawn);
                    kept = Some(pts);
                }
                let mut since = 0u64;
                while drawn < count {
                    let (x, y) = (unit.sample(&mut rng), unit.sample(&mut rng));
                    hits += u64::from(inside(x, y));
                    drawn += 1;
                    since += 1;
                    if since == TICK {
                        ctx.progress.advance(since);
                        since = 0;
                    }
                }
                ctx.progress.advance(since);
                (hits, kept)
            })
            .collect();
        ctx.progress.finish();
        let hits: Vec<u64> = per_task.iter().map(|(h, _)| *h).collect();
        let samples: Vec<f64> = per_task[0]
            .1
            .iter()
            .flat_map(|pts| pts.axis_iter(Axis(0)).flat_map(|p| [p[0], p[1], f64::from(u8::from(inside(p[0], p[1])))]).collect::<Vec<_>>())
            .collect();
        let total: u64 = hits.iter().sum();
        let p = total as f64 / n as f64;
        let estimate = 4.0 * p;
        let std_error = 4.0 * (p * (1.0 - p) / n as f64).sqrt();
        let summary = Summary {
            estimate,
            std_error,
            ci95: [estimate - 1.959963984540054 * std_error, estimate + 1.959963984540054 * std_error],
            abs_error: (estimate - std::f64::consts::PI).abs(),
            n,
            hits: total,
            tasks,
        };
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        out.npy("samples.npy", &[samples.len() / 3, 3], &samples);
        out.npy("hits.npy", &[hits.len()], &hits);
        Ok(out)
    }
}
