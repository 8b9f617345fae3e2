//! `reprise run` and the `internal run-spec` plumbing that reruns use across commits.

use super::{Ctx, print_json, registry};
use crate::cli::{InternalCommand, RunArgs};
use crate::error::user;
use crate::render;
use reprise_core::Params;
use reprise_runner::{RunRequest, RunSpec};
use serde_json::json;
use std::path::PathBuf;

pub fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<()> {
    let exp = registry(&args.experiment).ok_or_else(|| {
        user(
            format!("unknown experiment `{}` (known: {})", args.experiment, known()),
            Some("`reprise experiments` lists them with their parameters"),
        )
    })?;
    // Params are checked before the store is touched or anything runs.
    Params::from_args(&exp.params(), &args.params)
        .map_err(|e| user(format!("{}: {e}", exp.name()), Some("`reprise experiments` shows each parameter's type, range and default")))?;
    let mut inputs = Vec::new();
    for raw in &args.inputs {
        let (name, path) = raw.split_once('=').ok_or_else(|| user(format!("`--input {raw}` is not of the form name=path"), None))?;
        inputs.push((name.to_string(), PathBuf::from(path)));
    }
    let store = ctx.store_for_write()?;
    let runner = ctx.runner(store);
    let req = RunRequest { params: args.params, seed: args.seed, inputs, force: args.force, started: crate::env::now() };
    let out = runner.run(exp, &req)?;
    ctx.bar.done();
    if ctx.json {
        print_json(&json!({
            "run": out.record_digest.hex(),
            "spec": out.spec_digest.hex(),
            "experiment": out.spec.experiment.name,
            "memoised": out.memoised,
            "dirty": out.spec.code.dirty,
            "outputs": out.record.outputs,
        }));
        return Ok(());
    }
    println!("{} seed={} {}", out.spec.experiment.name, out.spec.seed, render::params(&out.spec.params));
    if out.memoised {
        println!("memoised: this spec already ran; its stored record is returned (--force runs it again)");
    }
    if out.spec.code.dirty {
        println!("note: the working tree is dirty; its diff is stored with the run so `rerun` can restore it");
    }
    println!("{}", render::outputs(&runner.store, &out.record.outputs));
    println!("{}", out.record_digest);
    Ok(())
}

fn known() -> String {
    reprise_experiments::all().iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

pub fn internal(ctx: &Ctx, cmd: InternalCommand) -> anyhow::Result<()> {
    match cmd {
        InternalCommand::RunSpec { spec, started, memo } => {
            let (record, env) = run_spec(ctx, &spec, &started, memo)?;
            println!("{}", json!({ "record": record.hex(), "environment": env }));
            Ok(())
        }
        InternalCommand::SweepTask { list } => sweep_task(ctx, &list),
    }
}

/// Runs a stored spec as recorded; with `memo`, answers an existing memo at once and records a
/// new run as the spec's memo. Returns the record and the comparable environment.
fn run_spec(ctx: &Ctx, spec: &str, started: &str, memo: bool) -> anyhow::Result<(reprise_store::Digest, serde_json::Map<String, serde_json::Value>)> {
    let store = ctx.store()?;
    let digest = store.resolve(spec)?;
    let spec = RunSpec::parse(&store.read_verified(&digest)?)?;
    let exp = registry(&spec.experiment.name).ok_or_else(|| user(format!("this build has no experiment `{}`", spec.experiment.name), None))?;
    let runner = ctx.runner(store);
    let record = match runner.memo(&digest)? {
        Some((record, _)) if memo => record,
        _ => {
            let (record, _) = runner.execute(exp, &spec, started, Default::default())?;
            if memo {
                // another worker that recorded the same spec first keeps the memo
                reprise_runner::run::memo_if_absent(&runner.store, &digest, &record)?;
            }
            record
        }
    };
    let env = runner.env.comparable().into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
    Ok((record, env))
}

/// A Slurm array task: the spec on line `$SLURM_ARRAY_TASK_ID` of `list`, then its exit record
/// `rc/<index>` (the exit status, then the error if any), written atomically.
fn sweep_task(ctx: &Ctx, list: &std::path::Path) -> anyhow::Result<()> {
    let index: usize = std::env::var("SLURM_ARRAY_TASK_ID")
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| user("SLURM_ARRAY_TASK_ID is not set: `internal sweep-task` runs inside a Slurm job array", None))?;
    let specs = std::fs::read_to_string(list)?;
    let spec = specs.lines().nth(index).ok_or_else(|| user(format!("{} has no line {index}", list.display()), None))?;
    let result = run_spec(ctx, spec, &crate::env::now(), true);
    let dir = list.parent().unwrap_or(std::path::Path::new(".")).join("rc");
    std::fs::create_dir_all(&dir)?;
    let text = match &result {
        Ok(_) => "0\n".to_string(),
        Err(e) => format!("1\n{}\n", format!("{e:#}").replace('\n', " ")),
    };
    let tmp = dir.join(format!(".{index}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(index.to_string()))?;
    result.map(|_| ())
}
