//! Data-driven bandwidths: rdbwselect's MSE- and CER-optimal family (mserd, msetwo, msesum,
//! msecomb1/2, cerrd, certwo, cersum, cercomb1/2) from the three-step plug-in of CCT (2014).

use super::estimate::{combination, covariate_gamma};
use super::locpoly::{Fit, Vce};
use super::side::{Design, Side};
use super::{sd, Kernel, RddError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Selector {
    Mserd,
    Msetwo,
    Msesum,
    Msecomb1,
    Msecomb2,
    Cerrd,
    Certwo,
    Cersum,
    Cercomb1,
    Cercomb2,
}

impl Selector {
    pub const NAMES: [&'static str; 10] = [
        "mserd", "msetwo", "msesum", "msecomb1", "msecomb2", "cerrd", "certwo", "cersum",
        "cercomb1", "cercomb2",
    ];
    const ALL: [Selector; 10] = [
        Selector::Mserd,
        Selector::Msetwo,
        Selector::Msesum,
        Selector::Msecomb1,
        Selector::Msecomb2,
        Selector::Cerrd,
        Selector::Certwo,
        Selector::Cersum,
        Selector::Cercomb1,
        Selector::Cercomb2,
    ];

    pub fn parse(s: &str) -> Result<Selector, String> {
        Selector::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Selector::ALL[i])
            .ok_or_else(|| {
                format!(
                    "unknown bandwidth selector `{s}`; use one of {}",
                    Selector::NAMES.join(", ")
                )
            })
    }

    pub fn name(self) -> &'static str {
        Selector::NAMES[Selector::ALL
            .iter()
            .position(|s| *s == self)
            .expect("listed")]
    }

    fn cer(self) -> bool {
        matches!(
            self,
            Selector::Cerrd
                | Selector::Certwo
                | Selector::Cersum
                | Selector::Cercomb1
                | Selector::Cercomb2
        )
    }
}

/// What the selector needs besides the data.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub p: usize,
    pub q: usize,
    pub deriv: usize,
    pub kernel: Kernel,
    pub vce: Vce,
    pub selector: Selector,
    /// Count distinct x values (not units) in the pilot's N, as rdrobust's `masspoints="adjust"`.
    pub masspoints_adjust: bool,
    /// Widen the pilot bandwidth to reach at least this many distinct x values on each side.
    pub bwcheck: Option<usize>,
    /// Cap every bandwidth at the range of x on the farther side.
    pub bwrestrict: bool,
}

/// Selected bandwidths, left then right.
#[derive(Debug, Clone, Serialize)]
pub struct Bandwidths {
    pub selector: Selector,
    pub h: [f64; 2],
    pub b: [f64; 2],
    /// The pilot bandwidth C_K·min(sd, IQR/1.349)·N^(−1/5) after the cap and the bwcheck floor.
    pub pilot: f64,
    /// The bias-of-the-bias bandwidths of the first step.
    pub d: [f64; 2],
    /// Share of units on each side that repeat an x value.
    pub mass_points: [f64; 2],
}

/// The (V, B, R) constants of one side for an order-`o` estimate of derivative `nu`.
struct Constants {
    v: f64,
    b: f64,
    r: f64,
}

#[allow(clippy::too_many_arguments)]
fn constants(
    side: &Side,
    st: &Settings,
    o: usize,
    nu: usize,
    o_b: usize,
    h_v: f64,
    h_b: f64,
    scale: f64,
) -> Result<Constants, RddError> {
    let n_v = side.weighted(st.kernel, h_v);
    let fv = Fit::new(side, n_v, st.kernel, h_v, h_v, o)?;
    // The columns [y, take-up (fuzzy), covariates…] enter through one linear combination s:
    // covariates are partialled out with this side's own γ at the pilot fit, and fuzzy designs
    // linearise the ratio at this side's fitted levels.
    let cols = side.columns(n_v);
    let gamma = covariate_gamma(&[(&fv, &cols)], side.outcomes())?;
    let beta: Vec<f64> = cols.iter().map(|v| fv.coef(v)[nu]).collect();
    let s = combination(&gamma, &beta, side.outcomes());
    let combined = |g: &dyn Fn(&[f64]) -> Vec<f64>, n: usize| -> Vec<f64> {
        let mut out = vec![0.0; n];
        for (sm, v) in s.iter().zip(side.columns(n)) {
            for (o, e) in out.iter_mut().zip(g(v)) {
                *o += sm * e;
            }
        }
        out
    };
    let e = combined(&|v| fv.residuals(side, v, st.vce), n_v);
    let v_v = fv.sandwich(side, &e)[[nu, nu]] / h_v.powi(2 * nu as i32);
    let bconst = fv.ginv_times(&fv.moment(h_v, side, o as i32 + 1))[nu];
    let n_b = side.weighted(st.kernel, h_b);
    let fb = Fit::new(side, n_b, st.kernel, h_b, h_b, o_b)?;
    // rdrobust takes the *last* coefficient of the order-o_B fit (and its variance) as the
    // (o+1)-th derivative's: the same thing when o_B = o + 1, as in every step with q = p + 1;
    // with q > p + 1 the h step uses the q-th instead. Reproduced, so bandwidths match the package.
    let beta_b = s.iter().zip(side.columns(n_b)).map(|(sm, v)| sm * fb.coef(v)[o_b]).sum::<f64>() / h_b.powi(o_b as i32);
    let mut bwreg = 0.0;
    if scale > 0.0 {
        let eb = combined(&|v| fb.residuals(side, v, st.vce), n_b);
        let v_b = fb.sandwich(side, &eb)[[o_b, o_b]] / h_b.powi(2 * o_b as i32);
        bwreg = 3.0 * bconst * bconst * v_b;
    }
    let gap = (o + 1 - nu) as f64;
    Ok(Constants {
        v: (2 * nu + 1) as f64 * h_v.powi(2 * nu as i32 + 1) * v_v,
        b: (2.0 * gap).sqrt() * bconst * beta_b,
        r: scale * 2.0 * gap * bwreg,
    })
}

fn both(
    d: &Design,
    f: impl Fn(&Side, usize) -> Result<Constants, RddError> + Sync,
) -> Result<[Constants; 2], RddError> {
    let (l, r) = rayon::join(|| f(&d.left, 0), || f(&d.right, 1));
    Ok([l?, r?])
}

/// Common (`rd`), per-side (`two`) and sum (`sum`) MSE-optimal bandwidths from one side pair.
struct Family {
    rd: f64,
    two: [f64; 2],
    sum: f64,
}

fn family(c: &[Constants; 2], rate: f64) -> Family {
    let [l, r] = c;
    let rd = ((l.v + r.v) / ((r.b - l.b).powi(2) + l.r + r.r)).powf(rate);
    let sum = ((l.v + r.v) / ((r.b + l.b).powi(2) + l.r + r.r)).powf(rate);
    let two = [
        (l.v / (l.b * l.b + l.r)).powf(rate),
        (r.v / (r.b * r.b + r.r)).powf(rate),
    ];
    Family { rd, two, sum }
}

/// Type-2 (averaged inverse ECDF) sample quantile of sorted data.
fn quantile_type2(sorted: &[f64], p: f64) -> f64 {
    let m = sorted.len() as f64 * p;
    let j = m.floor() as usize;
    if m > j as f64 {
        sorted[j]
    } else {
        0.5 * (sorted[j.max(1) - 1] + sorted[j.min(sorted.len() - 1)])
    }
}

fn median3(a: f64, b: f64, c: f64) -> f64 {
    a.max(b).min(a.min(b).max(c))
}

/// Runs the selector on `d`. As rdrobust (`stdvars`), it selects on x/sd(x) and scales back.
pub fn select(design: &Design, st: &Settings) -> Result<Bandwidths, RddError> {
    select_unnamed(design, st).map_err(|e| e.name_covariate(&design.covariate_names))
}

fn select_unnamed(design: &Design, st: &Settings) -> Result<Bandwidths, RddError> {
    let sx = sd(&design.x_all);
    if !(sx > 0.0 && sx.is_finite()) {
        return Err(RddError::Option("x does not vary: no bandwidth can be selected".into()));
    }
    let bw = select_standardised(&design.scaled(sx), st)?;
    Ok(Bandwidths {
        h: bw.h.map(|v| v * sx),
        b: bw.b.map(|v| v * sx),
        pilot: bw.pilot * sx,
        d: bw.d.map(|v| v * sx),
        ..bw
    })
}

fn select_standardised(design: &Design, st: &Settings) -> Result<Bandwidths, RddError> {
    let (p, q) = (st.p, st.q);
    let n = design.n();
    let mut xs = design.x_all.clone();
    xs.sort_by(f64::total_cmp);
    let x_sd = sd(&xs);
    let iqr = quantile_type2(&xs, 0.75) - quantile_type2(&xs, 0.25);
    let spread = if iqr > 0.0 {
        x_sd.min(iqr / 1.349)
    } else {
        x_sd
    };
    let distinct = [
        design.left.distinct(design.left.len()),
        design.right.distinct(design.right.len()),
    ];
    let mass_points = [
        1.0 - distinct[0] as f64 / design.left.len() as f64,
        1.0 - distinct[1] as f64 / design.right.len() as f64,
    ];
    let n_pilot = if st.masspoints_adjust {
        distinct[0] + distinct[1]
    } else {
        n
    };
    let bwcheck = st.bwcheck;
    let range = [
        design.left.d[design.left.len() - 1],
        design.right.d[design.right.len() - 1],
    ];
    let bw_max = range[0].max(range[1]);
    let bw_min = bwcheck.map(|k| {
        design
            .left
            .kth_distinct_distance(k)
            .max(design.right.kth_distinct_distance(k))
    });
    let clamp = |h: f64| if st.bwrestrict { h.min(bw_max) } else { h };
    let floor = |h: f64| bw_min.map_or(h, |m| h.max(m));
    let pilot = clamp(st.kernel.pilot_constant() * spread * (n_pilot as f64).powf(-0.2));
    let pilot = floor(pilot);

    // Step 1: the bandwidth of the (q+1)-th derivative fit, from an order-(q+2) fit on the whole side
    // (the bandwidth reaches just past the farthest unit, so it keeps a positive weight).
    let cd = both(design, |s, i| {
        constants(
            s,
            st,
            q + 1,
            q + 1,
            q + 2,
            pilot,
            range[i] * (1.0 + f64::EPSILON.sqrt()),
            0.0,
        )
    })?;
    let fd = family(&cd, 1.0 / (2 * q + 5) as f64);
    let d = match st.selector {
        Selector::Msetwo | Selector::Certwo => fd.two,
        Selector::Msesum | Selector::Cersum => [fd.sum; 2],
        _ => [fd.rd; 2],
    }
    .map(|v| floor(clamp(v)));
    // Step 2: the bias bandwidth b; step 3: the estimation bandwidth h, each taking the common
    // (rd), per-side (two) or sum member of its family.
    let pick = |f: &Family, sel: Selector| -> [f64; 2] {
        match sel {
            Selector::Msetwo | Selector::Certwo => f.two,
            Selector::Msesum | Selector::Cersum => [f.sum; 2],
            _ => [f.rd; 2],
        }
    };
    let step =
        |o: usize, nu: usize, o_b: usize, h_b: [f64; 2], rate: f64| -> Result<Family, RddError> {
            let c = both(design, |s, i| {
                constants(s, st, o, nu, o_b, pilot, h_b[i], 1.0)
            })?;
            Ok(family(&c, rate))
        };
    let chain = |d: [f64; 2], sel: Selector| -> Result<([f64; 2], [f64; 2]), RddError> {
        let fb = step(q, p + 1, q + 1, d, 1.0 / (2 * q + 3) as f64)?;
        let b = pick(&fb, sel).map(clamp);
        let fh = step(p, st.deriv, q, b, 1.0 / (2 * p + 3) as f64)?;
        Ok((b, pick(&fh, sel).map(clamp)))
    };
    // The combined selectors run each member's chain from that member's own d.
    let (b, h) = match st.selector {
        Selector::Msecomb1 | Selector::Cercomb1 | Selector::Msecomb2 | Selector::Cercomb2 => {
            let (b_rd, h_rd) = chain([fd.rd; 2].map(|v| floor(clamp(v))), Selector::Mserd)?;
            let (b_sum, h_sum) = chain([fd.sum; 2].map(|v| floor(clamp(v))), Selector::Msesum)?;
            if matches!(st.selector, Selector::Msecomb1 | Selector::Cercomb1) {
                ([b_rd[0].min(b_sum[0]); 2], [h_rd[0].min(h_sum[0]); 2])
            } else {
                let (b_two, h_two) = chain(fd.two.map(|v| floor(clamp(v))), Selector::Msetwo)?;
                let med = |a: [f64; 2], t: [f64; 2], s: [f64; 2]| {
                    [median3(a[0], t[0], s[0]), median3(a[1], t[1], s[1])]
                };
                (med(b_rd, b_two, b_sum), med(h_rd, h_two, h_sum))
            }
        }
        sel => chain(d, sel)?,
    };
    let h = if st.selector.cer() {
        h.map(|v| v * (n as f64).powf(-(p as f64) / ((3 + p) * (3 + 2 * p)) as f64))
    } else {
        h
    };
    Ok(Bandwidths {
        selector: st.selector,
        h,
        b,
        pilot,
        d,
        mass_points,
    })
}
