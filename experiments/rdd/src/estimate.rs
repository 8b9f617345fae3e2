//! The scalar RDD estimate of rdrobust 2.1.1: conventional local-polynomial jump, the robust
//! bias-corrected estimate and its variance (Calonico, Cattaneo & Titiunik 2014), sharp or fuzzy.

use super::bandwidth::{self, Bandwidths, Selector};
use super::locpoly::{Fit, Vce, sandwich};
use reprise_stats::linalg::{chol_inverse, cholesky};
use ndarray::Array2;
use super::side::{Design, Side};
use super::{factorial, Kernel, RddError};
use reprise_stats::normal;
use serde::Serialize;

/// The choices of one estimate (rdrobust's arguments, same defaults).
#[derive(Debug, Clone)]
pub struct Options {
    pub p: usize,
    pub q: Option<usize>,
    pub deriv: usize,
    pub kernel: Kernel,
    pub vce: Vce,
    /// Fixed bandwidths (left, right); `None` selects them with `selector`.
    pub h: Option<[f64; 2]>,
    pub b: Option<[f64; 2]>,
    pub selector: Selector,
    pub level: f64,
    pub masspoints_adjust: bool,
    pub bwcheck: Option<usize>,
    pub bwrestrict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            p: 1,
            q: None,
            deriv: 0,
            kernel: Kernel::Triangular,
            vce: Vce::Nn(3),
            h: None,
            b: None,
            selector: Selector::Mserd,
            level: 95.0,
            masspoints_adjust: true,
            bwcheck: None,
            bwrestrict: true,
        }
    }
}

/// One of the three rows rdrobust reports.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub method: &'static str,
    pub estimate: f64,
    pub se: f64,
    /// NaN (JSON null) when the standard error is 0: see `undefined`.
    #[serde(serialize_with = "finite_or_null")]
    pub z: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub p_value: f64,
    pub ci: [f64; 2],
    /// Why z and p are undefined, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undefined: Option<&'static str>,
}

fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() { s.serialize_f64(*v) } else { s.serialize_none() }
}

/// Why a row with a zero standard error has no z or p.
pub const EXACT: &str = "the standard error is 0: the estimate has no sampling variation in these data (an exact jump, e.g. perfect compliance in a first stage), so z and p are undefined";

/// The local fit on one side, for tables and figures.
#[derive(Debug, Clone, Serialize)]
pub struct SideFit {
    /// Polynomial coefficients of order p in powers of (x − c), intercept first.
    pub coefficients: Vec<f64>,
    pub n_h: usize,
    pub n_b: usize,
    pub n: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub p: usize,
    pub q: usize,
    pub deriv: usize,
    pub kernel: Kernel,
    pub vce: String,
    pub c: f64,
    pub level: f64,
    pub h: [f64; 2],
    pub b: [f64; 2],
    pub bandwidths: Option<Bandwidths>,
    pub conventional: Row,
    pub bias_corrected: Row,
    pub robust: Row,
    pub left: SideFit,
    pub right: SideFit,
    /// The first stage (fuzzy designs): the jump in take-up, conventional and robust.
    pub first_stage: Option<[Row; 2]>,
    /// Covariate adjustment: each covariate's coefficient γ in the outcome equation (empty without).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covariates: Vec<Covariate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Covariate {
    pub name: String,
    pub coefficient: f64,
}

/// Per-side pieces: conventional and bias-corrected derivative of every column (y, take-up,
/// covariates), the score rows and each column's residuals.
struct SidePart {
    n: usize,
    n_h: usize,
    n_b: usize,
    beta_p: Vec<f64>,
    cl: Vec<f64>,
    bc: Vec<f64>,
    fp: Fit,
    q_rows: Vec<f64>,
    res_h: Vec<Vec<f64>>,
    res_b: Vec<Vec<f64>>,
}

fn side_part(side: &Side, o: &Options, q: usize, h: f64, b: f64) -> Result<SidePart, RddError> {
    let p = o.p;
    let n = side.within(h.max(b));
    let fp = Fit::new(side, n, o.kernel, h, h, p)?;
    let fq = Fit::new(side, n, o.kernel, b, b, q)?;
    // Q_i = W_h R_p,i − (h/b)^{p+1} [Γ_q⁻¹ R_q,i]_{p+1} W_b,i L, all in the scaled bases.
    let l = fp.moment(h, side, p as i32 + 1);
    let ratio = (h / b).powi(p as i32 + 1);
    let k = p + 1;
    let mut q_rows = fp.scores();
    for i in 0..n {
        let g = (0..=q)
            .map(|j| fq.ginv[[p + 1, j]] * fq.row(i)[j])
            .sum::<f64>()
            * fq.w[i]
            * ratio;
        for a in 0..k {
            q_rows[i * k + a] -= g * l[a];
        }
    }
    let scale = factorial(o.deriv) / h.powi(o.deriv as i32);
    let columns = side.columns(n);
    let (mut cl, mut bc) = (Vec::new(), Vec::new());
    for v in &columns {
        let mut m = vec![0.0; k];
        for i in 0..n {
            for a in 0..k {
                m[a] += q_rows[i * k + a] * v[i];
            }
        }
        cl.push(fp.coef(v)[o.deriv] * scale);
        bc.push(fp.ginv_times(&m)[o.deriv] * scale);
    }
    let res_h: Vec<Vec<f64>> = columns.iter().map(|v| fp.residuals(side, v, o.vce)).collect();
    let res_b = match o.vce {
        Vce::Nn(_) => res_h.clone(),
        Vce::Hc(_) => columns.iter().map(|v| fq.residuals(side, v, o.vce)).collect(),
    };
    let beta_p = fp
        .coef(columns[0])
        .iter()
        .enumerate()
        .map(|(j, v)| v / h.powi(j as i32))
        .collect();
    Ok(SidePart {
        n,
        n_h: side.within(h),
        n_b: side.within(b),
        beta_p,
        cl,
        bc,
        fp,
        q_rows,
        res_h,
        res_b,
    })
}

/// The covariate coefficients γ (one vector per outcome column: y, then take-up) of the
/// regression of the outcomes on the covariates after partialling out each fit's local
/// polynomial, pooled over `fits` (both sides for the estimate, one side in the bandwidth
/// selector's pilot fits), as in Calonico, Cattaneo, Farrell & Titiunik (2019).
pub(crate) fn covariate_gamma(fits: &[(&Fit, &[&[f64]])], outcomes: usize) -> Result<Vec<Vec<f64>>, RddError> {
    let dz = fits[0].1.len() - outcomes;
    if dz == 0 {
        return Ok(vec![Vec::new(); outcomes]);
    }
    let mut zwz = Array2::<f64>::zeros((dz, dz));
    let mut zwy = vec![vec![0.0; dz]; outcomes];
    let mut raw = vec![0.0; dz];
    for (fit, cols) in fits {
        let z = &cols[outcomes..];
        for a in 0..dz {
            raw[a] += fit.w.iter().zip(z[a]).map(|(w, v)| w * v * v).sum::<f64>();
            for b in 0..=a {
                zwz[[a, b]] += fit.partial_cross(z[a], z[b]);
            }
            for (m, row) in zwy.iter_mut().enumerate() {
                row[a] += fit.partial_cross(z[a], cols[m]);
            }
        }
    }
    for a in 0..dz {
        for b in a + 1..dz {
            zwz[[a, b]] = zwz[[b, a]];
        }
    }
    // A pivot that keeps less than 1e-10 of the covariate's own weighted sum of squares means it
    // is (numerically) a combination of the polynomial and the covariates before it.
    let l = cholesky(&zwz).map_err(|s| RddError::Collinear { index: s.index, name: None })?;
    if let Some(index) = (0..dz).find(|&a| !(l[[a, a]] * l[[a, a]] > 1e-10 * raw[a])) {
        return Err(RddError::Collinear { index, name: None });
    }
    let inv = chol_inverse(&l);
    Ok(zwy
        .iter()
        .map(|r| (0..dz).map(|a| (0..dz).map(|b| inv[[a, b]] * r[b]).sum()).collect())
        .collect())
}

/// The linear combination of the columns [y, take-up, covariates…] whose variance is the
/// estimate's: (1, −γ_y) for sharp designs; for fuzzy ones the gradient of τ_Y/τ_T at the
/// covariate-adjusted jumps `delta` (one derivative per column).
pub(crate) fn combination(gamma: &[Vec<f64>], delta: &[f64], outcomes: usize) -> Vec<f64> {
    let adjusted = |m: usize| select(gamma, m, outcomes, delta.len());
    let dot = |s: &[f64]| s.iter().zip(delta).map(|(a, b)| a * b).sum::<f64>();
    if outcomes == 1 {
        return adjusted(0);
    }
    let (sy, st) = (adjusted(0), adjusted(1));
    let (ty, tt) = (dot(&sy), dot(&st));
    sy.iter().zip(&st).map(|(a, b)| a / tt - ty / (tt * tt) * b).collect()
}

/// The combination picking outcome `m` net of the covariates: e_m − Σ_j γ_m,j e_{z_j}.
fn select(gamma: &[Vec<f64>], m: usize, outcomes: usize, len: usize) -> Vec<f64> {
    let mut s = vec![0.0; len];
    s[m] = 1.0;
    for (j, g) in gamma[m].iter().enumerate() {
        s[outcomes + j] = -g;
    }
    s
}

fn row(method: &'static str, estimate: f64, se: f64, z_crit: f64) -> Row {
    let exact = se == 0.0;
    let z = if exact { f64::NAN } else { estimate / se };
    Row {
        method,
        estimate,
        se,
        z,
        p_value: if exact { f64::NAN } else { normal::two_sided_p(z) },
        ci: [estimate - z_crit * se, estimate + z_crit * se],
        undefined: exact.then_some(EXACT),
    }
}

impl Estimate {
    /// A sharp estimate read as a fuzzy one whose take-up jumps by exactly `jump` with no
    /// variation on either side (perfect compliance when 1): τ/jump with se/|jump|, and a first
    /// stage of `jump` with standard error 0 (no z or p).
    pub fn with_exact_first_stage(mut self, jump: f64) -> Estimate {
        for r in [&mut self.conventional, &mut self.bias_corrected, &mut self.robust] {
            let (a, b) = (r.ci[0] / jump, r.ci[1] / jump);
            r.estimate /= jump;
            r.se /= jump.abs();
            r.z = r.estimate / r.se;
            r.ci = [a.min(b), a.max(b)];
        }
        let exact = |method| Row { method, estimate: jump, se: 0.0, z: f64::NAN, p_value: f64::NAN, ci: [jump, jump], undefined: Some(EXACT) };
        self.first_stage = Some([exact("conventional"), exact("robust")]);
        self
    }
}

/// Runs rdrobust on `design`.
pub fn rdrobust(design: &Design, o: &Options) -> Result<Estimate, RddError> {
    rdrobust_unnamed(design, o).map_err(|e| e.name_covariate(&design.covariate_names))
}

fn rdrobust_unnamed(design: &Design, o: &Options) -> Result<Estimate, RddError> {
    let q = o.q.unwrap_or(o.p + 1);
    if q <= o.p {
        return Err(RddError::Option(format!("q = {q} must exceed p = {}", o.p)));
    }
    if o.deriv > o.p {
        return Err(RddError::Option(format!(
            "deriv = {} must not exceed p = {}",
            o.deriv, o.p
        )));
    }
    if !(o.level > 0.0 && o.level < 100.0) {
        return Err(RddError::Option(format!(
            "level = {} must be in (0, 100)",
            o.level
        )));
    }
    let (h, b, bws) = match (o.h, o.b) {
        (Some(h), b) => {
            if h.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
                return Err(RddError::Option(format!(
                    "bandwidth h = {h:?} must be positive"
                )));
            }
            (h, b.unwrap_or(h), None)
        }
        (None, _) => {
            let st = bandwidth::Settings {
                p: o.p,
                q,
                deriv: o.deriv,
                kernel: o.kernel,
                vce: o.vce,
                selector: o.selector,
                masspoints_adjust: o.masspoints_adjust,
                bwcheck: o.bwcheck,
                bwrestrict: o.bwrestrict,
            };
            let bw = bandwidth::select(design, &st)?;
            (bw.h, o.b.unwrap_or(bw.b), Some(bw))
        }
    };
    let (l, r) = rayon::join(
        || side_part(&design.left, o, q, h[0], b[0]),
        || side_part(&design.right, o, q, h[1], b[1]),
    );
    let (l, r) = (l?, r?);
    let z_crit = normal::quantile(1.0 - (1.0 - o.level / 100.0) / 2.0);
    let fuzzy = design.fuzzy();
    let outcomes = design.left.outcomes();
    let gamma = covariate_gamma(
        &[(&l.fp, &design.left.columns(l.n)), (&r.fp, &design.right.columns(r.n))],
        outcomes,
    )?;
    let delta_cl: Vec<f64> = r.cl.iter().zip(&l.cl).map(|(a, b)| a - b).collect();
    let delta_bc: Vec<f64> = r.bc.iter().zip(&l.bc).map(|(a, b)| a - b).collect();
    let dot = |s: &[f64], v: &[f64]| s.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let sy = select(&gamma, 0, outcomes, delta_cl.len());
    let (ty_cl, ty_bc) = (dot(&sy, &delta_cl), dot(&sy, &delta_bc));
    // Variance of s'(columns): s = (1, −γ) (sharp) or the delta-method gradient of τ_Y/τ_T.
    let s = combination(&gamma, &delta_cl, outcomes);
    let var = |part: &SidePart, side: &Side, hs: f64, robust: bool, s: &[f64]| -> f64 {
        let res = if robust { &part.res_b } else { &part.res_h };
        let mut e = vec![0.0; part.n];
        for (sm, col) in s.iter().zip(res) {
            for (ei, ri) in e.iter_mut().zip(col) {
                *ei += sm * ri;
            }
        }
        let v = if robust { sandwich(&part.fp.ginv, &part.q_rows, &e) } else { part.fp.sandwich(side, &e) };
        let sc = factorial(o.deriv) / hs.powi(o.deriv as i32);
        v[[o.deriv, o.deriv]] * sc * sc
    };
    let se = |robust: bool, s: &[f64]| (var(&l, &design.left, h[0], robust, s) + var(&r, &design.right, h[1], robust, s)).sqrt();
    let (se_cl, se_rb) = (se(false, &s), se(true, &s));
    let st = fuzzy.then(|| select(&gamma, 1, outcomes, delta_cl.len()));
    let (est_cl, est_bc) = match &st {
        // The fuzzy bias correction is linearised too: τ_bc = τ_cl − s'(bias of τ_Y, bias of τ_T).
        Some(st) => {
            let (tt_cl, tt_bc) = (dot(st, &delta_cl), dot(st, &delta_bc));
            let est = ty_cl / tt_cl;
            (est, est - (ty_cl - ty_bc) / tt_cl + ty_cl / (tt_cl * tt_cl) * (tt_cl - tt_bc))
        }
        None => (ty_cl, ty_bc),
    };
    let first_stage = st.map(|st| {
        [
            row("conventional", dot(&st, &delta_cl), se(false, &st), z_crit),
            row("robust", dot(&st, &delta_bc), se(true, &st), z_crit),
        ]
    });
    let covariates = design
        .covariate_names
        .iter()
        .zip(&gamma[0])
        .map(|(name, g)| Covariate { name: name.clone(), coefficient: *g })
        .collect();
    let fit = |p: &SidePart| SideFit {
        coefficients: p.beta_p.clone(),
        n_h: p.n_h,
        n_b: p.n_b,
        n: p.n,
    };
    Ok(Estimate {
        p: o.p,
        q,
        deriv: o.deriv,
        kernel: o.kernel,
        vce: match o.vce {
            Vce::Nn(m) => format!("nn (nnmatch {m})"),
            Vce::Hc(k) => format!("hc{k}"),
        },
        c: design.c,
        level: o.level,
        h,
        b,
        bandwidths: bws,
        conventional: row("conventional", est_cl, se_cl, z_crit),
        bias_corrected: row("bias-corrected", est_bc, se_cl, z_crit),
        robust: row("robust", est_bc, se_rb, z_crit),
        left: fit(&l),
        right: fit(&r),
        first_stage,
        covariates,
    })
}
