//! Runner errors: each names the object involved and, where there is one, the way out.

use reprise_core::canon::CanonError;
use reprise_core::{ExperimentError, ParamError};
use reprise_store::StoreError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Param(#[from] ParamError),
    #[error("experiment failed: {0}")]
    Experiment(#[from] ExperimentError),
    #[error("{0}")]
    Canon(#[from] CanonError),
    #[error("unknown experiment `{name}` (known: {known})")]
    UnknownExperiment { name: String, known: String },
    #[error("{what} is malformed: {why}")]
    Malformed { what: &'static str, why: String },
    #[error("{0} is neither a run record nor a run spec")]
    NotARun(String),
    #[error("git: {what}: {source}")]
    Git { what: String, source: git2::Error },
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error("building the pinned commit {commit} failed: {why}")]
    Build { commit: String, why: String },
    #[error("the binary built at {commit} failed to run the spec: {why}")]
    Child { commit: String, why: String },
    #[error("{0}")]
    User(String),
}

impl RunnerError {
    pub(crate) fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> RunnerError {
        let what = what.into();
        move |source| RunnerError::Git { what, source }
    }

    /// True when the user's input is at fault (exit status 2), false for internal failures.
    pub fn is_user_error(&self) -> bool {
        match self {
            RunnerError::Store(e) => e.is_user_error(),
            RunnerError::Param(_) | RunnerError::UnknownExperiment { .. } | RunnerError::NotARun(_) | RunnerError::User(_) => true,
            RunnerError::Experiment(e) => e.is_user_error(),
            _ => false,
        }
    }

    /// A next step for the user, where one is known.
    pub fn hint(&self) -> Option<String> {
        match self {
            RunnerError::UnknownExperiment { .. } => Some("`reprise experiments` lists them with their parameters".into()),
            RunnerError::Experiment(ExperimentError::Refused { hint: Some(h), .. }) => Some(h.clone()),
            RunnerError::Experiment(ExperimentError::Refused { .. }) => {
                Some("the message names what to change; `reprise experiments` shows each parameter's type, range and default".into())
            }
            RunnerError::Param(_) => Some("`reprise experiments` shows each parameter's type, range and default".into()),
            RunnerError::Store(StoreError::Ambiguous { .. }) => Some("`reprise runs` lists run hashes".into()),
            RunnerError::Store(StoreError::PrefixNotFound(_) | StoreError::NotFound(_)) => {
                Some("check --store (or REPRISE_STORE); `reprise runs` lists what this store holds".into())
            }
            RunnerError::Git { .. } => Some("runs record the git commit of the code: run inside the repository, or pass --repo".into()),
            RunnerError::Build { .. } => Some("the log above is cargo's; the pinned commit must build with `cargo build --locked --release`".into()),
            _ => None,
        }
    }
}
