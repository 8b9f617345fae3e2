//! The test for a jump in a conditional Fréchet mean (Van Dijcke, "A Test for Jumps in
//! Metric-Space Conditional Means") for distribution-valued outcomes under the 2-Wasserstein
//! metric: one-sided local-linear Fréchet means and variances, and the χ²(1) statistic T_n.
//!
//! Choices where the description leaves room (the reference R code was not available here):
//! the cross-validation candidates are 10 bandwidths from 5% to 50% of the side's range of x,
//! folds are unit index mod 5, the two sides' CV bandwidths are averaged, and h_V = 0.9·h.

use super::r3d::shape::pava;
use super::{Kernel, RddError};
use serde::Serialize;

/// Units for the test: running variable and each unit's quantile function on a grid spanning [0, 1].
pub struct Sample<'a> {
    pub x: &'a [f64],
    /// Row-major n × m quantile functions.
    pub q: &'a [f64],
    pub grid: &'a [f64],
    pub c: f64,
}

impl Sample<'_> {
    fn m(&self) -> usize {
        self.grid.len()
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.q[i * self.m()..(i + 1) * self.m()]
    }
    /// d²(Q₁, Q₂) = ∫ (Q₁ − Q₂)² by the trapezoid rule on the grid.
    fn d2(&self, a: &[f64], b: &[f64]) -> f64 {
        (1..self.m()).map(|k| (self.grid[k] - self.grid[k - 1]) * ((a[k] - b[k]).powi(2) + (a[k - 1] - b[k - 1]).powi(2)) / 2.0).sum()
    }
}

/// Local-linear weights at `x0` from the units in `units` (others get 0), bandwidth h, Epanechnikov.
fn local_linear(x: &[f64], units: &[usize], x0: f64, h: f64) -> Option<Vec<(usize, f64)>> {
    let k = |d: f64| Kernel::Epanechnikov.weight(d, h);
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for &i in units {
        let d = x[i] - x0;
        let w = k(d);
        m0 += w;
        m1 += w * d;
        m2 += w * d * d;
    }
    let det = m0 * m2 - m1 * m1;
    if det.is_nan() || det <= 1e-12 * m0 * m2 {
        return None;
    }
    Some(units.iter().filter_map(|&i| {
        let d = x[i] - x0;
        let w = k(d);
        (w > 0.0).then(|| (i, w * (m2 - m1 * d) / det))
    }).collect())
}

/// The Fréchet mean under weights s: the weighted average of quantile functions, projected onto
/// non-decreasing functions.
fn frechet_mean(s: &Sample, w: &[(usize, f64)]) -> Vec<f64> {
    let total: f64 = w.iter().map(|p| p.1).sum();
    let mut avg = vec![0.0; s.m()];
    for &(i, wi) in w {
        for (a, v) in avg.iter_mut().zip(s.row(i)) {
            *a += wi * v;
        }
    }
    pava(&avg.iter().map(|a| a / total).collect::<Vec<_>>())
}

/// Fréchet variance V = Σ s d²(Y, l) / Σ s and the spread σ² = Σ|s|(d² − V)² / Σ|s| (floored).
fn variance(s: &Sample, w: &[(usize, f64)], l: &[f64]) -> (f64, f64) {
    let d2: Vec<f64> = w.iter().map(|&(i, _)| s.d2(s.row(i), l)).collect();
    let total: f64 = w.iter().map(|p| p.1).sum();
    let v = w.iter().zip(&d2).map(|(p, d)| p.1 * d).sum::<f64>() / total;
    let abs: f64 = w.iter().map(|p| p.1.abs()).sum();
    let sig = w.iter().zip(&d2).map(|(p, d)| p.1.abs() * (d - v).powi(2)).sum::<f64>() / abs;
    (v, sig.max(1e-12))
}

/// S_K = ∫₀^∞ (K₂ − uK₁)² K(u)² du / (K₂K₀ − K₁²)² for the Epanechnikov kernel (Simpson, 2000 panels).
pub fn s_k() -> f64 {
    let k = |u: f64| Kernel::Epanechnikov.k(u);
    let simpson = |f: &dyn Fn(f64) -> f64| {
        let n = 2000;
        let step = 1.0 / n as f64;
        (0..=n).map(|i| f(i as f64 * step) * if i == 0 || i == n { 1.0 } else if i % 2 == 1 { 4.0 } else { 2.0 }).sum::<f64>() * step / 3.0
    };
    let (k0, k1, k2) = (simpson(&|u| k(u)), simpson(&|u| u * k(u)), simpson(&|u| u * u * k(u)));
    simpson(&|u| (k2 - u * k1).powi(2) * k(u).powi(2)) / (k2 * k0 - k1 * k1).powi(2)
}

/// Gaussian kernel density of x at c with R's `bw.nrd0` bandwidth.
pub fn density_at(x: &[f64], c: f64) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let iqr = super::r3d::shape::type7(&sorted, 0.75) - super::r3d::shape::type7(&sorted, 0.25);
    let lo = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    let bw = 0.9 * lo * n.powf(-0.2);
    x.iter().map(|v| (-(((v - c) / bw).powi(2)) / 2.0).exp()).sum::<f64>() / (n * bw * (2.0 * std::f64::consts::PI).sqrt())
}

/// 5-fold cross-validated bandwidth of the local-linear Fréchet regression on one side.
fn cv_bandwidth(s: &Sample, side: &[usize]) -> f64 {
    let (lo, hi) = side.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &i| (a.min(s.x[i]), b.max(s.x[i])));
    let range = (hi - lo).max(f64::MIN_POSITIVE);
    let mut best = (f64::INFINITY, 0.5 * range);
    for k in 1..=10 {
        let h = range * 0.05 * k as f64;
        let mut loss = 0.0;
        for fold in 0..5 {
            let train: Vec<usize> = side.iter().copied().filter(|&i| i % 5 != fold).collect();
            for &i in side.iter().filter(|&&i| i % 5 == fold) {
                match local_linear(s.x, &train, s.x[i], h) {
                    Some(w) if !w.is_empty() => loss += s.d2(s.row(i), &frechet_mean(s, &w)),
                    _ => loss = f64::INFINITY,
                }
            }
        }
        if loss < best.0 {
            best = (loss, h);
        }
    }
    best.1
}

/// The test's statistic and its parts.
#[derive(Debug, Clone, Serialize)]
pub struct JumpTest {
    pub n: usize,
    pub h_cv: f64,
    pub h: f64,
    pub v_plus: f64,
    pub v_minus: f64,
    pub v_pooled: f64,
    pub sigma2_plus: f64,
    pub sigma2_minus: f64,
    pub f_x: f64,
    pub lambda: f64,
    pub f_n: f64,
    pub u_n: f64,
    pub statistic: f64,
    pub p_value: f64,
    /// W₂ distance between the two one-sided Fréchet means.
    pub jump_w2: f64,
}

/// Runs the test at cutoff `s.c`; `h` fixes the mean bandwidth (else 5-fold CV), h_V = 0.9·h.
pub fn test(s: &Sample, h: Option<f64>) -> Result<JumpTest, RddError> {
    let n = s.x.len();
    let plus: Vec<usize> = (0..n).filter(|&i| s.x[i] >= s.c).collect();
    let minus: Vec<usize> = (0..n).filter(|&i| s.x[i] < s.c).collect();
    for (side, v) in [("right of (at or above)", &plus), ("left of (below)", &minus)] {
        if v.len() < 3 {
            return Err(RddError::EmptySide { side, c: s.c, n });
        }
    }
    let h_cv = match h {
        Some(h) => h,
        None => 0.5 * (cv_bandwidth(s, &plus) + cv_bandwidth(s, &minus)),
    };
    let hv = 0.9 * h_cv;
    let few = |side: &'static str, v: &[usize]| RddError::TooFew { side, n: v.iter().filter(|&&i| (s.x[i] - s.c).abs() < hv).count(), distinct: 0, bandwidth: hv, order: 1 };
    let wp = local_linear(s.x, &plus, s.c, hv).ok_or_else(|| few("right", &plus))?;
    let wm = local_linear(s.x, &minus, s.c, hv).ok_or_else(|| few("left", &minus))?;
    let (lp, lm) = (frechet_mean(s, &wp), frechet_mean(s, &wm));
    let ((vp, sp), (vm, sm)) = (variance(s, &wp, &lp), variance(s, &wm, &lm));
    let pooled: Vec<(usize, f64)> = wp.iter().chain(&wm).map(|&(i, w)| (i, 0.5 * w)).collect();
    let lpool = frechet_mean(s, &pooled);
    let (vpool, _) = variance(s, &pooled, &lpool);
    let f_x = density_at(s.x, s.c);
    let sk = s_k();
    let f_n = vpool - 0.5 * (vp + vm);
    let u_n = (vp - vm).powi(2) / (sk * (sp + sm) / f_x);
    let (ap, am): (f64, f64) = (wp.iter().map(|p| p.1.abs()).sum(), wm.iter().map(|p| p.1.abs()).sum());
    let lambda = ap / (ap + am);
    let nh = n as f64 * hv;
    let t = nh * u_n + nh * f_n * f_n / (lambda * (1.0 - lambda) * (sp + sm) * sk / f_x);
    Ok(JumpTest {
        n,
        h_cv,
        h: hv,
        v_plus: vp,
        v_minus: vm,
        v_pooled: vpool,
        sigma2_plus: sp,
        sigma2_minus: sm,
        f_x,
        lambda,
        f_n,
        u_n,
        statistic: t,
        p_value: libm::erfc((t / 2.0).sqrt()),
        jump_w2: s.d2(&lp, &lm).sqrt(),
    })
}

/// The simulation design's units: X ~ U(0, 1), `draws` per unit from N(0.8(x − 0.5) + 1.5·1{x ≥ 0.5}·jump, 1),
/// as type-7 quantile functions on `grid`.
pub fn density_design(rng: &mut impl rand::Rng, n: usize, draws: usize, jump: bool, grid: &[f64]) -> (Vec<f64>, Vec<f64>) {
    use rand_distr::{Distribution, StandardNormal};
    let x: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let mut q = Vec::with_capacity(n * grid.len());
    for &xi in &x {
        let mu = 0.8 * (xi - 0.5) + if jump && xi >= 0.5 { 1.5 } else { 0.0 };
        let y: Vec<f64> = (0..draws).map(|_| { let z: f64 = StandardNormal.sample(rng); mu + z }).collect();
        q.extend(super::r3d::shape::quantiles(&y, grid));
    }
    (x, q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn kernel_constant_and_density() {
        // K₀ = 1/2, K₁ = 3/16, K₂ = 1/10; the numerator is a degree-6 polynomial integral: 56832/12635.
        let sk = s_k();
        assert!((sk - 56832.0 / 12635.0).abs() < 1e-10, "{sk}");
        let x: Vec<f64> = (0..2001).map(|i| i as f64 / 2000.0).collect();
        assert!((density_at(&x, 0.5) - 1.0).abs() < 0.01);
    }

    #[test]
    fn finds_a_jump_and_not_a_smooth_trend() {
        let grid: Vec<f64> = (0..=50).map(|k| k as f64 / 50.0).collect();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let (x, q) = density_design(&mut rng, 400, 60, true, &grid);
        let t = test(&Sample { x: &x, q: &q, grid: &grid, c: 0.5 }, None).unwrap();
        assert!(t.p_value < 1e-6 && (t.jump_w2 - 1.5).abs() < 0.4, "{t:?}");
        let (x, q) = density_design(&mut rng, 400, 60, false, &grid);
        let t0 = test(&Sample { x: &x, q: &q, grid: &grid, c: 0.5 }, None).unwrap();
        assert!(t0.statistic < t.statistic / 10.0, "{t0:?}");
    }
}
