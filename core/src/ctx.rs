//! The run context: everything an experiment may read (params, seed streams, input bytes) and the
//! one thing it may write besides its outputs (progress).

use crate::experiment::ExperimentError;
use crate::params::Params;
use crate::seed::Seed;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;

/// Receives progress of long work; the binary turns it into a progress bar.
pub trait Progress: Send + Sync {
    /// Work of `total` units is starting (`what` names it).
    fn start(&self, what: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The work is finished.
    fn finish(&self) {}
}

/// Discards progress (tests, quiet runs).
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What an experiment sees of its run.
pub struct RunCtx<'a> {
    pub params: Params,
    pub seed: Seed,
    pub inputs: BTreeMap<String, Vec<u8>>,
    pub progress: &'a dyn Progress,
}

impl RunCtx<'_> {
    /// The named random stream `name` (see [`Seed::stream`] for the derivation rule).
    pub fn rng(&self, name: &str) -> ChaCha20Rng {
        self.seed.stream(name)
    }

    /// The stream of task `index` in a parallel loop: reduce task results in index order.
    pub fn rng_at(&self, name: &str, index: u64) -> ChaCha20Rng {
        self.seed.stream_at(name, index)
    }

    /// The bytes of input `name`.
    pub fn input(&self, name: &str) -> Result<&[u8], ExperimentError> {
        self.inputs.get(name).map(Vec::as_slice).ok_or_else(|| ExperimentError::MissingInput(name.into()))
    }
}
