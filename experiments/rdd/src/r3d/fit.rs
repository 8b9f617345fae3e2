//! The local-polynomial pieces of R3D: one-sided fits on the scaled basis (x/h)^j with kernel
//! weights and their intercept weights, the Silverman density at the cutoff, and the package's
//! data-driven bandwidths (`r3d_bwselect`, its quirks kept; see the module docs).

use super::Units;
use reprise_stats::linalg::{chol_inverse, cholesky};
use crate::{factorial, sd, Kernel, RddError};
use ndarray::Array2;
use rayon::prelude::*;

/// A one-sided local polynomial of order k − 1 at bandwidth h: the units it uses and (Σ K r r')⁻¹.
pub struct Local {
    pub h: f64,
    pub k: usize,
    /// Units of this side with a positive kernel weight.
    pub idx: Vec<usize>,
    /// Their scaled basis rows r(x/h), row-major.
    pub rows: Vec<f64>,
    /// Their kernel weights K(x/h) (no 1/h).
    pub kw: Vec<f64>,
    pub ginv: Array2<f64>,
}

impl Local {
    pub fn new(u: &Units, plus: bool, h: f64, kernel: Kernel, order: usize) -> Result<Local, RddError> {
        let k = order + 1;
        let x = &u.x;
        let near = &u.by_distance[usize::from(!plus)];
        let idx: Vec<usize> = near[..near.partition_point(|&i| kernel.k(x[i] / h) > 0.0)].to_vec();
        // The Gram matrix of a power basis is a Hankel matrix of the moments Σ K u^j, j < 2k − 1.
        let (mut kw, mut rows, mut mom) = (Vec::with_capacity(idx.len()), Vec::with_capacity(idx.len() * k), vec![0.0; 2 * k - 1]);
        for &i in &idx {
            let v = x[i] / h;
            let kv = kernel.k(v);
            kw.push(kv);
            let mut p = 1.0;
            for (j, mj) in mom.iter_mut().enumerate() {
                if j < k {
                    rows.push(p);
                }
                *mj += kv * p;
                p *= v;
            }
        }
        let g = Array2::from_shape_fn((k, k), |(a, b)| mom[a + b]);
        let side = if plus { "right" } else { "left" };
        let l = cholesky(&g).map_err(|_| RddError::TooFew { side, n: idx.len(), distinct: distinct(&idx, x), bandwidth: h, order })?;
        Ok(Local { h, k, idx, rows, kw, ginv: chol_inverse(&l) })
    }

    pub fn row(&self, j: usize) -> &[f64] {
        &self.rows[j * self.k..(j + 1) * self.k]
    }

    /// Coefficients α = G⁻¹ Σ K r v over this fit's units (`v` indexed by unit).
    pub fn alpha(&self, v: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut m = vec![0.0; self.k];
        for (j, &i) in self.idx.iter().enumerate() {
            let f = self.kw[j] * v(i);
            for (ma, ra) in m.iter_mut().zip(self.row(j)) {
                *ma += f * ra;
            }
        }
        (0..self.k).map(|a| (0..self.k).map(|b| self.ginv[[a, b]] * m[b]).sum()).collect()
    }

    /// Intercept weights e₀'G⁻¹ r(u_j) K_j of this fit's units (they sum to one).
    pub fn weights(&self) -> Vec<f64> {
        (0..self.idx.len()).map(|j| self.kw[j] * self.row(j).iter().enumerate().map(|(b, r)| self.ginv[[0, b]] * r).sum::<f64>()).collect()
    }

    /// r(u_j)'α: the fitted value at unit j of this fit.
    pub fn fitted(&self, j: usize, alpha: &[f64]) -> f64 {
        self.row(j).iter().zip(alpha).map(|(r, a)| r * a).sum()
    }
}

fn distinct(idx: &[usize], x: &[f64]) -> usize {
    let mut v: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.len()
}

/// Silverman's density of the running variable at the cutoff with kernel K: (f̂, c_n, σ_X).
pub fn density(x: &[f64], kernel: Kernel) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let sigma = sd(x);
    let cn = 1.06 * sigma * n.powf(-0.2);
    (x.iter().map(|&v| kernel.k(v / cn)).sum::<f64>() / n / cn, cn, sigma)
}

/// e₀'Γ⁻¹Λ and e₀'Γ⁻¹ΨΓ⁻¹e₀ of one side, by the package's Riemann sum on 1000 points of [−1, 1].
pub(crate) fn kernel_constants(kernel: Kernel, s: usize, plus: bool) -> (f64, f64) {
    let k = s + 1;
    let (mut gam, mut psi) = (Array2::<f64>::zeros((k, k)), Array2::<f64>::zeros((k, k)));
    let mut lam = vec![0.0; k];
    let dw = 2.0 / 1000.0;
    for i in 0..1000 {
        let u = -1.0 + 2.0 * i as f64 / 999.0;
        if (u >= 0.0) != plus {
            continue;
        }
        let kv = kernel.k(u);
        let r: Vec<f64> = (0..k).map(|j| u.powi(j as i32)).collect();
        for a in 0..k {
            lam[a] += u.powi(k as i32) * kv * r[a] * dw;
            for b in 0..k {
                gam[[a, b]] += kv * r[a] * r[b] * dw;
                psi[[a, b]] += kv * kv * r[a] * r[b] * dw;
            }
        }
    }
    let gi = chol_inverse(&cholesky(&gam).expect("kernel moments are positive definite"));
    let bias = (0..k).map(|b| gi[[0, b]] * lam[b]).sum();
    let g0: Vec<f64> = (0..k).map(|b| gi[[0, b]]).collect();
    let var = (0..k).map(|a| (0..k).map(|b| g0[a] * psi[[a, b]] * g0[b]).sum::<f64>()).sum();
    (bias, var)
}

/// How R3D's pieces are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Local polynomial per quantile, rearranged.
    Simple,
    /// Local Fréchet regression: one bandwidth, isotonic projection.
    Frechet,
}

/// The bandwidths `r3d_bwselect` returns, with the plug-in pieces per quantile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Bandwidths {
    pub h: Vec<f64>,
    pub pilot: Vec<f64>,
    pub b_plus: Vec<f64>,
    pub b_minus: Vec<f64>,
    pub v_plus: Vec<f64>,
    pub v_minus: Vec<f64>,
    pub f_hat: f64,
    /// The take-up equation's bandwidth and pilot (fuzzy designs).
    pub h_den: Option<f64>,
    pub pilot_den: Option<f64>,
}

/// Settings of the bandwidth selector.
#[derive(Debug, Clone, Copy)]
pub struct BwSettings {
    /// Pilot order s (the estimate uses p = s + 1 by default).
    pub s: usize,
    pub kernel: Kernel,
    pub method: Method,
    /// Scale by n^(−s/((2s+3)(s+3))) for coverage-error-optimal bands.
    pub coverage: bool,
    /// Kernel of the pilot local fits: the package always uses triangular (quirk Q1).
    pub pilot_kernel: Kernel,
    /// Variance pieces from units with a positive intercept weight only (quirk Q3).
    pub positive_only: bool,
    /// Corrected Q2: the final plug-in is the pilot step's formula with local pilots (see `pilot_fit`).
    pub bias_next_order: bool,
}

/// Per-quantile plug-in pieces for columns `cols` (each a function of the unit index).
struct Pieces {
    c: Vec<f64>,
    cp: Vec<f64>,
}

/// Global order-(s+1) OLS on one side per column: (d = coef_{s+1}·(s+1)!, residual variance).
fn global_pilot(x: &[f64], plus: bool, s: usize, cols: &[Vec<f64>]) -> Result<Vec<(f64, f64)>, RddError> {
    let idx: Vec<usize> = (0..x.len()).filter(|&i| (x[i] >= 0.0) == plus).collect();
    let k = s + 2;
    let rows: Vec<Vec<f64>> = idx.iter().map(|&i| (0..k).map(|j| x[i].powi(j as i32)).collect()).collect();
    let mut g = Array2::<f64>::zeros((k, k));
    for r in &rows {
        for a in 0..k {
            for b in 0..k {
                g[[a, b]] += r[a] * r[b];
            }
        }
    }
    let side = if plus { "right" } else { "left" };
    let gi = chol_inverse(&cholesky(&g).map_err(|_| RddError::TooFew { side, n: idx.len(), distinct: distinct(&idx, x), bandwidth: f64::INFINITY, order: s + 1 })?);
    Ok(cols
        .iter()
        .map(|col| {
            let xty: Vec<f64> = (0..k).map(|a| rows.iter().zip(&idx).map(|(r, &i)| r[a] * col[i]).sum()).collect();
            let beta: Vec<f64> = (0..k).map(|a| (0..k).map(|b| gi[[a, b]] * xty[b]).sum()).collect();
            let res: Vec<f64> = rows.iter().zip(&idx).map(|(r, &i)| col[i] - r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>()).collect();
            let var = sd(&res).powi(2);
            (beta[s + 1] * factorial(s + 1), if var.is_finite() && var >= f64::EPSILON { var } else { 1.0 })
        })
        .collect())
}

/// The pilot's bias and variance pieces (B±, V±) of one column at bandwidth h.
///
/// The package (quirk Q2) takes B± = α̂_s/(s+1)!, the s-th coefficient of the order-s fit in
/// scaled units, and V± the residual variance. With `bias_next_order`, B± = (e₀'Γ±⁻¹Λ±)·β̂±_{s+1},
/// where β̂_{s+1} = α̂_{s+1}/h^{s+1} estimates m^{(s+1)}/(s+1)! from an order-(s+1) local fit, and
/// V± carries its constant e₀'Γ±⁻¹Ψ±Γ±⁻¹e₀: the final bandwidth is then the pilot step's
/// rule-of-thumb formula with local instead of global pilots. `consts` are those kernel constants
/// ((bias, variance) for the right side, then the left).
fn pilot_fit(u: &Units, col: &[f64], h: f64, st: &BwSettings, consts: [(f64, f64); 2]) -> Result<[(f64, f64); 2], RddError> {
    let mut out = [(0.0, 0.0); 2];
    for (slot, plus) in [(0, true), (1, false)] {
        let l = Local::new(u, plus, h, st.pilot_kernel, st.s)?;
        let a = l.alpha(|i| col[i]);
        let w = l.weights();
        let (mut num, mut den) = (0.0, 0.0);
        for (j, &i) in l.idx.iter().enumerate() {
            if w[j] > 0.0 || !st.positive_only {
                let e = col[i] - l.fitted(j, &a);
                num += w[j] * e * e;
                den += w[j];
            }
        }
        out[slot] = if st.bias_next_order {
            let next = Local::new(u, plus, h, st.pilot_kernel, st.s + 1)?;
            let beta = next.alpha(|i| col[i])[st.s + 1] / h.powi(st.s as i32 + 1);
            (consts[slot].0 * beta, consts[slot].1 * num / den)
        } else {
            (a[st.s] / factorial(st.s + 1), num / den)
        };
    }
    Ok(out)
}

/// Runs `r3d_bwselect` on the outcome quantiles (and the take-up, fuzzy).
pub fn select(u: &Units, st: &BwSettings) -> Result<Bandwidths, RddError> {
    let n = u.x.len() as f64;
    let s = st.s;
    let (f_hat, _, sigma) = density(&u.x, st.kernel);
    let rate = 1.0 / (2 * s + 3) as f64;
    let fallback = 1.06 * sigma * n.powf(-1.0 / (2 * s + 1) as f64);
    let cover = if st.coverage { n.powf(-(s as f64) / ((2 * s + 3) * (s + 3)) as f64) } else { 1.0 };
    let (bp, vp) = kernel_constants(st.kernel, s, true);
    let (bm, vm) = kernel_constants(st.kernel, s, false);
    let fs = factorial(s + 1);
    let pieces = |cols: &[Vec<f64>]| -> Result<Pieces, RddError> {
        let (gp, gm) = (global_pilot(&u.x, true, s, cols)?, global_pilot(&u.x, false, s, cols)?);
        let c = gp.iter().zip(&gm).map(|(p, m)| bp * p.0 / fs - bm * m.0 / fs).collect();
        let cp = gp.iter().zip(&gm).map(|(p, m)| (p.1 * vp + m.1 * vm) / f_hat).collect();
        Ok(Pieces { c, cp })
    };
    let plug = |num: f64, den: f64| if den.abs() > 1e-14 { (num / (2.0 * (s + 1) as f64 * den)).powf(rate) * n.powf(-rate) } else { fallback };
    let m = u.grid.len();
    let cols: Vec<Vec<f64>> = (0..m).map(|j| u.column(j).to_vec()).collect();
    let pc = pieces(&cols)?;
    let dq = if m > 1 { (u.grid[m - 1] - u.grid[0]) / (m - 1) as f64 } else { 1.0 };
    let pilots: Vec<f64> = match st.method {
        Method::Simple => (0..m).map(|j| plug(pc.cp[j], pc.c[j] * pc.c[j])).collect(),
        Method::Frechet => vec![plug(pc.cp.iter().sum::<f64>() * dq, pc.c.iter().map(|c| c * c).sum::<f64>() * dq); m],
    };
    let consts = [(bp, vp), (bm, vm)];
    let fits: Vec<[(f64, f64); 2]> = (0..m).into_par_iter().map(|j| pilot_fit(u, &cols[j], pilots[j], st, consts)).collect::<Result<_, _>>()?;
    let v: Vec<f64> = fits.iter().map(|f| (f[0].1 + f[1].1) / f_hat).collect();
    let b2: Vec<f64> = fits.iter().map(|f| (f[0].0 - f[1].0).powi(2)).collect();
    let h: Vec<f64> = match st.method {
        Method::Simple => (0..m).map(|j| plug(v[j], b2[j]) * cover).collect(),
        Method::Frechet => vec![plug(v.iter().sum::<f64>() * dq, b2.iter().sum::<f64>() * dq) * cover; m],
    };
    let (h_den, pilot_den) = match &u.t {
        Some(t) => {
            let pt = pieces(std::slice::from_ref(t))?;
            let pilot = plug(pt.cp[0], pt.c[0] * pt.c[0]);
            let f = pilot_fit(u, t, pilot, st, consts)?;
            (Some(plug((f[0].1 + f[1].1) / f_hat, (f[0].0 - f[1].0).powi(2)) * cover), Some(pilot))
        }
        None => (None, None),
    };
    Ok(Bandwidths {
        h,
        pilot: pilots,
        b_plus: fits.iter().map(|f| f[0].0).collect(),
        b_minus: fits.iter().map(|f| f[1].0).collect(),
        v_plus: fits.iter().map(|f| f[0].1).collect(),
        v_minus: fits.iter().map(|f| f[1].1).collect(),
        f_hat,
        h_den,
        pilot_den,
    })
}
