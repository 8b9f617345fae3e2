//! Tests of the scalar RDD: the Senate numbers rdrobust 2.1.1 prints, invariances, bad input.

use super::estimate::{Options, rdrobust};
use super::locpoly::Vce;
use super::scalar::{SENATE_CSV, load};
use super::*;

fn senate() -> Design {
    let scalar::Columns { x, y, dropped, .. } = load(SENATE_CSV, "vote", "margin", None, &[]).unwrap();
    assert_eq!((x.len(), dropped), (1297, 93));
    Design::new(&x, &y, None, 0.0).unwrap()
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, rdrobust prints {want}"
    );
}

#[test]
fn senate_defaults_match_rdrobust() {
    let e = rdrobust(&senate(), &Options::default()).unwrap();
    close(e.conventional.estimate, 7.414131, 1e-6, "tau");
    close(e.conventional.se, 1.458716, 1e-6, "se");
    close(e.robust.ci[0], 4.093698, 1e-6, "robust CI low");
    close(e.robust.ci[1], 10.919306, 1e-6, "robust CI high");
    close(e.h[0], 17.754397, 1e-6, "h");
    close(e.b[0], 28.028087, 1e-6, "b");
    assert_eq!((e.left.n_h, e.right.n_h), (360, 323));
}

#[test]
fn senate_fixed_bandwidth_matches_rdrobust() {
    let e = rdrobust(
        &senate(),
        &Options {
            h: Some([10.0; 2]),
            ..Options::default()
        },
    )
    .unwrap();
    close(e.conventional.estimate, 7.984687, 1e-6, "tau");
    close(e.conventional.se, 1.838064, 1e-6, "se");
    close(e.robust.ci[0], 6.595045, 1e-6, "robust CI low");
    close(e.robust.ci[1], 17.248594, 1e-6, "robust CI high");
}

/// A smooth design with a jump of 1 at c = 0, from a fixed seed.
fn simulated(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let y = x
        .iter()
        .map(|&v: &f64| {
            0.5 + 0.8 * v - 0.3 * v * v
                + f64::from(u8::from(v >= 0.0))
                + rng.random_range(-0.5..0.5)
        })
        .collect();
    (x, y)
}

fn same(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// Shifting x and c together, or adding a constant to y, changes no τ or bandwidth; mirroring
    /// x around c (and moving the units at c itself off it) flips the sign.
    #[test]
    fn invariances(seed in 0u64..1000, shift in -50.0f64..50.0, add in -100.0f64..100.0, vce in 0usize..2) {
        let (x, y) = simulated(600, seed);
        let o = Options { vce: if vce == 0 { Vce::Nn(3) } else { Vce::Hc(2) }, ..Options::default() };
        let base = rdrobust(&Design::new(&x, &y, None, 0.0).unwrap(), &o).unwrap();
        let xs: Vec<f64> = x.iter().map(|v| v + shift).collect();
        let moved = rdrobust(&Design::new(&xs, &y, None, shift).unwrap(), &o).unwrap();
        let ys: Vec<f64> = y.iter().map(|v| v + add).collect();
        let lifted = rdrobust(&Design::new(&x, &ys, None, 0.0).unwrap(), &o).unwrap();
        for e in [&moved, &lifted] {
            proptest::prop_assert!(same(e.conventional.estimate, base.conventional.estimate, 1e-7), "{} vs {}", e.conventional.estimate, base.conventional.estimate);
            proptest::prop_assert!(same(e.robust.estimate, base.robust.estimate, 1e-7));
            proptest::prop_assert!(same(e.robust.se, base.robust.se, 1e-7));
            proptest::prop_assert!(same(e.h[0], base.h[0], 1e-7));
        }
        let xm: Vec<f64> = x.iter().map(|v| -v).collect();
        let mirrored = rdrobust(&Design::new(&xm, &y, None, 0.0).unwrap(), &o).unwrap();
        proptest::prop_assert!(same(mirrored.conventional.estimate, -base.conventional.estimate, 1e-9));
        proptest::prop_assert!(same(mirrored.robust.estimate, -base.robust.estimate, 1e-9));
        proptest::prop_assert!(same(mirrored.conventional.se, base.conventional.se, 1e-9));
    }
}

#[test]
fn same_bits_on_every_run() {
    let (x, y) = simulated(5000, 3);
    let d = Design::new(&x, &y, None, 0.0).unwrap();
    let a = serde_json::to_string(&rdrobust(&d, &Options::default()).unwrap()).unwrap();
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| serde_json::to_string(&rdrobust(&d, &Options::default()).unwrap()).unwrap());
    assert_eq!(a, b);
}

#[test]
fn bad_input_is_named() {
    let (x, y) = simulated(200, 1);
    let err = |r: Result<Design, RddError>| r.unwrap_err().to_string();
    assert!(err(Design::new(&x, &y[..199], None, 0.0)).contains("y has 199 values but x has 200"));
    let mut yn = y.clone();
    yn[4] = f64::NAN;
    assert!(err(Design::new(&x, &yn, None, 0.0)).contains("y, row 5: NaN is not finite"));
    assert!(
        err(Design::new(&x, &y, None, 5.0))
            .contains("no units right of (at or above) the cutoff 5")
    );
    assert!(
        err(Design::new(&x, &y, None, -5.0)).contains("no units left of (below) the cutoff -5")
    );
    assert!(err(Design::new(&x, &y, Some(&y[..3]), 0.0)).contains("treatment has 3 values"));
    let d = Design::new(&x, &y, None, 0.0).unwrap();
    let e = rdrobust(
        &d,
        &Options {
            h: Some([0.004; 2]),
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("of the cutoff only") && e.contains("needs at least 2 distinct values"),
        "{e}"
    );
    let e = rdrobust(
        &d,
        &Options {
            q: Some(1),
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("q = 1 must exceed p = 1"), "{e}");
}

#[test]
fn kernels_and_selectors_parse_and_name() {
    for k in Kernel::NAMES {
        assert_eq!(Kernel::parse(k).unwrap().name(), k);
    }
    for s in bandwidth::Selector::NAMES {
        assert_eq!(bandwidth::Selector::parse(s).unwrap().name(), s);
    }
    assert!(
        Kernel::parse("gauss")
            .unwrap_err()
            .contains("triangular, epanechnikov, uniform")
    );
}

/// The simulated design with two covariates: z1 independent of x, z2 = 0.5x + noise.
fn with_covariates(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    use rand::{Rng, SeedableRng};
    let (x, y) = simulated(n, seed);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed + 1);
    let z1: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let z2: Vec<f64> = x.iter().map(|v| 0.5 * v + rng.random_range(-1.0..1.0)).collect();
    let y = y.iter().zip(&z1).zip(&z2).map(|((y, a), b)| y + 0.6 * a - 0.4 * b).collect();
    (x, y, z1, z2)
}

#[test]
fn covariate_adjustment_removes_what_the_covariates_explain() {
    // τ(y + a·z1 + b·z2; z) = τ(y; z) exactly in exact arithmetic: γ absorbs a and b, and so do
    // the residuals. With selected bandwidths too (the selector's pilot γ absorbs them as well).
    let (x, y, z1, z2) = with_covariates(3000, 11);
    let z = [("z1", z1.as_slice()), ("z2", z2.as_slice())];
    let shifted: Vec<f64> = y.iter().zip(&z1).zip(&z2).map(|((y, a), b)| y + 3.0 * a - 2.0 * b).collect();
    for o in [Options { h: Some([0.4; 2]), ..Options::default() }, Options::default()] {
        let base = rdrobust(&Design::with_covariates(&x, &y, None, &z, 0.0).unwrap(), &o).unwrap();
        let moved = rdrobust(&Design::with_covariates(&x, &shifted, None, &z, 0.0).unwrap(), &o).unwrap();
        close(moved.conventional.estimate, base.conventional.estimate, 1e-9, "tau");
        close(moved.robust.se, base.robust.se, 1e-9, "robust se");
        close(moved.h[0], base.h[0], 1e-9, "h");
        let g: Vec<f64> = base.covariates.iter().zip(&moved.covariates).map(|(a, b)| b.coefficient - a.coefficient).collect();
        close(g[0], 3.0, 1e-9, "γ moves by the coefficient added");
        close(g[1], -2.0, 1e-9, "γ moves by the coefficient added");
        assert_eq!(base.covariates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["z1", "z2"]);
    }
    // Without covariates the same estimate carries none.
    let plain = rdrobust(&Design::new(&x, &y, None, 0.0).unwrap(), &Options::default()).unwrap();
    assert!(plain.covariates.is_empty());
}

#[test]
fn covariates_that_are_collinear_constant_or_malformed_are_refused() {
    let (x, y, z1, _) = with_covariates(500, 5);
    let twice: Vec<f64> = z1.iter().map(|v| 2.0 * v).collect();
    let ones = vec![1.0; x.len()];
    let o = Options { h: Some([0.5; 2]), ..Options::default() };
    for z in [[("z1", z1.as_slice()), ("twice", twice.as_slice())], [("z1", z1.as_slice()), ("one", ones.as_slice())]] {
        let e = rdrobust(&Design::with_covariates(&x, &y, None, &z, 0.0).unwrap(), &o).unwrap_err().to_string();
        assert!(e.contains(&format!("covariate `{}` is constant within the bandwidth, or a linear combination", z[1].0)) && e.contains("drop it"), "{e}");
    }
    // Named as well when the bandwidth selector is the first to meet it.
    let e = rdrobust(&Design::with_covariates(&x, &y, None, &[("one", &ones[..]), ("z1", &z1[..])], 0.0).unwrap(), &Options::default()).unwrap_err().to_string();
    assert!(e.contains("covariate `one` is constant"), "{e}");
    let e = Design::with_covariates(&x, &y, None, &[("z1", &z1[..10])], 0.0).unwrap_err().to_string();
    assert!(e.contains("covariate `z1` has 10 values but x has 500"), "{e}");
    let mut zn = z1.clone();
    zn[7] = f64::INFINITY;
    let e = Design::with_covariates(&x, &y, None, &[("z1", &zn)], 0.0).unwrap_err().to_string();
    assert!(e.contains("covariate `z1`, row 8: inf is not finite"), "{e}");
}
