//! SMC speed (`cargo bench -p reprise-experiments --bench qbs -- [PARTICLES]`): the generic SMC
//! transformer on monad-bayes' HMM (16 observations, systematic resampling); one JSON line with
//! the median wall time and the mean log Ẑ. `bench/qbs.sh` runs a NumPy particle filter beside it.

use rand::SeedableRng;
use reprise_experiments::qbs::{examples, sampler, smc};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let data = examples::HMM_DATA.to_vec();
    let pop = smc::population(examples::hmm(data.clone()), n, data.len(), smc::Resampler::Systematic);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let (mut times, mut logz) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        let (_, lz) = sampler::sample(&pop, &mut rng);
        times.push(t.elapsed().as_secs_f64());
        logz.push(lz);
    }
    times.sort_by(f64::total_cmp);
    let (exact, _) = examples::hmm_forward(&data);
    println!("{{\"particles\": {n}, \"seconds\": {}, \"mean_log_z\": {}, \"exact_log_z\": {exact}}}", times[rounds / 2], logz.iter().sum::<f64>() / rounds as f64);
}
