//! Regression discontinuity (`rdd.*`): scalar local-polynomial RDD numerically equal to rdrobust
//! 2.1.1 (conventional, bias-corrected and robust inference; the rdbwselect bandwidth family).

pub mod bandwidth;
pub mod estimate;
pub mod jump;
pub mod jump_simulation;
pub mod kernel;
pub mod locpoly;
pub mod plot;
pub mod r3d;
pub mod scalar;
pub mod side;

pub use estimate::{Estimate, Options, rdrobust};
pub use kernel::Kernel;
pub use side::Design;

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
}

impl From<RddError> for reprise_core::ExperimentError {
    fn from(e: RddError) -> Self {
        reprise_core::ExperimentError::Failed(e.to_string())
    }
}

#[cfg(test)]
mod tests;
