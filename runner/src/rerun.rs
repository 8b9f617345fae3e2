//! `rerun <hash>`: resolve a record (or spec), run its spec again — in this binary when the code is
//! the pinned commit, else in a binary built at that commit in a worktree — and compare every
//! output under its rule, with the two environments side by side where they differ.

use crate::Registry;
use crate::compare::{self, Detail, Verdict};
use crate::error::RunnerError;
use crate::provenance;
use crate::record::{OutputEntry, RECORD_SCHEMA, RunRecord};
use crate::run::Runner;
use crate::spec::{RunSpec, SPEC_SCHEMA};
use reprise_store::{Digest, RefExpect, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a pinned commit is built.
#[derive(Clone, Debug)]
pub struct RerunOptions {
    /// The target dir shared by every pinned build (kept apart from the user's own `target/`).
    pub target_dir: PathBuf,
    /// Let cargo's progress through to the terminal.
    pub show_build_output: bool,
    pub started: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputReport {
    pub name: String,
    pub media_type: String,
    pub rule: String,
    pub recorded: String,
    pub new: Option<String>,
    pub verdict: Verdict,
    pub detail: Detail,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EnvDiff {
    pub field: String,
    pub recorded: String,
    pub current: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct RerunReport {
    pub record: String,
    pub spec: String,
    pub experiment: String,
    pub commit: String,
    pub dirty: bool,
    /// `current binary`, or `built at <commit>`.
    pub ran_with: String,
    pub new_record: String,
    pub outputs: Vec<OutputReport>,
    pub environment: Vec<EnvDiff>,
}

impl RerunReport {
    pub fn passes(&self) -> bool {
        self.outputs.iter().all(|o| o.verdict.passes())
    }
}

/// A stored run: its record and spec.
pub struct ResolvedRun {
    pub record_digest: Digest,
    pub record: RunRecord,
    pub spec_digest: Digest,
    pub spec: RunSpec,
}

/// Resolves a run hash (or a spec digest), full or a unique prefix.
pub fn resolve_run(store: &Store, hash: &str) -> Result<ResolvedRun, RunnerError> {
    let d = store.resolve(hash)?;
    let bytes = store.read_verified(&d)?;
    let schema = crate::gcroots::schema_of(&bytes);
    let (record_digest, record) = match schema.as_deref() {
        Some(RECORD_SCHEMA) => (d, RunRecord::parse(&bytes)?),
        Some(SPEC_SCHEMA) => {
            let rec = store.read_ref(&format!("runs/{d}"))?.ok_or_else(|| {
                RunnerError::User(format!("spec {} has never been run into this store, so there is nothing to compare with", d.short(12)))
            })?;
            (rec, RunRecord::parse(&store.read_verified(&rec)?)?)
        }
        _ => return Err(RunnerError::NotARun(d.short(12))),
    };
    let spec_digest = record.spec_digest()?;
    let spec_bytes = store.read_verified(&spec_digest).map_err(|e| match e {
        StoreError::NotFound(_) => RunnerError::User(format!(
            "run {}: its spec {spec_digest} is not in this store; `reprise verify` lists what is missing — import the bundle again or pull the run from a remote that has it",
            record_digest.short(12)
        )),
        e => e.into(),
    })?;
    let spec = RunSpec::parse(&spec_bytes)?;
    Ok(ResolvedRun { record_digest, record, spec_digest, spec })
}

/// Compares recorded outputs with new ones, output by output, in name order.
pub fn compare_outputs(
    store: &Store,
    recorded: &BTreeMap<String, OutputEntry>,
    new: &BTreeMap<String, OutputEntry>,
) -> Result<Vec<OutputReport>, RunnerError> {
    let mut names: Vec<&String> = recorded.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let (r, n) = (recorded.get(name), new.get(name));
        let entry = r.or(n).unwrap();
        let (verdict, detail) = match (r, n) {
            (Some(r), Some(n)) if r.digest == n.digest => (Verdict::Identical, Detail::None),
            (Some(r), Some(n)) => match (store.read(&r.digest()?), store.read(&n.digest()?)) {
                (Ok(a), Ok(b)) => compare::compare(&r.media_type, r.rule, &a, &b),
                (Err(StoreError::NotFound(_)), _) => (
                    Verdict::Different,
                    Detail::Unreadable { why: "the recorded bytes are not in this store, so only the digests can be compared".into() },
                ),
                (Err(e), _) | (_, Err(e)) => return Err(e.into()),
            },
            (Some(_), None) => (Verdict::Missing, Detail::None),
            (None, _) => (Verdict::Unexpected, Detail::None),
        };
        out.push(OutputReport {
            name: name.clone(),
            media_type: entry.media_type.clone(),
            rule: entry.rule.to_string(),
            recorded: r.map(|e| e.digest.clone()).unwrap_or_default(),
            new: n.map(|e| e.digest.clone()),
            verdict,
            detail,
        });
    }
    Ok(out)
}

impl Runner<'_> {
    /// Reruns a stored run and reports how its outputs compare.
    pub fn rerun(&self, hash: &str, registry: Registry, opts: &RerunOptions) -> Result<RerunReport, RunnerError> {
        let run = resolve_run(&self.store, hash)?;
        let spec = &run.spec;
        let current = provenance::capture(&self.env.repo)?;
        let same_code = current.commit == spec.code.commit && current.diff_digest().map(|d| d.hex()) == spec.code.diff;
        let note = self.note(&run.record_digest)?;
        let (new_record, ran_with, current_env) = if same_code {
            let exp = registry(&spec.experiment.name).ok_or_else(|| RunnerError::UnknownExperiment {
                name: spec.experiment.name.clone(),
                known: "see `reprise experiments`".into(),
            })?;
            let paths = note.as_ref().map(|n| n.input_paths.clone()).unwrap_or_default();
            let (d, _) = self.execute(exp, spec, &opts.started, paths)?;
            let env = self.env.comparable().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            (d, "current binary".to_string(), env)
        } else {
            let bin = self.pinned_binary(spec, opts)?;
            let (d, env) = self.run_in_child(&bin, &run.spec_digest, spec, &opts.started)?;
            (d, format!("built at {}", &spec.code.commit[..12.min(spec.code.commit.len())]), env)
        };
        let new = RunRecord::parse(&self.store.read_verified(&new_record)?)?;
        if new_record != run.record_digest {
            // The report prints it: kept (the latest rerun of each record) until removed on purpose.
            self.store.update_ref(&format!("reruns/{}", run.record_digest.hex()), RefExpect::Any, Some(new_record))?;
        }
        let outputs = compare_outputs(&self.store, &run.record.outputs, &new.outputs)?;
        let mut recorded_env: BTreeMap<String, String> = BTreeMap::new();
        recorded_env.insert("toolchain".into(), spec.toolchain.trim().to_string());
        recorded_env.insert("target".into(), spec.target.clone());
        recorded_env.insert("features".into(), spec.features.join(","));
        recorded_env.insert("backend".into(), spec.backend.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
        if let Some(n) = &note {
            recorded_env.insert("threads".into(), n.threads.to_string());
            recorded_env.insert("cpu_features".into(), n.cpu_features.join(","));
        }
        let environment = current_env
            .into_iter()
            .filter_map(|(field, cur)| {
                let rec = recorded_env.get(&field)?;
                (rec != &cur).then(|| EnvDiff { field, recorded: rec.clone(), current: cur })
            })
            .collect();
        Ok(RerunReport {
            record: run.record_digest.hex(),
            spec: run.spec_digest.hex(),
            experiment: spec.experiment.name.clone(),
            commit: spec.code.commit.clone(),
            dirty: spec.code.dirty,
            ran_with,
            new_record: new_record.hex(),
            outputs,
            environment,
        })
    }

    /// The `reprise` binary built at the spec's commit (and diff), building it if not cached.
    fn pinned_binary(&self, spec: &RunSpec, opts: &RerunOptions) -> Result<PathBuf, RunnerError> {
        let commit = &spec.code.commit;
        let key = match &spec.code.diff {
            Some(d) => format!("{}-{}", &commit[..12], &d[..12]),
            None => commit[..12].to_string(),
        };
        let cache = self.store.cache_dir();
        let bin = cache.join("bin").join(&key).join("reprise");
        if bin.is_file() {
            return Ok(bin);
        }
        let wt = cache.join("worktrees").join(&key);
        let diff = spec.diff_digest()?.map(|d| self.store.read_verified(&d)).transpose()?;
        provenance::checkout_worktree(&self.env.repo, commit, diff.as_deref(), &wt)?;
        let built = build(&wt, &opts.target_dir, opts.show_build_output, commit, &spec.features)?;
        let dir = bin.parent().unwrap();
        let file_err = |e: std::io::Error| RunnerError::File { path: dir.to_path_buf(), why: e.to_string() };
        std::fs::create_dir_all(dir).map_err(file_err)?;
        let tmp = dir.join("reprise.tmp");
        std::fs::copy(&built, &tmp).map_err(file_err)?;
        std::fs::rename(&tmp, &bin).map_err(file_err)?;
        Ok(bin)
    }

    /// Runs the spec with another `reprise` binary against the same store.
    fn run_in_child(
        &self,
        bin: &Path,
        spec_digest: &Digest,
        spec: &RunSpec,
        started: &str,
    ) -> Result<(Digest, Vec<(String, String)>), RunnerError> {
        let store_root = self.store.root().canonicalize().unwrap_or_else(|_| self.store.root().to_path_buf());
        let out = Command::new(bin)
            .arg("--store")
            .arg(&store_root)
            .args(["internal", "run-spec", &spec_digest.hex(), "--started", started])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| RunnerError::Child { commit: spec.code.commit.clone(), why: format!("starting {}: {e}", bin.display()) })?;
        let child_err = |why: String| RunnerError::Child { commit: spec.code.commit.clone(), why };
        if !out.status.success() {
            return Err(child_err(format!("{} ({})", out.status, String::from_utf8_lossy(&out.stdout).trim())));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| child_err(format!("unreadable answer ({e}): {}", String::from_utf8_lossy(&out.stdout))))?;
        let record = v["record"].as_str().and_then(Digest::parse).ok_or_else(|| child_err("answer lacks `record`".into()))?;
        let env = v["environment"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        Ok((record, env))
    }
}

/// `cargo build --locked --release` of the `reprise` binary in `dir`, into `target_dir`, with the
/// features the spec recorded and no others (default features such as the notebook engine do not
/// change results, and cost a long build).
fn build(dir: &Path, target_dir: &Path, show: bool, commit: &str, features: &[String]) -> Result<PathBuf, RunnerError> {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--locked", "--release", "-p", "reprise-kernel", "--bin", "reprise", "--no-default-features"]);
    if !features.is_empty() {
        cmd.arg("--features").arg(features.join(","));
    }
    cmd
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if show { Stdio::inherit() } else { Stdio::piped() });
    let out = cmd.output().map_err(|e| RunnerError::Build { commit: commit.into(), why: format!("starting cargo: {e}") })?;
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(RunnerError::Build { commit: commit.into(), why: format!("cargo exited with {}\n{}", out.status, tail.join("\n")) });
    }
    Ok(target_dir.join("release").join("reprise"))
}
