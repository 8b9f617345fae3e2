//! `reprise sweep`: plan the cells, run the missing ones through an executor (here: a pool of
//! `reprise internal run-spec --memo` processes), then print the tally, the aggregate and the hash;
//! and `rerun <sweep hash>`, which re-checks every cell.

use super::{Ctx, print_json, registry};
use crate::cli::SweepArgs;
use crate::error::{CheckFailed, user};
use reprise_runner::rerun::RerunOptions;
use reprise_runner::sweep::{self, Aggregate, SweepManifest};
use reprise_store::Digest;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A killed worker's cell is tried this many times in all before it counts as lost.
const ATTEMPTS: usize = 3;

/// How one cell ended.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Done,
    /// The experiment refused or failed: the last line it printed.
    Failed(String),
    /// Killed every time it was tried.
    Lost(String),
}

/// Runs each spec in a worker process, `parallel` at a time; results in the order of `specs`.
fn local_pool(ctx: &Ctx, specs: &[Digest], parallel: usize) -> anyhow::Result<Vec<(Outcome, usize)>> {
    let exe = std::env::current_exe()?;
    let store = std::fs::canonicalize(&ctx.store_path)?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Outcome, usize)>>> = Mutex::new(vec![None; specs.len()]);
    let progress: &(dyn reprise_core::Progress + Sync) = &ctx.bar;
    progress.start("sweep cells", specs.len() as u64);
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1).min(specs.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(spec) = specs.get(i) else { break };
                    let outcome = run_cell(&exe, &store, &ctx.repo, spec);
                    results.lock().unwrap()[i] = Some(outcome);
                    progress.advance(1);
                }
            });
        }
    });
    ctx.bar.done();
    Ok(results.into_inner().unwrap().into_iter().map(|o| o.expect("every cell ran")).collect())
}

/// Runs one cell, again if its worker is killed; returns how it ended and how many kills it met.
fn run_cell(exe: &std::path::Path, store: &std::path::Path, repo: &std::path::Path, spec: &Digest) -> (Outcome, usize) {
    let mut last = String::new();
    for kills in 0..ATTEMPTS {
        let out = Command::new(exe)
            .arg("--store")
            .arg(store)
            .arg("--repo")
            .arg(repo)
            .args(["--quiet", "internal", "run-spec", &spec.hex(), "--memo", "--started", &crate::env::now()])
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => return (Outcome::Failed(format!("cannot start {}: {e}", exe.display())), kills),
        };
        if out.status.success() {
            return (Outcome::Done, kills);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(sig) = out.status.signal() {
            last = format!("killed by signal {sig}");
            continue;
        }
        let why = stderr.lines().filter(|l| !l.trim().is_empty()).last().unwrap_or("failed without a message").to_string();
        return (Outcome::Failed(why), kills);
    }
    (Outcome::Lost(format!("{last} on each of {ATTEMPTS} tries")), ATTEMPTS)
}

fn point_text(p: &std::collections::BTreeMap<String, String>) -> String {
    if p.is_empty() { "(no grid)".into() } else { p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ") }
}

/// The aggregate as a table: one row per grid point, mean ± sd of up to four summary fields.
fn print_aggregate(a: &Aggregate) {
    let Some(first) = a.groups.first() else { return };
    let fields: Vec<&String> = first.fields.keys().take(4).collect();
    let mut header = format!("{:<28} {:>5}", "grid point", "cells");
    for f in &fields {
        header += &format!("  {:>24}", f);
    }
    println!("{header}");
    for g in &a.groups {
        let mut row = format!("{:<28} {:>5}", point_text(&g.point), g.records.len());
        for f in &fields {
            row += &match g.fields.get(*f) {
                Some(s) => format!("  {:>24}", format!("{:.6} ± {:.6}", s.mean, s.sd)),
                None => format!("  {:>24}", "-"),
            };
        }
        println!("{row}");
    }
}

pub fn sweep(ctx: &Ctx, args: SweepArgs) -> anyhow::Result<()> {
    let exp = registry(&args.experiment)
        .ok_or_else(|| user(format!("unknown experiment `{}`", args.experiment), Some("`reprise experiments` lists them with their parameters")))?;
    if args.executor == "slurm" {
        return Err(user("the Slurm executor is not built yet", Some("use --executor local (the default)")));
    }
    let seeds = sweep::parse_seeds(&args.seeds)?;
    let grid = sweep::parse_grid(&args.grid)?;
    let runner = ctx.runner(ctx.store_for_write()?);
    let (hash, m) = sweep::plan(&runner, exp, &args.params, &grid, &seeds)?;
    let before = sweep::records(&runner, &m)?;
    let todo: Vec<usize> = (0..m.cells.len()).filter(|&i| before[i].is_none()).collect();
    let specs: Vec<Digest> = todo.iter().map(|&i| Digest::parse(&m.cells[i].spec).expect("planned")).collect();
    let parallel = args.parallel.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if !ctx.quiet {
        eprintln!("sweep {}: {} cells ({} grid point(s) × {} seed(s)); {} already recorded, {} to run on {parallel} worker(s)", hash.short(12), m.cells.len(), m.cells.len() / seeds.len(), seeds.len(), m.cells.len() - todo.len(), todo.len());
    }
    let outcomes = local_pool(ctx, &specs, parallel)?;
    let failed: Vec<(usize, String)> = todo.iter().zip(&outcomes).filter_map(|(&i, (o, _))| if let Outcome::Failed(w) = o { Some((i, w.clone())) } else { None }).collect();
    let lost: Vec<(usize, String)> = todo.iter().zip(&outcomes).filter_map(|(&i, (o, _))| if let Outcome::Lost(w) = o { Some((i, w.clone())) } else { None }).collect();
    let retried: usize = outcomes.iter().map(|(_, k)| k).sum();
    let done = m.cells.len() - failed.len() - lost.len();
    let aggregate = if failed.is_empty() && lost.is_empty() { Some(sweep::aggregate(&runner, &hash, &m)?) } else { None };
    if ctx.json {
        print_json(&serde_json::json!({
            "sweep": hash.hex(),
            "cells": m.cells.len(),
            "ran": todo.len(),
            "done": done,
            "retried_after_kill": retried,
            "failed": failed.iter().map(|(i, w)| serde_json::json!({"spec": m.cells[*i].spec, "seed": m.cells[*i].seed, "why": w})).collect::<Vec<_>>(),
            "lost": lost.iter().map(|(i, w)| serde_json::json!({"spec": m.cells[*i].spec, "seed": m.cells[*i].seed, "why": w})).collect::<Vec<_>>(),
            "aggregate": aggregate.as_ref().map(|(d, _)| d.hex()),
        }));
    } else {
        println!("{}: {} cells: {done} done ({} ran now), {} failed, {} lost", m.experiment, m.cells.len(), todo.len(), failed.len(), lost.len());
        if retried > 0 {
            println!("{retried} worker(s) were killed mid-run; their cells ran again");
        }
        for (i, why) in failed.iter().chain(&lost) {
            let c = &m.cells[*i];
            println!("  cell {} seed {}: {why}", point_text(&c.point), c.seed);
        }
        if let Some((d, a)) = &aggregate {
            print_aggregate(a);
            println!("aggregate {d}");
        }
        println!("{hash}");
    }
    if failed.is_empty() && lost.is_empty() {
        Ok(())
    } else {
        Err(CheckFailed(format!("sweep {}: {} cell(s) failed, {} lost; run it again to retry them", hash.short(12), failed.len(), lost.len())).into())
    }
}

/// `rerun <sweep hash>`: every cell's recorded run, rerun and compared; one line per cell.
pub fn rerun_sweep(ctx: &Ctx, hash: &Digest, m: &SweepManifest, opts: &RerunOptions) -> anyhow::Result<()> {
    let runner = ctx.runner(ctx.store()?);
    let records = sweep::records(&runner, m)?;
    let mut rows = Vec::new();
    let mut bad = 0;
    for (cell, rec) in m.cells.iter().zip(&records) {
        let (verdict, detail) = match rec {
            None => ("missing", "never ran into this store".to_string()),
            Some(r) => match runner.rerun(&r.hex(), &registry, opts) {
                Ok(rep) if rep.passes() => ("reproduced", rep.ran_with.clone()),
                Ok(rep) => ("DIFFERENT", format!("{} of {} outputs differ", rep.outputs.iter().filter(|o| !o.verdict.passes()).count(), rep.outputs.len())),
                Err(e) => ("error", e.to_string()),
            },
        };
        ctx.bar.done();
        bad += usize::from(verdict != "reproduced");
        rows.push(serde_json::json!({"point": cell.point, "seed": cell.seed, "record": rec.map(|r| r.hex()), "verdict": verdict, "detail": detail}));
        if !ctx.json {
            println!("{:<10} {:<28} seed {:<6} {}  {detail}", verdict, point_text(&cell.point), cell.seed, rec.map(|r| r.short(12)).unwrap_or_default());
        }
    }
    if ctx.json {
        print_json(&serde_json::json!({"sweep": hash.hex(), "passes": bad == 0, "cells": rows}));
    } else if bad == 0 {
        println!("reproduced: all {} cells of sweep {}", m.cells.len(), hash.short(12));
    } else {
        println!("NOT reproduced: {bad} of {} cells of sweep {}", m.cells.len(), hash.short(12));
    }
    if bad == 0 { Ok(()) } else { Err(CheckFailed(format!("sweep {}: {bad} cell(s) did not reproduce", hash.short(12))).into()) }
}
