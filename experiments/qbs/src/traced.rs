//! Single-site trace Metropolis–Hastings (monad-bayes' `mhTrans`): a trace is the list of
//! uniforms a run used; a step redraws one site and accepts with min(1, w′·n / (w·n′)), the n/n′
//! factor correcting for a trace length that changed.

use super::sampler::inverse_cdf;
use super::{Handler, Prob};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// Replays a trace of uniforms, drawing fresh ones past its end; keeps exactly what was used.
struct Tracer<'a> {
    trace: Vec<f64>,
    pos: usize,
    rng: &'a mut ChaCha20Rng,
    logw: f64,
}

impl Handler for Tracer<'_> {
    fn uniform(&mut self) -> f64 {
        if self.pos == self.trace.len() {
            self.trace.push(self.rng.random::<f64>());
        }
        self.pos += 1;
        self.trace[self.pos - 1]
    }
    fn categorical(&mut self, p: &[f64]) -> usize {
        let u = self.uniform();
        inverse_cdf(p, u)
    }
    fn score(&mut self, log_w: f64) {
        self.logw += log_w;
    }
}

/// One run from `trace` (extended as needed): value, log weight, the trace actually used.
fn replay<T: 'static>(p: &Prob<T>, trace: Vec<f64>, rng: &mut ChaCha20Rng) -> (T, f64, Vec<f64>) {
    let mut t = Tracer { trace, pos: 0, rng, logw: 0.0 };
    let x = p.run(&mut t);
    t.trace.truncate(t.pos);
    (x, t.logw, t.trace)
}

/// A chain of `iterations` states after `burn_in` discarded ones, and the acceptance rate.
pub struct Chain<T> {
    pub states: Vec<T>,
    pub acceptance: f64,
}

/// Single-site trace MH with prior proposals, started from a prior draw with positive weight.
pub fn mh<T: Clone + 'static>(p: &Prob<T>, burn_in: usize, iterations: usize, rng: &mut ChaCha20Rng) -> Chain<T> {
    chain(p, burn_in, iterations, rng, true, |_, _| 0.0)
}

/// The single-site trace MH loop; each state's log weight is its program's scores plus
/// `extra(value)` (PMMH's evidence estimate), added only where the scores are finite.
fn chain<T: Clone + 'static>(p: &Prob<T>, burn_in: usize, iterations: usize, rng: &mut ChaCha20Rng, retry_start: bool, mut extra: impl FnMut(&T, &mut ChaCha20Rng) -> f64) -> Chain<T> {
    let mut cur = replay(p, Vec::new(), rng);
    for _ in 0..if retry_start { 10_000 } else { 0 } {
        if cur.1.is_finite() {
            break;
        }
        cur = replay(p, Vec::new(), rng);
    }
    if cur.1.is_finite() {
        cur.1 += extra(&cur.0, rng);
    }
    let (mut states, mut accepted) = (Vec::with_capacity(iterations), 0usize);
    for it in 0..burn_in + iterations {
        let n = cur.2.len();
        if n > 0 {
            let mut prop = cur.2.clone();
            let site = rng.random_range(0..n);
            prop[site] = rng.random::<f64>();
            let mut next = replay(p, prop, rng);
            if next.1.is_finite() {
                next.1 += extra(&next.0, rng);
            }
            let log_ratio = next.1 - cur.1 + (n as f64).ln() - (next.2.len() as f64).ln();
            if rng.random::<f64>().ln() < log_ratio {
                cur = next;
                accepted += 1;
            }
        }
        if it >= burn_in {
            states.push(cur.0.clone());
        }
    }
    Chain { states, acceptance: accepted as f64 / (burn_in + iterations) as f64 }
}

/// The mean of f over a chain with its batch-means standard error (50 batches).
pub fn batch_mean<T>(states: &[T], f: impl Fn(&T) -> f64) -> super::sampler::Estimate {
    let x: Vec<f64> = states.iter().map(f).collect();
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let b = 50.min(n);
    let size = n / b;
    let means: Vec<f64> = (0..b).map(|k| x[k * size..(k + 1) * size].iter().sum::<f64>() / size as f64).collect();
    let var = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (b as f64 - 1.0);
    super::sampler::Estimate { value: mean, se: (var / b as f64).sqrt() }
}

/// Particle marginal Metropolis–Hastings: parameters θ from the program `prior` by single-site
/// trace MH, each proposal weighted by an SMC estimate Ẑ(θ) of `model(θ)`'s evidence (`particles`
/// particles, `steps` suspensions, systematic resampling). Ẑ is unbiased, so the chain targets
/// the exact posterior of θ (Andrieu, Doucet & Holenstein 2010). Returns θ's chain.
pub fn pmmh<P: Clone + 'static, T: Clone + 'static>(
    prior: &Prob<P>,
    model: impl Fn(&P) -> Prob<T>,
    particles: usize,
    steps: usize,
    burn_in: usize,
    iterations: usize,
    rng: &mut ChaCha20Rng,
) -> Chain<P> {
    use super::smc::{Resampler, population};
    let evidence = |theta: &P, rng: &mut ChaCha20Rng| super::sampler::sample(&population(model(theta), particles, steps, Resampler::Systematic), rng).1;
    chain(prior, burn_in, iterations, rng, false, evidence)
}
