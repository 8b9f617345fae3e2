//! The scalar RDD estimate of rdrobust 2.1.1: conventional local-polynomial jump, the robust
//! bias-corrected estimate and its variance (Calonico, Cattaneo & Titiunik 2014), sharp or fuzzy.

use super::bandwidth::{self, Bandwidths, Selector};
use super::locpoly::{Fit, Vce, sandwich};
use super::side::{Design, Side};
use super::{factorial, Kernel, RddError};
use crate::normal;
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
    pub z: f64,
    pub p_value: f64,
    pub ci: [f64; 2],
}

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
}

/// Per-side pieces: conventional and bias-corrected derivative, their score rows and residuals.
struct SidePart {
    n: usize,
    n_h: usize,
    n_b: usize,
    beta_p: Vec<f64>,
    cl: [f64; 2],
    bc: [f64; 2],
    fp: Fit,
    q_rows: Vec<f64>,
    res_h: Vec<[f64; 2]>,
    res_b: Vec<[f64; 2]>,
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
    let outcome = |v: &[f64]| -> (f64, f64, Vec<f64>) {
        let beta = fp.coef(v);
        let mut m = vec![0.0; k];
        for i in 0..n {
            for a in 0..k {
                m[a] += q_rows[i * k + a] * v[i];
            }
        }
        let bc = fp.ginv_times(&m)[o.deriv] * scale;
        (beta[o.deriv] * scale, bc, beta)
    };
    let (cl_y, bc_y, beta_y) = outcome(&side.y[..n]);
    let (mut cl, mut bc) = ([cl_y, 0.0], [bc_y, 0.0]);
    let columns: Vec<&[f64]> = std::iter::once(&side.y[..n])
        .chain(side.t.as_deref().map(|t| &t[..n]))
        .collect();
    if let Some(t) = columns.get(1) {
        let (c, b, _) = outcome(t);
        cl[1] = c;
        bc[1] = b;
    }
    let zip = |r: Vec<Vec<f64>>| -> Vec<[f64; 2]> {
        (0..n)
            .map(|i| [r[0][i], r.get(1).map_or(0.0, |c| c[i])])
            .collect()
    };
    let res_h = zip(columns
        .iter()
        .map(|v| fp.residuals(side, v, o.vce))
        .collect());
    let res_b = match o.vce {
        Vce::Nn(_) => res_h.clone(),
        Vce::Hc(_) => zip(columns
            .iter()
            .map(|v| fq.residuals(side, v, o.vce))
            .collect()),
    };
    let beta_p = beta_y
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

fn row(method: &'static str, estimate: f64, se: f64, z_crit: f64) -> Row {
    let z = estimate / se;
    Row {
        method,
        estimate,
        se,
        z,
        p_value: normal::two_sided_p(z),
        ci: [estimate - z_crit * se, estimate + z_crit * se],
    }
}

/// Runs rdrobust on `design`.
pub fn rdrobust(design: &Design, o: &Options) -> Result<Estimate, RddError> {
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
    let tau_cl = [r.cl[0] - l.cl[0], r.cl[1] - l.cl[1]];
    let tau_bc = [r.bc[0] - l.bc[0], r.bc[1] - l.bc[1]];
    // Variance of s'(τ_Y, τ_T) with s = (1, 0) (sharp) or the delta-method gradient of τ_Y/τ_T.
    let s = if fuzzy {
        [1.0 / tau_cl[1], -tau_cl[0] / (tau_cl[1] * tau_cl[1])]
    } else {
        [1.0, 0.0]
    };
    let var = |part: &SidePart, side: &Side, hs: f64, robust: bool, s: [f64; 2]| -> f64 {
        let res = if robust { &part.res_b } else { &part.res_h };
        let e: Vec<f64> = res.iter().map(|r| s[0] * r[0] + s[1] * r[1]).collect();
        let v = if robust { sandwich(&part.fp.ginv, &part.q_rows, &e) } else { part.fp.sandwich(side, &e) };
        let sc = factorial(o.deriv) / hs.powi(o.deriv as i32);
        v[[o.deriv, o.deriv]] * sc * sc
    };
    let se_cl = (var(&l, &design.left, h[0], false, s) + var(&r, &design.right, h[1], false, s)).sqrt();
    let se_rb = (var(&l, &design.left, h[0], true, s) + var(&r, &design.right, h[1], true, s)).sqrt();
    // The fuzzy bias correction is linearised too: τ_bc = τ_cl − s'(bias of τ_Y, bias of τ_T).
    let est_cl = if fuzzy {
        tau_cl[0] / tau_cl[1]
    } else {
        tau_cl[0]
    };
    let est_bc = est_cl - s[0] * (tau_cl[0] - tau_bc[0]) - s[1] * (tau_cl[1] - tau_bc[1]);
    let first_stage = fuzzy.then(|| {
        let t = [0.0, 1.0];
        let se_t = (var(&l, &design.left, h[0], false, t) + var(&r, &design.right, h[1], false, t)).sqrt();
        let se_tr = (var(&l, &design.left, h[0], true, t) + var(&r, &design.right, h[1], true, t)).sqrt();
        [
            row("conventional", tau_cl[1], se_t, z_crit),
            row("robust", tau_bc[1], se_tr, z_crit),
        ]
    });
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
    })
}
