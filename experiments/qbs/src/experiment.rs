//! The QBS experiments: `qbs.regression` (LICS 2017 §VI, every inference method against the exact
//! posterior), `qbs.sprinkler`, `qbs.hmm` (SMC against the forward algorithm), `qbs.definetti`,
//! `qbs.gp` and `qbs.clustering` (DP mixture: SMC and resample-move SMC against enumeration).

use super::enumerate::enumerate;
use super::examples::{self, Function};
use super::sampler::{self, Estimate};
use super::infer::{mean_z, smc_expect, smc_populations};
use super::smc::{self, Population, Resampler};
use super::traced;
use reprise_core::{Experiment, ExperimentError, MediaType, Outputs, ParamSpec, RunCtx};
use serde_json::{Value, json};

fn failed(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(e.to_string())
}

fn est(e: Estimate) -> Value {
    json!({"estimate": e.value, "se": e.se})
}

fn resampler(ctx: &RunCtx) -> Result<Resampler, ExperimentError> {
    Resampler::parse(ctx.params.str("resampler")).ok_or_else(|| failed("resampler: multinomial, systematic or stratified"))
}

/// `runs` independent SMC runs of `p`: each run's population, with the run's log Ẑ.
fn smc_runs<T: Clone + 'static>(ctx: &RunCtx, p: &super::Prob<T>, steps: usize, particles: usize, runs: usize) -> Result<Vec<(Population<T>, f64)>, ExperimentError> {
    rm_runs(ctx, p, steps, particles, runs, 0, "smc")
}

/// The same with `moves` MH rejuvenation steps per particle after each resampling, from the
/// random stream `stream`.
fn rm_runs<T: Clone + 'static>(ctx: &RunCtx, p: &super::Prob<T>, steps: usize, particles: usize, runs: usize, moves: usize, stream: &str) -> Result<Vec<(Population<T>, f64)>, ExperimentError> {
    let resampler = resampler(ctx)?;
    let mut rng = ctx.rng(stream);
    ctx.progress.start(if moves == 0 { "SMC runs" } else { "resample-move SMC runs" }, runs as u64);
    let out = smc_populations(p, steps, particles, runs, resampler, moves, &mut rng, || ctx.progress.advance(1));
    ctx.progress.finish();
    Ok(out)
}

pub struct Regression;

const X_NEW: [f64; 3] = [0.0, 2.5, 6.0];

impl Experiment for Regression {
    fn name(&self) -> &'static str {
        "qbs.regression"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Bayesian regression over functions (LICS 2017 §VI): exact evidence and posterior vs importance sampling, SMC and trace MH"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("samples", 20_000, 10, 10_000_000, "importance samples (prior proposal)"),
            ParamSpec::int("particles", 200, 2, 1_000_000, "SMC particles"),
            ParamSpec::int("smc_runs", 50, 2, 100_000, "independent SMC runs (the evidence se comes from their spread)"),
            ParamSpec::choice("resampler", "systematic", &Resampler::NAMES, "SMC resampling scheme"),
            ParamSpec::int("mh_iterations", 20_000, 100, 100_000_000, "trace MH iterations kept"),
            ParamSpec::int("burn_in", 2_000, 0, 10_000_000, "trace MH iterations discarded first"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let p = &ctx.params;
        let exact = examples::regression_exact();
        let model = examples::regression();
        let slope = |f: &Function| f(1.0) - f(0.0);
        let intercept = |f: &Function| f(0.0);
        let summarise = |ev: Option<Estimate>, e: &dyn Fn(&dyn Fn(&Function) -> f64) -> Estimate| {
            json!({
                "evidence": ev.map(est),
                "slope": est(e(&slope)),
                "intercept": est(e(&intercept)),
                "predictive_mean": X_NEW.iter().map(|&x| json!({"x": x, "f": est(e(&move |f: &Function| f(x)))})).collect::<Vec<_>>(),
            })
        };

        let mut rng = ctx.rng("importance");
        ctx.progress.start("importance sampling", 1);
        let is = sampler::importance(&model, p.int("samples") as usize, &mut rng);
        ctx.progress.finish();
        let is_json = summarise(Some(is.evidence()), &|f| is.expect(f));

        let runs = smc_runs(ctx, &model, examples::REGRESSION_DATA.len(), p.int("particles") as usize, p.int("smc_runs") as usize)?;
        let smc_json = summarise(Some(mean_z(&runs)), &|f| smc_expect(&runs, f));

        let mut rng = ctx.rng("mh");
        ctx.progress.start("trace MH", 1);
        let chain = traced::mh(&model, p.int("burn_in") as usize, p.int("mh_iterations") as usize, &mut rng);
        ctx.progress.finish();
        let mut mh_json = summarise(None, &|f| traced::batch_mean(&chain.states, f));
        mh_json["acceptance"] = json!(chain.acceptance);

        let predictive: Vec<Value> = X_NEW.iter().map(|&x| {
            let (m, s) = exact.predictive(x);
            json!({"x": x, "mean": m, "sd": s})
        }).collect();
        let summary = json!({
            "model": "s, b ~ N(0, 3²); f = λr. s·r + b; y_i ~ N(f(x_i), 0.5²) at (1,2.5), (2,3.8), (3,4.5), (4,6.2), (5,8)",
            "exact": {
                "evidence": exact.evidence,
                "slope_mean": exact.mean[0], "slope_sd": exact.cov[0][0].sqrt(),
                "intercept_mean": exact.mean[1], "intercept_sd": exact.cov[1][1].sqrt(),
                "correlation": exact.cov[0][1] / (exact.cov[0][0] * exact.cov[1][1]).sqrt(),
                "predictive": predictive,
                "reference": "Z = 4√2 / (π²·√(66961π)) · exp(−1674761/1674025) and slope mean 450072/334805 (proved in the Isabelle AFP entry Quasi_Borel_Spaces)"
            },
            "importance": {"summary": is_json, "samples": is.draws.len(), "ess": is.ess()},
            "smc": {"summary": smc_json, "particles": p.int("particles"), "runs": runs.len(), "resampler": p.str("resampler")},
            "mh": mh_json,
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        // the posterior predictive band, the data, and functions drawn by SMC
        let grid: Vec<f64> = (0..=60).map(|i| i as f64 * 0.1).collect();
        let band = |k: f64| grid.iter().map(|&x| { let (m, s) = exact.predictive(x); m + k * s }).collect::<Vec<_>>();
        let mut data = vec![
            json!({"type": "scatter", "mode": "lines", "x": grid, "y": band(2.0), "line": {"width": 0}, "showlegend": false}),
            json!({"type": "scatter", "mode": "lines", "x": grid, "y": band(-2.0), "fill": "tonexty", "fillcolor": "rgba(60,110,200,0.2)", "line": {"width": 0}, "name": "exact posterior of f(x): mean ± 2 sd"}),
            json!({"type": "scatter", "mode": "lines", "x": grid, "y": band(0.0), "line": {"color": "#2a5db0"}, "name": "exact posterior mean"}),
        ];
        let mut pick = ctx.rng("draws");
        for (k, (pop, _)) in runs.iter().take(12).enumerate() {
            // one particle of the run's final population, drawn by its weight
            let w: Vec<f64> = pop.iter().map(|x| x.1).collect();
            let f = &pop[sampler::inverse_cdf(&w, rand::Rng::random::<f64>(&mut pick))].0;
            data.push(json!({"type": "scatter", "mode": "lines", "x": [0.0, 6.0], "y": [f(0.0), f(6.0)], "line": {"color": "rgba(176,84,42,0.5)", "width": 1}, "name": "functions drawn by SMC", "showlegend": k == 0}));
        }
        data.push(json!({"type": "scatter", "mode": "markers", "x": examples::REGRESSION_DATA.iter().map(|d| d.0).collect::<Vec<_>>(), "y": examples::REGRESSION_DATA.iter().map(|d| d.1).collect::<Vec<_>>(), "marker": {"color": "#222"}, "name": "data"}));
        let fig = json!({"data": data, "layout": {"title": {"text": "Posterior over functions f = λr. s·r + b"}, "xaxis": {"title": {"text": "r"}}, "yaxis": {"title": {"text": "f(r)"}}}});
        out.bytes("posterior.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        let steps: Vec<usize> = (0..chain.states.len()).step_by((chain.states.len() / 500).max(1)).collect();
        let trace = json!({"data": [{"type": "scatter", "mode": "lines", "x": steps, "y": steps.iter().map(|&i| slope(&chain.states[i])).collect::<Vec<_>>(), "name": "slope", "line": {"width": 1}}],
            "layout": {"title": {"text": format!("Trace MH: slope (acceptance {:.2})", chain.acceptance)}, "xaxis": {"title": {"text": "iteration after burn-in"}}, "yaxis": {"title": {"text": "s"}},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": exact.mean[0], "y1": exact.mean[0], "line": {"dash": "dash", "color": "#888"}}]}});
        out.bytes("mh_trace.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&trace)?);
        Ok(out)
    }
}

pub struct Sprinkler;

impl Experiment for Sprinkler {
    fn name(&self) -> &'static str {
        "qbs.sprinkler"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "monad-bayes' sprinkler: P(rain | evidence) exactly by enumeration, SMC over the enumerator (exact), and SMC by sampling"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("particles", 100, 2, 1_000_000, "SMC particles (sampled runs)"),
            ParamSpec::int("smc_runs", 200, 2, 100_000, "independent sampled SMC runs"),
            ParamSpec::choice("resampler", "multinomial", &Resampler::NAMES, "SMC resampling scheme of the sampled runs"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let model = examples::sprinkler();
        let exact = enumerate(&model).map_err(failed)?;
        let exact_smc = enumerate(&smc::smc(model.clone(), 2, 2, Resampler::Multinomial)).map_err(failed)?;
        let runs = smc_runs(ctx, &model, 2, ctx.params.int("particles") as usize, ctx.params.int("smc_runs") as usize)?;
        let rain = smc_expect(&runs, |r: &bool| f64::from(u8::from(*r)));
        let summary = json!({
            "model": "rain ~ B(0.3), factor 0.2 if rain; sprinkler ~ B(rain ? 0.1 : 0.4), factor 0.1 if sprinkler; return rain",
            "enumeration": {"p_rain": exact.prob(&true), "evidence": exact.mass(), "reference": "0.0546 / 0.5026"},
            "smc_over_enumerator": {"particles": 2, "steps": 2, "resampler": "multinomial", "p_rain": exact_smc.prob(&true), "evidence": exact_smc.mass(),
                "p_rain_error": exact_smc.prob(&true) - exact.prob(&true), "evidence_error": exact_smc.mass() - exact.mass()},
            "smc_sampled": {"p_rain": est(rain), "evidence": est(mean_z(&runs)), "particles": ctx.params.int("particles"), "runs": runs.len()},
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        Ok(out)
    }
}

pub struct Hmm;

impl Experiment for Hmm {
    fn name(&self) -> &'static str {
        "qbs.hmm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "monad-bayes' 3-state Gaussian HMM: SMC evidence and filtering against the exact forward algorithm"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("particles", 1000, 2, 1_000_000, "SMC particles"),
            ParamSpec::int("smc_runs", 20, 2, 100_000, "independent SMC runs"),
            ParamSpec::choice("resampler", "systematic", &Resampler::NAMES, "SMC resampling scheme"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let data = examples::HMM_DATA.to_vec();
        let (log_z, filt) = examples::hmm_forward(&data);
        let runs = smc_runs(ctx, &examples::hmm(data.clone()), data.len(), ctx.params.int("particles") as usize, ctx.params.int("smc_runs") as usize)?;
        let z = mean_z(&runs);
        let t_last = data.len();
        let last: Vec<Value> = (0..3).map(|s| est(smc_expect(&runs, |path: &Vec<usize>| f64::from(u8::from(path[t_last] == s))))).collect();
        let log_zs: Vec<f64> = runs.iter().map(|r| r.1).collect();
        let summary = json!({
            "exact": {"log_evidence": log_z, "evidence": log_z.exp(), "last_state": filt[t_last - 1]},
            "smc": {"evidence": est(z), "evidence_ratio": z.value / log_z.exp(), "mean_log_evidence": log_zs.iter().sum::<f64>() / log_zs.len() as f64,
                "last_state": last, "particles": ctx.params.int("particles"), "runs": runs.len(), "resampler": ctx.params.str("resampler")},
            "note": "observations scored in the data's order (monad-bayes' hmm consumes its list from the end)",
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        let ts: Vec<usize> = (1..=t_last).collect();
        let traces: Vec<Value> = (0..3).map(|s| json!({"type": "scatter", "mode": "lines+markers", "x": ts, "y": filt.iter().map(|f| f[s]).collect::<Vec<_>>(), "name": format!("state {s} (mean {})", examples::HMM_MEANS[s])})).collect();
        let fig = json!({"data": traces, "layout": {"title": {"text": "HMM: exact filtering probabilities P(x_t | y_1..t)"}, "xaxis": {"title": {"text": "t"}}, "yaxis": {"title": {"text": "probability"}, "range": [0, 1]}}});
        out.bytes("filtering.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        Ok(out)
    }
}

pub struct DeFinetti;

impl Experiment for DeFinetti {
    fn name(&self) -> &'static str {
        "qbs.definetti"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Beta(1,1)–Bernoulli as a mixture of iid sequences and as a Pólya urn: the same measure on sequences"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::int("n", 10, 1, 14, "sequence length"), ParamSpec::int("samples", 200_000, 100, 100_000_000, "draws of the mixture program")]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let n = ctx.params.int("n") as usize;
        let urn = enumerate(&examples::polya_urn(n)).map_err(failed)?;
        // exact mixture law of a sequence with k ones: B(k+1, n−k+1) = k!(n−k)!/(n+1)!
        let fact = |m: usize| (1..=m).map(|i| i as f64).product::<f64>();
        let mixture = |k: usize| fact(k) * fact(n - k) / fact(n + 1);
        let max_err = urn.items.iter().map(|(seq, p)| (p - mixture(seq.iter().filter(|b| **b).count())).abs()).fold(0.0, f64::max);
        let mut rng = ctx.rng("mixture");
        let draws = sampler::importance(&examples::beta_bernoulli_mixture(n), ctx.params.int("samples") as usize, &mut rng);
        let by_ones: Vec<Value> = (0..=n).map(|k| {
            let e = draws.expect(|s: &Vec<bool>| f64::from(u8::from(s.iter().filter(|b| **b).count() == k)));
            let binom = fact(n) / (fact(k) * fact(n - k));
            json!({"ones": k, "exact": binom * mixture(k), "mixture_sampled": est(e), "urn_enumerated": urn.items.iter().filter(|(s, _)| s.iter().filter(|b| **b).count() == k).map(|x| x.1).sum::<f64>()})
        }).collect();
        let summary = json!({
            "n": n, "sequences": urn.items.len(), "urn_total_mass": urn.mass(),
            "max_abs_difference_urn_vs_mixture_per_sequence": max_err,
            "example": {"sequence": "7 ones in 10", "probability": if n == 10 { Some(mixture(7)) } else { None }, "reference": "1/1320", "posterior": "Beta(8, 4)"},
            "count_of_ones": by_ones,
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        Ok(out)
    }
}

pub struct Gp;

impl Experiment for Gp {
    fn name(&self) -> &'static str {
        "qbs.gp"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "LazyPPL's GP regression f = a + b·x + g(x), g a memoised random function: SMC posterior of f against the exact GP posterior"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::int("particles", 1000, 2, 1_000_000, "SMC particles"),
            ParamSpec::int("smc_runs", 10, 2, 100_000, "independent SMC runs"),
            ParamSpec::choice("resampler", "systematic", &Resampler::NAMES, "SMC resampling scheme"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        let grid: Vec<f64> = (0..=14).map(|i| i as f64 * 0.5).collect();
        let (log_z, means, sds) = super::gp::gp_exact(&grid);
        let model = super::gp::gp_regression(grid.clone());
        let runs = smc_runs(ctx, &model, super::gp::GP_DATA.len(), ctx.params.int("particles") as usize, ctx.params.int("smc_runs") as usize)?;
        let z = mean_z(&runs);
        let rows: Vec<Value> = grid.iter().enumerate().map(|(i, &x)| {
            json!({"x": x, "exact_mean": means[i], "exact_sd": sds[i], "smc_mean": est(smc_expect(&runs, |f: &Vec<f64>| f[i]))})
        }).collect();
        let summary = json!({
            "model": "a, b ~ N(0, 3²); g ~ GP(0, exp(−(x−x′)²/2)) memoised per argument; y ~ N(a + b·x + g(x), 0.3²) at (0,0.6) … (6,8.4)",
            "exact": {"log_evidence": log_z, "evidence": log_z.exp()},
            "smc": {"evidence": est(z), "evidence_ratio": z.value / log_z.exp(), "particles": ctx.params.int("particles"), "runs": runs.len()},
            "predictive": rows,
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        let band = |k: f64| means.iter().zip(&sds).map(|(m, s)| m + k * s).collect::<Vec<_>>();
        let mut data = vec![
            json!({"type": "scatter", "mode": "lines", "x": grid, "y": band(2.0), "line": {"width": 0}, "showlegend": false}),
            json!({"type": "scatter", "mode": "lines", "x": grid, "y": band(-2.0), "fill": "tonexty", "fillcolor": "rgba(60,110,200,0.2)", "line": {"width": 0}, "name": "exact: mean ± 2 sd"}),
        ];
        let mut pick = ctx.rng("draws");
        for (k, (pop, _)) in runs.iter().enumerate() {
            let w: Vec<f64> = pop.iter().map(|x| x.1).collect();
            let f = &pop[sampler::inverse_cdf(&w, rand::Rng::random::<f64>(&mut pick))].0;
            data.push(json!({"type": "scatter", "mode": "lines", "x": grid, "y": f, "line": {"color": "rgba(176,84,42,0.6)", "width": 1}, "name": "functions drawn by SMC", "showlegend": k == 0}));
        }
        data.push(json!({"type": "scatter", "mode": "markers", "x": super::gp::GP_DATA.iter().map(|d| d.0).collect::<Vec<_>>(), "y": super::gp::GP_DATA.iter().map(|d| d.1).collect::<Vec<_>>(), "marker": {"color": "#222"}, "name": "data"}));
        let fig = json!({"data": data, "layout": {"title": {"text": "GP regression: posterior over functions"}, "xaxis": {"title": {"text": "x"}}, "yaxis": {"title": {"text": "f(x)"}}}});
        out.bytes("posterior.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        Ok(out)
    }
}

pub struct Clustering;

impl Experiment for Clustering {
    fn name(&self) -> &'static str {
        "qbs.clustering"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Dirichlet-process mixture (CRP α = 0.3) of 2-d Gaussians on nine points: SMC and resample-move SMC on the program with explicit means, against the exact partition posterior"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::float("alpha", 0.3, 1e-3, 100.0, "CRP concentration α"),
            ParamSpec::float("prior_sd", 2.0, 1e-3, 1e3, "prior sd of each coordinate of a cluster mean"),
            ParamSpec::float("noise", 0.5, 1e-3, 1e3, "sd of a point around its cluster mean"),
            ParamSpec::int("particles", 2000, 2, 1_000_000, "particles per SMC run"),
            ParamSpec::int("smc_runs", 40, 2, 100_000, "independent runs of each sampler"),
            ParamSpec::int("moves", 3, 1, 1000, "MH rejuvenation moves per particle after each resampling (resample-move SMC)"),
            ParamSpec::choice("resampler", "systematic", &Resampler::NAMES, "resampling scheme"),
        ]
    }

    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        use super::clustering::{DATA, Mixture, clusters};
        let p = &ctx.params;
        let mix = Mixture { alpha: p.float("alpha"), prior_sd: p.float("prior_sd"), noise: p.float("noise") };
        let data = std::rc::Rc::new(DATA.to_vec());
        let n = data.len();
        let exact = mix.exact(data.clone());
        let z_exact = exact.mass();
        let kmax = n;
        let exact_k: Vec<f64> = (1..=kmax).map(|k| exact.items.iter().filter(|(z, _)| clusters(z) == k).map(|(_, m)| m).sum::<f64>() / z_exact).collect();
        let co = |a: usize, b: usize| exact.items.iter().filter(|(z, _)| z[a] == z[b]).map(|(_, m)| m).sum::<f64>() / z_exact;
        let co_matrix: Vec<Vec<f64>> = (0..n).map(|a| (0..n).map(|b| co(a, b)).collect()).collect();
        let (map, map_mass) = exact.items.iter().fold((Vec::new(), 0.0), |best, (z, m)| if *m > best.1 { (z.clone(), *m) } else { best });
        let (particles, runs) = (p.int("particles") as usize, p.int("smc_runs") as usize);
        let program = mix.program(data.clone());
        let mut methods = serde_json::Map::new();
        let mut bars = Vec::new();
        for (name, moves, stream) in [("smc", 0usize, "smc"), ("rmsmc", p.int("moves") as usize, "rmsmc")] {
            let rs = rm_runs(ctx, &program, n, particles, runs, moves, stream)?;
            let ks: Vec<Estimate> = (1..=kmax).map(|k| smc_expect(&rs, |z: &Vec<usize>| f64::from(u8::from(clusters(z) == k)))).collect();
            let same = smc_expect(&rs, |z: &Vec<usize>| f64::from(u8::from(z[4] == z[7])));
            let z = mean_z(&rs);
            methods.insert(
                name.into(),
                json!({"moves": moves, "particles": particles, "runs": runs, "evidence": est(z), "evidence_ratio": z.value / z_exact,
                    "p_clusters": ks.iter().map(|e| est(*e)).collect::<Vec<_>>(), "p_same_4_7": est(same),
                    "max_error_in_se": ks.iter().zip(&exact_k).map(|(e, x)| if e.se > 0.0 { (e.value - x).abs() / e.se } else { 0.0 }).fold(0.0, f64::max)}),
            );
            bars.push(json!({"type": "bar", "name": if moves == 0 { format!("SMC ({particles} particles × {runs} runs)") } else { format!("resample-move SMC ({moves} moves)") },
                "x": (1..=kmax).collect::<Vec<_>>(), "y": ks.iter().map(|e| e.value).collect::<Vec<_>>(), "error_y": {"type": "data", "array": ks.iter().map(|e| 2.0 * e.se).collect::<Vec<_>>()}}));
        }
        bars.insert(0, json!({"type": "bar", "name": "exact (enumeration)", "x": (1..=kmax).collect::<Vec<_>>(), "y": exact_k}));
        let summary = json!({
            "model": {"alpha": mix.alpha, "prior_sd": mix.prior_sd, "noise": mix.noise, "points": n, "data": DATA},
            "exact": {"evidence": z_exact, "log_evidence": z_exact.ln(), "partitions": exact.items.len(), "p_clusters": exact_k,
                "map_partition": map, "map_probability": map_mass / z_exact, "co_clustering": co_matrix},
            "inference": methods,
            "note": "exact: the collapsed (conjugate) program enumerated over all Bell(9) = 21147 partitions; samplers run the program with explicit cluster means; error bars are 2 between-run standard errors",
        });
        let mut out = Outputs::new();
        out.json("summary.json", &summary)?;
        let fig = json!({"data": bars, "layout": {"title": {"text": "DP mixture: posterior number of clusters"}, "barmode": "group", "xaxis": {"title": {"text": "clusters K"}, "range": [0.5, 5.5]}, "yaxis": {"title": {"text": "P(K | data)"}}}});
        out.bytes("clusters.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        let points: Vec<Value> = (0..clusters(&map))
            .map(|c| {
                let idx: Vec<usize> = (0..n).filter(|&i| map[i] == c).collect();
                json!({"type": "scatter", "mode": "markers+text", "name": format!("cluster {}", c + 1), "x": idx.iter().map(|&i| DATA[i][0]).collect::<Vec<_>>(),
                    "y": idx.iter().map(|&i| DATA[i][1]).collect::<Vec<_>>(), "text": idx.iter().map(|i| i.to_string()).collect::<Vec<_>>(), "textposition": "top center", "marker": {"size": 12}})
            })
            .collect();
        let fig = json!({"data": points, "layout": {"title": {"text": format!("the data, coloured by the most probable partition (posterior probability {:.3})", map_mass / z_exact)}, "xaxis": {"title": {"text": "y₁"}}, "yaxis": {"title": {"text": "y₂"}, "scaleanchor": "x"}}});
        out.bytes("partition.plotly.json", MediaType::PLOTLY, reprise_core::canon::to_vec(&fig)?);
        Ok(out)
    }
}
