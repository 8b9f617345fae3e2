//! `reprise bundle export | verify | import | ls`: runs shared as one verifiable file.

use super::{Ctx, print_json};
use crate::cli::BundleCommand;
use crate::render;
use reprise_runner::bundle::{self, BundleReport};

fn print(ctx: &Ctx, verb: &str, file: &std::path::Path, r: &BundleReport) {
    if ctx.json {
        print_json(&serde_json::to_value(r).expect("a report serialises"));
        return;
    }
    for run in &r.runs {
        println!("{}  {:<24} commit {}{}", run.record, run.experiment, &run.commit[..12.min(run.commit.len())], if run.dirty { " (dirty: carries its diff)" } else { "" });
    }
    print!("{}", render::roots(&r.roots));
    let size = std::fs::metadata(file).map(|m| render::size(m.len())).unwrap_or_default();
    let roots = render::roots_tally(&r.roots);
    println!("{verb} {} ({size}): {} run(s){roots}, {} object(s), {} commit(s)", file.display(), r.runs.len(), r.objects, r.commits.len());
    if verb == "imported" {
        println!("{} object(s) new to the store (or repairing damaged copies); commits under refs/reprise/commits/ in {}", r.new_objects, ctx.repo.display());
        for rec in &r.kept_existing {
            println!("note: the store already records another run of the spec of {}; kept that one as the memo", &rec[..12]);
        }
        if let Some(first) = r.roots.first().or(r.runs.first().map(|r| &r.record)) {
            println!("next: reprise rerun {}", &first[..12]);
        }
    }
}

pub fn bundle(ctx: &Ctx, c: BundleCommand) -> anyhow::Result<()> {
    match c {
        BundleCommand::Export { hashes, output, since } => {
            let store = ctx.store()?;
            let r = bundle::export(&store, &ctx.repo, &hashes, since.as_deref(), &output, &ctx.bar)?;
            ctx.bar.done();
            print(ctx, "wrote", &output, &r);
        }
        BundleCommand::Verify { file, limits } => {
            let r = in_store(ctx, false, |store| Ok(bundle::verify(store, &ctx.repo, &file, limits.limits())?))?;
            print(ctx, "ok: verified", &file, &r);
        }
        BundleCommand::Import { file, limits } => {
            let r = in_store(ctx, true, |store| Ok(bundle::import(store, &ctx.repo, &file, limits.limits())?))?;
            print(ctx, "imported", &file, &r);
        }
        BundleCommand::Ls { file, limits } => {
            let r = in_store(ctx, false, |store| Ok(bundle::verify(store, &ctx.repo, &file, limits.limits())?))?;
            print(ctx, "verified", &file, &r);
        }
    }
    Ok(())
}

/// Runs `f` on the store, which is created when it does not exist yet (a bundle is unpacked
/// under its `tmp/`); a store created here is removed again when `f` fails, or when the store
/// was only needed for the moment (`keep` false: verify, ls), so nothing is left behind.
fn in_store<T>(ctx: &Ctx, keep: bool, f: impl FnOnce(&reprise_store::Store) -> anyhow::Result<T>) -> anyhow::Result<T> {
    // The outermost folder this call creates (the store's, or a missing parent of it).
    let made = ctx.store_path.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).last().map(std::path::Path::to_path_buf);
    let store = ctx.store_for_write()?;
    let out = f(&store);
    drop(store);
    if let Some(made) = made
        && (out.is_err() || !keep)
    {
        let _ = std::fs::remove_dir_all(made);
    }
    out
}
