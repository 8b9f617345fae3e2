//! QBS checks: exact answers by enumeration, transformations that preserve the distribution
//! exactly, monad laws, samplers within their stated Monte Carlo error, and a wrong SMC caught.

use super::enumerate::enumerate;
use super::examples::{self, Function};
use super::sampler::{self, Weighted};
use super::smc::{self, Resampler};
use super::{Prob, RandomFn, bernoulli, categorical, traced};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn sprinkler_is_exact_by_enumeration() {
    let d = enumerate(&examples::sprinkler()).unwrap();
    assert!((d.mass() - 0.5026).abs() < 1e-15, "{}", d.mass());
    assert!((d.prob(&true) - 0.0546 / 0.5026).abs() < 1e-15, "{}", d.prob(&true));
}

#[test]
fn smc_over_the_enumerator_preserves_the_measure_exactly() {
    let exact = enumerate(&examples::sprinkler()).unwrap();
    for n in [1, 2, 3] {
        let d = enumerate(&smc::smc(examples::sprinkler(), n, 2, Resampler::Multinomial)).unwrap();
        assert!((d.prob(&true) - exact.prob(&true)).abs() < 1e-12, "n={n}: {} vs {}", d.prob(&true), exact.prob(&true));
        // E[Ẑ] = Z exactly: the evidence estimate is unbiased
        assert!((d.mass() - exact.mass()).abs() < 1e-12, "n={n}: {} vs {}", d.mass(), exact.mass());
    }
    // the HMM on three observations, a longer sequential program
    let data = examples::HMM_DATA[..3].to_vec();
    let exact = enumerate(&examples::hmm(data.clone())).unwrap();
    let d = enumerate(&smc::smc(examples::hmm(data.clone()), 2, 3, Resampler::Multinomial)).unwrap();
    assert!((d.mass() - exact.mass()).abs() < 1e-12 * exact.mass());
    for (path, p) in &exact.items {
        assert!((d.mass_of(path) - p).abs() < 1e-12 * exact.mass(), "{path:?}");
    }
    assert!((exact.mass().ln() - examples::hmm_forward(&data).0).abs() < 1e-12);
}

#[test]
fn a_wrong_smc_is_caught_by_the_same_exact_check() {
    // a deliberately wrong collapse: a particle picked uniformly instead of by its weight (one
    // suspension, so the last round reweights and the final weights are not uniform)
    let uniform_pick = Prob::new(|h| {
        let pop = smc::population(examples::sprinkler(), 2, 1, Resampler::Multinomial).run(h);
        pop[h.categorical(&[0.5, 0.5])].0
    });
    let exact = enumerate(&examples::sprinkler()).unwrap();
    let d = enumerate(&uniform_pick).unwrap();
    assert!((d.prob(&true) - exact.prob(&true)).abs() > 1e-3, "the check must see the wrong collapse: {}", d.prob(&true));
    let right = enumerate(&smc::smc(examples::sprinkler(), 2, 1, Resampler::Multinomial)).unwrap();
    assert!((right.prob(&true) - exact.prob(&true)).abs() < 1e-12);
}

#[test]
fn monad_laws_hold_exactly_on_the_enumerator() {
    let m = bernoulli(0.3).bind(|a| bernoulli(if a { 0.8 } else { 0.1 }).map(move |b| (a, b)));
    let f = |x: (bool, bool)| categorical(vec![0.2, 0.5, 0.3]).map(move |k| (x.0, x.1, k));
    let g = |x: (bool, bool, usize)| bernoulli(if x.2 == 1 { 0.9 } else { 0.4 }).map(move |c| (x, c));
    fn same<T: Ord + Clone>(a: &super::enumerate::Dist<T>, b: &super::enumerate::Dist<T>) -> bool {
        a.items.len() == b.items.len() && a.items.iter().all(|(k, v)| (b.mass_of(k) - v).abs() < 1e-15)
    }
    // left identity, right identity, associativity
    let x = (true, false);
    assert!(same(&enumerate(&Prob::pure(x).bind(f)).unwrap(), &enumerate(&f(x)).unwrap()));
    assert!(same(&enumerate(&m.bind(Prob::pure)).unwrap(), &enumerate(&m).unwrap()));
    assert!(same(&enumerate(&m.bind(f).bind(g)).unwrap(), &enumerate(&m.bind(move |x| f(x).bind(g))).unwrap()));
    // commutativity: the order of independent draws does not matter
    let ab = bernoulli(0.3).bind(|a| categorical(vec![0.5, 0.5]).map(move |b| (a, b)));
    let ba = categorical(vec![0.5, 0.5]).bind(|b| bernoulli(0.3).map(move |a| (a, b)));
    assert!(same(&enumerate(&ab).unwrap(), &enumerate(&ba).unwrap()));
    assert!(enumerate(&super::normal(0.0, 1.0).map(|x| x > 0.0)).unwrap_err().to_string().contains("continuous uniform"));
}

#[test]
fn the_regression_evidence_and_slope_are_the_proved_values() {
    let e = examples::regression_exact();
    let pi = std::f64::consts::PI;
    let z = 4.0 * 2f64.sqrt() / (pi * pi * (66961.0 * pi).sqrt()) * (-1674761.0f64 / 1674025.0).exp();
    assert!((e.evidence / 4.595194714348549e-4 - 1.0).abs() < 1e-12, "{}", e.evidence);
    assert!((e.evidence / z - 1.0).abs() < 1e-12);
    assert!((e.mean[0] - 450072.0 / 334805.0).abs() < 1e-12, "{}", e.mean[0]);
    // the slope marginal sd proved beside it: 3√181/√66961
    assert!((e.cov[0][0].sqrt() - 3.0 * 181f64.sqrt() / 66961f64.sqrt()).abs() < 1e-12);
}

#[test]
fn every_sampler_reproduces_the_regression_within_its_error() {
    let e = examples::regression_exact();
    let slope = |f: &Function| f(1.0) - f(0.0);
    let is = sampler::importance(&examples::regression(), 200_000, &mut rng(1));
    let (z, s) = (is.evidence(), is.expect(slope));
    assert!((z.value - e.evidence).abs() < 4.0 * z.se, "IS evidence {} ± {}", z.value, z.se);
    assert!((s.value - e.mean[0]).abs() < 4.0 * s.se, "IS slope {} ± {}", s.value, s.se);
    // SMC: mean of Ẑ over independent runs
    let pop = smc::population(examples::regression(), 100, 5, Resampler::Systematic);
    let mut r = rng(2);
    let runs: Vec<(Vec<(Function, f64)>, f64)> = (0..200).map(|_| sampler::sample(&pop, &mut r)).collect();
    let zs = Weighted { draws: runs.iter().map(|x| ((), x.1)).collect() }.evidence();
    assert!((zs.value - e.evidence).abs() < 4.0 * zs.se, "SMC evidence {} ± {}", zs.value, zs.se);
    let chain = traced::mh(&examples::regression(), 5_000, 100_000, &mut rng(3));
    let m = traced::batch_mean(&chain.states, slope);
    assert!((m.value - e.mean[0]).abs() < 4.0 * m.se && m.se < 0.02, "MH slope {} ± {}", m.value, m.se);
}

#[test]
fn smc_evidence_is_unbiased_on_the_raw_scale_not_the_log_scale() {
    let (log_z, _) = examples::hmm_forward(&examples::HMM_DATA);
    let pop = smc::population(examples::hmm(examples::HMM_DATA.to_vec()), 16, 16, Resampler::Multinomial);
    let mut r = rng(4);
    let runs: Vec<f64> = (0..400).map(|_| sampler::sample(&pop, &mut r).1).collect();
    let w = Weighted { draws: runs.iter().map(|l| ((), *l)).collect() }.evidence();
    assert!((w.value / log_z.exp() - 1.0).abs() < 4.0 * w.se / log_z.exp(), "mean Ẑ/Z = {} ± {}", w.value / log_z.exp(), w.se / log_z.exp());
    let mean_log = runs.iter().sum::<f64>() / runs.len() as f64;
    assert!(mean_log < log_z, "E[log Ẑ] < log Z (Jensen): {mean_log} vs {log_z}");
}

#[test]
fn random_functions_are_memoised_and_wiener_covariances_hold_in_any_order() {
    let mut r = rng(5);
    let n = 20_000;
    let (mut s11, mut s12, mut s22) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let w = RandomFn::wiener();
        let mut h = sampler::Sampler { rng: &mut r, logw: 0.0 };
        // evaluate in a different order on alternate draws; repeated calls return the same value
        let (a, b) = if k % 2 == 0 { (w.at(&mut h, 0.5), w.at(&mut h, 2.0)) } else { let b = w.at(&mut h, 2.0); (w.at(&mut h, 0.5), b) };
        assert_eq!(w.at(&mut h, 0.5), a);
        s11 += a * a;
        s12 += a * b;
        s22 += b * b;
    }
    let (v1, c, v2) = (s11 / n as f64, s12 / n as f64, s22 / n as f64);
    // Var W(0.5) = 0.5, Cov = min = 0.5, Var W(2) = 2; se of a covariance estimate ≈ √(v1 v2 + c²)/√n
    let tol = |v: f64| 4.0 * v / (n as f64).sqrt() * 2f64.sqrt();
    assert!((v1 - 0.5).abs() < tol(0.5) && (c - 0.5).abs() < tol(1.2) && (v2 - 2.0).abs() < tol(2.0), "{v1} {c} {v2}");
}

#[test]
fn the_polya_urn_and_the_beta_mixture_give_each_sequence_the_same_mass() {
    let urn = enumerate(&examples::polya_urn(10)).unwrap();
    assert_eq!(urn.items.len(), 1024);
    let seven: Vec<f64> = urn.items.iter().filter(|(s, _)| s.iter().filter(|b| **b).count() == 7).map(|x| *x.1).collect();
    assert_eq!(seven.len(), 120);
    assert!(seven.iter().all(|p| (p - 1.0 / 1320.0).abs() < 1e-15));
    assert!((urn.mass() - 1.0).abs() < 1e-12);
}

#[test]
fn the_same_seed_gives_the_same_bits_whatever_the_thread_count() {
    use reprise_core::{Experiment, NoProgress, Params, RunCtx, Seed};
    let exp = super::experiment::Regression;
    let args = ["samples=2000", "particles=50", "smc_runs=5", "mh_iterations=2000", "burn_in=100"];
    let go = || exp.run(&RunCtx { params: Params::from_args(&exp.params(), &args).unwrap(), seed: Seed(9), inputs: Default::default(), progress: &NoProgress }).unwrap();
    let a = go();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = one.install(go);
    assert_eq!(a.0["summary.json"].bytes, b.0["summary.json"].bytes);
}

#[test]
fn the_gp_posterior_by_smc_matches_the_exact_gaussian_process() {
    let grid = vec![1.0, 3.0, 5.5];
    let (log_z, means, sds) = super::gp::gp_exact(&grid);
    let pop = smc::population(super::gp::gp_regression(grid.clone()), 300, 7, Resampler::Systematic);
    let mut r = rng(6);
    let runs: Vec<(Vec<(Vec<f64>, f64)>, f64)> = (0..8).map(|_| sampler::sample(&pop, &mut r)).collect();
    let z = Weighted { draws: runs.iter().map(|x| ((), x.1)).collect() }.evidence();
    assert!((z.value / log_z.exp() - 1.0).abs() < 4.0 * z.se / log_z.exp(), "Ẑ/Z = {} ± {}", z.value / log_z.exp(), z.se / log_z.exp());
    for i in 0..grid.len() {
        let per: Vec<f64> = runs.iter().map(|(p, _)| p.iter().map(|(f, w)| w * f[i]).sum()).collect();
        let mean = per.iter().sum::<f64>() / per.len() as f64;
        let se = (per.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (per.len() as f64 - 1.0) / per.len() as f64).sqrt();
        assert!((mean - means[i]).abs() < 4.0 * se.max(0.01 * sds[i]), "f({}) {mean} ± {se} vs exact {}", grid[i], means[i]);
    }
    // memoised: a random function gives one value per argument within an execution
    let g = super::gp::gp_function();
    let mut h = sampler::Sampler { rng: &mut r, logw: 0.0 };
    let first = g.at(&mut h, 2.0);
    let _ = g.at(&mut h, 2.5);
    assert_eq!(g.at(&mut h, 2.0), first);
}

/// A program whose trace length depends on its first choice (so n/n′ matters) and whose second
/// choice's probabilities depend on the first (so a reused index is priced).
fn varying_program() -> Prob<(usize, usize)> {
    Prob::new(|h| {
        let a = h.categorical(&[0.4, 0.6]);
        h.score(if a == 0 { 0.3f64.ln() } else { 0.8f64.ln() });
        let b = if a == 0 { h.categorical(&[0.2, 0.3, 0.5]) } else { 3 };
        let c = h.categorical(if b == 3 { &[0.7, 0.3] } else { &[0.1, 0.9] });
        h.score([[0.9f64, 0.2], [0.1, 0.6], [0.5, 0.5], [0.25, 0.05]][b][c].ln());
        (a * 10 + b, c)
    })
}

#[test]
fn resample_move_smc_preserves_the_measure_exactly_and_a_wrong_kernel_is_caught() {
    use smc::Acceptance;
    let exact = enumerate(&examples::sprinkler()).unwrap();
    let d = enumerate(&smc::rmsmc(examples::sprinkler(), 2, 2, Resampler::Multinomial, 1)).unwrap();
    assert!((d.prob(&true) - exact.prob(&true)).abs() < 1e-12, "{} vs {}", d.prob(&true), exact.prob(&true));
    assert!((d.mass() - exact.mass()).abs() < 1e-12, "E[Ẑ] = Z: {} vs {}", d.mass(), exact.mass());

    let exact = enumerate(&varying_program()).unwrap();
    let run = |acc: Acceptance, n: usize, moves: usize| enumerate(&smc::collapse(smc::resample_move_population(varying_program(), n, 2, Resampler::Multinomial, moves, acc))).unwrap();
    let worst = |d: &super::enumerate::Dist<(usize, usize)>| exact.items.iter().map(|(x, m)| (d.mass_of(x) - m).abs()).fold(0.0, f64::max);
    for (n, moves) in [(1, 1), (1, 2)] {
        let d = run(Acceptance::Correct, n, moves);
        assert!(worst(&d) < 1e-12 * exact.mass(), "n={n} moves={moves}: off by {}", worst(&d));
    }
    // the same exact check sees a kernel that accepts everything, and one without n/n′
    for acc in [Acceptance::WrongAlways, Acceptance::WrongNoLengthCorrection] {
        let off = worst(&run(acc, 1, 1));
        assert!(off > 1e-4 * exact.mass(), "{acc:?} must be caught: off by {off}");
    }
}

#[test]
fn resample_move_smc_estimates_the_hmm_evidence_without_bias() {
    // 200 runs × 32 particles with one move each: mean Ẑ/Z within 4 standard errors of 1.
    let data = examples::HMM_DATA[..8].to_vec();
    let log_z = examples::hmm_forward(&data).0;
    let mut r = rng(77);
    let ratios: Vec<f64> = (0..200)
        .map(|_| (sampler::sample(&smc::rmsmc(examples::hmm(data.clone()), 32, 8, Resampler::Systematic, 1), &mut r).1 - log_z).exp())
        .collect();
    let mean = ratios.iter().sum::<f64>() / 200.0;
    let se = (ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 199.0 / 200.0).sqrt();
    assert!((mean - 1.0).abs() < 4.0 * se, "mean Ẑ/Z = {mean} ± {se}");
}


#[test]
fn pmmh_finds_the_exact_posterior_of_a_parameter_with_latent_variables() {
    // θ ~ N(0, 1); x_i ~ N(θ, 1); y_i ~ N(x_i, 1): y_i | θ ~ N(θ, 2), so θ | y ~ N(Σy/2 / 3.5, 1/3.5).
    let data = [0.8, 1.9, 1.2, 2.4, 1.5];
    let model = move |theta: &f64| {
        let theta = *theta;
        Prob::new(move |h| {
            for y in data {
                let x = super::normal(theta, 1.0).run(h);
                h.score(super::normal_log_pdf(y, x, 1.0));
            }
        })
    };
    let chain = traced::pmmh(&super::normal(0.0, 1.0), model, 32, data.len(), 500, 10_000, &mut rng(5));
    let exact_mean = data.iter().sum::<f64>() / 2.0 / 3.5;
    let m = traced::batch_mean(&chain.states, |t| *t);
    assert!((m.value - exact_mean).abs() < 4.0 * m.se && m.se < 0.03, "posterior mean {} ± {} vs {exact_mean}", m.value, m.se);
    let v = traced::batch_mean(&chain.states, |t| (t - exact_mean).powi(2));
    assert!((v.value - 1.0 / 3.5).abs() < 4.0 * v.se, "posterior variance {} ± {} vs {}", v.value, v.se, 1.0 / 3.5);
    assert!(chain.acceptance > 0.1, "acceptance {}", chain.acceptance);
}

#[test]
fn the_collapsed_mixture_enumerates_to_the_closed_form_partition_posterior() {
    use super::clustering::{DATA, Mixture, clusters};
    use std::rc::Rc;
    let mix = Mixture { alpha: 0.3, prior_sd: 2.0, noise: 0.5 };
    let data = Rc::new(DATA[..6].to_vec());
    let d = mix.exact(data.clone());
    assert_eq!(d.items.len(), 203, "Bell(6) partitions");
    // closed form for any partition: CRP prior × Π_clusters Π_dims N(y_c; 0, noise² I + prior_sd² 11ᵀ)
    let closed = |z: &[usize]| -> f64 {
        let k = clusters(z);
        let mut log = 0.0;
        let mut counts = vec![0usize; k];
        for (i, &c) in z.iter().enumerate() {
            log += (if counts[c] == 0 { 0.3 } else { counts[c] as f64 } / (i as f64 + 0.3)).ln();
            counts[c] += 1;
        }
        for c in 0..k {
            let idx: Vec<usize> = (0..z.len()).filter(|&i| z[i] == c).collect();
            let m = idx.len() as f64;
            let (s2, t2) = (0.25f64, 4.0f64);
            for dim in 0..2 {
                let ys: Vec<f64> = idx.iter().map(|&i| data[i][dim]).collect();
                let (sum, sq) = (ys.iter().sum::<f64>(), ys.iter().map(|y| y * y).sum::<f64>());
                // |Σ| = s2^(m-1) (s2 + m t2); yᵀΣ⁻¹y = (sq − t2 sum² / (s2 + m t2)) / s2
                log += -0.5 * m * (2.0 * std::f64::consts::PI).ln() - 0.5 * ((m - 1.0) * s2.ln() + (s2 + m * t2).ln()) - 0.5 * (sq - t2 * sum * sum / (s2 + m * t2)) / s2;
            }
        }
        log.exp()
    };
    for (z, mass) in &d.items {
        assert!((mass - closed(z)).abs() < 1e-12 * closed(z), "{z:?}: {mass} vs {}", closed(z));
    }
    // the generative program with explicit means has the same evidence: SMC's Ẑ is unbiased for it
    let p = mix.program(data.clone());
    let mut r = rng(9);
    let zs: Vec<f64> = (0..300).map(|_| sampler::sample(&smc::smc(p.clone(), 64, 6, Resampler::Systematic), &mut r).1.exp() / d.mass()).collect();
    let mean = zs.iter().sum::<f64>() / 300.0;
    let se = (zs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 299.0 / 300.0).sqrt();
    assert!((mean - 1.0).abs() < 4.0 * se, "Ẑ/Z = {mean} ± {se}");
}

#[test]
fn resample_move_smc_on_the_mixture_with_explicit_means_matches_the_exact_partition_posterior() {
    // Proposals that turn a table choice into a new table meet a uniform where an index was
    // recorded (and back): the rest of the trace is redrawn. Checked here against enumeration:
    // P(K = k) from 40 runs, each within 4 between-run standard errors.
    use super::clustering::{DATA, Mixture, clusters};
    use std::rc::Rc;
    let mix = Mixture { alpha: 0.3, prior_sd: 2.0, noise: 0.5 };
    let data = Rc::new(DATA[3..9].to_vec());
    let exact = mix.exact(data.clone());
    let pop = smc::resample_move_population(mix.program(data.clone()), 200, 6, Resampler::Systematic, 2, smc::Acceptance::Correct);
    let mut r = rng(21);
    let runs: Vec<_> = (0..40).map(|_| sampler::sample(&pop, &mut r)).collect();
    for k in 1..=3 {
        let want = exact.items.iter().filter(|(z, _)| clusters(z) == k).map(|(_, m)| m).sum::<f64>() / exact.mass();
        let per: Vec<f64> = runs.iter().map(|(p, _)| p.iter().filter(|(z, _)| clusters(z) == k).map(|(_, w)| w).sum()).collect();
        let mean = per.iter().sum::<f64>() / 40.0;
        let se = (per.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 39.0 / 40.0).sqrt();
        assert!((mean - want).abs() < 4.0 * se.max(1e-3), "P(K={k}) = {mean} ± {se}, exact {want}");
    }
}

/// Two-sample Kolmogorov–Smirnov statistic and its critical value at level 0.001.
fn ks(mut a: Vec<f64>, mut b: Vec<f64>) -> (f64, f64) {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    (d, 1.95 * ((n + m) / (n * m)).sqrt())
}

#[test]
fn monad_laws_hold_in_distribution_on_the_sampler() {
    // Continuous programs (no enumeration possible): each side sampled from its own seed, compared
    // by a two-sample KS test at level 0.001; a wrong identity is rejected by the same test.
    use super::normal;
    let draws = |p: &Prob<f64>, seed: u64| -> Vec<f64> {
        let mut r = rng(seed);
        (0..4000).map(|_| sampler::sample(p, &mut r).0).collect()
    };
    let m = normal(0.0, 1.0).bind(|a| super::uniform().map(move |u| a + u));
    let f = |x: f64| normal(x, 0.5 + x.abs());
    let g = |y: f64| normal(y * y, 1.0).map(move |z| z - y);
    let check = |lhs: &Prob<f64>, rhs: &Prob<f64>, seed: u64, what: &str| {
        let (d, crit) = ks(draws(lhs, seed), draws(rhs, seed + 1000));
        assert!(d < crit, "{what}: KS D = {d} ≥ {crit}");
        d
    };
    check(&Prob::pure(0.7).bind(f), &f(0.7), 1, "left identity");
    check(&m.bind(Prob::pure), &m, 2, "right identity");
    check(&m.bind(f).bind(g), &m.bind(move |x| f(x).bind(g)), 3, "associativity");
    let ab = normal(0.0, 1.0).bind(|a| super::uniform().map(move |u| a * u));
    let ba = super::uniform().bind(|u| normal(0.0, 1.0).map(move |a| a * u));
    check(&ab, &ba, 4, "commutativity");
    // power: forgetting the dependence on x (f(0) instead of m >>= f) is rejected
    let (d, crit) = ks(draws(&m.bind(f), 5), draws(&f(0.0), 6));
    assert!(d > crit, "a wrong law must be rejected: D = {d} < {crit}");
}
