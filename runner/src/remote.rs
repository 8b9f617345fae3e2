//! Runs on a remote store: `push` sends each run's closure and a git bundle of its commit, then
//! a manifest `runs/<record>.json` (written last, so a listed run is a complete one), and for a
//! sweep or a session a manifest `roots/<digest>.json` after its runs; `pull` reads manifests,
//! receives every object verified, checks each run and root, then imports commits and sets refs.

use crate::bundle::{BundledRun, git_bundle, import_commits, record_memos};
use crate::roots::{self, Roots};
use crate::error::RunnerError;
use crate::{RunRecord, RunSpec};
use reprise_store::remote::{Remote, RemoteError, Transfer};
use reprise_store::{Digest, Progress, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `format` field of a run manifest.
pub const MANIFEST_FORMAT: &str = "reprise-remote-run 1";

/// `runs/<record>.json` on a remote: one run and every object it needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub format: String,
    pub run: BundledRun,
    /// Record, spec, outputs, inputs and diff, sorted.
    pub objects: Vec<String>,
    /// The git bundle (an object too) holding the history of `run.commit`.
    pub git: String,
}

/// The `format` field of a sweep's or session's manifest.
pub const ROOT_MANIFEST_FORMAT: &str = "reprise-remote-root 1";

/// `roots/<digest>.json` on a remote: one sweep (with its aggregate) or session, the runs it
/// needs (each has its own run manifest) and every other object it reaches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootManifest {
    pub format: String,
    pub roots: Roots,
    pub runs: Vec<String>,
    pub objects: Vec<String>,
}

/// What a push or pull did.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteReport {
    pub remote: String,
    pub runs: Vec<BundledRun>,
    /// Sweeps and sessions moved with their runs.
    pub roots: Roots,
    /// Objects moved, and those the other side already had.
    pub moved: usize,
    pub present: usize,
    pub bytes: u64,
    /// Runs whose manifest was new on the remote (push) or whose memo the pull set.
    pub new_runs: usize,
    /// Pull: runs whose spec already had another record in the store (that one was kept).
    pub kept_existing: Vec<String>,
}

fn remote_err(e: RemoteError) -> RunnerError {
    match e {
        RemoteError::Store(s) => RunnerError::Store(s),
        other => RunnerError::User(other.to_string()),
    }
}

fn manifest_name(record_hex: &str) -> String {
    format!("runs/{record_hex}.json")
}

/// Pushes the runs, sweeps and sessions `hashes` names (every run, sweep and session the store
/// keeps when empty).
pub fn push(store: &Store, repo: &Path, remote: &Remote, hashes: &[String], progress: &dyn Progress) -> Result<RemoteReport, RunnerError> {
    let hashes: Vec<String> = if hashes.is_empty() {
        let mut all: Vec<String> = store.list_refs("runs")?.into_iter().map(|(_, d)| d.hex()).collect();
        all.extend(store.list_refs("sweeps")?.into_iter().chain(store.list_refs("sessions")?).map(|(_, d)| d.hex()));
        all
    } else {
        hashes.to_vec()
    };
    if hashes.is_empty() {
        return Err(RunnerError::User("the store has no runs to push; name run hashes, or run something first".into()));
    }
    let mut items: Vec<(BundledRun, BTreeSet<Digest>)> = Vec::new();
    let mut root_manifests: Vec<(RootManifest, BTreeSet<Digest>)> = Vec::new();
    for h in &hashes {
        let shared = roots::resolve(store, h)?;
        if !shared.roots.is_empty() {
            let runs = shared.runs.iter().map(|(r, _)| r.record.clone()).collect();
            let objects = shared.objects.iter().map(Digest::hex).collect();
            root_manifests.push((RootManifest { format: ROOT_MANIFEST_FORMAT.into(), roots: shared.roots, runs, objects }, shared.objects));
        }
        items.extend(shared.runs);
    }
    let git_repo = crate::provenance::open_repo(repo)?;
    let mut manifests: Vec<RunManifest> = Vec::new();
    let mut git_by_commit: BTreeMap<String, Digest> = BTreeMap::new();
    let mut all = BTreeSet::new();
    let mut pushed_before: Vec<RunManifest> = Vec::new();
    remote.check_format(true).map_err(remote_err)?;
    for (run, objects) in items {
        if manifests.iter().chain(&pushed_before).any(|m| m.run == run) {
            continue;
        }
        // A listed run is complete on the remote (its manifest went up last): nothing to send.
        if let Ok(m) = read_manifest(remote, &run.record)
            && m.run == run
        {
            pushed_before.push(m);
            continue;
        }
        let git = match git_by_commit.get(&run.commit) {
            Some(d) => *d,
            None => {
                // The git bundle travels as an object: content-addressed, verified on pull.
                let d = store.put_reader(git_bundle(store, &git_repo, &BTreeSet::from([run.commit.clone()]), None)?.0)?;
                git_by_commit.insert(run.commit.clone(), d);
                d
            }
        };
        all.extend(objects.iter().copied());
        all.insert(git);
        manifests.push(RunManifest { format: MANIFEST_FORMAT.into(), run, objects: objects.iter().map(Digest::hex).collect(), git: git.hex() });
    }
    for (_, objects) in &root_manifests {
        all.extend(objects.iter().copied());
    }
    let sending: BTreeSet<String> = all.iter().map(Digest::hex).collect();
    let there: BTreeSet<&String> = pushed_before.iter().flat_map(|m| m.objects.iter().chain([&m.git])).filter(|h| !sending.contains(*h)).collect();
    let all: Vec<Digest> = all.into_iter().collect();
    let mut t = remote.push_objects(store, &all, progress).map_err(remote_err)?;
    t.present += there.len();
    let mut new_runs = 0;
    for m in &manifests {
        if remote.put_file(&manifest_name(&m.run.record), reprise_core::canon::to_vec(m)?).map_err(remote_err)? {
            new_runs += 1;
        }
    }
    let mut pushed_roots = Roots::default();
    for (m, _) in &root_manifests {
        // Written after the runs it needs, so a listed sweep or session is complete.
        let key = m.roots.first().expect("one root");
        remote.put_file(&root_name(key), reprise_core::canon::to_vec(m)?).map_err(remote_err)?;
        pushed_roots.merge(m.roots.clone());
    }
    let runs = pushed_before.into_iter().chain(manifests).map(|m| m.run).collect();
    Ok(report(remote, runs, pushed_roots, t, new_runs, vec![]))
}

fn report(remote: &Remote, runs: Vec<BundledRun>, roots: Roots, t: Transfer, new_runs: usize, kept_existing: Vec<String>) -> RemoteReport {
    RemoteReport { remote: remote.name().into(), runs, roots, moved: t.moved, present: t.present, bytes: t.bytes, new_runs, kept_existing }
}

fn root_name(hex: &str) -> String {
    format!("roots/{hex}.json")
}

/// The sweep and session manifests on a remote, by the digests they are listed under.
fn root_manifests(remote: &Remote) -> Result<Vec<(String, RootManifest)>, RunnerError> {
    let mut out = Vec::new();
    for name in remote.list_files("roots").map_err(remote_err)? {
        let Some(hex) = name.strip_suffix(".json") else { continue };
        let rel = root_name(hex);
        let bytes = remote.get_file(&rel).map_err(remote_err)?.ok_or_else(|| RunnerError::User(format!("remote `{}`: {rel} vanished while listed", remote.name())))?;
        let m: RootManifest = serde_json::from_slice(&bytes).map_err(|e| RunnerError::User(format!("remote `{}`: {rel} is malformed: {e}", remote.name())))?;
        if m.format != ROOT_MANIFEST_FORMAT {
            return Err(RunnerError::User(format!("remote `{}`: {rel} is not a `{ROOT_MANIFEST_FORMAT}` manifest", remote.name())));
        }
        out.push((hex.to_string(), m));
    }
    Ok(out)
}

fn read_manifest(remote: &Remote, record_hex: &str) -> Result<RunManifest, RunnerError> {
    let name = manifest_name(record_hex);
    let bytes = remote
        .get_file(&name)
        .map_err(remote_err)?
        .ok_or_else(|| RunnerError::User(format!("remote `{}` has no run {}", remote.name(), &record_hex[..12.min(record_hex.len())])))?;
    let m: RunManifest = serde_json::from_slice(&bytes).map_err(|e| RunnerError::User(format!("remote `{}`: {name} is malformed: {e}", remote.name())))?;
    if m.format != MANIFEST_FORMAT || m.run.record != record_hex {
        return Err(RunnerError::User(format!("remote `{}`: {name} is not a `{MANIFEST_FORMAT}` manifest of that run", remote.name())));
    }
    Ok(m)
}

/// The manifests `hashes` name (prefixes of run hashes or spec digests; every run when empty).
fn select(remote: &Remote, hashes: &[String]) -> Result<Vec<RunManifest>, RunnerError> {
    let records: Vec<String> = remote.list_files("runs").map_err(remote_err)?.into_iter().filter_map(|n| n.strip_suffix(".json").map(str::to_owned)).collect();
    if hashes.is_empty() {
        return records.iter().map(|r| read_manifest(remote, r)).collect();
    }
    let mut by_spec: Option<Vec<RunManifest>> = None;
    let mut out: Vec<RunManifest> = Vec::new();
    for h in hashes {
        let h = h.trim().to_ascii_lowercase();
        if h.len() < 6 {
            return Err(RunnerError::User(format!("`{h}` is too short to name a run: give at least 6 hex digits")));
        }
        let hits: Vec<&String> = records.iter().filter(|r| r.starts_with(&h)).collect();
        let found = match hits.as_slice() {
            [one] => read_manifest(remote, one)?,
            [] => {
                if by_spec.is_none() {
                    by_spec = Some(records.iter().map(|r| read_manifest(remote, r)).collect::<Result<_, _>>()?);
                }
                let ms: Vec<&RunManifest> = by_spec.as_ref().unwrap().iter().filter(|m| m.run.spec.starts_with(&h)).collect();
                match ms.as_slice() {
                    [one] => (*one).clone(),
                    [] => return Err(RunnerError::User(format!("remote `{}` has no run or spec starting with `{h}`; `reprise remote ls {}` lists its runs", remote.name(), remote.name()))),
                    _ => return Err(RunnerError::User(format!("`{h}` names {} runs of remote `{}`; give more digits", ms.len(), remote.name()))),
                }
            }
            _ => return Err(RunnerError::User(format!("`{h}` names {} runs of remote `{}`; give more digits", hits.len(), remote.name()))),
        };
        if !out.iter().any(|m| m.run == found.run) {
            out.push(found);
        }
    }
    Ok(out)
}

/// The runs on a remote.
pub fn list(remote: &Remote) -> Result<Vec<BundledRun>, RunnerError> {
    remote.check_format(false).map_err(remote_err)?;
    Ok(select(remote, &[])?.into_iter().map(|m| m.run).collect())
}

/// Checks a pulled run against its manifest: the record names the spec, the spec the commit and
/// experiment, and every output, input and diff is in the manifest's object list.
fn check_pulled(store: &Store, m: &RunManifest) -> Result<(), RunnerError> {
    let bad = |why: String| RunnerError::User(format!("run {} on the remote is inconsistent: {why}; nothing of it was recorded", &m.run.record[..12]));
    let listed: BTreeSet<&str> = m.objects.iter().map(String::as_str).collect();
    let rd = Digest::parse(&m.run.record).ok_or_else(|| bad("its record is not a digest".into()))?;
    let record = RunRecord::parse(&store.read_verified(&rd)?)?;
    let sd = record.spec_digest()?;
    if sd.hex() != m.run.spec {
        return Err(bad(format!("the record names spec {}", sd.short(12))));
    }
    let spec = RunSpec::parse(&store.read_verified(&sd)?)?;
    if spec.code.commit != m.run.commit || spec.experiment.name != m.run.experiment {
        return Err(bad("the manifest disagrees with the spec".into()));
    }
    let needed = record.outputs.values().map(|o| o.digest()).collect::<Result<Vec<_>, _>>()?.into_iter().chain(spec.references()).chain([rd, sd]);
    for d in needed {
        if !listed.contains(d.hex().as_str()) {
            return Err(bad(format!("object {} is not in its manifest", d.short(12))));
        }
    }
    Ok(())
}

/// Pulls the runs, sweeps and sessions `hashes` names (everything on the remote when empty):
/// objects verified before they are published, each run and root checked, commits imported under
/// `refs/reprise/commits/`, memos and the refs keeping sweeps and sessions set.
pub fn pull(store: &Store, repo: &Path, remote: &Remote, hashes: &[String], progress: &dyn Progress) -> Result<RemoteReport, RunnerError> {
    remote.check_format(false).map_err(remote_err)?;
    let listed_roots = root_manifests(remote)?;
    let mut picked: Vec<RootManifest> = Vec::new();
    let mut run_hashes: Vec<String> = Vec::new();
    for h in hashes {
        let h = h.trim().to_ascii_lowercase();
        let hits: Vec<&(String, RootManifest)> = listed_roots.iter().filter(|(k, _)| h.len() >= 6 && k.starts_with(&h)).collect();
        match hits.as_slice() {
            [(_, m)] => {
                run_hashes.extend(m.runs.iter().cloned());
                picked.push(m.clone());
            }
            _ => run_hashes.push(h),
        }
    }
    if hashes.is_empty() {
        picked = listed_roots.into_iter().map(|(_, m)| m).collect();
    }
    let manifests = match (hashes.is_empty(), run_hashes.is_empty()) {
        (false, true) => Vec::new(),
        _ => select(remote, &run_hashes)?,
    };
    let mut all = BTreeSet::new();
    let not_digest = |hex: &String| RunnerError::User(format!("remote `{}`: a manifest lists `{hex}`, not a digest", remote.name()));
    for m in &manifests {
        for hex in m.objects.iter().chain([&m.git]) {
            all.insert(Digest::parse(hex).ok_or_else(|| not_digest(hex))?);
        }
    }
    for m in &picked {
        for hex in &m.objects {
            all.insert(Digest::parse(hex).ok_or_else(|| not_digest(hex))?);
        }
    }
    let all: Vec<Digest> = all.into_iter().collect();
    let t = remote.pull_objects(store, &all, progress).map_err(remote_err)?;
    for m in &manifests {
        check_pulled(store, m)?;
        let git = Digest::parse(&m.git).expect("parsed above");
        store.copy_verified(&git, std::io::sink())?; // it may have been in the store already
        import_commits(repo, &store.object_path(&git))?;
    }
    let mut pulled_roots = Roots::default();
    for m in &picked {
        roots::check(&m.roots, &|d| match store.read_verified(d) {
            Ok(b) => Ok(Some(b)),
            Err(reprise_store::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        })
        .map_err(|e| RunnerError::User(format!("remote `{}`: {e}; nothing of it was recorded", remote.name())))?;
        pulled_roots.merge(m.roots.clone());
    }
    let runs: Vec<BundledRun> = manifests.into_iter().map(|m| m.run).collect();
    let kept_existing = record_memos(store, &runs)?;
    roots::keep(store, &pulled_roots)?;
    let new_runs = runs.len() - kept_existing.len();
    Ok(report(remote, runs, pulled_roots, t, new_runs, kept_existing))
}

/// The sweeps and sessions on a remote.
pub fn list_roots(remote: &Remote) -> Result<Roots, RunnerError> {
    let mut out = Roots::default();
    for (_, m) in root_manifests(remote)? {
        out.merge(m.roots);
    }
    Ok(out)
}
