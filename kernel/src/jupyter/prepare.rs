//! `reprise kernel prepare`: builds the science crates once into the store's `:dep` build seed,
//! so that a fresh kernel's `:dep reprise-rdd` finds them built and takes seconds, not minutes.

use super::emit::Nowhere;
use super::engine::{Engine, EngineConfig, Status};
use std::sync::Arc;
use std::time::Instant;

/// The crates a notebook brings in for the science, in the order the prepare builds them.
pub const SCIENCES: [&str; 4] = ["reprise-rdd", "reprise-causal", "reprise-discocat", "reprise-qbs"];

/// The crate names `asked` (short `rdd` or full `reprise-rdd`; all of [`SCIENCES`] when empty),
/// or an error naming one the repository lacks.
pub fn crates(repo: &std::path::Path, asked: &[String]) -> Result<Vec<String>, String> {
    let all: Vec<String> = SCIENCES.iter().map(|s| s.to_string()).collect();
    if asked.is_empty() { &all } else { asked }
        .iter()
        .map(|a| {
            let name = if a.starts_with("reprise-") { a.clone() } else { format!("reprise-{a}") };
            match super::engine::project_crate(repo, &name) {
                Some(_) => Ok(name),
                None => Err(format!("no crate `{name}` in {} (the sciences: {}; is --repo the Reprise checkout?)", repo.display(), SCIENCES.map(|s| &s["reprise-".len()..]).join(", "))),
            }
        })
        .collect()
}

/// Builds each of `crates` as a fresh kernel's `:dep` cell would, one engine each (a notebook
/// that brings in one crate resolves features for that crate alone, so that is the build it
/// finds), and keeps the builds in the store's seed. Cargo's progress goes to stderr; returns the
/// seconds each build took.
pub fn prepare(cfg: EngineConfig, crates: &[String]) -> Result<Vec<f64>, String> {
    crates
        .iter()
        .map(|c| {
            let started = Instant::now();
            let mut engine = Engine::start(cfg.clone(), Default::default());
            let outcome = engine.execute(&format!(":dep {c}\n"), Arc::new(Nowhere), false);
            match outcome.status {
                Status::Ok => Ok(started.elapsed().as_secs_f64()),
                Status::Error { evalue, traceback, .. } => Err(format!("{c}: {evalue}\n{}", traceback.join("\n"))),
            }
        })
        .collect()
}
