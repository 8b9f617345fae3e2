//! The R3D estimate: one-sided local polynomials per quantile (`simple`, rearranged) or the local
//! Fréchet regression (`frechet`, one bandwidth, PAVA), sharp or fuzzy.

use super::fit::{self, BwSettings, Bandwidths, Local, Method};
use super::{shape, Quirks, Units};
use crate::{Kernel, RddError};
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;

/// The choices of one R3D estimate (the package's defaults).
#[derive(Debug, Clone)]
pub struct Settings {
    pub method: Method,
    pub p: usize,
    /// Pilot order of the bandwidth selector.
    pub s: usize,
    pub kernel: Kernel,
    /// A fixed bandwidth for every quantile (and the take-up); `None` selects them.
    pub h: Option<f64>,
    pub coverage: bool,
    pub quirks: Quirks,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { method: Method::Simple, p: 2, s: 1, kernel: Kernel::Epanechnikov, h: None, coverage: false, quirks: Quirks::default() }
    }
}

/// One side's fit at one quantile.
pub struct SideFit {
    pub local: Arc<Local>,
    pub alpha: Vec<f64>,
}

/// The estimate, with the fits the bootstrap reuses.
#[derive(Serialize)]
pub struct Estimate {
    pub method: Method,
    pub kernel: Kernel,
    pub p: usize,
    pub grid: Vec<f64>,
    pub tau: Vec<f64>,
    /// Bandwidth per quantile.
    pub h: Vec<f64>,
    /// E[Q(q) | X = c±] after the monotone repair.
    pub int_plus: Vec<f64>,
    pub int_minus: Vec<f64>,
    pub bandwidths: Option<Bandwidths>,
    /// Fuzzy: the take-up bandwidth and its jump D.
    pub h_den: Option<f64>,
    pub take_up_jump: Option<f64>,
    #[serde(skip)]
    pub fits: Vec<[SideFit; 2]>,
    #[serde(skip)]
    pub take_up: Option<[SideFit; 2]>,
}

/// Both sides' local fits at bandwidth `h`.
fn locals(u: &Units, h: f64, st: &Settings) -> Result<[Arc<Local>; 2], RddError> {
    Ok([Arc::new(Local::new(u, true, h, st.kernel, st.p)?), Arc::new(Local::new(u, false, h, st.kernel, st.p)?)])
}

fn fit_with(l: &[Arc<Local>; 2], v: &(dyn Fn(usize) -> f64 + Sync)) -> [SideFit; 2] {
    l.clone().map(|local| {
        let alpha = local.alpha(v);
        SideFit { local, alpha }
    })
}

/// Runs R3D on `u`.
pub fn estimate(u: &Units, st: &Settings) -> Result<Estimate, RddError> {
    if st.p < st.s {
        return Err(RddError::Option(format!("p = {} must be at least the pilot order s = {}", st.p, st.s)));
    }
    let m = u.grid.len();
    let (h, bws) = match st.h {
        Some(h) if h > 0.0 && h.is_finite() => (vec![h; m], None),
        Some(h) => return Err(RddError::Option(format!("bandwidth h = {h} must be positive"))),
        None => {
            let bst = BwSettings {
                s: st.s,
                kernel: st.kernel,
                method: st.method,
                coverage: st.coverage,
                pilot_kernel: if st.quirks.pilot_kernel_as_chosen { st.kernel } else { Kernel::Triangular },
                positive_only: !st.quirks.all_kernel_units,
                bias_next_order: st.quirks.bias_next_order,
            };
            let b = fit::select(u, &bst)?;
            (b.h.clone(), Some(b))
        }
    };
    // One bandwidth (Fréchet, fixed h): one pair of fits serves every quantile.
    let shared = if h.iter().all(|v| *v == h[0]) { Some(locals(u, h[0], st)?) } else { None };
    let fits: Vec<[SideFit; 2]> = (0..m)
        .into_par_iter()
        .map(|j| {
            let col = u.column(j);
            let l = match &shared {
                Some(l) => l.clone(),
                None => locals(u, h[j], st)?,
            };
            Ok(fit_with(&l, &|i| col[i]))
        })
        .collect::<Result<_, RddError>>()?;
    let raw_plus: Vec<f64> = fits.iter().map(|f| f[0].alpha[0]).collect();
    let raw_minus: Vec<f64> = fits.iter().map(|f| f[1].alpha[0]).collect();
    let (int_plus, int_minus) = match st.method {
        Method::Simple => (shape::rearrange(&u.grid, &raw_plus), shape::rearrange(&u.grid, &raw_minus)),
        Method::Frechet => (shape::pava(&raw_plus), shape::pava(&raw_minus)),
    };
    let (mut tau, mut h_den, mut jump, mut take_up) = (int_plus.iter().zip(&int_minus).map(|(a, b)| a - b).collect::<Vec<f64>>(), None, None, None);
    if let Some(t) = &u.t {
        let hd = match (&bws, st.h) {
            (Some(b), _) => b.h_den.expect("fuzzy selection gives h_den"),
            (None, Some(h)) => h,
            (None, None) => unreachable!("bandwidths are fixed or selected"),
        };
        let f = fit_with(&locals(u, hd, st)?, &|i| t[i]);
        let d = f[0].alpha[0] - f[1].alpha[0];
        if d.abs() < 1e-14 {
            return Err(RddError::Option(format!("take-up does not jump at the cutoff (estimated jump {d:e}); a fuzzy design needs a first stage")));
        }
        tau.iter_mut().for_each(|v| *v /= d);
        h_den = Some(hd);
        jump = Some(d);
        take_up = Some(f);
    }
    Ok(Estimate { method: st.method, kernel: st.kernel, p: st.p, grid: u.grid.clone(), tau, h, int_plus, int_minus, bandwidths: bws, h_den, take_up_jump: jump, fits, take_up })
}
