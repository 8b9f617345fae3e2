//! `reprise rerun` (one run, at its pinned commit) and `reprise reproduce` (every lock, at the
//! current code): both print the same per-output comparison report.

use super::{Ctx, print_json, registry};
use crate::cli::{ReproduceArgs, RerunArgs};
use crate::error::{CheckFailed, user};
use crate::render;
use reprise_runner::lockfile::read_locks;
use reprise_runner::rerun::RerunOptions;

pub fn rerun(ctx: &Ctx, args: RerunArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    if is_session(&store, &args.hash) {
        return replay_session(ctx, &store, &args.hash);
    }
    let target_dir = args.target_dir.unwrap_or_else(|| store.cache_dir().join("target"));
    let opts = RerunOptions { target_dir, show_build_output: !ctx.quiet, started: crate::env::now() };
    if let Ok(d) = store.resolve(&args.hash)
        && let Some(m) = reprise_runner::sweep::load(&store, &d)?
    {
        return super::sweep::rerun_sweep(ctx, &d, &m, &opts);
    }
    let runner = ctx.runner(store);
    let report = runner.rerun(&args.hash, &registry, &opts)?;
    ctx.bar.done();
    let passes = report.passes();
    if ctx.json {
        print_json(&serde_json::json!({ "passes": passes, "report": report }));
    } else {
        println!(
            "rerun of {} ({}, commit {}{}) with the {}",
            &report.record[..12],
            report.experiment,
            &report.commit[..12.min(report.commit.len())],
            if report.dirty { " + recorded diff" } else { "" },
            report.ran_with
        );
        print!("{}", render::output_reports(&report.outputs));
        print!("{}", render::environment(&report.environment));
        let bad = report.outputs.iter().filter(|o| !o.verdict.passes()).count();
        if passes {
            println!("reproduced: every output passes its rule ({} outputs)", report.outputs.len());
        } else {
            println!("NOT reproduced: {bad} of {} outputs differ", report.outputs.len());
        }
    }
    if passes { Ok(()) } else { Err(CheckFailed(format!("run {} did not reproduce", &report.record[..12])).into()) }
}

pub fn reproduce(ctx: &Ctx, args: ReproduceArgs) -> anyhow::Result<()> {
    let store = ctx.store_for_write()?;
    let runner = ctx.runner(store);
    let locks = read_locks(&ctx.repo)?;
    for name in &args.names {
        if !locks.iter().any(|(_, l)| &l.name == name) {
            return Err(user(format!("no lock named `{name}` in {}", ctx.repo.join("lockfiles").display()), Some("`ls lockfiles/` shows the locks")));
        }
    }
    let selected: Vec<_> = locks.into_iter().filter(|(_, l)| args.names.is_empty() || args.names.contains(&l.name)).collect();
    if selected.is_empty() {
        return Err(user("there are no locks to reproduce", Some("`reprise lock <hash>` pins a run into lockfiles/")));
    }
    let mut results = Vec::new();
    let mut failed = 0;
    for (_, lock) in &selected {
        let r = runner.reproduce(lock, &registry, &crate::env::now());
        ctx.bar.done();
        match r {
            Ok(rep) => {
                let ok = rep.passes();
                failed += usize::from(!ok);
                if !ctx.json {
                    println!(
                        "{:<4} {:<24} {:<16} run {}{}",
                        if ok { "ok" } else { "FAIL" },
                        rep.name,
                        rep.experiment,
                        &rep.run[..12],
                        if rep.memoised { " (memoised)" } else { "" }
                    );
                    if !ok {
                        print!("{}", render::output_reports(&rep.outputs));
                    }
                }
                results.push(serde_json::json!({ "passes": ok, "reproduction": rep }));
            }
            Err(e) => {
                failed += 1;
                if !ctx.json {
                    println!("{:<4} {:<24} {:<16} error: {e}", "FAIL", lock.name, lock.experiment);
                }
                results.push(serde_json::json!({ "passes": false, "name": lock.name, "error": e.to_string() }));
            }
        }
    }
    if ctx.json {
        print_json(&results);
    } else {
        println!("{} of {} locks reproduce", selected.len() - failed, selected.len());
    }
    if failed == 0 { Ok(()) } else { Err(CheckFailed(format!("{failed} of {} locks did not reproduce", selected.len())).into()) }
}

fn is_session(store: &reprise_store::Store, hash: &str) -> bool {
    store
        .resolve(hash)
        .and_then(|d| store.read(&d))
        .ok()
        .and_then(|b| reprise_runner::gcroots::schema_of(&b))
        .is_some_and(|s| s == reprise_runner::gcroots::SESSION_SCHEMA)
}

/// `rerun <session hash>`: replays a recorded notebook session in a headless kernel engine.
fn replay_session(ctx: &Ctx, store: &reprise_store::Store, hash: &str) -> anyhow::Result<()> {
    let cfg = crate::jupyter::engine::EngineConfig { store: ctx.store_path.clone(), repo: ctx.repo.clone(), notebook: None };
    let report = crate::jupyter::session::replay(store, hash, &cfg)?;
    if ctx.json {
        let cells: Vec<_> = report.cells.iter().map(|(c, ok, why)| serde_json::json!({ "execution_count": c, "same": ok, "differs": why })).collect();
        print_json(&serde_json::json!({ "passes": report.passes(), "session": report.session, "cells": cells }));
    } else {
        println!("{}", report.text());
    }
    if report.passes() { Ok(()) } else { Err(CheckFailed(format!("session {} did not replay to the same outputs", &report.session[..12])).into()) }
}
