//! The papers' example programs and their exact answers: monad-bayes' sprinkler, the LICS 2017
//! Bayesian regression over functions (closed-form evidence and posterior), the Beta–Bernoulli
//! sequence as an iid mixture and as a Pólya urn, and monad-bayes' 3-state HMM (forward algorithm).

use super::{Handler, Prob, bernoulli, categorical, normal, normal_log_pdf};
use std::rc::Rc;

/// monad-bayes' `soft` sprinkler: rain ~ B(0.3), factor 0.2 if rain; sprinkler ~ B(0.1 | 0.4),
/// factor 0.1 if sprinkler; returns rain. P(rain) = 0.0546 / 0.5026.
pub fn sprinkler() -> Prob<bool> {
    bernoulli(0.3).bind(|rain| {
        Prob::new(move |h| {
            if rain {
                h.score(0.2f64.ln());
            }
            let sprinkler = bernoulli(if rain { 0.1 } else { 0.4 }).run(h);
            if sprinkler {
                h.score(0.1f64.ln());
            }
            rain
        })
    })
}

/// The LICS 2017 §VI data and noise.
pub const REGRESSION_DATA: [(f64, f64); 5] = [(1.0, 2.5), (2.0, 3.8), (3.0, 4.5), (4.0, 6.2), (5.0, 8.0)];
pub const REGRESSION_NOISE: f64 = 0.5;
pub const REGRESSION_PRIOR_SD: f64 = 3.0;

/// A function ℝ → ℝ as a value.
pub type Function = Rc<dyn Fn(f64) -> f64>;

/// The prior over functions, s, b ~ N(0, 3²), f = λr. s·r + b: an element of P(ℝ ⇒ ℝ).
pub fn line_prior() -> Prob<Function> {
    normal(0.0, REGRESSION_PRIOR_SD).bind(|s| normal(0.0, REGRESSION_PRIOR_SD).map(move |b| Rc::new(move |r: f64| s * r + b) as Function))
}

/// The posterior over functions: the prior, scored by each observation y ~ N(f(x), 0.5²).
pub fn regression() -> Prob<Function> {
    line_prior().bind(|f| {
        Prob::new(move |h| {
            for (x, y) in REGRESSION_DATA {
                h.score(normal_log_pdf(y, f(x), REGRESSION_NOISE));
            }
            f.clone()
        })
    })
}

/// The exact posterior of the regression: evidence, mean and covariance of (slope, intercept).
pub struct ExactLine {
    pub evidence: f64,
    pub mean: [f64; 2],
    pub cov: [[f64; 2]; 2],
}

impl ExactLine {
    /// Posterior predictive mean and sd of f(x) (the function, without observation noise).
    pub fn predictive(&self, x: f64) -> (f64, f64) {
        let v = x * x * self.cov[0][0] + 2.0 * x * self.cov[0][1] + self.cov[1][1];
        (x * self.mean[0] + self.mean[1], v.sqrt())
    }
}

/// Conjugate Gaussian algebra: precision Λ = I/τ² + XᵀX/σ², mean Λ⁻¹Xᵀy/σ², and
/// Z = N(y; 0, σ²I + τ²XXᵀ) by the determinant lemma and Woodbury.
pub fn regression_exact() -> ExactLine {
    let (t2, s2) = (REGRESSION_PRIOR_SD.powi(2), REGRESSION_NOISE.powi(2));
    let n = REGRESSION_DATA.len() as f64;
    let (mut sxx, mut sx, mut sxy, mut sy, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in REGRESSION_DATA {
        sxx += x * x;
        sx += x;
        sxy += x * y;
        sy += y;
        syy += y * y;
    }
    let a = [[1.0 / t2 + sxx / s2, sx / s2], [sx / s2, 1.0 / t2 + n / s2]];
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    let cov = [[a[1][1] / det, -a[0][1] / det], [-a[1][0] / det, a[0][0] / det]];
    let xty = [sxy / s2, sy / s2];
    let mean = [cov[0][0] * xty[0] + cov[0][1] * xty[1], cov[1][0] * xty[0] + cov[1][1] * xty[1]];
    // log Z = −n/2 log(2πσ²) − ½ log det(τ²Λ) − ½ (yᵀy/σ² − μᵀΛμ)
    let quad = syy / s2 - (mean[0] * xty[0] + mean[1] * xty[1]);
    let log_z = -0.5 * n * (2.0 * std::f64::consts::PI * s2).ln() - 0.5 * (t2 * t2 * det).ln() - 0.5 * quad;
    ExactLine { evidence: log_z.exp(), mean, cov }
}

/// θ ~ Beta(1, 1) = U(0, 1), then n iid Bernoulli(θ): the de Finetti mixture.
pub fn beta_bernoulli_mixture(n: usize) -> Prob<Vec<bool>> {
    Prob::new(move |h| {
        let theta = h.uniform();
        (0..n).map(|_| h.uniform() < theta).collect()
    })
}

/// The Pólya urn with one ball of each colour: draw, put back with one more of its colour —
/// an exchangeable sequence with the same law as the Beta(1, 1) mixture (enumerable).
pub fn polya_urn(n: usize) -> Prob<Vec<bool>> {
    Prob::new(move |h| {
        let (mut ones, mut zeros) = (1.0, 1.0);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let x = h.categorical(&[zeros / (ones + zeros), ones / (ones + zeros)]) == 1;
            if x { ones += 1.0 } else { zeros += 1.0 }
            out.push(x);
        }
        out
    })
}

/// monad-bayes' HMM data (Anglican's example).
pub const HMM_DATA: [f64; 16] = [0.9, 0.8, 0.7, 0.0, -0.025, -5.0, -2.0, -0.1, 0.0, 0.13, 0.45, 6.0, 0.2, 0.3, -1.0, -1.0];
pub const HMM_TRANS: [[f64; 3]; 3] = [[0.1, 0.4, 0.5], [0.2, 0.6, 0.2], [0.15, 0.7, 0.15]];
pub const HMM_MEANS: [f64; 3] = [-1.0, 1.0, 0.0];

/// The 3-state HMM: x₀ uniform, xₜ ~ trans(xₜ₋₁), yₜ ~ N(mean(xₜ), 1), observations scored in
/// list order (monad-bayes consumes its list from the end; here the order is the data's).
pub fn hmm(data: Vec<f64>) -> Prob<Vec<usize>> {
    Prob::new(move |h: &mut dyn Handler| {
        let mut x = categorical(vec![1.0 / 3.0; 3]).run(h);
        let mut path = vec![x];
        for &y in &data {
            x = h.categorical(&HMM_TRANS[x]);
            h.score(normal_log_pdf(y, HMM_MEANS[x], 1.0));
            path.push(x);
        }
        path
    })
}

/// Exact log evidence and filtering marginals P(xₜ | y₁..ₜ) by the forward algorithm.
pub fn hmm_forward(data: &[f64]) -> (f64, Vec<[f64; 3]>) {
    let mut alpha = [1.0 / 3.0; 3];
    let (mut log_z, mut filt) = (0.0, Vec::new());
    for &y in data {
        let mut next = [0.0; 3];
        for (j, nj) in next.iter_mut().enumerate() {
            *nj = (0..3).map(|i| alpha[i] * HMM_TRANS[i][j]).sum::<f64>() * normal_log_pdf(y, HMM_MEANS[j], 1.0).exp();
        }
        let c: f64 = next.iter().sum();
        log_z += c.ln();
        alpha = next.map(|v| v / c);
        filt.push(alpha);
    }
    (log_z, filt)
}
