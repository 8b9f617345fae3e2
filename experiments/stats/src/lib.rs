//! What Reprise's sciences share: linear algebra (column-chunk Gram, Cholesky), the normal
//! distribution (Φ, Φ⁻¹), empirical quantiles, and reading a CSV into named, checked columns.

pub mod display;
pub mod frame;
pub mod linalg;
pub mod normal;
pub mod quantile;

/// The array crate of the estimators' inputs and outputs.
pub use ndarray;
