//! Store upkeep and pinning: `verify`, `gc` and `lock`.

use super::{Ctx, print_json};
use crate::cli::{GcArgs, LockArgs, RmArgs, VerifyArgs};
use crate::error::{CheckFailed, user};
use crate::render;
use reprise_runner::gcroots;
use serde_json::json;

pub fn verify(ctx: &Ctx, args: VerifyArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let expected = gcroots::expected_objects(&store)?;
    let report = store.verify(&expected, &ctx.bar)?;
    ctx.bar.done();
    let repair = if args.repair && !(report.corrupt.is_empty() && report.missing.is_empty()) { Some(repair(ctx, &store, &report)?) } else { None };
    let last = repair.as_ref().map_or(&report, |r| &r.after);
    if ctx.json {
        print_json(&json!({
            "ok": last.ok(), "checked": report.checked, "bytes": report.bytes,
            "corrupt": report.corrupt.iter().map(|(d, a, q)| json!({"object": d.hex(), "actual": a.hex(), "moved_to": q})).collect::<Vec<_>>(),
            "missing": report.missing.iter().map(|(d, w)| json!({"object": d.hex(), "expected_by": w})).collect::<Vec<_>>(),
            "stray": report.stray, "tmp_files": report.tmp_files,
            "quarantine": report.quarantined_before.iter().map(|(p, back)| json!({"file": p, "restored": back})).collect::<Vec<_>>(),
            "repair": repair.as_ref().map(|r| json!({
                "reran": r.reran.iter().map(|(h, e, res)| json!({"run": h, "experiment": e, "error": res.as_ref().err()})).collect::<Vec<_>>(),
                "restored": r.restored.iter().map(|d| d.hex()).collect::<Vec<_>>(),
                "still_corrupt": r.after.corrupt.iter().map(|(d, _, _)| d.hex()).collect::<Vec<_>>(),
                "still_missing": r.after.missing.iter().map(|(d, w)| json!({"object": d.hex(), "expected_by": w})).collect::<Vec<_>>(),
            })),
        }));
    } else {
        println!("checked {} objects ({})", report.checked, render::size(report.bytes));
        for (d, actual, moved) in &report.corrupt {
            println!("CORRUPT  {d}  (its bytes hash to {}; moved aside to {})", actual.short(16), moved.display());
        }
        for (d, who) in &report.missing {
            println!("MISSING  {d}  (named by {who})");
        }
        for p in &report.stray {
            println!("STRAY    {}", p.display());
        }
        if !report.quarantined_before.is_empty() {
            let back = report.quarantined_before.iter().filter(|(_, b)| *b).count();
            println!(
                "{} damaged file(s) from earlier checks are in {} ({back} of their objects since restored); Reprise never deletes them: look, then delete them by hand",
                report.quarantined_before.len(),
                store.root().join("quarantine").display()
            );
        }
        if report.tmp_files > 0 {
            println!("{} leftover file(s) of interrupted writes in tmp/ (harmless; `reprise gc` removes them after an hour)", report.tmp_files);
        }
        match &repair {
            Some(r) => {
                for (h, exp, res) in &r.reran {
                    match res {
                        Ok(()) => println!("reran {} ({exp})", &h[..12]),
                        Err(e) => println!("rerun of {} ({exp}) failed: {e}", &h[..12]),
                    }
                }
                if r.reran.is_empty() {
                    println!("no recorded run made the lost objects, so none could be rerun");
                }
                for d in &r.restored {
                    println!("RESTORED {d}");
                }
                for (d, _, _) in &r.after.corrupt {
                    println!("still CORRUPT {d}");
                }
                for (d, who) in &r.after.missing {
                    println!("still MISSING {d}  (named by {who})");
                }
            }
            None if !(report.corrupt.is_empty() && report.missing.is_empty()) => println!(
                "lost objects come back by `reprise verify --repair` (reruns what made them), importing a bundle or pulling from a remote that has them: any put of the same bytes restores them"
            ),
            None => {}
        }
        if repair.is_some() && !last.missing.is_empty() {
            println!("the objects still missing come back by importing a bundle or pulling from a remote that has them");
        }
        if last.ok() {
            println!("ok: every object matches its digest and nothing expected is missing");
        }
    }
    if last.ok() {
        Ok(())
    } else {
        Err(CheckFailed(format!(
            "store {} has {} corrupt, {} missing and {} stray objects",
            ctx.store_path.display(),
            last.corrupt.len(),
            last.missing.len(),
            last.stray.len()
        ))
        .into())
    }
}

/// What `verify --repair` did after moving the damaged objects aside.
struct Repair {
    /// (record, experiment, outcome) of each run rerun because it made a lost object.
    reran: Vec<(String, String, Result<(), String>)>,
    restored: Vec<reprise_store::Digest>,
    after: reprise_store::VerifyReport,
}

/// Reruns every recorded run one of whose outputs is lost (corrupt and moved aside, or missing):
/// the rerun's puts bring the bytes back when it reproduces. Then verifies again.
fn repair(ctx: &Ctx, store: &reprise_store::Store, report: &reprise_store::VerifyReport) -> anyhow::Result<Repair> {
    use reprise_runner::RunRecord;
    use reprise_store::Digest;
    use std::collections::BTreeSet;
    let lost: BTreeSet<Digest> = report.corrupt.iter().map(|c| c.0).chain(report.missing.iter().map(|m| m.0)).collect();
    // (made on a dirty tree, record, experiment, its lost outputs): clean runs first, as they
    // rerun in this binary when the repository is at their commit.
    let mut runs: Vec<(bool, Digest, String, Vec<Digest>)> = Vec::new();
    for (_, record) in store.list_refs("runs")? {
        let Ok(rec) = store.read_verified(&record).map_err(anyhow::Error::from).and_then(|b| Ok(RunRecord::parse(&b)?)) else { continue };
        let mine: Vec<Digest> = rec.outputs.values().filter_map(|o| o.digest().ok()).filter(|d| lost.contains(d)).collect();
        if mine.is_empty() {
            continue;
        }
        let spec = rec.spec_digest().ok().and_then(|d| store.read_verified(&d).ok()).and_then(|b| reprise_runner::RunSpec::parse(&b).ok());
        let (dirty, exp) = spec.map_or((true, "?".to_string()), |s| (s.code.dirty, s.experiment.name));
        runs.push((dirty, record, exp, mine));
    }
    runs.sort();
    let opts = reprise_runner::rerun::RerunOptions {
        target_dir: store.cache_dir().join("target"),
        show_build_output: !ctx.quiet,
        started: crate::env::now(),
    };
    let runner = ctx.runner(store.clone());
    let mut reran = Vec::new();
    for (_, record, exp, mine) in runs {
        if mine.iter().all(|d| store.contains(d)) {
            continue; // an earlier rerun brought them back
        }
        let outcome = runner.rerun(&record.hex(), &super::registry, &opts);
        ctx.bar.done();
        reran.push((record.hex(), exp, outcome.map(|_| ()).map_err(|e| e.to_string())));
    }
    let after = store.verify(&gcroots::expected_objects(store)?, &())?;
    let still: BTreeSet<Digest> = after.corrupt.iter().map(|c| c.0).chain(after.missing.iter().map(|m| m.0)).collect();
    let restored = lost.difference(&still).copied().collect();
    Ok(Repair { reran, restored, after })
}

pub fn gc(ctx: &Ctx, args: GcArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let roots = gcroots::lock_roots(&ctx.repo)?;
    let keep_newer = if args.now { std::time::Duration::ZERO } else { args.keep_newer };
    let opts = reprise_store::GcOptions { dry_run: args.dry_run, keep_newer };
    let report = store.gc(&roots, &gcroots::children, &opts)?;
    if ctx.json {
        print_json(&json!({
            "dry_run": report.dry_run, "kept": report.kept, "freed": report.freed, "tmp_removed": report.tmp_removed,
            "young_kept": report.young, "keep_newer_s": keep_newer.as_secs_f64(), "live_writers": report.live_pins,
            "stale_temporary_roots": report.stale_pins.iter().map(|(p, who, n)| json!({"file": p, "writer": who, "objects": n})).collect::<Vec<_>>(),
            "removed": report.removed.iter().map(|(d, s)| json!({"object": d.hex(), "size": s})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
    for (d, size) in &report.removed {
        println!("{verb} {d} ({})", render::size(*size));
    }
    for (p, who, n) in &report.stale_pins {
        let what = if args.dry_run { "would discard" } else { "discarded" };
        println!("{what} the temporary roots of {who} ({n} objects; {})", p.display());
    }
    println!(
        "{verb} {} objects ({}), kept {} reachable from refs, runs, sweeps, sessions, lockfiles{}{}",
        report.removed.len(),
        render::size(report.freed),
        report.kept,
        if report.live_pins > 0 { format!(" and {} running process(es)", report.live_pins) } else { String::new() },
        if report.tmp_removed > 0 { format!("; {} stale tmp files", report.tmp_removed) } else { String::new() }
    );
    if report.young > 0 {
        println!(
            "kept {} unreachable objects younger than {} (--keep-newer; `reprise gc --now` removes them)",
            report.young,
            humantime::format_duration(keep_newer)
        );
    }
    Ok(())
}

/// `rm`: the refs that keep each named run, sweep, aggregate or session, removed (or listed).
pub fn rm(ctx: &Ctx, args: RmArgs) -> anyhow::Result<()> {
    use reprise_runner::gcroots::{self, SESSION_SCHEMA, kind_name, schema_of};
    use reprise_runner::record::RECORD_SCHEMA;
    use reprise_runner::spec::SPEC_SCHEMA;
    use reprise_runner::sweep::{AGGREGATE_SCHEMA, SWEEP_SCHEMA};
    let store = ctx.store()?;
    let refs = store.list_refs("")?;
    let locked = gcroots::lock_roots(&ctx.repo)?;
    let mut plan: Vec<(String, reprise_store::Digest)> = Vec::new();
    let mut notes = Vec::new();
    for h in &args.hashes {
        let d = store.resolve(h)?;
        let schema = schema_of(&store.read(&d)?);
        // A ref goes when it points at `id` or is named after it (notes/, reruns/, sweep-aggregates/).
        let id = match schema.as_deref() {
            Some(RECORD_SCHEMA) | Some(SPEC_SCHEMA) => {
                let record = if schema.as_deref() == Some(SPEC_SCHEMA) { store.read_ref(&format!("runs/{d}"))?.unwrap_or(d) } else { d };
                if locked.contains(&record) {
                    notes.push(format!("run {} is pinned by a lockfile in {}: it stays until that lock goes", record.short(12), reprise_runner::lockfile::lock_dir(&ctx.repo).display()));
                }
                record
            }
            Some(SWEEP_SCHEMA) => {
                notes.push(format!("the cells of sweep {} stay, as runs: `reprise rm` them too to let gc free their outputs", d.short(12)));
                d
            }
            Some(AGGREGATE_SCHEMA) | Some(SESSION_SCHEMA) => d,
            other => {
                return Err(user(
                    format!("{} is a {}, which no ref keeps by name", d.short(12), other.map_or("plain object", kind_name)),
                    Some("`reprise show HASH` says what names it; remove that instead"),
                ));
            }
        };
        let hex = id.hex();
        let before = plan.len();
        for (name, target) in &refs {
            if (*target == id || name.ends_with(&hex)) && !plan.iter().any(|(n, _)| n == name) {
                plan.push((name.clone(), *target));
            }
        }
        if plan.len() == before {
            notes.push(format!("nothing keeps {} by a ref any more", d.short(12)));
        }
    }
    if !args.dry_run {
        for (name, target) in &plan {
            store.update_ref(name, reprise_store::RefExpect::Is(*target), None)?;
        }
    }
    if ctx.json {
        print_json(&json!({ "dry_run": args.dry_run, "refs": plan.iter().map(|(n, t)| json!({"ref": n, "target": t.hex()})).collect::<Vec<_>>(), "notes": notes }));
        return Ok(());
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
    for (name, target) in &plan {
        println!("{verb} ref {name} → {}", target.short(12));
    }
    for n in &notes {
        println!("note: {n}");
    }
    if !args.dry_run && !plan.is_empty() {
        println!("`reprise gc` deletes what nothing else keeps (once older than --keep-newer; --now at once)");
    }
    Ok(())
}

pub fn lock(ctx: &Ctx, args: LockArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let runner = ctx.runner(store);
    let (path, lock, previous) = runner.lock(&args.hash, args.name.as_deref(), args.force)?;
    if ctx.json {
        print_json(&json!({ "path": path, "lock": lock, "previous": previous }));
        return Ok(());
    }
    println!("wrote {}", path.display());
    if lock.recorded.dirty {
        println!("warning: the run was made on a dirty tree; commit the code and lock a clean run before publishing");
    }
    match previous {
        None => println!("new lock `{}` pins {} outputs", lock.name, lock.outputs.len()),
        Some(old) => {
            let mut names: Vec<&String> = old.outputs.keys().chain(lock.outputs.keys()).collect();
            names.sort();
            names.dedup();
            for n in names {
                let (a, b) = (old.outputs.get(n).map(|o| &o.digest[..12]), lock.outputs.get(n).map(|o| &o.digest[..12]));
                if a != b {
                    println!("  {n}: {} → {}", a.unwrap_or("none"), b.unwrap_or("none"));
                }
            }
            if old.outputs == lock.outputs {
                println!("outputs unchanged");
            }
        }
    }
    Ok(())
}
