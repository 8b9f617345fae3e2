//! Regression discontinuity (`rdd.*`): scalar local-polynomial RDD numerically equal to rdrobust
//! 2.1.1 (conventional, bias-corrected and robust inference; the rdbwselect bandwidth family;
//! covariate adjustment), R3D for distribution-valued outcomes, and the metric-space jump test.
//!
//! Where rdrobust 2.1.1 does something a reader of the papers might not expect, we do the same so
//! that results compare, and say so here:
//! - bandwidths are selected on x/sd(x) and scaled back (`stdvars`); with q = p + 1 that changes
//!   only the last bits, but the plug-in is not scale-equivariant when q > p + 1;
//! - each plug-in step takes the *last* coefficient of its order-o_B bias fit (and its variance) as
//!   the (o+1)-th derivative's: the same when o_B = o + 1, but with q > p + 1 the h step uses the
//!   q-th coefficient;
//! - with covariates, the selector partials them out per side at the pilot bandwidth, the estimate
//!   with γ pooled over both sides at h (CCFT 2019); collinear covariates are an error here, where
//!   rdrobust drops them silently.

pub mod bandwidth;
pub mod estimate;
pub mod figure;
pub mod fit;
pub mod jump;
pub mod jump_simulation;
pub mod kernel;
pub mod locpoly;
pub mod plot;
pub mod r3d;
pub mod scalar;
pub mod side;

pub use bandwidth::Selector as BwSelect;
pub use estimate::{Estimate, Options, rdrobust};
pub use fit::{Column, Rdrobust, RdrobustFit};
pub use kernel::Kernel;
pub use locpoly::Vce;
pub use side::Design;
/// The figure crate of [`RdrobustFit::rdplot`]: use this path (not a `:dep plotly` of another
/// version) to build or change figures in a cell.
pub use plotly;
/// The table type of [`senate`] and of CSV input.
pub use reprise_stats::frame::{DataError, Frame};

/// The U.S. Senate elections of Cattaneo, Frandsen & Titiunik (2015), as rdrobust 2.1.1 ships
/// them (1,390 rows; `vote` has 93 missing): the data of `rdd.scalar` by default.
///
/// ```
/// let senate = reprise_rdd::senate();
/// assert_eq!(senate.rows(), 1390);
/// assert!(senate.names().iter().any(|n| n == "margin"));
/// ```
pub fn senate() -> Frame {
    Frame::from_csv(scalar::SENATE_CSV).expect("the shipped Senate CSV parses")
}

/// Why an RDD estimate could not be formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RddError {
    #[error("{what} has {len} values but x has {x_len}; give one value per unit")]
    Lengths {
        what: &'static str,
        len: usize,
        x_len: usize,
    },
    #[error("{column}, row {row}: {value} is not finite; drop or impute the row first")]
    NotFinite {
        column: &'static str,
        row: usize,
        value: f64,
    },
    #[error("no units {side} the cutoff {c} (of {n}); the cutoff must lie inside the range of x")]
    EmptySide {
        side: &'static str,
        c: f64,
        n: usize,
    },
    #[error(
        "{side} of the cutoff only {n} units ({distinct} distinct x values) get weight within bandwidth {bandwidth}; a local polynomial of order {order} needs at least {} distinct values: widen the bandwidth or lower p",
        order + 1
    )]
    TooFew {
        side: &'static str,
        n: usize,
        distinct: usize,
        bandwidth: f64,
        order: usize,
    },
    #[error("{0}")]
    Option(String),
    #[error(
        "covariate {} is constant within the bandwidth, or a linear combination of the local polynomial and the covariates before it (collinear, once the polynomial is partialled out): drop it",
        name.as_deref().map_or_else(|| format!("number {}", index + 1), |n| format!("`{n}`"))
    )]
    Collinear { index: usize, name: Option<String> },
}

impl RddError {
    /// Names the covariate of a `Collinear` error from the design's covariate names.
    pub(crate) fn name_covariate(self, names: &[String]) -> RddError {
        match self {
            RddError::Collinear { index, name: None } => RddError::Collinear { index, name: names.get(index).cloned() },
            other => other,
        }
    }
}

/// k! as a float.
pub(crate) fn factorial(k: usize) -> f64 {
    (1..=k).map(|v| v as f64).product()
}

/// Sample standard deviation (n − 1 denominator), summed in order.
pub(crate) fn sd(v: &[f64]) -> f64 {
    reprise_stats::linalg::mean_sd(ndarray::ArrayView1::from(v)).1
}

/// A comma list parameter, each item parsed as `T`.
pub(crate) fn parse_list<T: std::str::FromStr>(name: &str, s: &str) -> Result<Vec<T>, reprise_core::ExperimentError> {
    s.split(',').map(|v| v.trim().parse().map_err(|_| reprise_core::ExperimentError::refused(format!("parameter {name}: `{v}` is not a valid value (give a comma list)")))).collect()
}

impl From<RddError> for reprise_core::ExperimentError {
    fn from(e: RddError) -> Self {
        reprise_core::ExperimentError::refused(e.to_string())
    }
}

#[cfg(test)]
mod tests;
