//! IPM covariate balancing (Kong et al.): weights on the simplex minimising the MMD, over the unit
//! ball of a Gaussian RKHS on standardised covariates, between the weighted arm and a target
//! sample. MMD²(w) is a convex quadratic; an active-set method solves it exactly, certified by the
//! Frank–Wolfe duality gap over every row.

use super::frame::Sample;
use reprise_stats::linalg::{chol_solve, cholesky, cholesky_extend, mean_sd};
use super::ols::Ols;
use super::{design_names, FitError};
use super::estimators::Estimate;
pub use super::kernel::Bandwidth;
use super::kernel::{kernel_mean, kernel_row_means, Points, Stored};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::Serialize;

/// Columns scaled to mean 0 and standard deviation 1 (n denominator) over all rows; a constant
/// column becomes 0.
pub fn standardise(x: &Array2<f64>) -> Array2<f64> {
    let mut out = x.clone();
    for mut c in out.columns_mut() {
        let m = c.mean().expect("rows");
        let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / c.len() as f64).sqrt();
        c.mapv_inplace(|v| if sd > 0.0 { (v - m) / sd } else { 0.0 });
    }
    out
}

/// A dense solver's state: weights, (K + ridge·I)w, products so far, and the last gap and target.
struct Progress {
    w: Array1<f64>,
    aw: Array1<f64>,
    it: u32,
    gap: f64,
    target: f64,
}

/// The solver's account of itself.
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    /// `active set` (exact), `face conjugate gradients`, or `face conjugate gradients, then
    /// projected gradient`.
    pub method: &'static str,
    /// Working-set rounds (active set) or matrix–vector products (the others).
    pub iterations: u32,
    pub converged: bool,
    /// Rows with positive weight.
    pub support: usize,
    /// Frank–Wolfe gap at the answer, over every row: objective(ŵ) − min objective ≤ this.
    pub gap: f64,
    /// The gap the solver had to reach: `tol` × objective(ŵ).
    pub tolerance: f64,
    pub mmd2_uniform: f64,
    pub mmd2: f64,
    /// The ridge added to the kernel's diagonal.
    pub ridge: f64,
}

/// Simplex weights on the rows of `source` balancing them to the empirical distribution of `target`.
/// Minimises MMD²(w) + ridge·‖w‖² = w'(K + ridge·I)w − 2w'b + c, with K = K(source, source),
/// b = K(source, target)·1/m and c = 1'K(target, target)1/m². A positive ridge makes the minimiser
/// unique (duplicate rows otherwise leave a face of optima) and moves MMD² by at most `ridge`,
/// since ‖w‖² ≤ 1 on the simplex. The active set computes kernel columns only for rows that
/// enter its working set; the dense solvers store the lower triangle, n(n + 1)/2 numbers.
pub struct Balancer {
    source: Points,
    bw: Bandwidth,
    ridge: f64,
    b: Array1<f64>,
    c: f64,
}

impl Balancer {
    pub fn new(source: &Array2<f64>, target: &Array2<f64>, bw: Bandwidth, ridge: f64) -> Balancer {
        let (source, target) = (Points::new(source), Points::new(target));
        let b = kernel_row_means(&source, &target, bw);
        let c = kernel_mean(&target, bw);
        Balancer { source, bw, ridge, b, c }
    }

    /// Columns `js` of K + ridge·I, computed in parallel.
    fn columns(&self, js: &[usize]) -> Vec<Array1<f64>> {
        js.par_iter()
            .map(|&j| {
                let mut v = Array1::zeros(self.source.n);
                self.source.kernel_to(self.source.row(j), 0, self.bw, v.as_slice_mut().expect("contiguous"));
                v[j] += self.ridge;
                v
            })
            .collect()
    }

    /// MMD²(w) without the ridge, given (K + ridge·I)w.
    fn mmd2(&self, w: &Array1<f64>, aw: &Array1<f64>) -> f64 {
        (w.dot(aw) - self.ridge * w.dot(w) - 2.0 * w.dot(&self.b) + self.c).max(0.0)
    }

    /// Solves until the Frank–Wolfe gap over all rows is at most `tol` × objective: exactly by
    /// the active-set method while the working set stays under `MAX_WORKING_SET` rows, otherwise
    /// (weights spread over many rows) by the dense solvers, which report their gap.
    pub fn solve(&self, tol: f64, max_iter: u32) -> (Array1<f64>, Convergence) {
        match self.active_set(tol, max_iter) {
            Some((w, c)) if c.converged => (w, c),
            _ => self.dense(tol, max_iter),
        }
    }

    /// The dense solvers on the stored kernel matrix: conjugate gradients on faces for up to
    /// `FACE_BUDGET` products (fast when most rows keep weight), then, if the gap is not yet
    /// closed, accelerated projected gradient from where they stopped (slower, never stalls).
    fn dense(&self, tol: f64, max_iter: u32) -> (Array1<f64>, Convergence) {
        let a = Stored::new(&self.source, self.bw, self.ridge);
        let w = Array1::from_elem(a.n, 1.0 / a.n as f64);
        let aw = a.matvec(&w);
        let source_mean = aw.mean().expect("source rows") - self.ridge / a.n as f64;
        let uniform = Progress { w, aw, it: 1, gap: f64::INFINITY, target: 0.0 };
        let faces = self.face_pcg(&a, tol, max_iter.min(FACE_BUDGET), uniform);
        if faces.gap <= faces.target {
            let Progress { w, aw, it, gap, target } = faces;
            return self.report("face conjugate gradients", w, aw, it, gap, target, source_mean);
        }
        let Progress { w, aw, it, gap, target } = self.projected_gradient(&a, tol, max_iter, faces);
        self.report("face conjugate gradients, then projected gradient", w, aw, it, gap, target, source_mean)
    }

    /// A primal active-set method: solve the equality-constrained problem on the working set
    /// exactly (Cholesky), step back to feasibility and drop a row when a weight would go
    /// negative, otherwise add the (up to 32) rows whose gradient most undercuts the working
    /// set's. `None` when the working set outgrows `MAX_WORKING_SET`.
    fn active_set(&self, tol: f64, max_iter: u32) -> Option<(Array1<f64>, Convergence)> {
        let n = self.b.len();
        let first = (0..n).max_by(|&i, &j| self.b[i].total_cmp(&self.b[j]).then(j.cmp(&i))).expect("source rows");
        let mut work = vec![first];
        let mut cols = self.columns(&[first]);
        let mut w = Array1::zeros(n);
        w[first] = 1.0;
        let (mut gap, mut target, mut it) = (f64::INFINITY, 0.0, 0);
        let mut aw = cols[0].clone();
        // The working set's Cholesky factor, grown as rows join and cut back where one leaves.
        let mut l = Array2::zeros((0, 0));
        while it < max_iter {
            it += 1;
            let m = work.len();
            l = match cholesky_extend(l, |r, c| cols[c][work[r]], m) {
                Ok(l) => l,
                Err(_) => break,
            };
            let u = chol_solve(&l, &self.b.select(Axis(0), &work));
            let v = chol_solve(&l, &Array1::ones(m));
            let goal = &u + &(&v * ((1.0 - u.sum()) / v.sum()));
            let blocking = (0..m).filter(|&r| goal[r] < 0.0).map(|r| (w[work[r]] / (w[work[r]] - goal[r]), r)).min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((alpha, r)) = blocking {
                for (k, &j) in work.iter().enumerate() {
                    w[j] += alpha * (goal[k] - w[j]);
                }
                w[work[r]] = 0.0;
                work.remove(r);
                cols.remove(r);
                l = l.slice(ndarray::s![..r, ..r]).to_owned();
                continue;
            }
            for (k, &j) in work.iter().enumerate() {
                w[j] = goal[k];
            }
            aw = add_columns(Array1::zeros(n), work.iter().zip(&cols).map(|(&j, c)| (w[j], c)));
            let g = 2.0 * (&aw - &self.b);
            let mu = g.dot(&w);
            gap = (mu - g.iter().copied().fold(f64::INFINITY, f64::min)).max(0.0);
            target = tol * (w.dot(&aw) - 2.0 * w.dot(&self.b) + self.c).max(0.0);
            if gap <= target {
                break;
            }
            let mut working = vec![false; n];
            work.iter().for_each(|&j| working[j] = true);
            let mut enter: Vec<usize> = (0..n).filter(|&j| w[j] == 0.0 && g[j] < mu && !working[j]).collect();
            enter.sort_by(|&i, &j| g[i].total_cmp(&g[j]).then(i.cmp(&j)));
            enter.truncate(32);
            if enter.is_empty() {
                break;
            }
            if work.len() + enter.len() > MAX_WORKING_SET {
                return None;
            }
            cols.extend(self.columns(&enter));
            work.extend(enter);
        }
        Some(self.report("active set", w, aw, it, gap, target, kernel_mean(&self.source, self.bw)))
    }

    /// The convergence report for weights `w` with (K + ridge·I)w = `aw`.
    /// `source_mean` is the kernel's mean over all pairs of source rows (MMD² of uniform weights).
    fn report(&self, method: &'static str, w: Array1<f64>, aw: Array1<f64>, it: u32, gap: f64, target: f64, source_mean: f64) -> (Array1<f64>, Convergence) {
        let conv = Convergence {
            method,
            iterations: it,
            converged: gap <= target,
            support: w.iter().filter(|v| **v > 0.0).count(),
            gap,
            tolerance: target,
            mmd2_uniform: (source_mean - 2.0 * self.b.mean().expect("source rows") + self.c).max(0.0),
            mmd2: self.mmd2(&w, &aw),
            ridge: self.ridge,
        };
        (w, conv)
    }
    /// Gradient projection with preconditioned conjugate gradients on faces (after Moré and
    /// Toraldo), on the stored kernel matrix, from `start`. Each round takes projected
    /// gradient steps (Barzilai–Borwein lengths; the very first is the exact minimiser along the
    /// gradient's sum-zero part) while the support changes and the steps still pay, then minimises on the support it left under the sum constraint
    /// alone (conjugate gradients projected on Σw = 1, preconditioned by [`LowRank`], stopped once
    /// the residual has shrunk tenfold or the gradient is level), and searches along the
    /// projection onto the simplex of the way to that point. Iterations count matrix–vector
    /// products; stops after `max_iter` of them, converged or not.
    fn face_pcg(&self, a: &Stored, tol: f64, max_iter: u32, start: Progress) -> Progress {
        let n = self.b.len();
        let objective = |w: &Array1<f64>, aw: &Array1<f64>| w.dot(aw) - 2.0 * w.dot(&self.b);
        let pre = LowRank::new(a, PRECONDITIONER_RANK);
        let Progress { mut w, mut aw, mut it, .. } = start;
        let mut step = 0.0;
        // The projected search from `w` along `to − w` (Armijo); the last trial is taken regardless.
        let search = |w: &Array1<f64>, aw: &Array1<f64>, to: &Array1<f64>, it: &mut u32| -> (Array1<f64>, Array1<f64>) {
            let g = 2.0 * (aw - &self.b);
            let f = objective(w, aw);
            let mut t = 1.0;
            loop {
                let next = project_simplex(&(w + &((to - w) * t)));
                let anext = a.matvec(&next);
                *it += 1;
                if objective(&next, &anext) <= f + 1e-4 * g.dot(&(&next - w)) || t < 1e-12 {
                    return (next, anext);
                }
                t *= 0.5;
            }
        };
        // Whether `aw` is a product of `w` rather than carried by the conjugate gradients'
        // recurrence: the gap that stops the solver is always measured on a fresh product.
        let mut fresh = true;
        let (gap, target) = loop {
            let g = 2.0 * (&aw - &self.b);
            let gap = (g.dot(&w) - g.iter().copied().fold(f64::INFINITY, f64::min)).max(0.0);
            let target = tol * (objective(&w, &aw) + self.c).max(0.0);
            if gap <= target || it >= max_iter {
                if fresh {
                    break (gap, target);
                }
                aw = a.matvec(&w);
                it += 1;
                fresh = true;
                continue;
            }
            // Projected gradient steps while the support keeps changing (at most PG_STEPS) and each
            // still lowers the objective by a tenth of the round's best.
            if step == 0.0 {
                let d = &g - g.mean().expect("rows");
                let ad = a.matvec(&d);
                it += 1;
                step = 0.5 * d.dot(&d) / d.dot(&ad).max(f64::MIN_POSITIVE);
            }
            let mut f = objective(&w, &aw);
            let mut best_drop = 0.0f64;
            for _ in 0..PG_STEPS {
                let g = 2.0 * (&aw - &self.b);
                let before = w.mapv(|v| v > 0.0);
                let (next, anext) = search(&w, &aw, &(&w - &(&g * step)), &mut it);
                fresh = true;
                // Barzilai–Borwein: the next step is s's/s'y for the step s just taken and the
                // gradient's change y = 2As, known from the products already made.
                let s = &next - &w;
                let sy = 2.0 * s.dot(&(&anext - &aw));
                step = if sy > 0.0 { s.dot(&s) / sy } else { 2.0 * step };
                (w, aw) = (next, anext);
                let f_next = objective(&w, &aw);
                let drop = f - f_next;
                f = f_next;
                if w.mapv(|v| v > 0.0) == before || drop <= PG_SLOWDOWN * best_drop || it >= max_iter {
                    break;
                }
                best_drop = best_drop.max(drop);
            }
            // Conjugate gradients on the support, with the preconditioner restricted to it and made
            // to keep Σw: z = N r − N1 (1'N r)/(1'N 1).
            let face = w.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
            let n1 = pre.apply(&face) * &face;
            let one_n1 = n1.sum();
            let project = |r: &Array1<f64>| {
                let nr = pre.apply(r) * &face;
                let c = nr.sum() / one_n1;
                nr - &(&n1 * c)
            };
            let (mut x, mut ax) = (w.clone(), aw.clone());
            let mut r = 2.0 * (&aw - &self.b) * &face;
            let mut z = project(&r);
            let mut p = -&z;
            let mut rz = r.dot(&z);
            let rz0 = rz;
            while rz > 1e-2 * rz0 && it < max_iter {
                let ap = a.matvec(&p);
                it += 1;
                let alpha = rz / (2.0 * p.dot(&ap));
                x.scaled_add(alpha, &p);
                ax.scaled_add(alpha, &ap);
                r = 2.0 * (&ax - &self.b) * &face;
                z = project(&r);
                let rz_next = r.dot(&z);
                p = &(&p * (rz_next / rz)) - &z;
                rz = rz_next;
                let (lo, hi) = (0..n).filter(|&i| face[i] > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| (lo.min(r[i]), hi.max(r[i])));
                if hi - lo <= 0.25 * target {
                    break;
                }
            }
            // A point inside the simplex that lowers the objective is taken as it is, with the
            // product the recurrence carried; otherwise search along the projected way to it.
            let g = 2.0 * (&aw - &self.b);
            if x.iter().all(|v| *v >= 0.0) && objective(&x, &ax) <= objective(&w, &aw) + 1e-4 * g.dot(&(&x - &w)) {
                (w, aw, fresh) = (x, ax, false);
            } else if x != w {
                (w, aw) = search(&w, &aw, &x, &mut it);
                fresh = true;
            }
        };
        Progress { w, aw, it, gap, target }
    }

    /// Accelerated projected gradient (FISTA with adaptive restart) on the stored kernel matrix,
    /// from `start`. Steps use the curvature on the simplex's tangent space (the constant
    /// direction, which carries most of a kernel matrix's mass, never moves on the simplex),
    /// doubled whenever the descent condition fails.
    fn projected_gradient(&self, a: &Stored, tol: f64, max_iter: u32, start: Progress) -> Progress {
        let n = self.b.len();
        let matvec = |v: &Array1<f64>| a.matvec(v);
        let centre = |v: &mut Array1<f64>| {
            let m = v.mean().expect("rows");
            v.mapv_inplace(|x| x - m);
        };
        let mut v = Array1::from_shape_fn(n, |i| ((i * 7919) % 1009) as f64 / 1009.0);
        centre(&mut v);
        let mut lip = 0.0;
        for _ in 0..30 {
            v /= v.dot(&v).sqrt().max(1e-300);
            let mut av = matvec(&v);
            centre(&mut av);
            lip = 2.0 * 1.05 * v.dot(&av);
            v = av;
        }
        let objective = |w: &Array1<f64>, aw: &Array1<f64>| w.dot(aw) - 2.0 * w.dot(&self.b);
        let Progress { mut w, mut aw, mut it, mut gap, mut target } = start;
        let (mut prev, mut aprev) = (w.clone(), aw.clone());
        let mut t = 1.0f64;
        while it < max_iter {
            let g = 2.0 * (&aw - &self.b);
            gap = (g.dot(&w) - g.iter().copied().fold(f64::INFINITY, f64::min)).max(0.0);
            target = tol * (objective(&w, &aw) + self.c).max(0.0);
            if gap <= target {
                break;
            }
            let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
            let beta = (t - 1.0) / t_next;
            let y = &w + &((&w - &prev) * beta);
            let ay = &aw + &((&aw - &aprev) * beta);
            let gy = 2.0 * (&ay - &self.b);
            let fy = objective(&y, &ay);
            let (next, anext) = loop {
                let next = project_simplex(&(&y - &(&gy / lip)));
                let anext = matvec(&next);
                it += 1;
                let d = &next - &y;
                if objective(&next, &anext) <= fy + gy.dot(&d) + 0.5 * lip * d.dot(&d) + 1e-15 * fy.abs() {
                    break (next, anext);
                }
                lip *= 2.0;
            };
            let uphill = (&y - &next).dot(&(&next - &w)) > 0.0;
            (prev, aprev) = (std::mem::replace(&mut w, next), std::mem::replace(&mut aw, anext));
            t = if uphill { 1.0 } else { t_next };
        }
        Progress { w, aw, it, gap, target }
    }
}

/// A preconditioner for K + ridge·I: M = LL' + μI, L the first columns of a pivoted Cholesky
/// factorisation (the rows the kernel explains least, one at a time) and μ the largest diagonal
/// left unexplained; M⁻¹ by Woodbury: (v − L(μI + L'L)⁻¹L'v)/μ.
struct LowRank {
    l: Vec<Array1<f64>>,
    mu: f64,
    inner: Array2<f64>,
}

impl LowRank {
    fn new(a: &Stored, rank: usize) -> LowRank {
        let n = a.n;
        let mut d = Array1::from_shape_fn(n, |i| a.diagonal(i));
        let top = d.iter().copied().fold(0.0, f64::max);
        let mut l: Vec<Array1<f64>> = Vec::new();
        while l.len() < rank {
            let p = (0..n).max_by(|&i, &j| d[i].total_cmp(&d[j]).then(j.cmp(&i))).expect("rows");
            if d[p] <= 1e-6 * top {
                break;
            }
            let mut v = Array1::from(a.row(p));
            for lt in &l {
                v.scaled_add(-lt[p], lt);
            }
            v /= d[p].sqrt();
            d.zip_mut_with(&v, |d, v| *d = (*d - v * v).max(0.0));
            d[p] = 0.0;
            l.push(v);
        }
        let mu = d.iter().copied().fold(0.0, f64::max).max(1e-12 * top);
        let r = l.len();
        let rows: Vec<Vec<f64>> = (0..r).into_par_iter().map(|a| (0..=a).map(|b| l[a].dot(&l[b])).collect()).collect();
        let s = Array2::from_shape_fn((r, r), |(a, b)| if b <= a { rows[a][b] } else { rows[b][a] } + if a == b { mu } else { 0.0 });
        let inner = cholesky(&s).expect("μI + L'L is positive definite");
        LowRank { l, mu, inner }
    }

    fn apply(&self, v: &Array1<f64>) -> Array1<f64> {
        let ltv = Array1::from(self.l.par_iter().map(|c| c.dot(v)).collect::<Vec<f64>>());
        let y = chol_solve(&self.inner, &ltv);
        add_columns(v.clone(), self.l.iter().zip(&y).map(|(c, yi)| (-yi, c))) / self.mu
    }
}

/// `to` + Σ aₖcₖ for the pairs (aₖ, cₖ), each entry's terms added in the pairs' order; stretches
/// of entries in parallel.
fn add_columns<'c>(mut to: Array1<f64>, terms: impl Iterator<Item = (f64, &'c Array1<f64>)>) -> Array1<f64> {
    let terms: Vec<(f64, &[f64])> = terms.map(|(a, c)| (a, c.as_slice().expect("contiguous"))).collect();
    to.as_slice_mut().expect("contiguous").par_chunks_mut(1024).enumerate().for_each(|(k, out)| {
        let lo = k * 1024;
        for (a, c) in &terms {
            for (o, x) in out.iter_mut().zip(&c[lo..]) {
                *o += a * x;
            }
        }
    });
    to
}

/// Products the face solver may spend before accelerated projected gradient takes over.
const FACE_BUDGET: u32 = 1000;
/// Projected gradient steps per face round at most.
const PG_STEPS: usize = 10;
/// A face round's projected gradient steps stop once one lowers the objective by less than this
/// fraction of the round's best step (Moré and Toraldo's rule): the face has settled enough for
/// conjugate gradients.
const PG_SLOWDOWN: f64 = 0.1;
/// Columns of the conjugate gradients' low-rank preconditioner.
const PRECONDITIONER_RANK: usize = 200;

/// Working sets beyond this many rows make each exact solve too slow; the gradient method takes over.
const MAX_WORKING_SET: usize = 600;

/// Euclidean projection onto the probability simplex (sort and threshold).
pub fn project_simplex(v: &Array1<f64>) -> Array1<f64> {
    let mut u = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let (mut cum, mut theta) = (0.0, 0.0);
    for (j, &x) in u.iter().enumerate() {
        cum += x;
        let t = (cum - 1.0) / (j + 1) as f64;
        if x - t > 0.0 {
            theta = t;
        }
    }
    v.mapv(|x| (x - theta).max(0.0))
}

/// Standardised mean difference of one covariate before and after weighting.
#[derive(Debug, Clone, Serialize)]
pub struct Smd {
    pub covariate: String,
    pub before: f64,
    pub after: f64,
}

/// IPM-weighted effect estimates with their balance and convergence reports.
#[derive(Debug, Clone, Serialize)]
pub struct IpmResult {
    pub estimates: Vec<Estimate>,
    pub convergence: Vec<(String, Convergence)>,
    pub balance: Vec<Smd>,
    /// The control weights of the ATT fit, in control-row order.
    #[serde(skip)]
    pub att_weights: Array1<f64>,
}

/// ATT and ATE by MMD balancing, plain and augmented with per-arm OLS.
pub fn estimate(s: &Sample, bw: Bandwidth, ridge: f64, tol: f64, max_iter: u32, ate: bool) -> Result<IpmResult, FitError> {
    let xs = standardise(&s.x);
    let (r1, r0) = (s.arm_rows(1), s.arm_rows(0));
    let (x1, x0) = (xs.select(Axis(0), &r1), xs.select(Axis(0), &r0));
    let (y1, y0) = (s.y.select(Axis(0), &r1), s.y.select(Axis(0), &r0));
    let d = s.design();
    let names = design_names(&s.names);
    let (d1, d0) = (d.select(Axis(0), &r1), d.select(Axis(0), &r0));
    let m1 = Ols::fit(&d1, y1.view(), "the treated-arm outcome regression", &names)?;
    let m0 = Ols::fit(&d0, y0.view(), "the control-arm outcome regression", &names)?;
    let (w, c_att) = Balancer::new(&x0, &x1, bw, ridge).solve(tol, max_iter);
    let mut estimates = Vec::new();
    let mut convergence = vec![("ATT: controls to treated".to_string(), c_att)];
    // Conditional-on-X standard errors: weights fixed, Var(Yⱼ | Xⱼ) from the arm's OLS residuals.
    let wvar = |w: &Array1<f64>, r: &Array1<f64>| w.iter().zip(r).map(|(w, r)| w * w * r * r).sum::<f64>();
    let n1 = r1.len() as f64;
    for (label, yt, yc) in [("IPM-MMD", y1.clone(), y0.clone()), ("IPM-MMD + OLS", &y1 - &m0.predict(&d1), &y0 - &m0.predict(&d0))] {
        let (mt, sdt) = mean_sd(yt.view());
        let est = mt - w.dot(&yc);
        estimates.push(Estimate::new(label, "ATT", est, (sdt * sdt / n1 + wvar(&w, &m0.resid)).sqrt()));
    }
    if ate {
        let (v, c1) = Balancer::new(&x1, &xs, bw, ridge).solve(tol, max_iter);
        let (u, c0) = Balancer::new(&x0, &xs, bw, ridge).solve(tol, max_iter);
        convergence.push(("ATE: treated to all".into(), c1));
        convergence.push(("ATE: controls to all".into(), c0));
        let se = (wvar(&v, &m1.resid) + wvar(&u, &m0.resid)).sqrt();
        estimates.push(Estimate::new("IPM-MMD", "ATE", v.dot(&y1) - u.dot(&y0), se));
        let shift = (m1.predict(&d) - m0.predict(&d)).mean().expect("rows");
        let aug = shift + v.dot(&m1.resid) - u.dot(&m0.resid);
        estimates.push(Estimate::new("IPM-MMD + OLS", "ATE", aug, se));
    }
    let balance = s
        .names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let (a, b) = (s.x.select(Axis(0), &r1).column(j).to_owned(), s.x.select(Axis(0), &r0).column(j).to_owned());
            let (ma, sa) = mean_sd(a.view());
            let (mb, sb) = mean_sd(b.view());
            let pooled = ((sa * sa + sb * sb) / 2.0).sqrt();
            let scale = if pooled > 0.0 { pooled } else { 1.0 };
            Smd { covariate: name.clone(), before: (ma - mb) / scale, after: (ma - w.dot(&b)) / scale }
        })
        .collect();
    Ok(IpmResult { estimates, convergence, balance, att_weights: w })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balancing_reduces_mmd_and_certifies_itself() {
        // Controls spread over [0, 3), treated concentrated near 2: the weights must move to the right.
        let x0 = Array2::from_shape_fn((60, 1), |(i, _)| i as f64 * 0.05);
        let x1 = Array2::from_shape_fn((20, 1), |(i, _)| 1.8 + i as f64 * 0.02);
        let (w, c) = Balancer::new(&x0, &x1, Bandwidth::Fixed(0.5), 1e-6).solve(1e-6, 5000);
        assert!(c.converged && c.gap <= c.tolerance, "{c:?}");
        assert!(c.mmd2 < 0.01 * c.mmd2_uniform, "{c:?}");
        assert!((w.sum() - 1.0).abs() < 1e-12 && w.iter().all(|v| *v >= 0.0));
        let mean: f64 = w.iter().enumerate().map(|(i, w)| w * i as f64 * 0.05).sum();
        assert!((mean - 1.99).abs() < 0.1, "{mean}");
    }

    /// `n0` controls and `n1` treated, standard normal in `d` dimensions, the treated shifted by
    /// `shift` in the first.
    fn clouds(n0: usize, n1: usize, d: usize, shift: f64) -> (Array2<f64>, Array2<f64>) {
        let mut rng = reprise_core::Seed(7).stream("ipm/test");
        let mut draw = |n: usize, shift: f64| Array2::from_shape_fn((n, d), |(_, j)| rand_distr::Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng) + if j == 0 { shift } else { 0.0 });
        (draw(n0, 0.0), draw(n1, shift))
    }

    /// Both answers are certified and reach the same minimum within their gaps.
    fn agree(bal: &Balancer, dense: (Array1<f64>, Convergence)) -> Convergence {
        let (wa, ca) = bal.active_set(1e-6, 10_000).expect("the rows fit the working set");
        let (wf, cf) = dense;
        for (w, c) in [(&wa, &ca), (&wf, &cf)] {
            assert!(c.converged && c.gap <= c.tolerance, "{c:?}");
            assert!((w.sum() - 1.0).abs() < 1e-12 && w.iter().all(|v| *v >= 0.0), "{c:?}");
            assert!(c.mmd2 < 0.5 * c.mmd2_uniform, "{c:?}");
        }
        // Each objective is within its gap of the common minimum (the ridge term is at most 1e-6).
        assert!((ca.mmd2 - cf.mmd2).abs() <= ca.gap + cf.gap + 2e-6, "{ca:?} {cf:?}");
        assert!((ca.mmd2_uniform - cf.mmd2_uniform).abs() < 1e-12, "{ca:?} {cf:?}");
        cf
    }

    #[test]
    fn face_solver_closes_the_gap_when_most_rows_keep_weight() {
        let (x0, x1) = clouds(500, 300, 10, 0.2);
        let bal = Balancer::new(&x0, &x1, Bandwidth::Mean, 1e-6);
        let c = agree(&bal, bal.dense(1e-4, 100_000));
        assert_eq!(c.method, "face conjugate gradients", "{c:?}");
        assert!(c.support > 400, "{c:?}");
    }

    #[test]
    fn projected_gradient_takes_over_where_faces_stall() {
        // In three dimensions the kernel matrix is far worse conditioned and half the rows drop out.
        let (x0, x1) = clouds(400, 150, 3, 0.4);
        let bal = Balancer::new(&x0, &x1, Bandwidth::Mean, 1e-6);
        let c = agree(&bal, bal.dense(1e-6, 100_000));
        assert_eq!(c.method, "face conjugate gradients, then projected gradient", "{c:?}");
        assert!(c.iterations > FACE_BUDGET, "{c:?}");
    }
}
