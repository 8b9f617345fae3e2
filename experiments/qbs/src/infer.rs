//! Inference for people: run one program under enumeration, importance sampling, SMC or trace MH
//! ([`Infer`]) and read posterior summaries with Monte Carlo error and ESS ([`Posterior`]).

use super::enumerate::enumerate;
use super::sampler::{self, Estimate, Weighted};
use super::smc::{self, Population, Resampler};
use super::{Prob, QbsError, traced};
use rand_chacha::ChaCha20Rng;
use reprise_core::seed::Seed;
use reprise_stats::display::{escape_html, evcxr_bundle, html_table};
use serde::Serialize;
use std::rc::Rc;

/// `runs` independent (resample-move) SMC runs of `p` from `rng`: each run's final population and
/// its log Ẑ; `tick` is called before each run.
pub(crate) fn smc_populations<T: Clone + 'static>(p: &Prob<T>, steps: usize, particles: usize, runs: usize, resampler: Resampler, moves: usize, rng: &mut ChaCha20Rng, mut tick: impl FnMut()) -> Vec<(Population<T>, f64)> {
    let pop = smc::resample_move_population(p.clone(), particles, steps, resampler, moves, smc::Acceptance::Correct);
    (0..runs)
        .map(|_| {
            tick();
            sampler::sample(&pop, rng)
        })
        .collect()
}

/// Ẑ over runs: the mean of the runs' Ẑ (unbiased), with se = sd/√runs.
pub(crate) fn mean_z<T>(runs: &[(T, f64)]) -> Estimate {
    Weighted { draws: runs.iter().map(|r| ((), r.1)).collect() }.evidence()
}

/// E[f] over all runs' particles, each run weighted by its Ẑ (proper weighting), with the
/// between-run standard error of the per-run estimates.
pub(crate) fn smc_expect<T>(runs: &[(Population<T>, f64)], f: impl Fn(&T) -> f64) -> Estimate {
    let per: Vec<f64> = runs.iter().map(|(pop, _)| pop.iter().map(|(x, w)| w * f(x)).sum()).collect();
    let m = runs.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
    let z: Vec<f64> = runs.iter().map(|r| (r.1 - m).exp()).collect();
    let value = per.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>() / z.iter().sum::<f64>();
    let k = per.len() as f64;
    let mean = per.iter().sum::<f64>() / k;
    let sd = (per.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    Estimate { value, se: sd / k.sqrt() }
}

type Stat<T> = (String, Rc<dyn Fn(&T) -> f64>);

/// A program with the statistics to summarise, run under the method of your choice. Each method
/// draws from its own named stream of the seed (`importance`, `smc`, `mh`: the streams the `qbs.*`
/// experiments use), so a cell gets a pinned run's numbers back exactly.
///
/// ```
/// use reprise_qbs::{Infer, examples};
/// let rain = Infer::new(&examples::sprinkler()).stat("P(rain)", |r: &bool| f64::from(u8::from(*r)));
/// let exact = rain.enumerate().unwrap();
/// assert!((exact.stats[0].1.value - 0.0546 / 0.5026).abs() < 1e-12);
/// let smc = rain.seed(1).smc(100, 2, 50);
/// assert!((smc.stats[0].1.value - exact.stats[0].1.value).abs() < 5.0 * smc.stats[0].1.se + 1e-3);
/// ```
pub struct Infer<T> {
    program: Prob<T>,
    stats: Vec<Stat<T>>,
    seed: u64,
    resampler: Resampler,
}

impl<T: Clone + 'static> Infer<T> {
    /// `program` with no statistics yet, seed 0, systematic resampling.
    pub fn new(program: &Prob<T>) -> Infer<T> {
        Infer { program: program.clone(), stats: Vec::new(), seed: 0, resampler: Resampler::Systematic }
    }

    /// Adds a statistic f(x) whose posterior mean each method estimates.
    pub fn stat(mut self, name: &str, f: impl Fn(&T) -> f64 + 'static) -> Infer<T> {
        self.stats.push((name.into(), Rc::new(f)));
        self
    }

    /// The seed whose named streams the samplers draw from.
    pub fn seed(mut self, seed: u64) -> Infer<T> {
        self.seed = seed;
        self
    }

    /// SMC's resampling scheme (systematic by default).
    pub fn resampler(mut self, r: Resampler) -> Infer<T> {
        self.resampler = r;
        self
    }

    fn rng(&self, stream: &str) -> ChaCha20Rng {
        Seed(self.seed).stream(stream)
    }

    fn summarise(&self, e: impl Fn(&dyn Fn(&T) -> f64) -> Estimate) -> Vec<(String, Estimate)> {
        self.stats.iter().map(|(n, f)| (n.clone(), e(&**f))).collect()
    }

    /// Exact enumeration (finite discrete programs only): the estimates have no Monte Carlo error.
    pub fn enumerate(&self) -> Result<Posterior, QbsError>
    where
        T: Ord,
    {
        let d = enumerate(&self.program)?;
        let z = d.mass();
        let stats = self.summarise(|f| Estimate { value: d.items.iter().map(|(x, m)| m * f(x)).sum::<f64>() / z, se: 0.0 });
        Ok(Posterior { method: "enumeration".into(), stats, evidence: Some(Estimate { value: z, se: 0.0 }), ess: None, draws: d.items.len(), acceptance: None })
    }

    /// Importance sampling with the prior as proposal: `samples` weighted runs (stream `importance`).
    pub fn importance(&self, samples: usize) -> Posterior {
        let is = sampler::importance(&self.program, samples.max(2), &mut self.rng("importance"));
        let stats = self.summarise(|f| is.expect(f));
        Posterior { method: format!("importance sampling, {} samples", is.draws.len()), stats, evidence: Some(is.evidence()), ess: Some(is.ess()), draws: is.draws.len(), acceptance: None }
    }

    /// `runs` independent SMC runs of `particles` particles over `steps` scores (the number of
    /// observations), stream `smc`; the standard errors come from the spread between runs.
    pub fn smc(&self, particles: usize, steps: usize, runs: usize) -> Posterior {
        let runs = smc_populations(&self.program, steps, particles.max(1), runs.max(2), self.resampler, 0, &mut self.rng("smc"), || {});
        let stats = self.summarise(|f| smc_expect(&runs, f));
        Posterior { method: format!("SMC, {} runs × {particles} particles", runs.len()), stats, evidence: Some(mean_z(&runs)), ess: None, draws: runs.len() * particles, acceptance: None }
    }

    /// Single-site trace Metropolis–Hastings with prior proposals (stream `mh`): `iterations`
    /// states kept after `burn_in`; batch-means standard errors, ESS = var(f)/se² of the first statistic.
    pub fn mh(&self, burn_in: usize, iterations: usize) -> Posterior {
        let chain = traced::mh(&self.program, burn_in, iterations.max(100), &mut self.rng("mh"));
        let stats = self.summarise(|f| traced::batch_mean(&chain.states, f));
        let ess = self.stats.first().map(|(_, f)| {
            let x: Vec<f64> = chain.states.iter().map(|s| f(s)).collect();
            let m = x.iter().sum::<f64>() / x.len() as f64;
            let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
            let se = stats[0].1.se;
            if se > 0.0 { (var / (se * se)).min(x.len() as f64) } else { x.len() as f64 }
        });
        Posterior { method: format!("trace MH, {} iterations after {burn_in}", chain.states.len()), stats, evidence: None, ess, draws: chain.states.len(), acceptance: Some(chain.acceptance) }
    }
}

/// Posterior means of the statistics under one method, with their Monte Carlo standard errors,
/// the evidence estimate where the method gives one, and the effective sample size.
#[derive(Debug, Clone, Serialize)]
pub struct Posterior {
    pub method: String,
    pub stats: Vec<(String, Estimate)>,
    pub evidence: Option<Estimate>,
    pub ess: Option<f64>,
    pub draws: usize,
    pub acceptance: Option<f64>,
}

impl Posterior {
    /// The mean of statistic `name`.
    pub fn mean(&self, name: &str) -> Option<Estimate> {
        self.stats.iter().find(|(n, _)| n == name).map(|s| s.1)
    }
}

/// Several posteriors side by side: shows as one table, a row per method and statistic.
///
/// ```
/// use reprise_qbs::{Comparison, Infer, examples};
/// let rain = Infer::new(&examples::sprinkler()).stat("P(rain)", |r: &bool| f64::from(u8::from(*r)));
/// let table = Comparison(vec![rain.enumerate().unwrap(), rain.importance(1000)]);
/// assert!(table.to_text().contains("importance sampling, 1000 samples"));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Comparison(pub Vec<Posterior>);

fn cells(p: &Posterior) -> Vec<Vec<String>> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    p.stats
        .iter()
        .map(|(name, e)| {
            vec![
                p.method.clone(),
                name.clone(),
                format!("{:.6}", e.value),
                if e.se > 0.0 { format!("{:.2e}", e.se) } else { "exact".into() },
                opt(p.ess.map(|v| format!("{v:.0}"))),
                opt(p.evidence.map(|z| if z.se > 0.0 { format!("{:.4e} ± {:.1e}", z.value, z.se) } else { format!("{:.6e}", z.value) })),
                opt(p.acceptance.map(|a| format!("{a:.3}"))),
            ]
        })
        .collect()
}

const HEADER: [&str; 7] = ["method", "statistic", "posterior mean", "MC se", "ESS", "evidence Ẑ", "acceptance"];

impl Comparison {
    /// One line per method and statistic.
    pub fn to_text(&self) -> String {
        let rows: Vec<Vec<String>> = std::iter::once(HEADER.iter().map(|s| s.to_string()).collect()).chain(self.0.iter().flat_map(cells)).collect();
        let widths: Vec<usize> = (0..HEADER.len()).map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0)).collect();
        rows.iter().map(|r| r.iter().zip(&widths).enumerate().map(|(j, (c, w))| if j < 2 { format!("{c:<w$}") } else { format!("{c:>w$}") }).collect::<Vec<_>>().join("  ").trim_end().to_string()).collect::<Vec<_>>().join("\n")
    }

    /// The same as an HTML table.
    pub fn to_html(&self) -> String {
        let rows: Vec<Vec<String>> = self.0.iter().flat_map(cells).collect();
        format!("<p>{}</p>", escape_html("posterior means with Monte Carlo standard errors")) + &html_table(&HEADER, &rows)
    }

    /// evcxr's display protocol: the table as text and HTML, the numbers as JSON.
    pub fn evcxr_display(&self) {
        let json = serde_json::to_string(&self.0).unwrap_or_default();
        evcxr_bundle(&[("text/plain", &self.to_text()), ("text/html", &self.to_html()), ("application/json", &json)]);
    }
}

impl Posterior {
    /// evcxr's display protocol: a one-method [`Comparison`].
    pub fn evcxr_display(&self) {
        Comparison(vec![self.clone()]).evcxr_display();
    }
}
