//! Quasi-Borel probabilistic programs: a program is a random element — a function from a source
//! of randomness to a value — with scores, and inference is built from small transformations.
//!
//! A [`Prob<T>`] is run against a [`Handler`], the source of randomness and the sink of scores.
//! The same program runs under exact enumeration ([`enumerate`]), a seeded sampler
//! ([`sampler`]), a trace replayer for Metropolis–Hastings ([`traced`]) and SMC's particle
//! replayer ([`smc`], itself a program transformer, so SMC over the enumerator is exact).

pub mod clustering;
pub mod enumerate;
pub mod examples;
pub mod experiment;
pub mod gp;
pub mod infer;
pub mod sampler;
pub mod smc;
pub mod traced;

#[cfg(test)]
mod tests;

use std::rc::Rc;

pub use infer::{Comparison, Infer, Posterior};
pub use sampler::Estimate;
pub use smc::Resampler;
/// For reading a pinned run's `summary.json` in a cell.
pub use serde_json;

/// The effects a program may use: continuous and discrete random choices and log-weight scores.
pub trait Handler {
    /// A draw from U(0, 1).
    fn uniform(&mut self) -> f64;
    /// A draw of index i with probability p[i] (the p sum to 1).
    fn categorical(&mut self, p: &[f64]) -> usize;
    /// Multiplies the program's weight by exp(log_w).
    fn score(&mut self, log_w: f64);
}

/// A probabilistic program returning `T`: the QBS view `Prob<T> ≅ (randomness → T)`, with scores.
pub struct Prob<T>(Rc<dyn Fn(&mut dyn Handler) -> T>);

impl<T> Clone for Prob<T> {
    fn clone(&self) -> Self {
        Prob(self.0.clone())
    }
}

impl<T: 'static> Prob<T> {
    pub fn new(f: impl Fn(&mut dyn Handler) -> T + 'static) -> Self {
        Prob(Rc::new(f))
    }

    pub fn run(&self, h: &mut dyn Handler) -> T {
        (self.0)(h)
    }

    /// return x.
    pub fn pure(x: T) -> Self
    where
        T: Clone,
    {
        Prob::new(move |_| x.clone())
    }

    pub fn map<U: 'static>(&self, f: impl Fn(T) -> U + 'static) -> Prob<U> {
        let p = self.clone();
        Prob::new(move |h| f(p.run(h)))
    }

    /// p >>= f.
    pub fn bind<U: 'static>(&self, f: impl Fn(T) -> Prob<U> + 'static) -> Prob<U> {
        let p = self.clone();
        Prob::new(move |h| f(p.run(h)).run(h))
    }
}

/// U(0, 1).
pub fn uniform() -> Prob<f64> {
    Prob::new(|h| h.uniform())
}

/// True with probability p.
pub fn bernoulli(p: f64) -> Prob<bool> {
    Prob::new(move |h| h.categorical(&[1.0 - p, p]) == 1)
}

/// Index i with probability p[i].
pub fn categorical(p: Vec<f64>) -> Prob<usize> {
    Prob::new(move |h| h.categorical(&p))
}

/// N(mean, sd²) by the inverse CDF of one uniform (so a trace holds uniforms only).
pub fn normal(mean: f64, sd: f64) -> Prob<f64> {
    Prob::new(move |h| mean + sd * reprise_stats::normal::quantile(h.uniform()))
}

/// Multiplies the weight by exp(log_w).
pub fn score(log_w: f64) -> Prob<()> {
    Prob::new(move |h| h.score(log_w))
}

/// log N(y; mean, sd²).
pub fn normal_log_pdf(y: f64, mean: f64, sd: f64) -> f64 {
    let z = (y - mean) / sd;
    -0.5 * z * z - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// A random function ℝ → ℝ memoised per argument: `f.at(h, x)` draws f(x) the first time it is
/// asked for (from `draw`, which sees the values already fixed) and returns the same value after,
/// so one execution sees one function, whatever order it evaluates it in.
pub struct RandomFn {
    memo: std::cell::RefCell<Vec<(f64, f64)>>,
    draw: Rc<dyn Fn(&mut dyn Handler, f64, &[(f64, f64)]) -> f64>,
}

impl RandomFn {
    pub fn new(draw: impl Fn(&mut dyn Handler, f64, &[(f64, f64)]) -> f64 + 'static) -> Rc<RandomFn> {
        Rc::new(RandomFn { memo: Default::default(), draw: Rc::new(draw) })
    }

    pub fn at(&self, h: &mut dyn Handler, x: f64) -> f64 {
        if let Some(&(_, y)) = self.memo.borrow().iter().find(|(a, _)| *a == x) {
            return y;
        }
        let known = self.memo.borrow().clone();
        let y = (self.draw)(h, x, &known);
        self.memo.borrow_mut().push((x, y));
        y
    }

    /// A Wiener process W on [0, ∞) with W(0) = 0: each new point is drawn from its Brownian-bridge
    /// conditional given its nearest fixed neighbours, so Cov(W(s), W(t)) = min(s, t) in any order.
    pub fn wiener() -> Rc<RandomFn> {
        RandomFn::new(|h, x, known| {
            let below = known.iter().filter(|(a, _)| *a < x).fold((0.0, 0.0), |acc, &(a, y)| if a > acc.0 { (a, y) } else { acc });
            let above = known.iter().filter(|(a, _)| *a > x).fold(None, |acc: Option<(f64, f64)>, &(a, y)| match acc {
                Some((b, _)) if b <= a => acc,
                _ => Some((a, y)),
            });
            let z = reprise_stats::normal::quantile(h.uniform());
            match above {
                None => below.1 + (x - below.0).sqrt() * z,
                Some((t1, y1)) => {
                    let (t0, y0) = below;
                    let mean = y0 + (x - t0) / (t1 - t0) * (y1 - y0);
                    let var = (x - t0) * (t1 - x) / (t1 - t0);
                    mean + var.sqrt() * z
                }
            }
        })
    }
}

/// Why inference could not go on.
#[derive(Debug, thiserror::Error)]
pub enum QbsError {
    #[error("the program is not enumerable: {0}")]
    NotEnumerable(String),
    #[error("{0}")]
    Failed(String),
}
