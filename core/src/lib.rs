//! Reprise's shared vocabulary: the `Experiment` trait, the run context handed to it,
//! typed parameters, seeds and named RNG streams, outputs, and the canonical encoding of hashed values.

pub mod canon;
pub mod ctx;
pub mod experiment;
pub mod npy;
pub mod outputs;
pub mod params;
pub mod rule;
pub mod seed;

pub use ctx::{NoProgress, Progress, RunCtx};
pub use experiment::{Experiment, ExperimentError, SweepCell};
pub use outputs::{MediaType, Output, Outputs};
pub use params::{ParamError, ParamKind, ParamSpec, ParamValue, Params};
pub use rule::CompareRule;
pub use seed::Seed;
