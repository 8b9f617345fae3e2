//! R3D speed (`cargo bench -p reprise-experiments --bench r3d`): bandwidth selection, estimate and a
//! B = 200 multiplier bootstrap for n = 100,000 units and 99 quantiles (target: under 2 s).
//! Prints one JSON line of median wall times. No peer: the R package was not runnable here.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use reprise_core::Seed;
use reprise_experiments::rdd::r3d::{bootstrap, estimate, Units};
use std::time::Instant;

fn main() {
    let n: usize = std::env::var("BENCH_UNITS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let grid: Vec<f64> = (1..=99).map(|k| k as f64 / 100.0).collect();
    let mut rng = Seed(5).stream("bench/r3d");
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let samples: Vec<Vec<f64>> = x
        .iter()
        .map(|&xi| {
            let mu = 5.0 + 0.5 * xi + 3.0 * f64::from(u8::from(xi >= 0.0));
            (0..50).map(|_| { let z: f64 = StandardNormal.sample(&mut rng); mu + 0.5 * z }).collect::<Vec<f64>>()
        })
        .collect();
    let u = Units::from_samples(&x, 0.0, &grid, &samples, None, None).expect("units");
    let seed = Seed(9);
    let mut times = Vec::new();
    let mut last = (0.0, 0.0);
    for _ in 0..rounds {
        let t = Instant::now();
        let e = estimate::estimate(&u, &estimate::Settings::default()).expect("estimate");
        let t_est = t.elapsed().as_secs_f64();
        let s = bootstrap::scores(&u, &e, Default::default());
        let t_scores = t.elapsed().as_secs_f64();
        let (band, _) = bootstrap::run(
            &u,
            &e,
            &s,
            200,
            |b| {
                let mut r = seed.stream_at("bootstrap", b as u64);
                (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
            },
            0.05,
            [0.0, 1.0],
        );
        times.push(t.elapsed().as_secs_f64());
        eprintln!("estimate {t_est:.3} s, scores {:.3} s, bootstrap {:.3} s", t_scores - t_est, times[times.len() - 1] - t_scores);
        last = (e.tau[49], band.critical_value);
    }
    times.sort_by(f64::total_cmp);
    println!("{{\"units\": {n}, \"quantiles\": 99, \"draws\": 200, \"seconds\": {}, \"tau_median\": {}, \"critical_value\": {}}}", times[times.len() / 2], last.0, last.1);
}
