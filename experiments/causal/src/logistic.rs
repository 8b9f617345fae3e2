//! Logistic regression by Newton's method (iteratively reweighted least squares): unpenalised by
//! default, optional ridge on the slopes; reports the log-likelihood and refuses separated data.

use reprise_stats::linalg::{cholesky, chol_solve, dot4, Columns, RowMajor, GRAM_CHUNK};
use rayon::prelude::*;
use super::FitError;
use ndarray::{Array1, Array2, ArrayView1};

/// A converged fit.
#[derive(Debug, Clone)]
pub struct Logit {
    pub coef: Array1<f64>,
    /// Log-likelihood (without the ridge penalty) at `coef`: from the last pass Newton made, which
    /// is at `coef` or one step δ before it (the last step is taken without a pass), carried over δ
    /// to second order (error of the order of ‖δ‖³).
    pub loglik: f64,
    pub iterations: u32,
    pub ridge: f64,
}

const MAX_ITER: u32 = 100;
/// |η| beyond this gives fitted probabilities within 1e-16 of 0 or 1.
const ETA_EDGE: f64 = 36.0;

pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// The log-likelihood, the score X'(z − p) and the information X' diag(p(1 − p)) X at one β, from
/// one pass over the rows (one exp(−|η|) per row), with the largest |η| for the separation check.
struct Pass {
    ll: f64,
    score: Array1<f64>,
    info: Array2<f64>,
    max_eta: f64,
}

/// Rows per product of (1 + e^−|η|) before its logarithm is taken: 2^512 cannot overflow.
const LOG_BLOCK: usize = 512;

/// The partial sums of a pass over the rows `index[lo..hi]` (rows `lo..hi` without an index):
/// [log-likelihood, max |η|, score (k), information's lower triangle (k × k, row-major)].
fn partial(x: RowMajor, index: Option<&[usize]>, lo: usize, hi: usize, z: &[f64], beta: &Array1<f64>) -> Vec<f64> {
    let (m, k) = (hi - lo, beta.len());
    let row = |i: usize| index.map_or(i, |x| x[i]);
    let cols = Columns::new(x, index, lo, hi);
    let mut eta = vec![0.0; m];
    for (a, b) in beta.iter().enumerate() {
        for (e, x) in eta.iter_mut().zip(cols.col(a)) {
            *e += b * x;
        }
    }
    let mut acc = vec![0.0; 2 + k + k * k];
    let (mut resid, mut weight) = (vec![0.0; m], vec![0.0; m]);
    let mut prod = 1.0f64;
    for (i, &e) in eta.iter().enumerate() {
        let q = (-e.abs()).exp();
        let zi = z[row(lo + i)];
        acc[0] += zi * e - e.max(0.0);
        acc[1] = acc[1].max(e.abs());
        prod *= 1.0 + q;
        if (i + 1) % LOG_BLOCK == 0 {
            acc[0] -= prod.ln();
            prod = 1.0;
        }
        let p = if e >= 0.0 { 1.0 / (1.0 + q) } else { q / (1.0 + q) };
        resid[i] = zi - p;
        weight[i] = q / ((1.0 + q) * (1.0 + q));
    }
    acc[0] -= prod.ln();
    for (a, s) in acc[2..2 + k].iter_mut().enumerate() {
        *s = dot4(cols.col(a), &resid);
    }
    cols.lower_gram(Some(&weight), &mut acc[2 + k..]);
    acc
}

/// Partial sums added in the order given, as a [`Pass`].
fn total<'a>(k: usize, parts: impl Iterator<Item = &'a Vec<f64>>) -> Pass {
    let mut acc = vec![0.0f64; 2 + k + k * k];
    for part in parts {
        acc[1] = acc[1].max(part[1]);
        acc[0] += part[0];
        for (a, b) in acc[2..].iter_mut().zip(&part[2..]) {
            *a += b;
        }
    }
    let info = &acc[2 + k..];
    Pass {
        ll: acc[0],
        score: Array1::from(acc[2..2 + k].to_vec()),
        info: Array2::from_shape_fn((k, k), |(a, b)| if b <= a { info[a * k + b] } else { info[b * k + a] }),
        max_eta: acc[1],
    }
}

/// One pass over the rows `index` lists (every row without one), in fixed chunks of
/// `GRAM_CHUNK` positions, chunks in parallel and added in chunk order.
fn pass(x: RowMajor, index: Option<&[usize]>, z: &[f64], beta: &Array1<f64>) -> Pass {
    let n = index.map_or(z.len(), <[usize]>::len);
    let chunk = |c: usize| partial(x, index, c * GRAM_CHUNK, ((c + 1) * GRAM_CHUNK).min(n), z, beta);
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(GRAM_CHUNK)).into_par_iter().map(chunk).collect();
    total(beta.len(), parts.iter())
}

/// One pass over every row kept per group (`group[i]` is row i's, of `groups`): each chunk of
/// `GRAM_CHUNK` rows is read once and split by group there, so interleaved groups cost what one
/// pass costs; group g's part adds its chunks' sums in chunk order.
fn pass_groups(x: RowMajor, group: &[usize], groups: usize, z: &[f64], beta: &Array1<f64>) -> Vec<Pass> {
    let n = z.len();
    let chunk = |c: usize| -> Vec<Vec<f64>> {
        let mut local = vec![Vec::new(); groups];
        for i in c * GRAM_CHUNK..((c + 1) * GRAM_CHUNK).min(n) {
            local[group[i]].push(i);
        }
        local.iter().map(|rows| partial(x, Some(rows), 0, rows.len(), z, beta)).collect()
    };
    let parts: Vec<Vec<Vec<f64>>> = (0..n.div_ceil(GRAM_CHUNK)).into_par_iter().map(chunk).collect();
    (0..groups).map(|g| total(beta.len(), parts.iter().map(|p| &p[g]))).collect()
}

/// Sums per-group passes at one β in group order: the pass over the union of the groups.
fn sum_passes<'a>(mut parts: impl Iterator<Item = &'a Pass>) -> Pass {
    let first = parts.next().expect("at least one group");
    let mut out = Pass { ll: first.ll, score: first.score.clone(), info: first.info.clone(), max_eta: first.max_eta };
    for p in parts {
        out.ll += p.ll;
        out.score += &p.score;
        out.info += &p.info;
        out.max_eta = out.max_eta.max(p.max_eta);
    }
    out
}

/// Newton steps whose largest coordinate is below this (relative to max(1, |β|)) are taken without
/// evaluating the likelihood again: in Newton's quadratic phase the error after such a step is of
/// the order of its square, far below what any estimate downstream can resolve.
const STEP_DONE: f64 = 1e-7;

/// A longer step is also the last when the step after it would be below this (relative): in the
/// quadratic phase that next step — the error left in β — is about C·‖δ‖², with C estimated from
/// the last two full steps (‖δ‖/‖δ_prev‖², taken as at least 1).
const NEXT_DONE: f64 = 1e-9;

/// Whether a Newton step of largest coordinate `size` is the last one needed (see [`STEP_DONE`],
/// [`NEXT_DONE`]); `prev` is the previous step's size when that step was taken in full.
fn last_step(size: f64, prev: Option<f64>, scale: f64) -> bool {
    let quadratic = |p: f64| size < p && (size / (p * p)).max(1.0) * size * size <= NEXT_DONE * scale;
    size <= STEP_DONE * scale || prev.is_some_and(quadratic)
}

/// Which rows a logistic problem fits.
#[derive(Clone, Copy)]
enum Rows<'a> {
    All,
    /// The rows an index lists, in its order.
    Index(&'a [usize]),
    /// Every row, each pass made per group (row i's is `group[i]`, of `groups`) and kept.
    Groups { group: &'a [usize], groups: usize },
}

/// One logistic problem on a row-major design.
struct Problem<'a> {
    x: RowMajor<'a>,
    rows: Rows<'a>,
    z: &'a [f64],
    ridge: f64,
    names: &'a [String],
}

/// Where Newton stopped: β, the iterations taken, and the last pass evaluated (with its per-group
/// parts under [`Rows::Groups`]), which is at β or one last step (see [`last_step`]) before it.
struct Stop {
    beta: Array1<f64>,
    iterations: u32,
    last: Pass,
    parts: Vec<Pass>,
    last_beta: Array1<f64>,
}

impl Stop {
    /// The log-likelihood at β: the last pass's, carried over a step not evaluated by its
    /// second-order expansion ℓ + s'δ − ½δ'Iδ (error of the order of ‖δ‖³).
    fn loglik(&self) -> f64 {
        let d = &self.beta - &self.last_beta;
        if d.iter().all(|v| *v == 0.0) {
            return self.last.ll;
        }
        self.last.ll + self.last.score.dot(&d) - 0.5 * d.dot(&self.last.info.dot(&d))
    }
}

impl Problem<'_> {
    fn index(&self) -> Option<&[usize]> {
        match self.rows {
            Rows::Index(ix) => Some(ix),
            _ => None,
        }
    }

    fn pass(&self, beta: &Array1<f64>) -> (Pass, Vec<Pass>) {
        match self.rows {
            Rows::Groups { group, groups } => {
                let parts = pass_groups(self.x, group, groups, self.z, beta);
                (sum_passes(parts.iter()), parts)
            }
            _ => (pass(self.x, self.index(), self.z, beta), Vec::new()),
        }
    }

    fn penalty(&self, b: &Array1<f64>) -> f64 {
        0.5 * self.ridge * b.iter().skip(1).map(|v| v * v).sum::<f64>()
    }

    fn separation(&self, beta: &Array1<f64>) -> FitError {
        separation(self.x, self.index(), beta, self.names)
    }

    /// Newton's method from `beta`, where `cur` (and its `parts`) is the pass at `beta`. Refuses
    /// a fit whose probabilities went to 0 or 1 (the unpenalised MLE does not exist).
    fn newton(&self, mut beta: Array1<f64>, (mut cur, mut parts): (Pass, Vec<Pass>)) -> Result<Stop, FitError> {
        let k = beta.len();
        let mut obj = cur.ll - self.penalty(&beta);
        let done = |beta: Array1<f64>, last_beta: Array1<f64>, iterations: u32, last: Pass, parts: Vec<Pass>| {
            if self.ridge == 0.0 && last.max_eta > ETA_EDGE {
                return Err(self.separation(&beta));
            }
            Ok(Stop { beta, iterations, last, parts, last_beta })
        };
        let mut prev = None;
        for it in 1..=MAX_ITER {
            let (mut h, mut g) = (cur.info.clone(), cur.score.clone());
            for j in 1..k {
                h[[j, j]] += self.ridge;
                g[j] -= self.ridge * beta[j];
            }
            let l = match cholesky(&h) {
                Ok(l) => l,
                Err(_) if it > 1 && cur.max_eta > ETA_EDGE => return Err(self.separation(&beta)),
                Err(s) => return Err(FitError::singular("the propensity model", self.names, s.index)),
            };
            let step = chol_solve(&l, &g);
            let size = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            let scale = beta.iter().fold(1.0f64, |m, b| m.max(b.abs()));
            if last_step(size, prev, scale) {
                return done(&beta + &step, beta, it, cur, parts);
            }
            let mut t = 1.0;
            let (mut nb, mut next, mut nobj);
            // Newton steps on this concave objective only need halving far from the optimum.
            loop {
                nb = &beta + &(&step * t);
                next = self.pass(&nb);
                nobj = next.0.ll - self.penalty(&nb);
                if nobj >= obj - 1e-12 * obj.abs() || t < 1e-10 {
                    break;
                }
                t *= 0.5;
            }
            let change = (nobj - obj).abs();
            prev = (t == 1.0).then_some(size);
            (beta, (cur, parts), obj) = (nb, next, nobj);
            // A line search that can no longer move β has converged as far as doubles allow.
            if change <= 1e-13 * (obj.abs() + 1.0) && size * t <= 1e-10 * scale {
                return done(beta.clone(), beta, it, cur, parts);
            }
        }
        if cur.max_eta > ETA_EDGE / 2.0 {
            return Err(self.separation(&beta));
        }
        Err(FitError::NotConverged { what: "the propensity model (logistic regression)".into(), iterations: MAX_ITER })
    }
}

/// The full-sample fit's last pass, made per group of rows: a fit on the rows outside one group
/// starts Newton there with the other groups' parts summed, instead of a pass of its own.
pub struct Split {
    beta: Array1<f64>,
    parts: Vec<Pass>,
}

impl Logit {
    /// Fits P(z = 1 | x) = σ(x'β). `x` carries its intercept in column 0, which the ridge
    /// penalty `ridge/2 · ‖β₁..‖²` leaves alone. `start` warm-starts Newton (e.g. from a fit on
    /// more data); the answer does not depend on it beyond the convergence tolerance.
    pub fn fit(x: &Array2<f64>, z: ArrayView1<f64>, ridge: f64, start: Option<&Array1<f64>>, names: &[String]) -> Result<Logit, FitError> {
        let beta = start.cloned().unwrap_or_else(|| Array1::zeros(x.ncols()));
        let x = x.as_standard_layout();
        let x = RowMajor::of(x.as_slice().expect("standard layout"), x.ncols());
        Ok(Logit::solve(x, Rows::All, z, ridge, names, beta, None)?.0)
    }

    /// [`Logit::fit`] with every pass kept per group of rows (row i's group is `group[i]`, of
    /// `groups`), for [`Logit::refit_without`].
    pub fn fit_split(x: RowMajor, z: ArrayView1<f64>, ridge: f64, names: &[String], group: &[usize], groups: usize) -> Result<(Logit, Split), FitError> {
        Logit::solve(x, Rows::Groups { group, groups }, z, ridge, names, Array1::zeros(x.k), None)
    }

    /// The coefficients of the fit on `rows`, every row outside group `drop` of `split` in row
    /// order, warm-started where the full-sample fit made its last pass, with the other groups'
    /// parts of that pass.
    pub fn refit_without(x: RowMajor, z: ArrayView1<f64>, ridge: f64, names: &[String], split: &Split, drop: usize, rows: &[usize]) -> Result<Array1<f64>, FitError> {
        let start = sum_passes(split.parts.iter().enumerate().filter(|(g, _)| *g != drop).map(|(_, q)| q));
        Ok(Logit::solve(x, Rows::Index(rows), z, ridge, names, split.beta.clone(), Some(start))?.0.coef)
    }

    /// Newton from `beta` (`start`: the pass there, if already made).
    fn solve(x: RowMajor, rows: Rows, z: ArrayView1<f64>, ridge: f64, names: &[String], beta: Array1<f64>, start: Option<Pass>) -> Result<(Logit, Split), FitError> {
        let z = z.to_vec();
        let p = Problem { x, rows, z: &z, ridge, names };
        let first = start.map_or_else(|| p.pass(&beta), |s| (s, Vec::new()));
        let stop = p.newton(beta, first)?;
        let logit = Logit { loglik: stop.loglik(), coef: stop.beta, iterations: stop.iterations, ridge };
        Ok((logit, Split { beta: stop.last_beta, parts: stop.parts }))
    }

    /// Fitted probabilities at the rows of `x`.
    pub fn predict(&self, x: &Array2<f64>) -> Array1<f64> {
        x.dot(&self.coef).mapv(sigmoid)
    }
}

/// The separation error, counting the rows whose fitted probability at `beta` is all but 0 or 1.
fn separation(x: RowMajor, index: Option<&[usize]>, beta: &Array1<f64>, names: &[String]) -> FitError {
    let eta = |r: usize| x.row(r).iter().zip(beta).map(|(a, b)| a * b).sum::<f64>();
    let rows = match index {
        Some(index) => index.iter().filter(|&&r| eta(r).abs() > ETA_EDGE / 2.0).count(),
        None => (0..x.rows()).filter(|&r| eta(r).abs() > ETA_EDGE / 2.0).count(),
    };
    FitError::Separation { rows, covariates: names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|j| format!("x{j}")).collect()
    }

    #[test]
    fn score_is_zero_at_the_fit() {
        let x = array![[1.0, 0.1], [1.0, 0.9], [1.0, 0.4], [1.0, 0.7], [1.0, 0.2], [1.0, 0.6]];
        let z = array![0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let f = Logit::fit(&x, z.view(), 0.0, None, &names(2)).unwrap();
        let score = x.t().dot(&(&z - &f.predict(&x)));
        assert!(score.iter().all(|s| s.abs() < 1e-12), "{score}");
        assert!(f.loglik < 0.0 && f.loglik > -6.0 * std::f64::consts::LN_2);
    }

    #[test]
    fn the_reported_loglik_is_the_one_at_the_coefficients() {
        let n = 400;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * (0.37 + j as f64)).sin() });
        let z = Array1::from_shape_fn(n, |i| f64::from((i as f64 * 1.3).sin() + 0.8 * x[[i, 1]] > 0.2));
        for ridge in [0.0, 0.5] {
            let f = Logit::fit(&x, z.view(), ridge, None, &names(3)).unwrap();
            let eta = x.dot(&f.coef);
            let direct: f64 = eta.iter().zip(&z).map(|(e, z)| z * e - (1.0 + e.exp()).ln()).sum();
            assert!((f.loglik - direct).abs() <= 1e-12 * direct.abs(), "ridge {ridge}: {} vs {direct}", f.loglik);
        }
    }

    #[test]
    fn separated_data_are_refused_and_ridge_fits_them() {
        let x = array![[1.0, 0.1], [1.0, 0.2], [1.0, 0.3], [1.0, 0.7], [1.0, 0.8], [1.0, 0.9]];
        let z = array![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let err = Logit::fit(&x, z.view(), 0.0, None, &names(2)).unwrap_err();
        assert!(matches!(err, FitError::Separation { rows: 6, .. }), "{err}");
        assert!(err.to_string().contains("ridge"), "{err}");
        let f = Logit::fit(&x, z.view(), 0.1, None, &names(2)).unwrap();
        assert!(f.coef[1] > 0.0 && f.coef[1].is_finite());
    }
}
