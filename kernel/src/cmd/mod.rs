//! One module per family of subcommands, sharing the `Ctx` built from the global options.

pub mod bundle;
pub mod inspect;
pub mod kernel;
pub mod maintain;
#[cfg(feature = "remote")]
pub mod remote;
pub mod rerun;
pub mod run;
pub mod store;
pub mod sweep;

use crate::cli::Cli;
use crate::progress::Bar;
use reprise_runner::Runner;
use reprise_store::Store;
use std::path::PathBuf;

/// What every subcommand needs: where the repository and the store are, and how to print.
pub struct Ctx {
    pub json: bool,
    pub quiet: bool,
    pub repo: PathBuf,
    pub store_path: PathBuf,
    /// The store given with --store / REPRISE_STORE, if any.
    pub explicit_store: Option<PathBuf>,
    pub bar: Bar,
}

impl Ctx {
    pub fn new(cli: &Cli) -> Ctx {
        let repo = cli.repo.clone().unwrap_or_else(crate::env::build_repo);
        let store_path = cli.store.clone().unwrap_or_else(|| repo.join("artifacts"));
        // Only a `--store` on the command line is explicit: REPRISE_STORE in the environment (a
        // script's scratch store) must never be written into a kernelspec.
        let flag = std::env::args_os().any(|a| a == "--store" || a.to_string_lossy().starts_with("--store="));
        let explicit_store = cli.store.clone().filter(|_| flag);
        Ctx { json: cli.json, quiet: cli.quiet || cli.json, repo, store_path, explicit_store, bar: Bar::new(cli.quiet || cli.json) }
    }

    /// Opens the store, creating its layout if the directory holds none (commands that write).
    pub fn store_for_write(&self) -> anyhow::Result<Store> {
        Ok(Store::init(&self.store_path)?)
    }

    /// Opens an existing store (commands that only read).
    pub fn store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.store_path)?)
    }

    pub fn runner(&self, store: Store) -> Runner<'_> {
        Runner { store, env: crate::env::environment(self.repo.clone()), progress: &self.bar }
    }
}

/// The registry of compiled-in experiments, as the runner takes it.
pub fn registry(name: &str) -> Option<&'static dyn reprise_core::Experiment> {
    reprise_experiments::find(name)
}

/// Prints a JSON document on stdout.
pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("reports serialize"));
}
