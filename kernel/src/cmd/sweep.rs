//! `reprise sweep`: plan the cells, run the missing ones through an executor (a local pool of
//! `reprise internal run-spec --memo` processes, or Slurm job arrays of `internal sweep-task`),
//! then print the tally, the aggregate and the hash; and `rerun <sweep hash>` per cell.

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

/// `'…'` for sh, whatever the text holds.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A Slurm client command's stdout, or an error carrying the scheduler's own message.
fn slurm(cmd: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(cmd).args(args).stdin(Stdio::null()).output().map_err(|e| user(format!("cannot run `{cmd}`: {e}"), Some("the Slurm executor needs sbatch, squeue and scontrol on PATH")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(user(format!("`{cmd} {}` failed ({}): {why}", args.join(" "), out.status), None));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The cluster's MaxArraySize (the largest array index + 1), from `scontrol show config`.
fn max_array_size() -> usize {
    slurm("scontrol", &["show", "config"])
        .ok()
        .and_then(|c| c.lines().find(|l| l.trim_start().starts_with("MaxArraySize")).and_then(|l| l.split('=').nth(1)).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(1001)
}

/// One submitted array: its job id, the cells it carries (indices into the specs) and its folder.
struct Array {
    job: String,
    cells: Vec<usize>,
    dir: std::path::PathBuf,
}

/// Submits `cells` as job arrays of at most MaxArraySize tasks under `dir`.
fn submit(ctx: &Ctx, exe: &std::path::Path, store: &std::path::Path, specs: &[Digest], cells: &[usize], dir: &std::path::Path, throttle: usize) -> anyhow::Result<Vec<Array>> {
    let mut arrays = Vec::new();
    for (k, chunk) in cells.chunks(max_array_size().max(1)).enumerate() {
        let adir = dir.join(format!("array-{k}"));
        std::fs::create_dir_all(adir.join("out"))?;
        std::fs::create_dir_all(adir.join("rc"))?;
        let list = adir.join("specs");
        std::fs::write(&list, chunk.iter().map(|&i| format!("{}\n", specs[i].hex())).collect::<String>())?;
        let wrap = format!(
            "exec {} --store {} --repo {} --quiet internal sweep-task {}",
            sh_quote(&exe.display().to_string()),
            sh_quote(&store.display().to_string()),
            sh_quote(&ctx.repo.display().to_string()),
            sh_quote(&list.display().to_string())
        );
        let out = adir.join("out").join("%A_%a.out");
        let args = [
            "--parsable".to_string(),
            format!("--array=0-{}%{throttle}", chunk.len() - 1),
            "--open-mode=append".into(),
            "--job-name=reprise-sweep".into(),
            format!("--output={}", out.display()),
            format!("--wrap={wrap}"),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let answer = slurm("sbatch", &args)?;
        let job = answer.trim().split(';').next().unwrap_or_default().to_string();
        if job.is_empty() || !job.bytes().all(|b| b.is_ascii_digit()) {
            return Err(user(format!("sbatch answered `{}`, not a job id", answer.trim()), None));
        }
        arrays.push(Array { job, cells: chunk.to_vec(), dir: adir });
    }
    Ok(arrays)
}

/// Runs each spec as a Slurm array task, `throttle` at a time. Tasks that leave the queue
/// without an exit record are lost and submitted again (at most `ATTEMPTS` times in all); no
/// `sacct`, only `squeue` and the records the tasks write.
fn slurm_pool(ctx: &Ctx, sweep: &Digest, specs: &[Digest], throttle: usize) -> anyhow::Result<Vec<(Outcome, usize)>> {
    let exe = std::env::current_exe()?;
    let store = std::fs::canonicalize(&ctx.store_path)?;
    let base = store.join("cache").join("sweeps").join(sweep.short(16));
    std::fs::create_dir_all(&base)?;
    let mut results: Vec<Option<(Outcome, usize)>> = vec![None; specs.len()];
    let mut pending: Vec<usize> = (0..specs.len()).collect();
    let progress: &dyn reprise_core::Progress = &ctx.bar;
    progress.start("sweep cells (slurm)", specs.len() as u64);
    for attempt in 0..ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let dir = base.join(format!("submit-{attempt}-{}", uuid::Uuid::new_v4().simple()));
        let arrays = submit(ctx, &exe, &store, specs, &pending, &dir, throttle)?;
        if !ctx.quiet {
            eprintln!("submitted {} cell(s) as job array(s) {}", pending.len(), arrays.iter().map(|a| a.job.as_str()).collect::<Vec<_>>().join(", "));
        }
        let mut wait = std::time::Duration::from_millis(250);
        let mut reported = 0u64;
        loop {
            let running = arrays.iter().map(|a| slurm("squeue", &["-h", "-r", "-j", &a.job, "-o", "%i"]).map(|o| !o.trim().is_empty())).collect::<anyhow::Result<Vec<bool>>>()?;
            let finished: u64 = arrays.iter().map(|a| std::fs::read_dir(a.dir.join("rc")).map(|d| d.flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count() as u64).unwrap_or(0)).sum();
            progress.advance(finished.saturating_sub(reported));
            reported = reported.max(finished);
            if running.iter().all(|r| !r) {
                break;
            }
            std::thread::sleep(wait);
            wait = (wait * 3 / 2).min(std::time::Duration::from_secs(5));
        }
        let mut lost = Vec::new();
        for a in &arrays {
            for (t, &cell) in a.cells.iter().enumerate() {
                match std::fs::read_to_string(a.dir.join("rc").join(t.to_string())) {
                    Ok(rc) if rc.starts_with("0\n") => results[cell] = Some((Outcome::Done, attempt)),
                    Ok(rc) => results[cell] = Some((Outcome::Failed(rc.lines().nth(1).unwrap_or("failed without a message").to_string()), attempt)),
                    Err(_) => lost.push(cell),
                }
            }
        }
        pending = lost;
    }
    ctx.bar.done();
    for cell in pending {
        results[cell] = Some((Outcome::Lost(format!("left the Slurm queue without an exit record on each of {ATTEMPTS} submissions")), ATTEMPTS));
    }
    Ok(results.into_iter().map(|r| r.expect("every cell has an outcome")).collect())
}

pub(crate) fn point_text(p: &std::collections::BTreeMap<String, String>) -> String {
    if p.is_empty() { "(no grid)".into() } else { p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ") }
}

/// Columns the sweep table has room for.
const TABLE_FIELDS: usize = 4;

/// The aggregate as a table: one row per grid point, mean ± sd of the experiment's headline
/// summary fields, then of the fields that vary across cells; the rest are named below it.
pub(crate) fn print_aggregate(a: &Aggregate) {
    let Some(first) = a.groups.first() else { return };
    let headline = registry(&a.experiment).map(|e| e.headline()).unwrap_or_default();
    let varies = |f: &String| {
        let stats: Vec<_> = a.groups.iter().filter_map(|g| g.fields.get(f)).collect();
        stats.iter().any(|s| s.max > s.min) || stats.windows(2).any(|w| w[0].mean != w[1].mean)
    };
    let mut fields: Vec<&String> = first.fields.keys().filter(|f| headline.contains(&f.as_str())).collect();
    fields.sort_by_key(|f| headline.iter().position(|h| h == f));
    // A grid axis echoed in the summary is already in the grid point column.
    let axis = |f: &String| first.point.contains_key(f);
    fields.extend(first.fields.keys().filter(|f| !headline.contains(&f.as_str()) && !axis(f) && varies(f)));
    if fields.is_empty() {
        fields.extend(first.fields.keys());
    }
    fields.truncate(TABLE_FIELDS);
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
    let left: Vec<String> =
        first.fields.keys().filter(|f| !fields.contains(f) && !axis(f)).map(|f| if varies(f) { f.clone() } else { format!("{f} (constant)") }).collect();
    if !left.is_empty() {
        println!(
            "{} more summary field(s) not shown: {}; `reprise --json show <aggregate>` has every field's n, mean, sd, min and max",
            left.len(),
            left.join(", ")
        );
    }
}

pub fn sweep(ctx: &Ctx, args: SweepArgs) -> anyhow::Result<()> {
    let exp = registry(&args.experiment)
        .ok_or_else(|| user(format!("unknown experiment `{}`", args.experiment), Some("`reprise experiments` lists them with their parameters")))?;
    let seeds = sweep::parse_seeds(&args.seeds)?;
    let grid = sweep::parse_grid(&args.grid)?;
    let runner = ctx.runner(ctx.store_for_write()?);
    let (hash, m) = sweep::plan(&runner, exp, &args.params, &grid, &seeds)?;
    let before = sweep::records(&runner, &m)?;
    let todo: Vec<usize> = (0..m.cells.len()).filter(|&i| before[i].is_none()).collect();
    let specs: Vec<Digest> = todo.iter().map(|&i| Digest::parse(&m.cells[i].spec).expect("planned")).collect();
    let slurm = args.executor == "slurm";
    let parallel = args.parallel.unwrap_or_else(|| if slurm { 64 } else { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) });
    if !ctx.quiet {
        eprintln!("sweep {}: {} cells ({} grid point(s) × {} seed(s)); {} already recorded, {} to run on {parallel} worker(s)", hash.short(12), m.cells.len(), m.cells.len() / seeds.len(), seeds.len(), m.cells.len() - todo.len(), todo.len());
    }
    let outcomes = if specs.is_empty() {
        vec![]
    } else if slurm {
        slurm_pool(ctx, &hash, &specs, parallel)?
    } else {
        local_pool(ctx, &specs, parallel)?
    };
    let failed: Vec<(usize, String)> = todo.iter().zip(&outcomes).filter_map(|(&i, (o, _))| if let Outcome::Failed(w) = o { Some((i, w.clone())) } else { None }).collect();
    let lost: Vec<(usize, String)> = todo.iter().zip(&outcomes).filter_map(|(&i, (o, _))| if let Outcome::Lost(w) = o { Some((i, w.clone())) } else { None }).collect();
    let retried: usize = outcomes.iter().map(|(_, k)| k).sum();
    let done = m.cells.len() - failed.len() - lost.len();
    let aggregate = if failed.is_empty() && lost.is_empty() { Some(sweep::aggregate(&runner, exp, &hash, &m)?) } else { None };
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
            "tables": aggregate.as_ref().map(|(_, a)| a.tables.clone()).unwrap_or_default(),
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
            for (name, digest) in &a.tables {
                println!("table {name}: {digest}  (reprise store get {})", &digest[..12]);
            }
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
