//! LazyPPL's Gaussian-process regression: f(x) = a + b·x + g(x), g ~ GP(0, exp(−(x−x′)²/2)) as a
//! memoised random function, a, b ~ N(0, 3²), noise sd 0.3; and its exact posterior (a GP with
//! kernel k + 9 + 9xx′) for checking the samplers.

use super::{Handler, Prob, RandomFn, normal, normal_log_pdf};
use reprise_stats::linalg;
use ndarray::{Array1, Array2};

pub const GP_DATA: [(f64, f64); 7] = [(0.0, 0.6), (1.0, 0.7), (2.0, 1.2), (3.0, 3.2), (4.0, 6.8), (5.0, 8.2), (6.0, 8.4)];
pub const GP_NOISE: f64 = 0.3;

fn rbf(x: f64, y: f64) -> f64 {
    (-(x - y) * (x - y) / 2.0).exp()
}

/// g(x) given the values already fixed: N(k*ᵀK⁻¹g, k(x,x) − k*ᵀK⁻¹k*) (a tiny jitter keeps K
/// positive definite), so any evaluation order draws from the same GP.
pub fn gp_function() -> std::rc::Rc<RandomFn> {
    RandomFn::new(|h: &mut dyn Handler, x, known| {
        let z = reprise_stats::normal::quantile(h.uniform());
        if known.is_empty() {
            return z;
        }
        let m = known.len();
        let k = Array2::from_shape_fn((m, m), |(i, j)| rbf(known[i].0, known[j].0) + if i == j { 1e-9 } else { 0.0 });
        let ks = Array1::from_iter(known.iter().map(|p| rbf(p.0, x)));
        let g = Array1::from_iter(known.iter().map(|p| p.1));
        let l = linalg::cholesky(&k).expect("the kernel matrix of distinct points is positive definite");
        let (alpha, v) = (linalg::chol_solve(&l, &g), linalg::chol_solve(&l, &ks));
        let mean = ks.dot(&alpha);
        let var = (1.0 + 1e-9 - ks.dot(&v)).max(0.0);
        mean + var.sqrt() * z
    })
}

/// The program: f at the data (each observation scored, one per step) and then at `grid`.
pub fn gp_regression(grid: Vec<f64>) -> Prob<Vec<f64>> {
    Prob::new(move |h| {
        let (a, b) = (normal(0.0, 3.0).run(h), normal(0.0, 3.0).run(h));
        let g = gp_function();
        for (x, y) in GP_DATA {
            let fx = a + b * x + g.at(h, x);
            h.score(normal_log_pdf(y, fx, GP_NOISE));
        }
        grid.iter().map(|&x| a + b * x + g.at(h, x)).collect()
    })
}

/// Exact log evidence and the posterior mean and sd of f at `grid`.
pub fn gp_exact(grid: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let kf = |x: f64, y: f64| rbf(x, y) + 9.0 + 9.0 * x * y;
    let n = GP_DATA.len();
    let c = Array2::from_shape_fn((n, n), |(i, j)| kf(GP_DATA[i].0, GP_DATA[j].0) + if i == j { GP_NOISE * GP_NOISE } else { 0.0 });
    let y = Array1::from_iter(GP_DATA.iter().map(|d| d.1));
    let l = linalg::cholesky(&c).expect("positive definite");
    let alpha = linalg::chol_solve(&l, &y);
    let log_det: f64 = (0..n).map(|i| l[[i, i]].ln()).sum::<f64>() * 2.0;
    let log_z = -0.5 * y.dot(&alpha) - 0.5 * log_det - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    let (mut means, mut sds) = (Vec::new(), Vec::new());
    for &x in grid {
        let ks = Array1::from_iter(GP_DATA.iter().map(|d| kf(d.0, x)));
        means.push(ks.dot(&alpha));
        let v = linalg::chol_solve(&l, &ks);
        sds.push((kf(x, x) - ks.dot(&v)).max(0.0).sqrt());
    }
    (log_z, means, sds)
}
