//! R3D: regression discontinuity with distribution-valued outcomes (Van Dijcke 2025), as the
//! author's R package R3D 0.1.0 computes it, with the package's slips reproduced by default.
//!
//! Each unit has a running variable and a whole outcome distribution, given as its quantile
//! function on a grid. The estimand is the local average quantile treatment effect τ(q).
//!
//! - `simple`: a local polynomial (default p = 2) per quantile, per-quantile bandwidths, the two
//!   one-sided curves rearranged (Chernozhukov–Fernández-Val–Galichon);
//! - `frechet`: the local Fréchet regression in 2-Wasserstein space, i.e. one bandwidth and the
//!   isotonic (PAVA) projection of the weighted quantile average on each side;
//! - fuzzy designs divide by the jump in take-up, fitted at its own bandwidth;
//! - a multiplier bootstrap gives the uniform band and the nullity, homogeneity and Gini tests.
//!
//! Package behaviours that look like slips, each reproduced by default (so results compare with
//! R3D) and each with a corrected variant in [`Quirks`]:
//! - Q1: the bandwidth selector's pilot fits always use the triangular kernel, whatever kernel
//!   was chosen (`Quirks::pilot_kernel_as_chosen` uses the chosen one);
//! - Q2: the bias plug-in is the s-th coefficient of the order-s pilot over (s+1)!, not an
//!   estimate of the (s+1)-th derivative, and neither it nor the variance carries its kernel
//!   constant (`Quirks::bias_next_order`: the (s+1)-th derivative from an order-(s+1) local fit
//!   and both kernel constants, i.e. the pilot step's formula with local pilots);
//! - Q3: variance pieces and bootstrap residuals keep only units with a positive intercept weight
//!   (`Quirks::all_kernel_units` keeps every unit the kernel reaches);
//! - Q4: the fuzzy bootstrap weights the take-up residuals with the outcome's intercept weights
//!   at the first quantile (`Quirks::take_up_weights` uses the take-up fit's own weights).

pub mod bootstrap;
pub mod estimate;
pub mod experiment;
pub mod fit;
pub mod shape;
pub mod simulation;

#[cfg(test)]
mod tests;

use super::RddError;
use ndarray::{Array2, ShapeBuilder};

/// Corrected variants of the package's slips (all `false`: reproduce the package).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Quirks {
    pub pilot_kernel_as_chosen: bool,
    pub all_kernel_units: bool,
    pub take_up_weights: bool,
    pub bias_next_order: bool,
}

/// The estimator's whole input: centred running variable, quantile grid, n × m quantile matrix.
#[derive(Debug, Clone)]
pub struct Units {
    /// X − c.
    pub x: Vec<f64>,
    pub c: f64,
    pub grid: Vec<f64>,
    /// Quantiles, n × m in column-major order: each quantile's column is contiguous.
    pub q: Array2<f64>,
    /// Take-up (fuzzy designs).
    pub t: Option<Vec<f64>>,
    /// Units right (0) and left (1) of the cutoff, nearest first: every kernel window is a prefix.
    pub by_distance: [Vec<usize>; 2],
}

impl Units {
    /// Units given directly as quantile rows.
    pub fn from_quantiles(x: &[f64], c: f64, grid: &[f64], q: Array2<f64>, t: Option<Vec<f64>>) -> Result<Units, RddError> {
        check_grid(grid)?;
        if q.nrows() != x.len() {
            return Err(RddError::Lengths { what: "the quantile matrix", len: q.nrows(), x_len: x.len() });
        }
        if q.ncols() != grid.len() {
            return Err(RddError::Option(format!("the quantile matrix has {} columns but the grid has {} points; give one column per grid point", q.ncols(), grid.len())));
        }
        if let Some(t) = t.as_ref().filter(|t| t.len() != x.len()) {
            return Err(RddError::Lengths { what: "treatment", len: t.len(), x_len: x.len() });
        }
        for (i, &xi) in x.iter().enumerate() {
            if !xi.is_finite() {
                return Err(RddError::NotFinite { column: "x", row: i + 1, value: xi });
            }
            if let Some(v) = q.row(i).iter().find(|v| !v.is_finite()) {
                return Err(RddError::NotFinite { column: "quantiles", row: i + 1, value: *v });
            }
            if let Some(v) = t.as_ref().map(|t| t[i]).filter(|v| !v.is_finite()) {
                return Err(RddError::NotFinite { column: "treatment", row: i + 1, value: v });
            }
        }
        for (plus, side) in [(false, "left of (below)"), (true, "right of (at or above)")] {
            if !x.iter().any(|&v| (v >= c) == plus) {
                return Err(RddError::EmptySide { side, c, n: x.len() });
            }
        }
        let mut cols = Array2::zeros(q.dim().f());
        cols.assign(&q);
        let x: Vec<f64> = x.iter().map(|v| v - c).collect();
        let side = |plus: bool| {
            let mut v: Vec<usize> = (0..x.len()).filter(|&i| (x[i] >= 0.0) == plus).collect();
            v.sort_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs()));
            v
        };
        let by_distance = [side(true), side(false)];
        Ok(Units { x, c, grid: grid.to_vec(), q: cols, t, by_distance })
    }

    /// Units given as raw outcome samples (optionally weighted): each row becomes its empirical
    /// quantile function (type 7; Hmisc's weighted rule with weights).
    pub fn from_samples(x: &[f64], c: f64, grid: &[f64], samples: &[Vec<f64>], weights: Option<&[Vec<f64>]>, t: Option<Vec<f64>>) -> Result<Units, RddError> {
        check_grid(grid)?;
        if samples.len() != x.len() {
            return Err(RddError::Lengths { what: "the outcome samples", len: samples.len(), x_len: x.len() });
        }
        let mut q = Array2::zeros((x.len(), grid.len()));
        for (i, s) in samples.iter().enumerate() {
            if s.is_empty() {
                return Err(RddError::Option(format!("unit {} has no outcome draws; every unit needs at least one", i + 1)));
            }
            if let Some(v) = s.iter().find(|v| !v.is_finite()) {
                return Err(RddError::NotFinite { column: "outcome samples", row: i + 1, value: *v });
            }
            let row = match weights {
                Some(w) => shape::weighted_quantiles(s, &w[i], grid),
                None => shape::quantiles(s, grid),
            };
            q.row_mut(i).assign(&ndarray::Array1::from(row));
        }
        Units::from_quantiles(x, c, grid, q, t)
    }

    pub fn n(&self) -> usize {
        self.x.len()
    }

    /// Quantile `j` of every unit.
    pub fn column(&self, j: usize) -> &[f64] {
        let c = self.q.column(j);
        let len = c.len();
        // Column-major storage makes each column one contiguous run.
        &self.q.as_slice_memory_order().expect("column-major")[j * len..(j + 1) * len]
    }
}

fn check_grid(grid: &[f64]) -> Result<(), RddError> {
    if grid.is_empty() {
        return Err(RddError::Option("the quantile grid is empty; give points in (0, 1), e.g. 0.1,0.2,…,0.9".into()));
    }
    if let Some(q) = grid.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
        return Err(RddError::Option(format!("quantile grid point {q} is outside (0, 1); quantile levels must lie strictly between 0 and 1")));
    }
    if grid.windows(2).any(|w| w[1] <= w[0]) {
        return Err(RddError::Option("the quantile grid must be strictly increasing".into()));
    }
    Ok(())
}
