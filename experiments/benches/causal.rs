//! Causal estimator speed (`cargo bench -p reprise-experiments --bench causal`): AIPW with 5-fold
//! cross-fitting at n = 100,000, d = 10, and IPM-MMD weights for 5,000 controls. Prints one JSON
//! line of median wall times; `bench/causal.sh` runs the EconML peer on the same data beside it.
//! BENCH_ONLY=aipw or =mmd runs one half, BENCH_ROUNDS sets the repeats, BENCH_IPM_TOL the gap.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::StandardNormal;
use reprise_core::Seed;
use reprise_experiments::causal::{estimators, folds, ipm, logistic::sigmoid, nuisance, Sample};
use std::io::Write;
use std::time::Instant;

fn draw(n: usize, d: usize, seed: u64) -> Sample {
    let mut rng = Seed(seed).stream("bench/causal");
    let x = Array2::from_shape_fn((n, d), |_| rng.sample::<f64, _>(StandardNormal));
    let mut z = Array1::zeros(n);
    let mut y = Array1::zeros(n);
    for i in 0..n {
        let lin: f64 = (0..d).map(|j| x[[i, j]] * 0.3 / (1.0 + j as f64)).sum();
        z[i] = f64::from(u8::from(rng.random::<f64>() < sigmoid(lin)));
        y[i] = 1.0 + 2.0 * z[i] + (0..d).map(|j| x[[i, j]] * (j as f64 - 4.5) / 5.0).sum::<f64>() + rng.sample::<f64, _>(StandardNormal);
    }
    Sample::new(y, z, x, (1..=d).map(|j| format!("x{j}")).collect()).expect("both arms")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tol: f64 = std::env::var("BENCH_IPM_TOL").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let s = draw(100_000, 10, 1);
    if let Ok(path) = std::env::var("BENCH_DATA") {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("BENCH_DATA is writable"));
        writeln!(f, "y,t,{}", s.names.join(",")).unwrap();
        for i in 0..s.n() {
            let xs: Vec<String> = s.x.row(i).iter().map(|v| v.to_string()).collect();
            writeln!(f, "{},{},{}", s.y[i], s.z[i], xs.join(",")).unwrap();
        }
    }
    if std::env::var("BENCH_DETAIL").is_ok() {
        let d = s.design();
        let names: Vec<String> = (0..11).map(|j| format!("c{j}")).collect();
        for _ in 0..3 {
            let t = Instant::now();
            let f = reprise_experiments::causal::logistic::Logit::fit(&d, s.z.view(), 0.0, None, &names).unwrap();
            let t1 = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _ = reprise_experiments::linalg::gram(&d, Some(s.y.view()));
            eprintln!("logit alone {:.1} ms ({} it), one gram {:.2} ms", t1 * 1e3, f.iterations, t.elapsed().as_secs_f64() * 1e3);
        }
        for _ in 0..3 {
            let t = Instant::now();
            let (_, logit) = nuisance::full(&s, &nuisance::Options::default()).expect("fits");
            let t1 = t.elapsed().as_secs_f64();
            let fold_of = folds::assign(s.n(), 5, None);
            let t = Instant::now();
            let _ = nuisance::full_and_cross_fit(&s, &fold_of, 5, &nuisance::Options::default()).expect("fits");
            eprintln!("full fit alone {:.1} ms ({} Newton iterations), full fit and cross-fit {:.1} ms", t1 * 1e3, logit.iterations, t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut aipw = Vec::new();
    let mut ate = 0.0;
    for _ in 0..if only == "mmd" { 0 } else { rounds } {
        let t = Instant::now();
        let fold_of = folds::assign(s.n(), 5, None);
        // As the experiments do: the full-sample fit and the cross-fit share their passes.
        let (_, _, nu) = nuisance::full_and_cross_fit(&s, &fold_of, 5, &nuisance::Options::default()).expect("fits");
        ate = estimators::aipw(&s, &nu, "cross-fitted")[0].estimate;
        aipw.push(t.elapsed().as_secs_f64());
    }
    // `null` when BENCH_ONLY=mmd skipped it
    let aipw = if aipw.is_empty() { "null".to_string() } else { median(aipw).to_string() };
    if only == "aipw" {
        println!("{{\"aipw_crossfit_n100k_d10_s\": {aipw}, \"aipw_ate\": {ate}}}");
        return;
    }
    // IPM: 5,000 controls balanced to the treated of a fresh draw.
    let m = draw(12_000, 10, 2);
    let xs = ipm::standardise(&m.x);
    let (r1, r0) = (m.arm_rows(1), m.arm_rows(0));
    let x1 = xs.select(ndarray::Axis(0), &r1);
    let x0 = xs.select(ndarray::Axis(0), &r0[..5000]);
    let mut mmd = Vec::new();
    let mut conv = None;
    for _ in 0..rounds.min(3) {
        let t = Instant::now();
        let (_, c) = ipm::Balancer::new(&x0, &x1, ipm::Bandwidth::Mean, 1e-6).solve(tol, 100_000);
        mmd.push(t.elapsed().as_secs_f64());
        conv = Some(c);
    }
    let c = conv.expect("one round");
    println!(
        "{{\"aipw_crossfit_n100k_d10_s\": {aipw}, \"aipw_ate\": {ate}, \"mmd_n0_5000_s\": {}, \"mmd_support\": {}, \"mmd_converged\": {}, \"mmd_method\": \"{}\", \"mmd_iterations\": {}, \"mmd_gap\": {}, \"mmd2\": {}, \"mmd2_uniform\": {}, \"ipm_tol\": {tol}, \"rounds\": {rounds}}}",
        median(mmd),
        c.support,
        c.converged,
        c.method,
        c.iterations,
        c.gap,
        c.mmd2,
        c.mmd2_uniform
    );
}
