//! The science modules of Reprise, each a folder of small modules, and the registry that names
//! them. Experiments do no IO: params, seed streams, inputs and progress arrive through `RunCtx`.

pub mod causal;
pub mod demo;
pub mod discocat;
pub mod linalg;
pub mod normal;
pub mod qbs;
pub mod rdd;
pub mod registry;

pub use registry::{all, find};
/// The array crate of the estimators' inputs and outputs, so a notebook can name their types
/// (`reprise_experiments::ndarray::Array2<f64>`) without adding it itself.
pub use ndarray;
