//! Causal effect estimators (`causal.*`): difference in means, regression adjustment, IPW, AIPW
//! with cross-fitting, sensitivity bounds under unobserved confounding, IPM balancing weights,
//! and the uniform-transformer U-statistic.

pub mod basis;
pub mod estimators;
pub mod fit;
pub mod folds;
pub mod ipm;
mod kernel;
pub mod lalonde;
pub mod logistic;
pub mod nuisance;
pub mod ols;
pub mod plot;
pub mod sensitivity;
pub mod simulation;
pub mod uniform;

/// Reading data into checked columns lives in the shared crate.
pub use reprise_stats::frame;
pub use reprise_stats::frame::{DataError, Frame, Sample};
pub use estimators::{Estimate, Overlap};
pub use fit::{Aipw, AipwFit, Sensitivity, nsw, nsw_cps};
/// The figure crate of [`Sensitivity::plot`] and the experiments' figures.
pub use plotly;

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{what} is singular: `{column}` is constant or a linear combination of the columns before it in the rows used; drop it")]
    Singular { what: String, column: String },
    #[error(
        "the treatment is perfectly predicted by the covariates ({covariates}): {rows} rows get a fitted propensity of 0 or 1, so the logistic MLE does not exist; give a ridge penalty (ridge=1e-3) or drop the separating covariate"
    )]
    Separation { rows: usize, covariates: String },
    #[error("{what} did not converge in {iterations} iterations")]
    NotConverged { what: String, iterations: u32 },
    #[error("cross-fitting over {k} folds of {n} rows: {why}; choose 2 ≤ K ≤ {n} folds")]
    Folds { k: usize, n: usize, why: String },
    #[error("{0}")]
    Option(String),
    #[error(transparent)]
    Data(#[from] DataError),
}

impl FitError {
    /// A singular design; `names` names the design's columns (intercept included).
    pub fn singular(what: &str, names: &[String], index: usize) -> FitError {
        FitError::Singular { what: what.into(), column: names.get(index).cloned().unwrap_or_else(|| format!("column {index}")) }
    }
}

impl From<FitError> for reprise_core::ExperimentError {
    fn from(e: FitError) -> Self {
        match e {
            FitError::NotConverged { .. } => reprise_core::ExperimentError::Failed(e.to_string()),
            _ => reprise_core::ExperimentError::refused(e),
        }
    }
}

/// Design column names: the intercept, then `names`.
pub fn design_names(names: &[String]) -> Vec<String> {
    std::iter::once("intercept".to_string()).chain(names.iter().cloned()).collect()
}

/// The normal quantile for two-sided 95% intervals.
pub const Z95: f64 = 1.959963984540054;

#[cfg(test)]
mod tests;
