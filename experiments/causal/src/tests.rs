//! Checks of the causal module on the LaLonde data: published numbers, the Γ = 1 identity with
//! AIPW, monotone bounds, IPM weights, and bad input turned into clear errors.

use super::estimators::{self, Estimate};
use super::frame::{DataError, Frame, Sample};
use super::lalonde::{experimental, observational};
use super::nuisance::{self, Options};
use super::basis::OutcomeModel;
use super::{folds, ipm, sensitivity, FitError};
use ndarray::{array, Array1, Array2};

fn find<'a>(v: &'a [Estimate], name: &str, estimand: &str) -> &'a Estimate {
    v.iter().find(|e| e.estimator == name && e.estimand == estimand).unwrap_or_else(|| panic!("no {name} {estimand}"))
}

#[test]
fn nsw_difference_in_means_matches_the_published_figure() {
    let e = estimators::difference_in_means(&experimental().unwrap());
    assert!((e.estimate - 1794.3424).abs() < 1e-4, "{}", e.estimate);
    assert!((e.se - 670.9965).abs() < 1e-4, "{}", e.se);
    assert_eq!(format!("{:.4} {:.4}", e.estimate, e.se), "1794.3424 670.9965");
}

#[test]
fn gamma_one_bounds_are_aipw_and_bounds_widen_with_gamma() {
    for s in [experimental().unwrap(), observational().unwrap()] {
        let k = 5;
        let fold_of = folds::assign(s.n(), k, None);
        let cf = nuisance::cross_fit(&s, &fold_of, k, &Options::default()).unwrap();
        let aipw = &estimators::aipw(&s, &cf, "cf")[0];
        let b1 = sensitivity::ate_bounds(&s, &cf, &fold_of, k, 1.0, OutcomeModel::Linear).unwrap();
        let tol = 1e-9 * aipw.estimate.abs().max(1.0);
        assert!((b1.lower - aipw.estimate).abs() < tol && (b1.upper - aipw.estimate).abs() < tol, "{b1:?} vs {aipw:?}");
        assert!((b1.se_upper - aipw.se).abs() < 1e-9 * aipw.se, "{b1:?} vs {aipw:?}");
        let curve = sensitivity::curve(&s, &cf, &fold_of, k, &sensitivity::gamma_grid(4.0, 7), OutcomeModel::Linear).unwrap();
        for w in curve.bounds.windows(2) {
            assert!(w[1].upper > w[0].upper && w[1].lower < w[0].lower, "{:?} then {:?}", w[0], w[1]);
        }
        if let Some(g) = curve.gamma_star {
            assert!(sensitivity::ate_bounds(&s, &cf, &fold_of, k, g, OutcomeModel::Linear).unwrap().covers_zero());
        }
    }
}

#[test]
fn ipm_weights_are_on_the_simplex_and_improve_balance() {
    let s = experimental().unwrap();
    let r = ipm::estimate(&s, ipm::Bandwidth::Mean, 1e-6, 1e-6, 20_000, true).unwrap();
    let w = &r.att_weights;
    assert!((w.sum() - 1.0).abs() < 1e-12 && w.iter().all(|v| *v >= 0.0));
    for (_, c) in &r.convergence {
        assert!(c.converged && c.mmd2 < c.mmd2_uniform, "{c:?}");
    }
    let worst_before = r.balance.iter().map(|b| b.before.abs()).fold(0.0, f64::max);
    let worst_after = r.balance.iter().map(|b| b.after.abs()).fold(0.0, f64::max);
    assert!(worst_after < worst_before, "{worst_before} -> {worst_after}");
    assert!(find(&r.estimates, "IPM-MMD", "ATT").se > 0.0);
}

#[test]
fn estimators_agree_on_the_experiment() {
    let s = experimental().unwrap();
    let (full, _) = nuisance::full(&s, &Options::default()).unwrap();
    let mut all = estimators::ols_adjustment(&s).unwrap();
    all.extend(estimators::regression_adjustment(&s).unwrap());
    all.extend(estimators::ipw(&s, &full.e));
    all.extend(estimators::aipw(&s, &full, "full"));
    // Randomised: every adjusted estimate lies within two Neyman SEs of the difference in means.
    for e in &all {
        assert!((e.estimate - 1794.34).abs() < 2.0 * 671.0 && e.se > 300.0 && e.se < 1000.0, "{e:?}");
    }
    let hc = |n: &str| find(&all, n, "ATE").se;
    assert!(hc("OLS adjustment (HC0)") < hc("OLS adjustment (HC1)") && hc("OLS adjustment (HC2)") < hc("OLS adjustment (HC3)"));
}

#[test]
fn the_shipped_data_are_the_documented_files() {
    use sha2::{Digest, Sha256};
    let sources = include_str!("../../data/causal/SOURCES.md");
    for (bytes, name) in [(super::lalonde::NSW_CSV, "nsw_mixtape.csv"), (super::lalonde::CPS_CSV, "cps_mixtape.csv")] {
        let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert!(sources.contains(&format!("{hex}  {name}")), "{name} hashes to {hex}, not what SOURCES.md says");
    }
}

fn tiny(z: Array1<f64>, x: Array2<f64>) -> Result<Sample, DataError> {
    let n = z.len();
    Sample::new(Array1::from_iter((0..n).map(|i| i as f64)), z, x, vec!["a".into(), "b".into()])
}

#[test]
fn bad_input_gets_a_clear_error() {
    let csv = b"y,z,a\n1,0,3\n2,2,4\n3,1,5\n";
    let f = Frame::from_csv(csv).unwrap();
    let e = Sample::from_frame(&f, "y", "z", &["a"]).unwrap_err();
    assert_eq!(e.to_string(), "treatment column `z`, row 2: 2 is not 0 or 1 (treatment must be binary)");
    let f = Frame::from_csv(b"y,z,a\n1,0,x\n2,1,4\n").unwrap();
    assert_eq!(Sample::from_frame(&f, "y", "z", &["a"]).unwrap_err().to_string(), "column `a`, row 1: `x` is not a number");
    let f = Frame::from_csv(b"y,z,a\n1,0,NaN\n2,1,4\n").unwrap();
    assert!(matches!(Sample::from_frame(&f, "y", "z", &["a"]), Err(DataError::NotFinite { row: 1, .. })));
    assert!(matches!(Sample::from_frame(&f, "y", "q", &["a"]), Err(DataError::NoColumn(..))));

    let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * (j + 2)) as f64 % 5.0);
    assert_eq!(tiny(Array1::zeros(6), x.clone()).unwrap_err(), DataError::EmptyArm("treated", 0));

    // A covariate constant among the treated makes the treated-arm regression singular: named, not NaN.
    let z = array![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let x = array![[1.0, 7.0], [2.0, 7.0], [3.5, 7.0], [1.0, 2.0], [4.0, 3.0], [2.5, 1.0], [0.5, 6.0], [2.2, 7.0]];
    let s = tiny(z, x).unwrap();
    assert_eq!(s.constant_within_arm(), vec![("b".to_string(), 1)]);
    let err = estimators::regression_adjustment(&s).unwrap_err();
    assert_eq!(err, FitError::Singular { what: "the treated-arm outcome regression".into(), column: "b".into() });

    // Perfect separation: the propensity MLE does not exist.
    let z = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let x = array![[0.1, 1.0], [0.2, 3.0], [0.3, 2.0], [0.7, 1.0], [0.8, 3.0], [0.9, 2.0]];
    let s = tiny(z, x).unwrap();
    assert!(matches!(nuisance::full(&s, &Options::default()), Err(FitError::Separation { .. })));

    // Fold labels cross-fitting cannot use: an error naming the folds, not a panic.
    let z = array![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let x = array![[0.1, 1.0], [0.2, 3.0], [0.9, 2.0], [0.7, 1.0], [0.8, 3.0], [0.3, 2.0], [0.4, 0.5], [0.6, 2.5]];
    let s = tiny(z, x).unwrap();
    for (fold_of, k, why) in [(vec![0; 8], 1, "at least two"), (vec![0, 1, 0, 1, 0, 1, 0, 2], 2, "row 7 has fold label 2"), (vec![0, 1], 2, "2 fold labels")] {
        let err = nuisance::cross_fit(&s, &fold_of, k, &Options::default()).unwrap_err();
        assert!(matches!(err, FitError::Folds { .. }) && err.to_string().contains(why), "{err}");
    }
}

fn run_simulation(args: &[&str]) -> serde_json::Value {
    use reprise_core::{Experiment, NoProgress, Params, RunCtx, Seed};
    let exp = super::simulation::Simulation;
    let ctx = RunCtx { params: Params::from_args(&exp.params(), args).unwrap(), seed: Seed(3), inputs: Default::default(), progress: &NoProgress };
    let out = exp.run(&ctx).unwrap();
    serde_json::from_slice(&out.0["summary.json"].bytes).unwrap()
}

#[test]
fn kang_schafer_shows_double_robustness() {
    let s = run_simulation(&["reps=40", "n=1000", "ipm=false"]);
    let cell = |scenario: &str, estimator: &str, estimand: &str, what: &str| -> f64 {
        let rows = s["results"].as_array().unwrap();
        let r = rows.iter().find(|r| r["scenario"] == scenario && r["estimator"] == estimator && r["estimand"] == estimand).unwrap_or_else(|| panic!("{scenario} {estimator} {estimand}"));
        r[what].as_f64().unwrap()
    };
    // Treated units have low Z₁, so the naive contrast is badly biased downwards.
    assert!(cell("both correct", "difference in means", "ATE", "bias") < -10.0);
    // Correct models: AIPW is nearly unbiased, and stays so when only one model is right.
    let aipw = "AIPW (cross-fitted)";
    for sc in ["both correct", "propensity correct, outcome wrong", "propensity wrong, outcome correct"] {
        assert!(cell(sc, aipw, "ATE", "rmse") < 2.5, "{sc}: {}", cell(sc, aipw, "ATE", "rmse"));
    }
    assert!(cell("both wrong", aipw, "ATE", "rmse") > cell("both correct", aipw, "ATE", "rmse"));
    assert!(cell("both correct", aipw, "ATE", "coverage95") >= 0.85);
}

#[test]
fn simulation_is_a_pure_function_of_the_seed_and_ipm_balances() {
    let a = run_simulation(&["reps=3", "n=300"]);
    let b = run_simulation(&["reps=3", "n=300"]);
    assert_eq!(a, b);
    let rows = a["results"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["estimator"] == "IPM-MMD + OLS" && r["scenario"] == "both correct"));
}

#[test]
fn spline_expectiles_collapse_at_gamma_one_widen_with_gamma_and_fit_a_curved_outcome_better() {
    // LaLonde: the flexible class keeps the bounds' shape (a point at Γ = 1, wider with Γ) on the
    // experimental sample. On NSW-vs-CPS (11,977 propensities below 1e-3) the spline bounds are
    // not monotone in Γ (the upper bound falls from Γ = 1.44 to 2.08): the score's inverse-propensity
    // correction dominates where overlap fails, so only the collapse at Γ = 1 is asserted there.
    for (s, monotone) in [(experimental().unwrap(), true), (observational().unwrap(), false)] {
        let k = 5;
        let fold_of = folds::assign(s.n(), k, None);
        let cf = nuisance::cross_fit(&s, &fold_of, k, &Options::default()).unwrap();
        let c = sensitivity::curve(&s, &cf, &fold_of, k, &sensitivity::gamma_grid(3.0, 4), OutcomeModel::Splines(4)).unwrap();
        assert_eq!(c.bounds[0].lower, c.bounds[0].upper, "Γ = 1 identifies the ATE");
        for w in c.bounds.windows(2).filter(|_| monotone) {
            assert!(w[1].upper > w[0].upper && w[1].lower < w[0].lower, "{:?} then {:?}", w[0], w[1]);
        }
        assert!(c.model.as_deref().is_some_and(|m| m.contains("natural cubic spline")));
    }
    // A randomised design whose outcome is curved in x: at Γ = 1 both classes estimate the ATE (2)
    // without bias, but the splines' scores are less noisy, so their standard error is smaller.
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let n = 2000;
    let x: Array2<f64> = Array2::from_shape_fn((n, 1), |_| rng.random_range(-2.0..2.0));
    let z = Array1::from_shape_fn(n, |_| f64::from(u8::from(rng.random_bool(0.5))));
    let y = Array1::from_shape_fn(n, |i| 3.0 * (2.0 * x[[i, 0]]).sin() + 2.0 * z[i] + rng.random_range(-0.5..0.5));
    let s = Sample::new(y, z, x, vec!["x".into()]).unwrap();
    let fold_of = folds::assign(n, 5, None);
    let cf = nuisance::cross_fit(&s, &fold_of, 5, &Options::default()).unwrap();
    let lin = sensitivity::ate_bounds(&s, &cf, &fold_of, 5, 1.0, OutcomeModel::Linear).unwrap();
    let spl = sensitivity::ate_bounds(&s, &cf, &fold_of, 5, 1.0, OutcomeModel::Splines(6)).unwrap();
    assert!((spl.upper - 2.0).abs() < 3.0 * spl.se_upper, "{spl:?}");
    assert!(spl.se_upper < 0.5 * lin.se_upper, "splines {spl:?} vs linear {lin:?}");
}
