//! Sharing runs as one file: `export` bundles runs' records, specs, every object they reach and a
//! git bundle of the commits that made them; `verify` checks a bundle without running anything;
//! `import` verifies, then publishes objects, memo refs and commits (under `refs/reprise/commits/`).

use crate::error::RunnerError;
use crate::rerun::resolve_run;
use crate::{RunRecord, RunSpec};
use reprise_core::Progress;
use reprise_store::bundle::{BundleError, BundleWriter, Limits, Unpacked, unpack_with};
use reprise_store::{Digest, RefExpect, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// `meta/runs.json`: the runs a bundle carries, in the order they were named.
pub const RUNS_META: &str = "runs.json";
/// `meta/git.bundle`: a `# v2 git bundle` with a pack of every commit the runs were made at.
pub const GIT_META: &str = "git.bundle";
const GIT_HEADER: &str = "# v2 git bundle\n";

/// One run in a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundledRun {
    pub record: String,
    pub spec: String,
    pub experiment: String,
    pub commit: String,
    pub dirty: bool,
}

/// What a bundle holds, once checked.
#[derive(Clone, Debug, Serialize)]
pub struct BundleReport {
    pub runs: Vec<BundledRun>,
    pub objects: usize,
    pub commits: Vec<String>,
    /// Objects the import added to the store (0 for export and verify).
    pub new_objects: usize,
    /// Memo refs the import did not set because the store already records another run of that
    /// spec (the bundle's record is still imported and can be shown or rerun by its hash).
    pub kept_existing: Vec<String>,
}

fn bundle_err(e: BundleError) -> RunnerError {
    match e {
        BundleError::Store(s) => RunnerError::Store(s),
        other => RunnerError::User(format!("bundle: {other}")),
    }
}

fn io(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> RunnerError {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| RunnerError::File { path, why: format!("{what}: {e}") }
}

/// The git bundle of `commits` and their whole history, from `repo`.
pub(crate) fn git_bundle(repo: &git2::Repository, commits: &BTreeSet<String>) -> Result<Vec<u8>, RunnerError> {
    let mut pb = repo.packbuilder().map_err(RunnerError::git("starting a pack"))?;
    let mut walk = repo.revwalk().map_err(RunnerError::git("walking history"))?;
    let mut out = GIT_HEADER.as_bytes().to_vec();
    for c in commits {
        let oid = git2::Oid::from_str(c).map_err(RunnerError::git(format!("commit id {c}")))?;
        repo.find_commit(oid).map_err(RunnerError::git(format!("commit {c} is not in the repository at {}; export from the repository the runs were made in (--repo)", repo.path().display())))?;
        walk.push(oid).map_err(RunnerError::git(format!("walking from {c}")))?;
        out.extend(format!("{c} refs/reprise/commits/{c}\n").as_bytes());
    }
    pb.insert_walk(&mut walk).map_err(RunnerError::git("packing the history"))?;
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf).map_err(RunnerError::git("writing the pack"))?;
    out.push(b'\n');
    out.extend_from_slice(&buf);
    Ok(out)
}

/// The run `hash` names (a run hash or spec digest, or a unique prefix) and every object it
/// reaches: record, spec, outputs, inputs and the dirty diff.
pub(crate) fn closure(store: &Store, hash: &str) -> Result<(BundledRun, BTreeSet<Digest>), RunnerError> {
    let r = resolve_run(store, hash)?;
    let mut objects = BTreeSet::from([r.record_digest, r.spec_digest]);
    for o in r.record.outputs.values() {
        objects.insert(o.digest()?);
    }
    objects.extend(r.spec.references());
    let run = BundledRun {
        record: r.record_digest.hex(),
        spec: r.spec_digest.hex(),
        experiment: r.spec.experiment.name.clone(),
        commit: r.spec.code.commit.clone(),
        dirty: r.spec.code.dirty,
    };
    Ok((run, objects))
}

/// Writes a bundle of the runs named by `hashes` (run hashes or spec digests, or unique prefixes)
/// to `out`, through a temporary file renamed into place when complete.
pub fn export(store: &Store, repo: &Path, hashes: &[String], out: &Path, progress: &dyn Progress) -> Result<BundleReport, RunnerError> {
    let mut runs = Vec::new();
    let mut objects = BTreeSet::new();
    let mut commits = BTreeSet::new();
    for h in hashes {
        let (run, closure) = closure(store, h)?;
        objects.extend(closure);
        commits.insert(run.commit.clone());
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    let repo = git2::Repository::open(repo).map_err(RunnerError::git(format!("opening the repository at {}", repo.display())))?;
    let git = git_bundle(&repo, &commits)?;
    let runs_json = reprise_core::canon::to_vec(&runs)?;
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".reprise-bundle-").tempfile_in(dir).map_err(io(dir, "creating a temporary file"))?;
    let mut w = BundleWriter::new(BufWriter::new(tmp.as_file().try_clone().map_err(io(tmp.path(), "opening"))?)).map_err(bundle_err)?;
    w.add_meta(RUNS_META, runs_json.len() as u64, &runs_json[..]).map_err(bundle_err)?;
    w.add_meta(GIT_META, git.len() as u64, &git[..]).map_err(bundle_err)?;
    progress.start("bundling objects", objects.len() as u64);
    for d in &objects {
        w.add_object(store, d).map_err(bundle_err)?;
        progress.advance(1);
    }
    progress.finish();
    let mut f = w.finish().map_err(bundle_err)?;
    f.flush().map_err(io(tmp.path(), "writing"))?;
    f.get_ref().sync_all().map_err(io(tmp.path(), "syncing"))?;
    drop(f);
    tmp.persist(out).map_err(|e| RunnerError::File { path: out.to_path_buf(), why: format!("moving the finished bundle into place: {}", e.error) })?;
    Ok(BundleReport { runs, objects: objects.len(), commits: commits.into_iter().collect(), new_objects: 0, kept_existing: vec![] })
}

/// A git bundle's refs: (commit, ref name).
type GitRefs = Vec<(git2::Oid, String)>;

/// The git bundle's ref lines and pack.
fn parse_git(bytes: &[u8]) -> Result<(GitRefs, &[u8]), RunnerError> {
    let bad = |why: &str| RunnerError::User(format!("bundle: meta/{GIT_META} {why}"));
    let rest = bytes.strip_prefix(GIT_HEADER.as_bytes()).ok_or_else(|| bad("does not start with `# v2 git bundle`"))?;
    let end = rest.windows(2).position(|w| w == b"\n\n").ok_or_else(|| bad("has no blank line before its pack"))?;
    let mut refs = Vec::new();
    for line in std::str::from_utf8(&rest[..end]).map_err(|_| bad("has a header that is not UTF-8"))?.lines() {
        if line.starts_with('-') {
            return Err(bad("needs prerequisite commits; this build exports and imports whole histories only"));
        }
        let (sha, name) = line.split_once(' ').ok_or_else(|| bad(&format!("has a malformed ref line `{line}`")))?;
        let oid = git2::Oid::from_str(sha).map_err(|_| bad(&format!("names `{sha}`, not a commit id")))?;
        if !name.starts_with("refs/reprise/commits/") || name.contains("..") {
            return Err(bad(&format!("carries ref `{name}`; only refs/reprise/commits/<sha> are accepted")));
        }
        refs.push((oid, name.to_string()));
    }
    Ok((refs, &rest[end + 2..]))
}

/// Writes a pack into `repo`'s object database; the pack is indexed (and so checked) on commit.
fn write_pack(repo: &git2::Repository, pack: &[u8]) -> Result<(), RunnerError> {
    let odb = repo.odb().map_err(RunnerError::git("opening the object database"))?;
    let mut w = odb.packwriter().map_err(RunnerError::git("starting to write the pack"))?;
    w.write_all(pack).map_err(|e| RunnerError::User(format!("bundle: the git pack cannot be written: {e}")))?;
    w.commit().map_err(RunnerError::git("the bundle's git pack is damaged"))?;
    Ok(())
}

/// Checks an unpacked bundle: every run's record and spec parse and agree with `runs.json`, every
/// object they reach is inside, and the git pack indexes into a scratch repository holding every
/// pinned commit with its tree.
fn check(u: &Unpacked) -> Result<(Vec<BundledRun>, Vec<String>), RunnerError> {
    let runs: Vec<BundledRun> = serde_json::from_slice(&u.meta_bytes(RUNS_META).map_err(bundle_err)?)
        .map_err(|e| RunnerError::User(format!("bundle: meta/{RUNS_META} is malformed: {e}")))?;
    let digest = |hex: &str, what: &str| Digest::parse(hex).ok_or_else(|| RunnerError::User(format!("bundle: {what} `{hex}` is not a digest")));
    let need = |d: &Digest, what: String| if u.objects.contains_key(d) { Ok(()) } else { Err(RunnerError::User(format!("bundle: {what} {} is missing from the bundle", d.short(12)))) };
    for run in &runs {
        let rd = digest(&run.record, "run record")?;
        need(&rd, format!("the record of run {}", rd.short(12)))?;
        let record = RunRecord::parse(&u.object_bytes(&rd).map_err(bundle_err)?)?;
        let sd = record.spec_digest()?;
        if sd.hex() != run.spec {
            return Err(RunnerError::User(format!("bundle: run {} names spec {} but its record says {}", rd.short(12), &run.spec[..12.min(run.spec.len())], sd.short(12))));
        }
        need(&sd, format!("the spec of run {}", rd.short(12)))?;
        let spec = RunSpec::parse(&u.object_bytes(&sd).map_err(bundle_err)?)?;
        if spec.code.commit != run.commit || spec.experiment.name != run.experiment {
            return Err(RunnerError::User(format!("bundle: meta/{RUNS_META} disagrees with the spec of run {}", rd.short(12))));
        }
        for (name, o) in &record.outputs {
            need(&o.digest()?, format!("output `{name}` of run {}", rd.short(12)))?;
        }
        for d in spec.references() {
            need(&d, format!("an input or diff of run {}", rd.short(12)))?;
        }
    }
    let git = u.meta_bytes(GIT_META).map_err(bundle_err)?;
    let (refs, pack) = parse_git(&git)?;
    let scratch = git2::Repository::init_bare(u.dir().join("git")).map_err(RunnerError::git("creating a scratch repository"))?;
    write_pack(&scratch, pack)?;
    let mut commits = Vec::new();
    for run in &runs {
        let oid = git2::Oid::from_str(&run.commit).map_err(RunnerError::git(format!("commit id {}", run.commit)))?;
        if !refs.iter().any(|(r, _)| *r == oid) {
            return Err(RunnerError::User(format!("bundle: the git bundle has no ref for commit {} of run {}", run.commit, &run.record[..12])));
        }
        let c = scratch.find_commit(oid).map_err(RunnerError::git(format!("the git pack lacks commit {}", run.commit)))?;
        c.tree().map_err(RunnerError::git(format!("the git pack lacks the tree of {}", run.commit)))?;
        if !commits.contains(&run.commit) {
            commits.push(run.commit.clone());
        }
    }
    Ok((runs, commits))
}

/// Records each run as its spec's memo where the store has none; returns the runs whose spec
/// already had another record (kept).
pub(crate) fn record_memos(store: &Store, runs: &[BundledRun]) -> Result<Vec<String>, RunnerError> {
    let mut kept_existing = Vec::new();
    for run in runs {
        let (sd, rd) = (Digest::parse(&run.spec).expect("checked"), Digest::parse(&run.record).expect("checked"));
        let name = format!("runs/{sd}");
        match store.read_ref(&name)? {
            None => match store.update_ref(&name, RefExpect::Absent, Some(rd)) {
                Ok(()) | Err(reprise_store::StoreError::RefConflict { .. }) => {}
                Err(e) => return Err(e.into()),
            },
            Some(existing) if existing != rd => kept_existing.push(run.record.clone()),
            Some(_) => {}
        }
    }
    Ok(kept_existing)
}

/// Writes a git bundle's pack into the repository at `repo` and creates its
/// `refs/reprise/commits/<sha>` refs.
pub(crate) fn import_commits(repo: &Path, git: &[u8]) -> Result<(), RunnerError> {
    let repo = git2::Repository::open(repo).map_err(RunnerError::git(format!("opening the repository at {}", repo.display())))?;
    let (refs, pack) = parse_git(git)?;
    write_pack(&repo, pack)?;
    for (oid, name) in refs {
        repo.reference(&name, oid, true, "reprise import").map_err(RunnerError::git(format!("creating {name}")))?;
    }
    Ok(())
}

/// Verifies a bundle file without running anything and without keeping anything.
pub fn verify(store: &Store, file: &Path, limits: Limits) -> Result<BundleReport, RunnerError> {
    let f = File::open(file).map_err(io(file, "opening the bundle"))?;
    let u = unpack_with(store, f, limits).map_err(bundle_err)?;
    let (runs, commits) = check(&u)?;
    Ok(BundleReport { runs, objects: u.objects.len(), commits, new_objects: 0, kept_existing: vec![] })
}

/// Verifies a bundle, then publishes its objects into the store, records each run as its spec's
/// memo (unless the store already has one), and imports its commits into `repo` under
/// `refs/reprise/commits/<sha>` so that `rerun` can check them out.
pub fn import(store: &Store, repo: &Path, file: &Path, limits: Limits) -> Result<BundleReport, RunnerError> {
    let f = File::open(file).map_err(io(file, "opening the bundle"))?;
    let u = unpack_with(store, f, limits).map_err(bundle_err)?;
    let (runs, commits) = check(&u)?;
    let new_objects = u.publish_objects(store).map_err(bundle_err)?;
    let kept_existing = record_memos(store, &runs)?;
    import_commits(repo, &u.meta_bytes(GIT_META).map_err(bundle_err)?)?;
    Ok(BundleReport { runs, objects: u.objects.len(), commits, new_objects, kept_existing })
}
