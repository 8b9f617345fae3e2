//! The registry that names Reprise's experiments for the runner, and the sciences re-exported
//! under one name (`reprise_experiments::rdd`, …), each its own crate under `experiments/`.
//! Experiments do no IO: params, seed streams, inputs and progress arrive through `RunCtx`.

pub mod demo;
pub mod registry;

pub use reprise_causal as causal;
pub use reprise_discocat as discocat;
pub use reprise_qbs as qbs;
pub use reprise_rdd as rdd;
pub use reprise_stats::{linalg, normal};

pub use registry::{all, find};
/// The array crate of the estimators' inputs and outputs, so a notebook can name their types
/// (`reprise_experiments::ndarray::Array2<f64>`) without adding it itself.
pub use ndarray;
