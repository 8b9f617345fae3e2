//! `reprise remote add | ls | rm | push | pull`: runs shared through a folder or an S3 bucket
//! that every member of a lab points at.

use super::{Ctx, print_json};
use crate::cli::{RemoteCommand, TransferArgs};
use crate::error::user;
use crate::render;
use reprise_runner::remote::{self, RemoteReport};
use reprise_store::remote::{Remote, RemoteConfig, RemoteOptions, RemoteUrl};

fn connect(ctx: &Ctx, name: &str, t: &TransferArgs, create: bool) -> anyhow::Result<(reprise_store::Store, Remote)> {
    let store = ctx.store_for_write()?;
    let cfg = store.remote_config(name)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let opts = RemoteOptions {
        jobs: t.jobs,
        retries: t.retries,
        access_key: env("AWS_ACCESS_KEY_ID"),
        secret_key: env("AWS_SECRET_ACCESS_KEY"),
        session_token: env("AWS_SESSION_TOKEN"),
        region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
        endpoint: env("AWS_ENDPOINT_URL"),
        create,
    };
    let r = Remote::connect(&cfg, opts)?;
    Ok((store, r))
}

fn print(ctx: &Ctx, verb: &str, r: &RemoteReport) {
    if ctx.json {
        print_json(r);
        return;
    }
    for run in &r.runs {
        println!("{}  {:<24} commit {}", run.record, run.experiment, &run.commit[..12.min(run.commit.len())]);
    }
    print!("{}", render::roots(&r.roots));
    let (moved, there) = if verb == "pushed" { ("sent", "the remote had") } else { ("received", "the store had") };
    println!(
        "{verb} {} run(s){} {} `{}`: {} object(s) {moved} ({}), {} {there} already",
        r.runs.len(),
        render::roots_tally(&r.roots),
        if verb == "pushed" { "to" } else { "from" },
        r.remote,
        r.moved,
        render::size(r.bytes),
        r.present
    );
    for rec in &r.kept_existing {
        println!("note: the store already records another run of the spec of {}; kept that one as the memo", &rec[..12]);
    }
    if verb == "pulled"
        && let Some(first) = r.roots.first().or(r.runs.first().map(|r| &r.record))
    {
        println!("next: reprise rerun {}", &first[..12]);
    }
}

pub fn remote(ctx: &Ctx, c: RemoteCommand) -> anyhow::Result<()> {
    match c {
        RemoteCommand::Add { name, url, endpoint, region, create } => {
            let store = ctx.store_for_write()?;
            let cfg = RemoteConfig { name, url: RemoteUrl::parse(&url)?, endpoint, region };
            store.add_remote(&cfg)?;
            if let RemoteUrl::File(dir) = &cfg.url
                && !dir.is_dir()
            {
                if create {
                    std::fs::create_dir_all(dir).map_err(|e| user(format!("cannot create {}: {e}", dir.display()), None))?;
                } else {
                    eprintln!(
                        "note: the folder {} does not exist yet (is the share mounted?); nothing will create it silently: `reprise remote push {} --create` makes it on the first push",
                        dir.display(),
                        cfg.name
                    );
                }
            }
            if !ctx.quiet {
                println!("added remote `{}` at {}; next: reprise remote push {}", cfg.name, cfg.url, cfg.name);
            }
        }
        RemoteCommand::Rm { name } => {
            let cfg = ctx.store_for_write()?.remove_remote(&name)?;
            if !ctx.quiet {
                println!("forgot remote `{name}` ({}); its contents were not touched", cfg.url);
            }
        }
        RemoteCommand::Ls { name: None } => {
            let remotes = ctx.store_for_write()?.remotes()?;
            if ctx.json {
                let v: Vec<_> = remotes.iter().map(|r| serde_json::json!({"name": r.name, "url": r.url.to_string(), "endpoint": r.endpoint, "region": r.region})).collect();
                print_json(&v);
            } else if remotes.is_empty() {
                println!("no remotes; add one with `reprise remote add NAME URL`");
            }
            for r in remotes.iter().filter(|_| !ctx.json) {
                println!("{:<12} {}{}", r.name, r.url, r.endpoint.as_deref().map(|e| format!("  (endpoint {e})")).unwrap_or_default());
            }
        }
        RemoteCommand::Ls { name: Some(name) } => {
            let (_, r) = connect(ctx, &name, &TransferArgs { jobs: 1, retries: 3 }, false)?;
            let runs = remote::list(&r)?;
            if ctx.json {
                print_json(&runs);
            } else {
                for run in &runs {
                    println!("{}  {:<24} commit {}", run.record, run.experiment, &run.commit[..12.min(run.commit.len())]);
                }
                let roots = remote::list_roots(&r)?;
                print!("{}", render::roots(&roots));
                println!("{} run(s), {} sweep(s) and {} session(s) on `{name}`", runs.len(), roots.sweeps.len(), roots.sessions.len());
            }
        }
        RemoteCommand::Push { name, hashes, create, transfer } => {
            let (store, r) = connect(ctx, &name, &transfer, create)?;
            let rep = remote::push(&store, &ctx.repo, &r, &hashes, &ctx.bar)?;
            ctx.bar.done();
            print(ctx, "pushed", &rep);
        }
        RemoteCommand::Pull { name, hashes, transfer } => {
            let (store, r) = connect(ctx, &name, &transfer, false)?;
            let rep = remote::pull(&store, &ctx.repo, &r, &hashes, &ctx.bar)?;
            ctx.bar.done();
            print(ctx, "pulled", &rep);
        }
    }
    Ok(())
}
