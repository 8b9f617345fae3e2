//! The seeded sampler (uniforms from a named ChaCha stream, categorical by inverse CDF) and
//! importance sampling: weighted draws, the evidence estimate and self-normalised expectations,
//! each with its Monte Carlo standard error.

use super::{Handler, Prob};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// Draws from a seeded stream and adds up scores.
pub struct Sampler<'a> {
    pub rng: &'a mut ChaCha20Rng,
    pub logw: f64,
}

/// The index whose cumulative probability first exceeds u (the last positive one at u ≈ 1).
pub fn inverse_cdf(p: &[f64], u: f64) -> usize {
    let total: f64 = p.iter().sum();
    let mut acc = 0.0;
    for (i, pi) in p.iter().enumerate() {
        acc += pi;
        if u * total < acc {
            return i;
        }
    }
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

impl Handler for Sampler<'_> {
    fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
    fn categorical(&mut self, p: &[f64]) -> usize {
        let u = self.uniform();
        inverse_cdf(p, u)
    }
    fn score(&mut self, log_w: f64) {
        self.logw += log_w;
    }
}

/// Runs `p` once: its value and log weight.
pub fn sample<T: 'static>(p: &Prob<T>, rng: &mut ChaCha20Rng) -> (T, f64) {
    let mut s = Sampler { rng, logw: 0.0 };
    let x = p.run(&mut s);
    (x, s.logw)
}

/// Weighted draws from a program (importance sampling with the prior as proposal).
pub struct Weighted<T> {
    pub draws: Vec<(T, f64)>,
}

/// An estimate with its Monte Carlo standard error.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Estimate {
    pub value: f64,
    pub se: f64,
}

impl<T> Weighted<T> {
    fn max_logw(&self) -> f64 {
        self.draws.iter().map(|d| d.1).fold(f64::NEG_INFINITY, f64::max)
    }

    /// Ẑ = mean of the weights, with se = sd(w)/√n (computed on a shifted scale).
    pub fn evidence(&self) -> Estimate {
        let m = self.max_logw();
        let n = self.draws.len() as f64;
        let w: Vec<f64> = self.draws.iter().map(|d| (d.1 - m).exp()).collect();
        let mean = w.iter().sum::<f64>() / n;
        let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        Estimate { value: mean * m.exp(), se: (var / n).sqrt() * m.exp() }
    }

    /// The self-normalised estimate of E[f] with its delta-method standard error.
    pub fn expect(&self, f: impl Fn(&T) -> f64) -> Estimate {
        let m = self.max_logw();
        let w: Vec<f64> = self.draws.iter().map(|d| (d.1 - m).exp()).collect();
        let sw: f64 = w.iter().sum();
        let value = self.draws.iter().zip(&w).map(|(d, wi)| wi * f(&d.0)).sum::<f64>() / sw;
        let var = self.draws.iter().zip(&w).map(|(d, wi)| (wi / sw).powi(2) * (f(&d.0) - value).powi(2)).sum::<f64>();
        Estimate { value, se: var.sqrt() }
    }

    /// Kish's effective sample size.
    pub fn ess(&self) -> f64 {
        let m = self.max_logw();
        let w: Vec<f64> = self.draws.iter().map(|d| (d.1 - m).exp()).collect();
        w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>()
    }
}

/// n independent weighted runs of `p`.
pub fn importance<T: 'static>(p: &Prob<T>, n: usize, rng: &mut ChaCha20Rng) -> Weighted<T> {
    Weighted { draws: (0..n).map(|_| sample(p, rng)).collect() }
}
