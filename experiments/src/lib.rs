//! The registry that names Reprise's experiments for the runner, and the sciences re-exported
//! under one name (`reprise_experiments::rdd`, …), each its own crate under `experiments/`.
//! Experiments do no IO: params, seed streams, inputs and progress arrive through `RunCtx`.

pub mod data;
pub mod demo;
pub mod registry;

// Glob re-exports rather than `pub use reprise_rdd as rdd`: the compiler names a type reached
// through a renamed crate by the crate's own name (`reprise_experiments::reprise_rdd::…`), which a
// notebook cannot write; through a module it names `reprise_experiments::rdd::…`.
/// Causal effect estimators (the crate `reprise-causal`).
pub mod causal {
    pub use reprise_causal::*;
}
/// DisCoCat compositional semantics (the crate `reprise-discocat`).
pub mod discocat {
    pub use reprise_discocat::*;
}
/// Quasi-Borel probabilistic programs (the crate `reprise-qbs`).
pub mod qbs {
    pub use reprise_qbs::*;
}
/// Regression discontinuity (the crate `reprise-rdd`).
pub mod rdd {
    pub use reprise_rdd::*;
}
pub use reprise_stats::{frame, linalg, normal};
/// A table of named columns (what [`data::load`] gives).
pub use reprise_stats::frame::Frame;

pub use registry::{all, find};
/// The array crate of the estimators' inputs and outputs, so a notebook can name their types
/// (`reprise_experiments::ndarray::Array2<f64>`) without adding it itself.
pub use ndarray;
