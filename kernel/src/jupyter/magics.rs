//! Reprise's magics: `:run`, `:rerun`, `:show`, `:runs`, `:experiments`, `:verify`, `:session`,
//! `:restore`, `:notebook`, `:help`. They drive the runner with the experiments compiled into the
//! binary, so they need no compilation. Other `:` lines (`:dep`, `:vars`, …) belong to evcxr.

use super::emit::{Bundle, Emit, text_bundle};
use super::engine::{Engine, Outcome};
use crate::render;
use reprise_core::Params;
use reprise_runner::rerun::{RerunOptions, resolve_run};
use reprise_runner::{RunRequest, Runner};
use reprise_store::Store;
use serde_json::json;
use std::path::PathBuf;

/// (name, usage, what it does)
const MAGICS: &[(&str, &str, &str)] = &[
    ("run", ":run EXPERIMENT [seed=N] [NAME=VALUE …] [--input NAME=PATH] [--force]", "run a compiled-in experiment; shows its outputs and summary, and returns the run hash (a spec that already ran is returned at once)"),
    ("rerun", ":rerun HASH|last", "run a stored run again and compare every output with the recorded one"),
    ("show", ":show HASH|last [OUTPUT]", "a run's spec, provenance and outputs, or one output's contents"),
    ("runs", ":runs [EXPERIMENT]", "the recorded runs, newest first"),
    ("experiments", ":experiments", "the experiments compiled into this kernel, with their parameters"),
    ("let", ":let NAME = HASH|last OUTPUT", "bind a run's text output (CSV, JSON, text) to the Rust variable NAME, a String, in this cell and later ones: to compare a pinned run with a fit made in a cell"),
    ("verify", ":verify", "rehash every object in the store"),
    ("session", ":session save | ls | replay HASH", "save this session's recorded cells (returns its hash), list saved sessions, or replay one in a fresh engine and compare outputs"),
    ("restore", ":restore", "after an interrupt or crash lost the Rust variables, replay this session's cells to rebuild them"),
    ("notebook", ":notebook NAME", "name this notebook: its :dep versions are pinned in lockfiles/notebooks/NAME.Cargo.lock"),
    ("help", ":help", "this list (evcxr's own commands, such as :dep and :vars, work too)"),
];

pub fn names() -> Vec<&'static str> {
    MAGICS.iter().map(|m| m.0).collect()
}

pub fn help_for(name: &str) -> Option<String> {
    MAGICS.iter().find(|m| m.0 == name).map(|m| format!("{}\n    {}", m.1, m.2))
}

fn help_text() -> String {
    let mut s = String::from("Reprise magics (one per line; the rest of the cell runs as Rust):\n\n");
    for (_, usage, what) in MAGICS {
        s.push_str(&format!("{usage}\n    {what}\n"));
    }
    s.push_str("\nParameters parse exactly as on the command line (`reprise run EXPERIMENT -p NAME=VALUE`).\n");
    s.push_str("In Rust cells: reprise_display(mime, data), reprise_update_display(id, mime, data), reprise_clear_output(wait).\n");
    s
}

/// Splits a cell into Reprise magic lines and everything else (Rust, and evcxr's own commands).
pub fn split(code: &str) -> (Vec<String>, String) {
    let mut magics = Vec::new();
    let mut rest = String::new();
    for line in code.lines() {
        let t = line.trim_start();
        let name = t.strip_prefix(':').and_then(|r| r.split_whitespace().next()).unwrap_or("");
        if t.starts_with(':') && names().contains(&name) {
            magics.push(t.to_string());
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    (magics, rest)
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

fn err(ename: &str, e: impl std::fmt::Display) -> Box<Outcome> {
    Box::new(Outcome::error(ename, &e.to_string(), vec![]))
}

fn runner(engine: &Engine) -> Result<Runner<'static>, Box<Outcome>> {
    let store = Store::init(&engine.cfg.store).map_err(|e| err("StoreError", e))?;
    Ok(Runner { store, env: crate::env::environment(engine.cfg.repo.clone()), progress: &reprise_core::NoProgress })
}

fn hash_result(hash: &str) -> Option<Bundle> {
    Some(text_bundle(hash.to_string(), None))
}

/// Runs one magic line.
pub fn run(line: &str, engine: &mut Engine, out: &dyn Emit) -> Outcome {
    let name = line.trim_start_matches(':').split_whitespace().next().unwrap_or("");
    let args = words(line);
    let r = match name {
        "run" => run_magic(engine, &args, out),
        "rerun" => rerun(engine, &args, out),
        "show" => show(engine, &args, out),
        "runs" => runs(engine, &args, out),
        "experiments" => {
            let rows: Vec<Vec<String>> = reprise_experiments::all()
                .iter()
                .flat_map(|e| {
                    e.params().into_iter().map(move |p| {
                        vec![e.name().to_string(), p.name.to_string(), p.kind.type_name().into(), p.default.to_string(), p.kind.range(), p.doc.to_string()]
                    })
                })
                .collect();
            let header = ["experiment", "param", "type", "default", "range", "meaning"];
            out.display(text_bundle(render::table(&header, &rows), Some(render::html_table(&header, &rows))), None, false);
            Ok(Outcome::ok(None))
        }
        "verify" => verify(engine),
        "let" => Err(err("UsageError", "`:let` binds a Rust variable, so it runs in a Rust cell (this reprise has no Rust cells, or the line was not at a cell's start)")),
        "session" => session(engine, &args, out),
        "restore" => restore(engine, out),
        "notebook" => match args.first() {
            Some(n) => {
                engine.session.notebook = Some(n.clone());
                #[cfg(feature = "notebook")]
                engine.rust.pin_notebook(&engine.cfg.repo, n);
                Ok(Outcome::ok(Some(text_bundle(format!("notebook `{n}`: dependencies pinned in lockfiles/notebooks/{n}.Cargo.lock"), None))))
            }
            None => Err(err("UsageError", "usage: :notebook NAME")),
        },
        "help" => {
            let mut o = Outcome::ok(None);
            o.payload.push(json!({ "source": "page", "data": { "text/plain": help_text() }, "start": 0 }));
            Ok(o)
        }
        other => Err(err("UsageError", format!("unknown magic :{other} (see :help)"))),
    };
    r.unwrap_or_else(|o| *o)
}

fn run_magic(engine: &mut Engine, args: &[String], out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let usage = || err("UsageError", help_for("run").unwrap());
    let exp_name = args.first().ok_or_else(usage)?;
    let exp = reprise_experiments::find(exp_name).ok_or_else(|| {
        let known: Vec<&str> = reprise_experiments::all().iter().map(|e| e.name()).collect();
        err("UnknownExperiment", format!("unknown experiment `{exp_name}` (known: {})", known.join(", ")))
    })?;
    let (mut seed, mut force, mut params, mut inputs) = (0u64, false, Vec::new(), Vec::new());
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        if a == "--force" || a == "force" {
            force = true;
        } else if a == "--input" {
            let spec = it.next().ok_or_else(usage)?;
            let (n, p) = spec.split_once('=').ok_or_else(usage)?;
            inputs.push((n.to_string(), PathBuf::from(p)));
        } else if let Some(s) = a.strip_prefix("seed=") {
            seed = s.parse().map_err(|_| err("ParamError", format!("seed `{s}` is not a non-negative integer")))?;
        } else {
            params.push(a.clone());
        }
    }
    Params::from_args(&exp.params(), &params).map_err(|e| err("ParamError", format!("{}: {e}", exp.name())))?;
    let runner = runner(engine)?;
    let req = RunRequest { params, seed, inputs, force, started: crate::env::now() };
    let o = runner.run(exp, &req).map_err(|e| err("RunError", e))?;
    let title = format!(
        "{} seed={} {}{}",
        o.spec.experiment.name,
        o.spec.seed,
        render::params(&o.spec.params),
        if o.memoised { " (memoised)" } else { "" }
    );
    let rows = render::output_rows(&o.record.outputs);
    let summary = render::summary(&runner.store, &o.record.outputs);
    let mut html = format!("<p><b>{}</b></p>{}", render::escape_html(&title), render::html_table(&render::OUTPUT_HEADER, &rows));
    if let Some(v) = &summary {
        html.push_str(&render::html_table(&["summary", "value"], &render::summary_rows(v)));
    }
    html.push_str(&format!("<p>run <code>{}</code></p>", o.record_digest));
    let plain = format!("{title}\n{}\nrun {}", render::outputs(&runner.store, &o.record.outputs), o.record_digest);
    out.display(text_bundle(plain, Some(html)), None, false);
    // the run's figures, drawn in the cell
    for entry in o.record.outputs.values().filter(|e| [reprise_core::MediaType::PLOTLY, reprise_core::MediaType::SVG].contains(&e.media_type.as_str())) {
        if let Ok(bytes) = entry.digest().map_err(|e| e.to_string()).and_then(|d| runner.store.read_verified(&d).map_err(|e| e.to_string())) {
            out.display(output_bundle(&entry.media_type, &bytes), None, false);
        }
    }
    engine.last_run = Some(o.record_digest.hex());
    Ok(Outcome::ok(hash_result(&o.record_digest.hex())))
}

/// The hash argument, with `last` standing for this session's latest `:run`.
fn hash_arg(engine: &Engine, args: &[String], magic: &str) -> Result<String, Box<Outcome>> {
    match args.first().map(String::as_str) {
        Some("last") => engine.last_run.clone().ok_or_else(|| err("UsageError", "no :run in this session yet, so `last` names nothing")),
        Some(h) => Ok(h.to_string()),
        None => Err(err("UsageError", help_for(magic).unwrap())),
    }
}

fn rerun(engine: &Engine, args: &[String], out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let hash = &hash_arg(engine, args, "rerun")?;
    let runner = runner(engine)?;
    let opts = RerunOptions { target_dir: runner.store.cache_dir().join("target"), show_build_output: false, started: crate::env::now() };
    let rep = runner.rerun(hash, &crate::cmd::registry, &opts).map_err(|e| err("RerunError", e))?;
    let mut text = format!("rerun of {} ({}) with the {}\n", &rep.record[..12], rep.experiment, rep.ran_with);
    text.push_str(&render::output_reports(&rep.outputs));
    text.push_str(&render::environment(&rep.environment));
    let verdict = if rep.passes() { "reproduced: every output passes its rule" } else { "NOT reproduced" };
    text.push_str(verdict);
    out.display(text_bundle(text.clone(), Some(format!("<pre>{}</pre>", render::escape_html(&text)))), None, false);
    if rep.passes() { Ok(Outcome::ok(hash_result(&rep.new_record))) } else { Err(err("NotReproduced", format!("run {} did not reproduce", &rep.record[..12]))) }
}

/// The largest output `:let` binds: its text becomes a string literal the compiler reads.
const LET_MAX_BYTES: usize = 1 << 20;

/// `:let NAME = HASH|last OUTPUT`: the Rust statement that binds the output's text to `NAME`.
pub fn let_binding(line: &str, engine: &Engine) -> Result<String, Box<Outcome>> {
    let usage = || err("UsageError", help_for("let").unwrap());
    let args = words(line);
    let [name, eq, _, output] = args.as_slice() else { return Err(usage()) };
    if eq != "=" {
        return Err(usage());
    }
    let ident = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !ident {
        return Err(err("UsageError", format!("`{name}` is not a Rust variable name")));
    }
    let hash = hash_arg(engine, &args[2..], "let")?;
    let runner = runner(engine)?;
    let run = resolve_run(&runner.store, &hash).map_err(|e| err("LookupError", e))?;
    let entry = run.record.outputs.get(output).ok_or_else(|| {
        err("LookupError", format!("run {} has no output `{output}` (it has: {})", run.record_digest.short(12), run.record.outputs.keys().cloned().collect::<Vec<_>>().join(", ")))
    })?;
    let bytes = runner.store.read_verified(&entry.digest().map_err(|e| err("LookupError", e))?).map_err(|e| err("StoreError", e))?;
    if bytes.len() > LET_MAX_BYTES {
        return Err(err("UsageError", format!("output `{output}` has {} bytes; `:let` binds text outputs up to 1 MiB (`reprise show {} {output}` prints it)", bytes.len(), run.record_digest.short(12))));
    }
    let text = String::from_utf8(bytes).map_err(|_| err("UsageError", format!("output `{output}` ({}) is not text; `:let` binds text outputs (CSV, JSON, text)", entry.media_type)))?;
    Ok(format!("let {name}: String = String::from({text:?});"))
}

fn show(engine: &Engine, args: &[String], out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let hash = &hash_arg(engine, args, "show")?;
    let runner = runner(engine)?;
    let run = resolve_run(&runner.store, hash).map_err(|e| err("LookupError", e))?;
    if let Some(name) = args.get(1) {
        let entry = run.record.outputs.get(name).ok_or_else(|| {
            err("LookupError", format!("run {} has no output `{name}` (it has: {})", run.record_digest.short(12), run.record.outputs.keys().cloned().collect::<Vec<_>>().join(", ")))
        })?;
        let bytes = runner.store.read_verified(&entry.digest().map_err(|e| err("LookupError", e))?).map_err(|e| err("StoreError", e))?;
        out.display(output_bundle(&entry.media_type, &bytes), None, false);
        return Ok(Outcome::ok(None));
    }
    let note = runner.note(&run.record_digest).map_err(|e| err("StoreError", e))?;
    let text = render::run_text(&run, note.as_ref(), &runner.store);
    out.display(text_bundle(text.clone(), Some(format!("<pre>{}</pre>", render::escape_html(&text)))), None, false);
    Ok(Outcome::ok(None))
}

/// How an output file displays: JSON as JSON, CSV as a table, SVG as an image, arrays by shape,
/// text as text.
fn output_bundle(media_type: &str, bytes: &[u8]) -> Bundle {
    use reprise_core::MediaType;
    match media_type {
        MediaType::JSON | MediaType::PLOTLY => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => {
                let mut b = text_bundle(serde_json::to_string_pretty(&v).unwrap_or_default(), None);
                // frontends without a Plotly renderer show the static drawing instead
                if let Some(svg) = (media_type == MediaType::PLOTLY).then(|| crate::figure::svg(&v)).flatten() {
                    b.insert(MediaType::SVG.into(), serde_json::Value::String(svg));
                }
                b.insert(media_type.into(), v);
                b
            }
            Err(_) => text_bundle(String::from_utf8_lossy(bytes).into_owned(), None),
        },
        MediaType::CSV => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
            let header: Vec<String> = rdr.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = rdr.records().take(200).filter_map(Result::ok).map(|r| r.iter().map(str::to_owned).collect()).collect();
            text_bundle(text.clone(), Some(render::html_table(&header, &rows)))
        }
        MediaType::SVG => {
            let mut b = text_bundle(format!("[SVG image, {} bytes]", bytes.len()), None);
            b.insert(media_type.into(), serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()));
            b
        }
        MediaType::NPY => match reprise_core::npy::decode(bytes) {
            Ok(a) => {
                let head: Vec<String> = (0..a.len().min(12)).map(|i| format!("{}", a.get_f64(i))).collect();
                text_bundle(format!("array {} shape {:?}: [{}{}]", a.dtype.descr(), a.shape, head.join(", "), if a.len() > 12 { ", …" } else { "" }), None)
            }
            Err(e) => text_bundle(e.to_string(), None),
        },
        _ => text_bundle(String::from_utf8_lossy(bytes).into_owned(), None),
    }
}

fn runs(engine: &Engine, args: &[String], out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let runner = runner(engine)?;
    let mut rows = Vec::new();
    for (spec_d, rec_d) in runner.runs().map_err(|e| err("StoreError", e))? {
        let Ok(bytes) = runner.store.read(&spec_d) else { continue };
        let Ok(spec) = reprise_runner::RunSpec::parse(&bytes) else { continue };
        if args.first().is_some_and(|e| *e != spec.experiment.name) {
            continue;
        }
        let started = runner.note(&rec_d).ok().flatten().map(|n| n.started).unwrap_or_default();
        rows.push(vec![started, rec_d.short(12), spec.experiment.name.clone(), spec.seed.to_string(), render::params(&spec.params)]);
    }
    rows.sort_by(|a, b| b[0].cmp(&a[0]).then(a[1].cmp(&b[1])));
    let header = ["started", "run", "experiment", "seed", "params"];
    out.display(text_bundle(render::table(&header, &rows), Some(render::html_table(&header, &rows))), None, false);
    Ok(Outcome::ok(None))
}

fn verify(engine: &Engine) -> Result<Outcome, Box<Outcome>> {
    let runner = runner(engine)?;
    let expected = reprise_runner::gcroots::expected_objects(&runner.store).map_err(|e| err("StoreError", e))?;
    let r = runner.store.verify(&expected, &()).map_err(|e| err("StoreError", e))?;
    let text = format!("checked {} objects ({}): {} corrupt, {} missing", r.checked, render::size(r.bytes), r.corrupt.len(), r.missing.len());
    if r.ok() { Ok(Outcome::ok(Some(text_bundle(text, None)))) } else { Err(err("StoreCorrupt", text)) }
}

fn session(engine: &mut Engine, args: &[String], out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let store = Store::init(&engine.cfg.store).map_err(|e| err("StoreError", e))?;
    match args.first().map(String::as_str) {
        Some("save") => {
            #[cfg(feature = "notebook")]
            {
                engine.session.deps_lock = engine.rust.cargo_lock();
            }
            let d = engine.session.save(&store, &engine.cfg.repo).map_err(|e| err("StoreError", e))?;
            Ok(Outcome::ok(hash_result(&d.hex())))
        }
        Some("ls") => {
            let rows: Vec<Vec<String>> = store
                .list_refs("sessions")
                .map_err(|e| err("StoreError", e))?
                .into_iter()
                .map(|(name, d)| vec![d.short(12), name.trim_start_matches("sessions/").to_string()])
                .collect();
            out.display(text_bundle(render::table(&["session", "name"], &rows), Some(render::html_table(&["session", "name"], &rows))), None, false);
            Ok(Outcome::ok(None))
        }
        Some("replay") => {
            let hash = args.get(1).ok_or_else(|| err("UsageError", help_for("session").unwrap()))?;
            let report = super::session::replay(&store, hash, &engine.cfg).map_err(|e| err("ReplayError", e))?;
            let text = report.text();
            out.display(text_bundle(text.clone(), Some(format!("<pre>{}</pre>", render::escape_html(&text)))), None, false);
            if report.passes() { Ok(Outcome::ok(None)) } else { Err(err("NotReproduced", "the replayed session's outputs differ")) }
        }
        _ => Err(err("UsageError", help_for("session").unwrap())),
    }
}

fn restore(engine: &mut Engine, out: &dyn Emit) -> Result<Outcome, Box<Outcome>> {
    let cells: Vec<String> = engine.session.cells.iter().filter(|c| c.status == "ok").map(|c| split(&c.source).1).filter(|r| !r.trim().is_empty()).collect();
    let quiet = super::emit::Recorder::new(std::sync::Arc::new(super::emit::Nowhere));
    let mut failed = Vec::new();
    for (i, code) in cells.iter().enumerate() {
        if engine.rust_cell(code, quiet.clone()).status != super::engine::Status::Ok {
            failed.push(i + 1);
        }
    }
    let text = format!("replayed {} recorded Rust cells{}", cells.len(), if failed.is_empty() { String::new() } else { format!("; cells {failed:?} failed again") });
    out.stream("stdout", &format!("{text}\n"));
    Ok(Outcome::ok(None))
}
