//! Reprise's runner: run specs and records, provenance capture, memoised runs, reruns with their
//! comparison report, lockfiles and `reproduce`. It takes experiments as `&dyn Experiment`.

pub mod bundle;
pub mod compare;
pub mod env;
mod error;
pub mod gcroots;
pub mod lockfile;
pub mod provenance;
pub mod record;
#[cfg(feature = "remote")]
pub mod remote;
pub mod rerun;
pub mod roots;
pub mod run;
pub mod spec;
pub mod sweep;

pub use env::Environment;
pub use error::RunnerError;
pub use record::{OutputEntry, RunRecord};
pub use run::{RunOutcome, RunRequest, Runner};
pub use spec::RunSpec;

/// Finds a compiled-in experiment by name (the binary passes its registry).
pub type Registry<'a> = &'a dyn Fn(&str) -> Option<&'static dyn reprise_core::Experiment>;
