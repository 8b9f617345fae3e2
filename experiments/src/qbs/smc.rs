//! Sequential Monte Carlo as a program transformer (monad-bayes' `smc`): N particles, each run
//! suspended after its k-th score by replaying its recorded choices; populations reweighted by the
//! incremental weights, resampled, and collapsed into one weighted value. All randomness —
//! particles' and resampling's — comes from the outer handler, so `enumerate(smc(p))` is exact.

use super::{Handler, Prob};

/// A recorded random choice of one particle.
#[derive(Clone, Copy, Debug)]
enum Choice {
    Uniform(f64),
    Index(usize),
}

/// Replays a particle's choices and forwards new ones to the outer handler; counts scores and
/// keeps only the first `limit`.
struct Replay<'a> {
    trace: &'a mut Vec<Choice>,
    pos: usize,
    outer: &'a mut dyn Handler,
    logw: f64,
    scores: usize,
    limit: usize,
}

impl Replay<'_> {
    /// The next choice: replayed while the trace lasts, then drawn from the outer handler and
    /// recorded. After the particle's `limit`-th score it is suspended: the rest of this run is
    /// ignored, so its choices are placeholders (`idle`) that draw nothing, and after resampling
    /// each copy draws its own future.
    fn next(&mut self, draw: impl FnOnce(&mut dyn Handler) -> Choice, idle: Choice) -> Choice {
        if self.pos < self.trace.len() {
            self.pos += 1;
            return self.trace[self.pos - 1];
        }
        if self.scores >= self.limit {
            return idle;
        }
        let c = draw(&mut *self.outer);
        self.trace.push(c);
        self.pos += 1;
        c
    }
}

impl Handler for Replay<'_> {
    fn uniform(&mut self) -> f64 {
        match self.next(|h| Choice::Uniform(h.uniform()), Choice::Uniform(0.5)) {
            Choice::Uniform(u) => u,
            Choice::Index(_) => panic!("a particle's replay diverged: the program is not a function of its choices"),
        }
    }
    fn categorical(&mut self, p: &[f64]) -> usize {
        match self.next(|h| Choice::Index(h.categorical(p)), Choice::Index(p.iter().position(|&x| x > 0.0).unwrap_or(0))) {
            Choice::Index(i) => i,
            Choice::Uniform(_) => panic!("a particle's replay diverged: the program is not a function of its choices"),
        }
    }
    fn score(&mut self, log_w: f64) {
        self.scores += 1;
        if self.scores <= self.limit {
            self.logw += log_w;
        }
    }
}

/// How a population is resampled (ancestor indices from normalised weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampler {
    /// N independent categorical draws (enumerable).
    Multinomial,
    /// One uniform u, points (u + i)/N.
    Systematic,
    /// One uniform per stratum, points (i + uᵢ)/N.
    Stratified,
}

impl Resampler {
    pub const NAMES: [&'static str; 3] = ["multinomial", "systematic", "stratified"];

    pub fn parse(s: &str) -> Option<Resampler> {
        Self::NAMES.iter().position(|n| *n == s).map(|i| [Resampler::Multinomial, Resampler::Systematic, Resampler::Stratified][i])
    }

    pub fn ancestors(self, h: &mut dyn Handler, w: &[f64]) -> Vec<usize> {
        let n = w.len();
        let points: Vec<f64> = match self {
            Resampler::Multinomial => return (0..n).map(|_| h.categorical(w)).collect(),
            Resampler::Systematic => {
                let u = h.uniform();
                (0..n).map(|i| (i as f64 + u) / n as f64).collect()
            }
            Resampler::Stratified => (0..n).map(|i| (i as f64 + h.uniform()) / n as f64).collect(),
        };
        let total: f64 = w.iter().sum();
        let (mut out, mut acc, mut j) = (Vec::with_capacity(n), w[0] / total, 0);
        for p in points {
            while p >= acc && j + 1 < n {
                j += 1;
                acc += w[j] / total;
            }
            out.push(j);
        }
        out
    }
}

/// SMC with `n` particles and `steps` suspensions (after each of the first `steps` scores; then
/// every particle runs to its end): a program with the same (unnormalised) meaning as `p`. Its
/// weight is the evidence estimate Ẑ, unbiased for p's total mass; its value a particle drawn by
/// weight (`collapse` of the final population). Any `steps` is valid; one per observation is usual.
pub fn smc<T: Clone + 'static>(p: Prob<T>, n: usize, steps: usize, resampler: Resampler) -> Prob<T> {
    population(p, n, steps, resampler).bind(|pop: Population<T>| {
        Prob::new(move |h| {
            let w: Vec<f64> = pop.iter().map(|x| x.1).collect();
            pop[h.categorical(&w)].0.clone()
        })
    })
}

/// Values with normalised weights.
pub type Population<T> = Vec<(T, f64)>;

/// The final SMC population; the run is scored by log Ẑ.
pub fn population<T: Clone + 'static>(p: Prob<T>, n: usize, steps: usize, resampler: Resampler) -> Prob<Population<T>> {
    Prob::new(move |h| {
        let mut traces: Vec<Vec<Choice>> = vec![Vec::new(); n];
        let mut prev = vec![0.0f64; n];
        let mut w = vec![1.0 / n as f64; n];
        let mut log_z = 0.0;
        for k in 1..=steps + 1 {
            // suspended after the k-th score, and the last round runs every particle to its end
            let (limit, done) = if k <= steps { (k, false) } else { (usize::MAX, true) };
            let mut outs = Vec::with_capacity(n);
            let mut inc = vec![0.0f64; n];
            for i in 0..n {
                let mut r = Replay { trace: &mut traces[i], pos: 0, outer: &mut *h, logw: 0.0, scores: 0, limit };
                outs.push(p.run(&mut r));
                let lw = r.logw;
                inc[i] = if lw == f64::NEG_INFINITY { f64::NEG_INFINITY } else { lw - prev[i] };
                prev[i] = lw;
            }
            let m = inc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                h.score(f64::NEG_INFINITY);
                return outs.into_iter().map(|x| (x, 1.0 / n as f64)).collect();
            }
            let s: f64 = w.iter().zip(&inc).map(|(wi, li)| wi * (li - m).exp()).sum();
            log_z += m + s.ln();
            for (wi, li) in w.iter_mut().zip(&inc) {
                *wi = *wi * (li - m).exp() / s;
            }
            if done {
                h.score(log_z);
                return outs.into_iter().zip(w).collect();
            }
            let anc = resampler.ancestors(h, &w);
            traces = anc.iter().map(|&a| traces[a].clone()).collect();
            prev = anc.iter().map(|&a| prev[a]).collect();
            w = vec![1.0 / n as f64; n];
        }
        unreachable!("the last round returns")
    })
}
