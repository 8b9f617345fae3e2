//! The `reprise` binary: the command line over the runner and the store (and, with the kernel
//! issue, the Jupyter kernel). The only crate that reads the environment, prints, or exits.

mod cli;
mod cmd;
mod env;
mod error;
mod figure;
mod jupyter;
mod progress;
mod render;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    // The same binary is re-executed by evcxr as the process that runs Rust cells (and as its
    // rustc wrapper), and as the wrapper of the probe that names variable types: that must happen
    // before anything else (the probe's first, since evcxr's wrapper may call it).
    #[cfg(feature = "notebook")]
    jupyter::type_probe::wrapper_hook();
    #[cfg(feature = "notebook")]
    jupyter::content_relay::install_in_runtime();
    #[cfg(feature = "notebook")]
    evcxr::runtime_hook();
    // Die quietly on a closed pipe (`reprise show … | head`) like other command-line tools.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A publish that has to wait for `reprise gc` to finish deleting says so.
    reprise_store::pins::on_gc_wait(|why| eprintln!("note: {why}"));
    let cli = Cli::parse();
    let ctx = cmd::Ctx::new(&cli);
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(&ctx, a),
        Command::Rerun(a) => cmd::rerun::rerun(&ctx, a),
        Command::Show(a) => cmd::inspect::show(&ctx, a),
        Command::Runs(a) => cmd::inspect::runs(&ctx, a),
        Command::Experiments => cmd::inspect::experiments(&ctx),
        Command::Verify(a) => cmd::maintain::verify(&ctx, a),
        Command::Gc(a) => cmd::maintain::gc(&ctx, a),
        Command::Rm(a) => cmd::maintain::rm(&ctx, a),
        Command::Sweep(a) => cmd::sweep::sweep(&ctx, a),
        Command::Lock(a) => cmd::maintain::lock(&ctx, a),
        Command::Reproduce(a) => cmd::rerun::reproduce(&ctx, a),
        Command::Bundle(c) => cmd::bundle::bundle(&ctx, c),
        #[cfg(feature = "remote")]
        Command::Remote(c) => cmd::remote::remote(&ctx, c),
        Command::Store(c) => cmd::store::store(&ctx, c),
        Command::Kernel(a) => cmd::kernel::kernel(&ctx, a),
        Command::Internal(c) => cmd::run::internal(&ctx, c),
    };
    ctx.bar.done();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(error::report(&e) as u8),
    }
}
