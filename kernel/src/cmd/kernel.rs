//! `reprise kernel`: run as a Jupyter kernel, or install/uninstall the kernelspec.

use super::Ctx;
use crate::cli::{KernelAction, KernelArgs, PrefixArgs};
use crate::error::user;
use crate::jupyter::{self, engine::EngineConfig, install::Location};

fn prefix(a: &PrefixArgs) -> Location {
    match (&a.prefix, a.sys_prefix) {
        (Some(d), _) => Location::Dir(d.clone()),
        (None, true) => Location::SysPrefix,
        _ => Location::User,
    }
}

pub fn kernel(ctx: &Ctx, args: KernelArgs) -> anyhow::Result<()> {
    match args.action {
        Some(KernelAction::Install { at, name, no_prepare }) => {
            let dir = jupyter::install::install(&prefix(&at), &name, ctx.explicit_store.as_deref())?;
            println!("installed kernelspec `{name}` in {}", dir.display());
            let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("kernel.json"))?)?;
            let argv: Vec<&str> = spec["argv"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            println!("  argv: {}", argv.join(" "));
            match &ctx.explicit_store {
                Some(s) => println!("  store: {} (pinned by --store; every kernel of this spec uses it)", s.display()),
                None => println!("  store: REPRISE_STORE as the notebook server has it, else the repository's artifacts/ (nothing pinned)"),
            }
            // The kernelspec is in place either way: a failed build is a warning with the way to retry.
            if !no_prepare && let Err(e) = prepare(ctx, &[]) {
                eprintln!("warning: the kernel is installed, but building the science crates into the store failed: {e:#}\n  `reprise kernel prepare` retries; until then a notebook's first `:dep reprise-rdd` builds it (a minute or two)");
            }
            println!("start it with: jupyter lab (pick \"Rust (Reprise)\"), or jupyter console --kernel {name}");
            Ok(())
        }
        Some(KernelAction::Prepare { crates }) => prepare(ctx, &crates),
        Some(KernelAction::Uninstall { at, name }) => {
            match jupyter::install::uninstall(&prefix(&at), &name)? {
                Some(dir) => println!("removed {}", dir.display()),
                None => println!("no kernelspec `{name}` was installed there"),
            }
            Ok(())
        }
        None => {
            let file = args.connection_file.ok_or_else(|| {
                user("`reprise kernel` needs --connection-file FILE (Jupyter passes it)", Some("`reprise kernel install` registers the kernel with Jupyter"))
            })?;
            let cfg = EngineConfig { store: ctx.store_path.clone(), repo: ctx.repo.clone(), notebook: args.notebook };
            jupyter::serve(&file, cfg)
        }
    }
}

/// Builds the science crates into the store's `:dep` seed, saying what and how long on stderr.
#[cfg(feature = "notebook")]
fn prepare(ctx: &Ctx, asked: &[String]) -> anyhow::Result<()> {
    use jupyter::prepare;
    let crates = prepare::crates(&ctx.repo, asked).map_err(|e| user(e, Some("`reprise kernel prepare --help` lists them")))?;
    eprintln!("preparing {} for notebooks in {} (a one-time build of a few minutes; cargo's progress follows)", crates.join(", "), ctx.store_path.display());
    let cfg = EngineConfig { store: ctx.store_path.clone(), repo: ctx.repo.clone(), notebook: None };
    let each = prepare::prepare(cfg, &crates).map_err(|e| anyhow::anyhow!("building the science crates failed: {e}"))?;
    let secs: f64 = each.iter().sum();
    // stdout: stderr now goes through the kernel's build-progress pipe, whose reader may not get
    // to a last line before the process exits.
    println!("prepared {} in {secs:.0} s: a fresh kernel's `:dep {}` now takes seconds", crates.join(", "), crates[0]);
    Ok(())
}

#[cfg(not(feature = "notebook"))]
fn prepare(_: &Ctx, _: &[String]) -> anyhow::Result<()> {
    eprintln!("this reprise was built without the `notebook` feature: it has no Rust cells, so there is nothing to prepare");
    Ok(())
}
