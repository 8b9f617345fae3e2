//! Read-only views: `show` (any hash Reprise prints: a run, a sweep, its aggregate or a table, a
//! saved session; or one output's bytes), `runs` (the table of runs) and `experiments` (what this
//! binary can run).

use super::{Ctx, print_json};
use crate::cli::{RunsArgs, ShowArgs};
use crate::error::user;
use crate::render;
use reprise_runner::gcroots::{self, SESSION_SCHEMA};
use reprise_runner::record::RECORD_SCHEMA;
use reprise_runner::rerun::resolve_run;
use reprise_runner::spec::SPEC_SCHEMA;
use reprise_runner::sweep::{AGGREGATE_SCHEMA, Aggregate, SWEEP_SCHEMA};
use reprise_store::{Digest, Store};
use serde_json::json;
use std::io::Write;

pub fn show(ctx: &Ctx, args: ShowArgs) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let d = store.resolve(&args.hash)?;
    let bytes = store.read_verified(&d)?;
    let schema = gcroots::schema_of(&bytes);
    let kind = schema.as_deref().unwrap_or("");
    if kind != RECORD_SCHEMA && kind != SPEC_SCHEMA {
        if args.output.is_some() {
            return Err(user(
                format!("--output names an output of a run; {} is a {}", d.short(12), schema.as_deref().map_or("plain object", gcroots::kind_name)),
                Some("`reprise show HASH` without --output describes it"),
            ));
        }
        return match kind {
            SWEEP_SCHEMA => show_sweep(ctx, &store, &d, &bytes),
            AGGREGATE_SCHEMA => show_aggregate(ctx, &store, &d, &bytes),
            SESSION_SCHEMA => show_session(ctx, &store, &d, &bytes),
            _ => show_object(ctx, &store, &d, &bytes, schema.as_deref()),
        };
    }
    let run = resolve_run(&store, &d.hex())?;
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

/// A sweep: its grid, the tally of recorded cells and, once every cell has run, its aggregate.
fn show_sweep(ctx: &Ctx, store: &Store, d: &Digest, bytes: &[u8]) -> anyhow::Result<()> {
    let m = reprise_runner::sweep::SweepManifest::parse(bytes)?;
    let runner = ctx.runner(store.clone());
    let records = reprise_runner::sweep::records(&runner, &m)?;
    let done = records.iter().filter(|r| r.is_some()).count();
    let aggregate = store.read_ref(&gcroots::aggregate_ref(d))?;
    if ctx.json {
        print_json(&json!({
            "sweep": d.hex(), "experiment": m.experiment, "params": m.params, "grid": m.grid, "seeds": m.seeds,
            "cells": m.cells.len(), "recorded": done, "aggregate": aggregate.map(|a| a.hex()),
            "records": records.iter().map(|r| r.map(|r| r.hex())).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("sweep {}  {}", d.short(12), m.experiment);
    println!("  params   {}", if m.params.is_empty() { "(defaults)".to_string() } else { m.params.join(" ") });
    for (k, vs) in &m.grid {
        println!("  grid     {k} = {}", vs.join(", "));
    }
    println!("  seeds    {} ({} cells)", m.seeds.len(), m.cells.len());
    println!("  recorded {done} of {} cells{}", m.cells.len(), if done < m.cells.len() { "; run the sweep again to finish the rest" } else { "" });
    if let Some(a) = aggregate {
        let agg: Aggregate = serde_json::from_slice(&store.read_verified(&a)?)?;
        println!();
        super::sweep::print_aggregate(&agg);
        for (name, t) in &agg.tables {
            println!("table {name}: {t}");
        }
        println!("aggregate {a}");
    }
    Ok(())
}

fn show_aggregate(ctx: &Ctx, store: &Store, d: &Digest, bytes: &[u8]) -> anyhow::Result<()> {
    let agg: Aggregate = serde_json::from_slice(bytes)?;
    if ctx.json {
        print_json(&json!({ "aggregate": d.hex(), "value": agg }));
        return Ok(());
    }
    println!("aggregate {} of sweep {} ({})", d.short(12), &agg.sweep[..12.min(agg.sweep.len())], agg.experiment);
    super::sweep::print_aggregate(&agg);
    for (name, t) in &agg.tables {
        let present = Digest::parse(t).is_some_and(|t| store.contains(&t));
        println!("table {name}: {t}{}", if present { "" } else { "  (MISSING from this store)" });
    }
    Ok(())
}

/// A saved session: each cell's first line, status and outputs, each output's blob present or not.
fn show_session(ctx: &Ctx, store: &Store, d: &Digest, bytes: &[u8]) -> anyhow::Result<()> {
    let m: crate::jupyter::session::Manifest = serde_json::from_slice(bytes)?;
    let present = |digest: &str| Digest::parse(digest).is_some_and(|x| store.contains(&x));
    let missing: usize = m.cells.iter().flat_map(|c| &c.outputs).filter(|o| !present(&o.digest)).count();
    if ctx.json {
        print_json(&json!({ "session": d.hex(), "notebook": m.notebook, "toolchain": m.toolchain, "deps_lock": m.deps_lock, "cells": m.cells, "missing_outputs": missing }));
        return Ok(());
    }
    println!("session {}{}  ({} cells, {})", d.short(12), m.notebook.as_ref().map(|n| format!("  notebook {n}")).unwrap_or_default(), m.cells.len(), m.toolchain);
    for c in &m.cells {
        let first = c.source.lines().next().unwrap_or("");
        let outs: Vec<String> = c.outputs.iter().map(|o| format!("{} {}{}", o.kind, o.mime, if present(&o.digest) { "" } else { " MISSING" })).collect();
        println!("  [{}] {:<8} {}{}", c.count, c.status, first, if outs.is_empty() { String::new() } else { format!("  → {}", outs.join(", ")) });
    }
    if missing > 0 {
        println!("{missing} output(s) missing from this store: `reprise verify` lists them; `reprise rerun {}` runs the cells again", d.short(12));
    } else {
        println!("`reprise rerun {}` replays the cells and compares every output", d.short(12));
    }
    Ok(())
}

/// Any other object: its size, what refers to it, and its text when it is short text.
fn show_object(ctx: &Ctx, store: &Store, d: &Digest, bytes: &[u8], schema: Option<&str>) -> anyhow::Result<()> {
    let owners: Vec<String> = gcroots::expected_objects(store)?.into_iter().filter(|(x, _)| x == d).map(|(_, who)| who).collect();
    let text = std::str::from_utf8(bytes).ok().filter(|t| t.len() <= 64 * 1024);
    if ctx.json {
        print_json(&json!({ "object": d.hex(), "size": bytes.len(), "schema": schema, "named_by": owners, "text": text }));
        return Ok(());
    }
    println!(
        "object {}  {}{}  named by {}",
        d.short(12),
        render::size(bytes.len() as u64),
        schema.map(|s| format!("  {}", gcroots::kind_name(s))).unwrap_or_default(),
        if owners.is_empty() { "nothing (gc removes it once older than --keep-newer)".to_string() } else { owners.join(", ") }
    );
    match text {
        Some(t) => print!("{t}{}", if t.ends_with('\n') { "" } else { "\n" }),
        None => println!("(binary or long: `reprise store get {}` writes its bytes)", d.short(12)),
    }
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
    if rows.is_empty() && let Some(e) = &args.experiment {
        if reprise_experiments::find(e).is_none() {
            return Err(user(format!("unknown experiment `{e}`"), Some("`reprise experiments` lists them")));
        }
        println!("no runs of {e} in {} yet; try `reprise run {e}`", ctx.store_path.display());
        return Ok(());
    } else if rows.is_empty() {
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
