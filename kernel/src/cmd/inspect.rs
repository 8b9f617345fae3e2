//! Read-only views: `show` (one run, or one output's bytes), `runs` (the table of runs) and
//! `experiments` (what this binary can run).

use super::{Ctx, print_json};
use crate::cli::{RunsArgs, ShowArgs};
use crate::error::user;
use crate::render;
use reprise_runner::rerun::resolve_run;
use serde_json::json;
use std::io::Write;

pub fn show(ctx: &Ctx, args: ShowArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let run = resolve_run(&store, &args.hash)?;
    if let Some(name) = args.output {
        let entry = run.record.outputs.get(&name).ok_or_else(|| {
            user(
                format!("run {} has no output `{name}` (it has: {})", run.record_digest.short(12), run.record.outputs.keys().cloned().collect::<Vec<_>>().join(", ")),
                None,
            )
        })?;
        let bytes = store.read_verified(&entry.digest()?)?;
        std::io::stdout().lock().write_all(&bytes)?;
        return Ok(());
    }
    let runner = ctx.runner(store);
    let note = runner.note(&run.record_digest)?;
    if ctx.json {
        print_json(&json!({ "run": run.record_digest.hex(), "record": run.record, "spec_digest": run.spec_digest.hex(), "spec": run.spec, "note": note }));
        return Ok(());
    }
    print!("{}", render::run_text(&run, note.as_ref(), &runner.store));
    println!();
    Ok(())
}

pub fn runs(ctx: &Ctx, args: RunsArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let runner = ctx.runner(store);
    let mut rows = Vec::new();
    for (spec_d, rec_d) in runner.runs()? {
        let Ok(bytes) = runner.store.read(&spec_d) else { continue };
        let spec = reprise_runner::RunSpec::parse(&bytes)?;
        if args.experiment.as_ref().is_some_and(|e| *e != spec.experiment.name) {
            continue;
        }
        let note = runner.note(&rec_d)?;
        rows.push((note.as_ref().map(|n| n.started.clone()).unwrap_or_default(), rec_d, spec, note));
    }
    // Newest first; the record digest breaks ties so the order never depends on the filesystem.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    rows.truncate(args.limit);
    if ctx.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(started, rec, spec, note)| {
                json!({ "run": rec.hex(), "experiment": spec.experiment.name, "seed": spec.seed, "params": spec.params,
                        "started": started, "wall_ms": note.as_ref().map(|n| n.wall_ms), "dirty": spec.code.dirty, "commit": spec.code.commit })
            })
            .collect();
        print_json(&v);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no runs in {} yet; try `reprise run demo.pi --seed 7`", ctx.store_path.display());
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(started, rec, spec, note)| {
            vec![
                if started.is_empty() { "-".into() } else { started.clone() },
                rec.short(12),
                spec.experiment.name.clone(),
                spec.seed.to_string(),
                render::params(&spec.params),
                note.as_ref().map(|n| format!("{} ms", n.wall_ms)).unwrap_or_else(|| "-".into()),
                format!("{}{}", &spec.code.commit[..8.min(spec.code.commit.len())], if spec.code.dirty { "+dirty" } else { "" }),
            ]
        })
        .collect();
    println!("{}", render::table(&["started", "run", "experiment", "seed", "params", "wall", "commit"], &table));
    Ok(())
}

pub fn experiments(ctx: &Ctx) -> anyhow::Result<()> {
    let all = reprise_experiments::all();
    if ctx.json {
        let v: Vec<_> = all
            .iter()
            .map(|e| json!({ "name": e.name(), "version": e.version(), "description": e.description(), "params": e.params(), "inputs": e.inputs(), "optional_inputs": e.optional_inputs() }))
            .collect();
        print_json(&v);
        return Ok(());
    }
    for e in all {
        println!("{} (v{}) — {}", e.name(), e.version(), e.description());
        let rows: Vec<Vec<String>> = e
            .params()
            .iter()
            .map(|p| vec![format!("  {}", p.name), p.kind.type_name().into(), p.default.to_string(), p.kind.range(), p.doc.into()])
            .collect();
        println!("{}", render::table(&["  param", "type", "default", "range", "meaning"], &rows));
        if !e.inputs().is_empty() {
            println!("  inputs: {}", e.inputs().join(", "));
        }
        if !e.optional_inputs().is_empty() {
            println!("  optional inputs: {} (--input NAME=PATH)", e.optional_inputs().join(", "));
        }
        println!();
    }
    Ok(())
}
