//! Lockfiles: `lockfiles/<name>.json` pins a reproduction — what to run and the output digests it
//! must give. `reprise lock` writes one from a run; `reprise reproduce` runs each with the current code.

use crate::Registry;
use crate::error::RunnerError;
use crate::record::OutputEntry;
use crate::rerun::{OutputReport, compare_outputs, resolve_run};
use crate::run::Runner;
use crate::{provenance, spec::parse_digest};
use reprise_core::Params;
use reprise_store::{Digest, RefExpect};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub const LOCK_SCHEMA: &str = "reprise.lock/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockInput {
    pub digest: String,
    /// Relative to the repository root.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub run: String,
    pub commit: String,
    pub dirty: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub schema: String,
    pub name: String,
    pub experiment: String,
    pub version: u32,
    pub params: Params,
    pub seed: u64,
    pub inputs: BTreeMap<String, LockInput>,
    pub outputs: BTreeMap<String, OutputEntry>,
    pub recorded: Recorded,
}

impl Lock {
    /// Every object digest the lock names (kept by gc).
    pub fn digests(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self.outputs.values().filter_map(|o| Digest::parse(&o.digest)).collect();
        out.extend(self.inputs.values().filter_map(|i| Digest::parse(&i.digest)));
        out.extend(Digest::parse(&self.recorded.run));
        out
    }
}

/// The lockfile directory of a repository.
pub fn lock_dir(repo: &Path) -> PathBuf {
    repo.join("lockfiles")
}

/// Every `lockfiles/*.json`, sorted by file name.
pub fn read_locks(repo: &Path) -> Result<Vec<(PathBuf, Lock)>, RunnerError> {
    let dir = lock_dir(repo);
    let mut paths: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "json")).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(RunnerError::File { path: dir, why: e.to_string() }),
    };
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).map_err(|e| RunnerError::File { path: p.clone(), why: e.to_string() })?;
            let lock: Lock = serde_json::from_str(&text).map_err(|e| {
                RunnerError::User(format!("{} is not a lockfile ({e}): lockfiles/ holds only what `reprise lock` writes; move that file elsewhere", p.display()))
            })?;
            if lock.schema != LOCK_SCHEMA {
                return Err(RunnerError::File { path: p, why: format!("schema `{}`, expected `{LOCK_SCHEMA}`", lock.schema) });
            }
            Ok((p, lock))
        })
        .collect()
}

/// Result of reproducing one lock.
#[derive(Clone, Debug, Serialize)]
pub struct Reproduction {
    pub name: String,
    pub experiment: String,
    pub run: String,
    pub memoised: bool,
    pub outputs: Vec<OutputReport>,
}

impl Reproduction {
    pub fn passes(&self) -> bool {
        self.outputs.iter().all(|o| o.verdict.passes())
    }
}

impl Runner<'_> {
    /// Writes (or updates) `lockfiles/<name>.json` from a stored run; returns the path, the lock and
    /// the lock it replaced. A lock of another experiment, params, seed or inputs is replaced only
    /// with `force`.
    pub fn lock(&self, hash: &str, name: Option<&str>, force: bool) -> Result<(PathBuf, Lock, Option<Lock>), RunnerError> {
        let run = resolve_run(&self.store, hash)?;
        let name = name.map(str::to_owned).unwrap_or_else(|| run.spec.experiment.name.clone());
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c)) {
            return Err(RunnerError::User(format!("lock name `{name}` must be letters, digits, '.', '_' or '-'")));
        }
        let note = self.note(&run.record_digest)?;
        let mut inputs = BTreeMap::new();
        for (input, digest) in &run.spec.inputs {
            let path = note.as_ref().and_then(|n| n.input_paths.get(input)).ok_or_else(|| {
                RunnerError::User(format!(
                    "input `{input}` of run {} was not a file inside the repository, so a fresh clone could not find it; copy it under tests/data/, run again and lock that run",
                    run.record_digest.short(12)
                ))
            })?;
            inputs.insert(input.clone(), LockInput { digest: digest.clone(), path: path.clone() });
        }
        let lock = Lock {
            schema: LOCK_SCHEMA.into(),
            name: name.clone(),
            experiment: run.spec.experiment.name.clone(),
            version: run.spec.experiment.version,
            params: run.spec.params.clone(),
            seed: run.spec.seed.0,
            inputs,
            outputs: run.record.outputs.clone(),
            recorded: Recorded { run: run.record_digest.hex(), commit: run.spec.code.commit.clone(), dirty: run.spec.code.dirty },
        };
        let root = provenance::workdir(&self.env.repo)?;
        let dir = lock_dir(&root);
        let path = dir.join(format!("{name}.json"));
        let previous = read_locks(&root)?.into_iter().find(|(p, _)| *p == path).map(|(_, l)| l);
        if let Some(old) = &previous
            && !force
        {
            let differs = spec_differences(old, &lock);
            if !differs.is_empty() {
                return Err(RunnerError::User(format!(
                    "{} already pins another run of another spec; replacing it needs --force (or --name NEW for a second lock). What differs (lock → run {}):\n  {}",
                    path.display(),
                    run.record_digest.short(12),
                    differs.join("\n  ")
                )));
            }
        }
        fs::create_dir_all(&dir).map_err(|e| RunnerError::File { path: dir.clone(), why: e.to_string() })?;
        let mut text = serde_json::to_string_pretty(&reprise_core::canon::to_value(&lock)?).expect("a JSON value prints");
        text.push('\n');
        let tmp = dir.join(format!(".{name}.json.tmp"));
        fs::write(&tmp, text).and_then(|_| fs::rename(&tmp, &path)).map_err(|e| RunnerError::File { path: path.clone(), why: e.to_string() })?;
        Ok((path, lock, previous))
    }

    /// Runs a lock with the current code (memoised when this code already ran it) and compares
    /// the outputs with the pinned digests.
    pub fn reproduce(&self, lock: &Lock, registry: Registry, started: &str) -> Result<Reproduction, RunnerError> {
        let exp = registry(&lock.experiment).ok_or_else(|| RunnerError::UnknownExperiment {
            name: lock.experiment.clone(),
            known: "see `reprise experiments`".into(),
        })?;
        let params = Params::validate(&exp.params(), &lock.params)?;
        let root = provenance::workdir(&self.env.repo)?;
        let mut inputs = BTreeMap::new();
        let mut input_paths = BTreeMap::new();
        for (name, input) in &lock.inputs {
            let want = parse_digest(&input.digest, "input digest")?;
            let got = self.store.put_file(&root.join(&input.path))?;
            if got != want {
                return Err(RunnerError::User(format!(
                    "lock {}: input `{name}` ({}) has digest {}, the lock pins {}",
                    lock.name,
                    input.path,
                    got.short(12),
                    want.short(12)
                )));
            }
            inputs.insert(name.clone(), want.hex());
            input_paths.insert(name.clone(), input.path.clone());
        }
        let code = provenance::capture(&self.env.repo)?;
        let spec = self.spec_for(exp, params, lock.seed, inputs, &code)?;
        let spec_digest = self.store.put_bytes(&spec.canonical()?)?;
        let (record_digest, record, memoised) = match self.memo(&spec_digest)? {
            Some((d, r)) => (d, r, true),
            None => {
                let (d, r) = self.execute(exp, &spec, started, input_paths)?;
                self.store.update_ref(&format!("runs/{spec_digest}"), RefExpect::Any, Some(d))?;
                (d, r, false)
            }
        };
        Ok(Reproduction {
            name: lock.name.clone(),
            experiment: lock.experiment.clone(),
            run: record_digest.hex(),
            memoised,
            outputs: compare_outputs(&self.store, &lock.outputs, &record.outputs)?,
        })
    }
}

/// What makes two locks pin different specs (experiment, params, seed, inputs), one line each.
fn spec_differences(old: &Lock, new: &Lock) -> Vec<String> {
    let mut out = Vec::new();
    if old.experiment != new.experiment {
        out.push(format!("experiment: {} → {}", old.experiment, new.experiment));
    }
    if old.seed != new.seed {
        out.push(format!("seed: {} → {}", old.seed, new.seed));
    }
    let keys: std::collections::BTreeSet<&String> = old.params.0.keys().chain(new.params.0.keys()).collect();
    for k in keys {
        let (a, b) = (old.params.0.get(k), new.params.0.get(k));
        if a != b {
            let show = |v: Option<&reprise_core::ParamValue>| v.map_or("(none)".to_string(), |v| v.to_string());
            out.push(format!("param {k}: {} → {}", show(a), show(b)));
        }
    }
    let names: std::collections::BTreeSet<&String> = old.inputs.keys().chain(new.inputs.keys()).collect();
    for k in names {
        let (a, b) = (old.inputs.get(k).map(|i| &i.digest), new.inputs.get(k).map(|i| &i.digest));
        if a != b {
            let short = |d: Option<&String>| d.map_or("(none)".to_string(), |d| d[..12.min(d.len())].to_string());
            out.push(format!("input {k}: {} → {}", short(a), short(b)));
        }
    }
    out
}
