//! DisCoCat: pregroup diagrams evaluated by a functor into vector spaces, the concrete
//! transitive-verb models, higher-order words, and the sentence-similarity experiments.

pub mod batch;
pub mod compose;
pub mod datasets;
pub mod eval;
pub mod experiment;
pub mod functor;
pub mod higher_order;
pub mod models;
pub mod pregroup;
pub mod sentence;
pub mod svg;
pub mod triples;
pub mod vectors;

pub use models::Model;
pub use sentence::{Lexicon, Meaning, Sentence};

#[cfg(test)]
mod tests;

/// Why a DisCoCat computation could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DiscoError {
    #[error("pregroup typing: {0}")]
    Type(String),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Input(String),
}

impl From<DiscoError> for reprise_core::ExperimentError {
    fn from(e: DiscoError) -> Self {
        match e {
            DiscoError::Input(why) => reprise_core::ExperimentError::BadInput { name: "discocat".into(), why },
            other => reprise_core::ExperimentError::refused(other.to_string()),
        }
    }
}
