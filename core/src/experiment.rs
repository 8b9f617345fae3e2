//! The `Experiment` trait: a named, versioned, pure function from (params, seed, inputs) to outputs.
//! Experiments do no IO: everything arrives through the `RunCtx`.

use crate::canon::CanonError;
use crate::ctx::RunCtx;
use crate::outputs::Outputs;
use crate::params::ParamSpec;

/// A reproducible computation the runner can run, record and rerun.
pub trait Experiment: Send + Sync {
    /// Dotted name, e.g. `demo.pi`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the same inputs may give different outputs on purpose.
    fn version(&self) -> u32;
    /// One line for `reprise experiments`.
    fn description(&self) -> &'static str;
    /// Declared parameters, with types, ranges and defaults.
    fn params(&self) -> Vec<ParamSpec>;
    /// Names of the input files the experiment reads (given with `--input name=path`).
    fn inputs(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Input files the experiment may read but can do without (it documents its fallback).
    fn optional_inputs(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// The compute backend these params ask for (`auto`, `cpu` or `cuda`), or `None` when the
    /// run never leaves the CPU. The runner resolves it and records the contract in the spec.
    fn backend_request(&self, _params: &crate::params::Params) -> Option<String> {
        None
    }
    /// Runs once. Must be a pure function of the context: same context, same bytes.
    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError>;
    /// The experiment's own tables over a sweep's cells (given in the sweep's order), e.g. a
    /// simulation study whose replications were split across cells; `None` when only the
    /// generic aggregate applies. Must be a pure function of the cells.
    fn aggregate(&self, _cells: &[SweepCell]) -> Result<Option<Outputs>, ExperimentError> {
        Ok(None)
    }
    /// The `summary.json` fields a sweep's table shows first (the result, its error), before
    /// the fields that vary across cells.
    fn headline(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// One finished cell of a sweep, as an experiment's `aggregate` sees it.
pub struct SweepCell {
    pub params: crate::params::Params,
    pub seed: u64,
    /// The cell's outputs, by file name.
    pub outputs: std::collections::BTreeMap<String, Vec<u8>>,
}

/// Why an experiment could not produce its outputs. `MissingInput`, `BadInput` and `Refused` are
/// the user's to fix (the binary exits 2); `Canon` and `Failed` are the program's fault (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("input `{0}` is required but was not given (pass --input {0}=PATH)")]
    MissingInput(String),
    #[error("input `{name}` is malformed: {why}")]
    BadInput { name: String, why: String },
    /// The parameters or the data do not allow the computation; `why` names the culprit and,
    /// with `hint`, the way out.
    #[error("{why}")]
    Refused { why: String, hint: Option<String> },
    #[error("output is not canonical JSON: {0}")]
    Canon(#[from] CanonError),
    #[error("{0}")]
    Failed(String),
}

impl ExperimentError {
    /// The parameters or data are at fault; `why` says which and how to fix it.
    pub fn refused(why: impl std::fmt::Display) -> ExperimentError {
        ExperimentError::Refused { why: why.to_string(), hint: None }
    }

    /// True when the user's parameters, inputs or data are at fault.
    pub fn is_user_error(&self) -> bool {
        matches!(self, ExperimentError::MissingInput(_) | ExperimentError::BadInput { .. } | ExperimentError::Refused { .. })
    }
}
