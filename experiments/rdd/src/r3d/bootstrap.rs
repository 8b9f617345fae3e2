//! The multiplier bootstrap of R3D: perturbed estimates τ*_b(q) = Σ_i ξ_ib ε_i(q) w_i(q) from the
//! fitted residuals and intercept weights (no refitting), the uniform band, and the nullity,
//! homogeneity and Gini tests. Each draw b is independent and sums units in index order.

use super::estimate::Estimate;
use super::fit::Method;
use super::{shape, Quirks, Units};
use ndarray::{Array2, ShapeBuilder};
use rayon::prelude::*;
use serde::Serialize;

/// A test statistic and its bootstrap p-value.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Test {
    pub statistic: f64,
    pub p_value: f64,
}

/// The uniform band and the tests over the quantiles in `range`.
#[derive(Debug, Clone, Serialize)]
pub struct Band {
    pub draws: usize,
    pub alpha: f64,
    pub critical_value: f64,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Pointwise band: τ̂(q) ± the same order statistic of |τ*_b(q)| at each q alone.
    pub pointwise_lower: Vec<f64>,
    pub pointwise_upper: Vec<f64>,
    pub range: [f64; 2],
    /// H0: τ(q) = 0 for every q in the range.
    pub nullity: Test,
    /// H0: τ(q) is constant over the range.
    pub homogeneity: Test,
    /// H0: the Gini index does not jump (difference of the two sides' Gini indices).
    pub gini: Test,
}

/// Residual-times-weight rows of every unit (n × m) and the side of each unit.
pub struct Scores {
    pub a: Array2<f64>,
    pub plus: Vec<bool>,
    /// Fuzzy: e_T,i times its weight (the take-up direction of each draw).
    pub take_up: Option<Vec<f64>>,
}

/// The scores of an estimate: ε_i(q)·w_i(q) where the weight is positive (quirk Q3: or wherever
/// the kernel reaches, with `all_kernel_units`), Fréchet fits projected across q first.
pub fn scores(u: &Units, est: &Estimate, quirks: Quirks) -> Scores {
    let (n, m) = (u.n(), u.grid.len());
    // Filled quantile by quantile (column-major), then laid out unit by unit for the draws.
    let mut a = Array2::<f64>::zeros((n, m).f());
    let keep = |w: f64| w > 0.0 || (quirks.all_kernel_units && w != 0.0);
    match est.method {
        Method::Simple => {
            // Quantiles are independent: fill their columns in parallel.
            let cols = a.as_slice_memory_order_mut().expect("column-major");
            cols.par_chunks_mut(n.max(1)).zip(est.fits.par_iter()).enumerate().for_each(|(j, (col, f))| {
                let qj = u.column(j);
                for fs in f {
                    let l = &fs.local;
                    let w = l.weights();
                    for (k, &i) in l.idx.iter().enumerate() {
                        if keep(w[k]) {
                            col[i] = (qj[i] - l.fitted(k, &fs.alpha)) * w[k];
                        }
                    }
                }
            });
        }
        Method::Frechet => {
            for side in 0..2 {
                let l = &est.fits[0][side].local;
                let w = l.weights();
                for (k, &i) in l.idx.iter().enumerate() {
                    if keep(w[k]) {
                        let fitted: Vec<f64> = est.fits.iter().map(|f| l.fitted(k, &f[side].alpha)).collect();
                        for (j, fj) in shape::pava(&fitted).into_iter().enumerate() {
                            a[[i, j]] = (u.q[[i, j]] - fj) * w[k];
                        }
                    }
                }
            }
        }
    }
    let take_up = est.take_up.as_ref().map(|tf| {
        let t = u.t.as_ref().expect("fuzzy estimate has take-up");
        let hd = est.h_den.expect("fuzzy estimate has h_den");
        let mut out = vec![0.0; n];
        for (side, fit) in tf.iter().enumerate() {
            let alpha = &fit.alpha;
            let l = if quirks.take_up_weights { &fit.local } else { &est.fits[0][side].local };
            for (&i, w) in l.idx.iter().zip(l.weights()) {
                let u_i = u.x[i] / hd;
                let fitted: f64 = alpha.iter().enumerate().map(|(j, c)| c * u_i.powi(j as i32)).sum();
                out[i] = (t[i] - fitted) * w;
            }
        }
        out
    });
    Scores { a: a.as_standard_layout().into_owned(), plus: u.x.iter().map(|&v| v >= 0.0).collect(), take_up }
}

/// Draws per pass over the scores: each unit's row is read once for this many draws.
const BLOCK: usize = 8;

/// Draws (P_b, M_b, ν_b) for a block of multiplier columns: the plus- and minus-side perturbations
/// of every quantile and the take-up perturbation. Each draw sums units in index order.
fn draw_block(s: &Scores, xis: &[Vec<f64>]) -> Vec<Draw> {
    let m = s.a.ncols();
    let d = xis.len();
    let (mut p, mut mm) = (vec![0.0; m * d], vec![0.0; m * d]);
    let flat = s.a.as_slice().expect("standard layout");
    for (i, row) in flat.chunks_exact(m).enumerate() {
        let acc = if s.plus[i] { &mut p } else { &mut mm };
        for (k, xi) in xis.iter().enumerate() {
            let x = xi[i];
            for (a, r) in acc[k * m..(k + 1) * m].iter_mut().zip(row) {
                *a += x * r;
            }
        }
    }
    xis.iter()
        .enumerate()
        .map(|(k, xi)| {
            let nu = s.take_up.as_ref().map_or(0.0, |e| e.iter().zip(&s.plus).zip(xi).map(|((e, &pl), x)| if pl { x * e } else { -x * e }).sum());
            (p[k * m..(k + 1) * m].to_vec(), mm[k * m..(k + 1) * m].to_vec(), nu)
        })
        .collect()
}

/// One draw: plus-side and minus-side perturbations of every quantile, and of the take-up jump.
type Draw = (Vec<f64>, Vec<f64>, f64);

/// Runs `b` draws with multipliers `xi(b)` (n standard normals each) and forms the band and tests
/// at level `alpha` over grid points in `range`. Returns the band and the B × m draws of τ*.
pub fn run(u: &Units, est: &Estimate, s: &Scores, b: usize, xi: impl Fn(usize) -> Vec<f64> + Sync, alpha: f64, range: [f64; 2]) -> (Band, Array2<f64>) {
    let starts: Vec<usize> = (0..b).step_by(BLOCK).collect();
    let draws: Vec<Draw> = starts
        .into_par_iter()
        .map(|b0| draw_block(s, &(b0..(b0 + BLOCK).min(b)).map(&xi).collect::<Vec<_>>()))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    summarise(u, est, &draws, alpha, range)
}

/// The same bootstrap with Rademacher multipliers made from Philox under `key` (draw b is stream
/// b, layout v2 of `reprise_gpu::layout`) on `backend`: the CPU and CUDA backends give the same
/// bits. Each draw sums units in index order, the take-up perturbation as one more column.
pub fn run_rademacher(
    u: &Units,
    est: &Estimate,
    s: &Scores,
    b: usize,
    backend: &dyn reprise_gpu::Backend,
    key: [u32; 2],
    alpha: f64,
    range: [f64; 2],
) -> Result<(Band, Array2<f64>), reprise_gpu::GpuError> {
    let m = s.a.ncols();
    let cols = m + usize::from(s.take_up.is_some());
    let mut a = Vec::with_capacity(s.a.nrows() * cols);
    for (i, row) in s.a.rows().into_iter().enumerate() {
        a.extend(row.iter());
        if let Some(e) = &s.take_up {
            a.push(e[i]);
        }
    }
    let sides = backend.rademacher_sides(&a, cols, &s.plus, key, 0, b)?;
    let draws: Vec<Draw> = (0..b)
        .map(|k| {
            let (p, mm) = (&sides.plus[k * cols..(k + 1) * cols], &sides.minus[k * cols..(k + 1) * cols]);
            let nu = if cols > m { p[m] - mm[m] } else { 0.0 };
            (p[..m].to_vec(), mm[..m].to_vec(), nu)
        })
        .collect();
    Ok(summarise(u, est, &draws, alpha, range))
}

/// The band and tests from the draws (P_b, M_b, ν_b).
fn summarise(u: &Units, est: &Estimate, draws: &[Draw], alpha: f64, range: [f64; 2]) -> (Band, Array2<f64>) {
    let m = u.grid.len();
    let b = draws.len();
    let numer: Vec<f64> = est.int_plus.iter().zip(&est.int_minus).map(|(a, c)| a - c).collect();
    let mut taus = Array2::<f64>::zeros((b, m));
    for (k, (p, mm, nu)) in draws.iter().enumerate() {
        for j in 0..m {
            let sharp = p[j] - mm[j];
            taus[[k, j]] = match est.take_up_jump {
                Some(d) => (d * sharp - numer[j] * nu) / (d * d),
                None => sharp,
            };
        }
    }
    let in_range: Vec<usize> = (0..m).filter(|&j| u.grid[j] >= range[0] && u.grid[j] <= range[1]).collect();
    let sup = |v: &dyn Fn(usize) -> f64, cols: &[usize]| cols.iter().map(|&j| v(j).abs()).fold(0.0, f64::max);
    let all: Vec<usize> = (0..m).collect();
    let mut maxes: Vec<f64> = (0..b).map(|k| sup(&|j| taus[[k, j]], &all)).collect();
    maxes.sort_by(f64::total_cmp);
    let pos = (((1.0 - alpha) * (b + 1) as f64).ceil() as usize).clamp(1, b);
    let crit = maxes[pos - 1];
    let pointwise: Vec<f64> = (0..m)
        .map(|j| {
            let mut v: Vec<f64> = (0..b).map(|k| taus[[k, j]].abs()).collect();
            v.sort_by(f64::total_cmp);
            v[pos - 1]
        })
        .collect();
    let share = |hits: usize| hits as f64 / b as f64;
    let null_stat = sup(&|j| est.tau[j], &in_range);
    let null_p = share((0..b).filter(|&k| sup(&|j| taus[[k, j]], &in_range) >= null_stat).count());
    let mean_over = |v: &dyn Fn(usize) -> f64| in_range.iter().map(|&j| v(j)).sum::<f64>() / in_range.len() as f64;
    let tbar = mean_over(&|j| est.tau[j]);
    let homo_stat = sup(&|j| est.tau[j] - tbar, &in_range);
    let homo_p = share(
        (0..b)
            .filter(|&k| {
                let mb = mean_over(&|j| taus[[k, j]]);
                sup(&|j| taus[[k, j]] - mb, &in_range) >= homo_stat
            })
            .count(),
    );
    let dg = shape::gini(&u.grid, &est.int_plus) - shape::gini(&u.grid, &est.int_minus);
    let gini_hits = draws
        .iter()
        .filter(|(p, mm, _)| {
            let gp: Vec<f64> = est.int_plus.iter().zip(p).map(|(a, b)| a + b).collect();
            let gm: Vec<f64> = est.int_minus.iter().zip(mm).map(|(a, b)| a + b).collect();
            (shape::gini(&u.grid, &gp) - shape::gini(&u.grid, &gm) - dg).abs() >= dg.abs()
        })
        .count();
    let band = Band {
        draws: b,
        alpha,
        critical_value: crit,
        lower: est.tau.iter().map(|t| t - crit).collect(),
        upper: est.tau.iter().map(|t| t + crit).collect(),
        pointwise_lower: est.tau.iter().zip(&pointwise).map(|(t, c)| t - c).collect(),
        pointwise_upper: est.tau.iter().zip(&pointwise).map(|(t, c)| t + c).collect(),
        range,
        nullity: Test { statistic: null_stat, p_value: null_p },
        homogeneity: Test { statistic: homo_stat, p_value: homo_p },
        gini: Test { statistic: dg, p_value: share(gini_hits) },
    };
    (band, taus)
}
