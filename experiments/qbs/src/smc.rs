//! Sequential Monte Carlo as a program transformer (monad-bayes' `smc`, and `rmsmc` with MH
//! rejuvenation): N particles, each run suspended after its k-th score by replaying its recorded
//! choices; populations reweighted, resampled, optionally moved, and collapsed into one weighted
//! value. All randomness — particles', resampling's, moves' — comes from the outer handler, so
//! `enumerate(smc(p))` and `enumerate(rmsmc(p))` are exact.

use super::{Handler, Prob};

/// A recorded random choice of one particle. A discrete one keeps ln p(index) when the
/// population is moved (NaN otherwise), to price the index when a proposal reuses it under
/// changed probabilities.
#[derive(Clone, Copy, Debug)]
enum Choice {
    Uniform(f64),
    Index(u32, f64),
}

/// Replays a particle's choices and forwards new ones to the outer handler; counts scores and
/// keeps only the first `limit`. After the particle's `limit`-th score it is suspended: the rest
/// of this run is ignored, so its choices are placeholders that draw nothing, and after
/// resampling each copy draws its own future. Choices are reused by position; where a proposal
/// changed the path so that a recorded choice is of the other kind (a uniform where an index is
/// wanted), the rest of the trace is dropped and drawn afresh — a move the reverse proposal makes
/// at the same position, so the MH ratio keeps its form.
struct Replay<'a> {
    trace: &'a mut Vec<Choice>,
    pos: usize,
    outer: &'a mut dyn Handler,
    logw: f64,
    scores: usize,
    limit: usize,
    /// Record ln p(index) of discrete choices and price reused ones (populations with moves).
    priced: bool,
    /// The site an MH proposal redraws from the outer handler.
    redraw: Option<usize>,
    /// Σ ln p′(i) − ln p(i) over reused discrete choices (nonzero only when a proposal changed
    /// an earlier choice).
    reuse: f64,
}

fn first_possible(p: &[f64]) -> usize {
    p.iter().position(|&x| x > 0.0).unwrap_or(0)
}

impl Replay<'_> {
    /// A fresh index from the outer handler, recorded (at `self.pos`, replacing or appending).
    fn fresh_index(&mut self, p: &[f64]) -> usize {
        let i = self.outer.categorical(p);
        let c = Choice::Index(i as u32, if self.priced { p[i].ln() } else { f64::NAN });
        if self.pos < self.trace.len() { self.trace[self.pos] = c } else { self.trace.push(c) }
        self.pos += 1;
        i
    }
}

impl Handler for Replay<'_> {
    fn uniform(&mut self) -> f64 {
        // Suspended: a recorded choice past this point (a proposal's changed path) is dropped.
        if self.scores >= self.limit {
            return 0.5;
        }
        if self.pos < self.trace.len() {
            match self.trace[self.pos] {
                Choice::Uniform(_) if self.redraw == Some(self.pos) => {
                    let u = self.outer.uniform();
                    self.trace[self.pos] = Choice::Uniform(u);
                    self.pos += 1;
                    return u;
                }
                Choice::Uniform(u) => {
                    self.pos += 1;
                    return u;
                }
                Choice::Index(..) => self.trace.truncate(self.pos),
            }
        }
        let u = self.outer.uniform();
        self.trace.push(Choice::Uniform(u));
        self.pos += 1;
        u
    }
    fn categorical(&mut self, p: &[f64]) -> usize {
        if self.scores >= self.limit {
            return first_possible(p);
        }
        match self.trace.get(self.pos).copied() {
            Some(Choice::Index(..)) if self.redraw == Some(self.pos) => self.fresh_index(p),
            Some(Choice::Index(i, lp)) => {
                let mut i = i as usize;
                if self.priced {
                    let now = p.get(i).copied().unwrap_or(0.0);
                    self.reuse += now.ln() - lp;
                    if now == 0.0 {
                        // impossible under the new probabilities: weight zero, and a valid
                        // index so the program can go on
                        i = first_possible(p);
                    }
                    self.trace[self.pos] = Choice::Index(i as u32, p.get(i).copied().unwrap_or(0.0).ln());
                }
                self.pos += 1;
                i
            }
            Some(Choice::Uniform(_)) => {
                self.trace.truncate(self.pos);
                self.fresh_index(p)
            }
            None => self.fresh_index(p),
        }
    }
    fn score(&mut self, log_w: f64) {
        self.scores += 1;
        if self.scores <= self.limit {
            self.logw += log_w;
        }
    }
}

/// Runs `p` on `trace` up to its `limit`-th score (redrawing site `redraw`, if any): the value,
/// the log weight of those scores, the reuse term; the trace keeps exactly the choices used.
fn replay<T: 'static>(p: &Prob<T>, trace: &mut Vec<Choice>, outer: &mut dyn Handler, limit: usize, priced: bool, redraw: Option<usize>) -> (T, f64, f64) {
    let mut r = Replay { trace, pos: 0, outer, logw: 0.0, scores: 0, limit, priced, redraw, reuse: 0.0 };
    let x = p.run(&mut r);
    let (lw, reuse, used) = (r.logw, r.reuse, r.pos);
    trace.truncate(used);
    (x, lw, reuse)
}

/// How an MH rejuvenation move accepts; `Wrong*` exist so tests can show the exact checks catch
/// a broken kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// min(1, w′·n·Πp′/p / (w·n′)): single-site MH with prior proposals (monad-bayes' mhTrans).
    Correct,
    /// Accepts every proposal (a sampler of the prior, not of the target).
    WrongAlways,
    /// Leaves out the n/n′ factor for a trace whose length changed.
    WrongNoLengthCorrection,
}

/// One single-site MH move on a suspended particle targeting its program up to `limit` scores:
/// a site picked uniformly, redrawn from its prior, accepted by `acc`. All randomness comes from
/// `h` (site, redraw, and the accept decision as a two-way categorical), so it enumerates.
fn rejuvenate<T: 'static>(p: &Prob<T>, trace: &mut Vec<Choice>, lw: &mut f64, limit: usize, acc: Acceptance, h: &mut dyn Handler) {
    let n = trace.len();
    if n == 0 {
        return;
    }
    let site = h.categorical(&vec![1.0 / n as f64; n]);
    let mut prop = trace.clone();
    let (_, lw2, reuse) = replay(p, &mut prop, h, limit, true, Some(site));
    let length = if acc == Acceptance::WrongNoLengthCorrection { 0.0 } else { (n as f64).ln() - (prop.len() as f64).ln() };
    let log_a = lw2 - *lw + reuse + length;
    let a = match acc {
        Acceptance::WrongAlways => 1.0,
        _ if log_a >= 0.0 => 1.0,
        _ if log_a.is_nan() => 0.0,
        _ => log_a.exp(),
    };
    if h.categorical(&[a, 1.0 - a]) == 0 {
        *trace = prop;
        *lw = lw2;
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
    collapse(population(p, n, steps, resampler))
}

/// Values with normalised weights.
pub type Population<T> = Vec<(T, f64)>;

/// The final SMC population; the run is scored by log Ẑ.
pub fn population<T: Clone + 'static>(p: Prob<T>, n: usize, steps: usize, resampler: Resampler) -> Prob<Population<T>> {
    resample_move_population(p, n, steps, resampler, 0, Acceptance::Correct)
}

/// Resample-move SMC (monad-bayes' `rmsmc`): SMC whose particles each take `moves` MH steps after
/// every resampling, targeting the program up to the scores seen so far. The moves leave each
/// intermediate target invariant, so the meaning (and E[Ẑ] = Z) is unchanged; they restore the
/// diversity resampling removes.
pub fn rmsmc<T: Clone + 'static>(p: Prob<T>, n: usize, steps: usize, resampler: Resampler, moves: usize) -> Prob<T> {
    collapse(resample_move_population(p, n, steps, resampler, moves, Acceptance::Correct))
}

/// A value drawn from a population by weight (the population's run already carries log Ẑ).
pub fn collapse<T: Clone + 'static>(pop: Prob<Population<T>>) -> Prob<T> {
    pop.bind(|pop: Population<T>| {
        Prob::new(move |h| {
            let w: Vec<f64> = pop.iter().map(|x| x.1).collect();
            pop[h.categorical(&w)].0.clone()
        })
    })
}

/// The final population of SMC with `moves` rejuvenation steps per particle after each
/// resampling (0: plain SMC), accepting by `acc`.
pub fn resample_move_population<T: Clone + 'static>(p: Prob<T>, n: usize, steps: usize, resampler: Resampler, moves: usize, acc: Acceptance) -> Prob<Population<T>> {
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
                let (x, lw, _) = replay(&p, &mut traces[i], &mut *h, limit, moves > 0, None);
                outs.push(x);
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
            for (t, lw) in traces.iter_mut().zip(prev.iter_mut()) {
                for _ in 0..moves {
                    rejuvenate(&p, t, lw, limit, acc, &mut *h);
                }
            }
        }
        unreachable!("the last round returns")
    })
}
