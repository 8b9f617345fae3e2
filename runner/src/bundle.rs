//! Sharing runs as one file: `export` bundles runs' records, specs, every object they reach and a
//! git bundle of the commits that made them — and sweeps and sessions with theirs (`roots`);
//! `verify` checks a bundle without running anything; `import` verifies, then publishes objects,
//! memo refs, the refs keeping sweeps and sessions, and commits (under `refs/reprise/commits/`).

use crate::error::RunnerError;
use crate::rerun::resolve_run;
use crate::roots::{self, ROOTS_META, Roots};
use crate::run::memo_if_absent;
use crate::{RunRecord, RunSpec};
use reprise_core::Progress;
use reprise_store::bundle::{BundleError, BundleWriter, Limits, Unpacked, unpack_with};
use reprise_store::{Digest, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
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
    /// The sweeps and sessions it carries besides runs.
    pub roots: Roots,
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

/// The git bundle of `commits` and their history, from `repo`: the whole history, or with
/// `since` only what `since` (which the receiver must have: a prerequisite line) does not reach.
/// Written to an unnamed file under the store's `tmp/` (a long history's pack need not fit in
/// memory); returned rewound, with its length.
pub(crate) fn git_bundle(store: &Store, repo: &git2::Repository, commits: &BTreeSet<String>, since: Option<&str>) -> Result<(File, u64), RunnerError> {
    let mut pb = repo.packbuilder().map_err(RunnerError::git("starting a pack"))?;
    let mut walk = repo.revwalk().map_err(RunnerError::git("walking history"))?;
    let mut out = GIT_HEADER.as_bytes().to_vec();
    if let Some(rev) = since {
        let base = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| {
                RunnerError::User(format!(
                    "`--since {rev}` names no commit in the repository at {} ({}): give a commit, tag or branch the receiver already has",
                    repo.workdir().unwrap_or(repo.path()).display(),
                    e.message()
                ))
            })?;
        walk.hide(base.id()).map_err(RunnerError::git(format!("leaving out the history of {rev}")))?;
        let subject: String = base.summary().unwrap_or("").chars().filter(|c| !c.is_control()).collect();
        out.extend(format!("-{} {subject}\n", base.id()).as_bytes());
    }
    for c in commits {
        let oid = git2::Oid::from_str(c).map_err(RunnerError::git(format!("commit id {c}")))?;
        repo.find_commit(oid).map_err(RunnerError::git(format!("commit {c} is not in the repository at {}; export from the repository the runs were made in (--repo)", repo.path().display())))?;
        walk.push(oid).map_err(RunnerError::git(format!("walking from {c}")))?;
        out.extend(format!("{c} refs/reprise/commits/{c}\n").as_bytes());
    }
    pb.insert_walk(&mut walk).map_err(RunnerError::git("packing the history"))?;
    out.push(b'\n');
    let tmp = store.root().join("tmp");
    let mut f = tempfile::tempfile_in(&tmp).map_err(io(&tmp, "creating a file for the git pack"))?;
    f.write_all(&out).map_err(io(&tmp, "writing the git pack"))?;
    let mut write_err = None;
    pb.foreach(|chunk| match f.write_all(chunk) {
        Ok(()) => true,
        Err(e) => {
            write_err = Some(e);
            false
        }
    })
    .map_err(RunnerError::git("writing the pack"))?;
    if let Some(e) = write_err {
        return Err(io(&tmp, "writing the git pack")(e));
    }
    let len = f.stream_position().map_err(io(&tmp, "writing the git pack"))?;
    f.rewind().map_err(io(&tmp, "reading the git pack back"))?;
    Ok((f, len))
}

/// The run `hash` names (a run hash or spec digest, or a unique prefix) and every object it
/// reaches: record, spec, outputs, inputs and the dirty diff.
pub(crate) fn closure(store: &Store, hash: &str) -> Result<(BundledRun, BTreeSet<Digest>), RunnerError> {
    let r = resolve_run(store, hash)?;
    let objects = crate::gcroots::reach(store, r.record_digest)?;
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
pub fn export(store: &Store, repo: &Path, hashes: &[String], since: Option<&str>, out: &Path, progress: &dyn Progress) -> Result<BundleReport, RunnerError> {
    let mut runs = Vec::new();
    let mut objects = BTreeSet::new();
    let mut commits = BTreeSet::new();
    let mut roots = Roots::default();
    for h in hashes {
        let shared = roots::resolve(store, h)?;
        for (run, closure) in shared.runs {
            objects.extend(closure);
            commits.insert(run.commit.clone());
            if !runs.contains(&run) {
                runs.push(run);
            }
        }
        objects.extend(shared.objects);
        roots.merge(shared.roots);
    }
    let repo = crate::provenance::open_repo(repo)?;
    let (git, git_len) = git_bundle(store, &repo, &commits, since)?;
    let runs_json = reprise_core::canon::to_vec(&runs)?;
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".reprise-bundle-").tempfile_in(dir).map_err(|e| {
        RunnerError::User(format!("cannot write the bundle {}: {e} in its folder {}; give -o a path in an existing, writable folder", out.display(), dir.display()))
    })?;
    let mut w = BundleWriter::new(BufWriter::new(tmp.as_file().try_clone().map_err(io(tmp.path(), "opening"))?)).map_err(bundle_err)?;
    w.add_meta(RUNS_META, runs_json.len() as u64, &runs_json[..]).map_err(bundle_err)?;
    w.add_meta(GIT_META, git_len, git).map_err(bundle_err)?;
    if !roots.is_empty() {
        let roots_json = reprise_core::canon::to_vec(&roots)?;
        w.add_meta(ROOTS_META, roots_json.len() as u64, &roots_json[..]).map_err(bundle_err)?;
    }
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
    Ok(BundleReport { runs, roots, objects: objects.len(), commits: commits.into_iter().collect(), new_objects: 0, kept_existing: vec![] })
}

/// A git bundle's refs: (commit, ref name).
type GitRefs = Vec<(git2::Oid, String)>;

/// A git bundle's header: the commits the receiver must already have, and its refs.
struct GitHeader {
    prerequisites: Vec<git2::Oid>,
    refs: GitRefs,
}

/// Reads a git bundle's header from `r`, leaving `r` at the start of its pack.
fn read_git_header(r: &mut impl BufRead) -> Result<GitHeader, RunnerError> {
    let bad = |why: &str| RunnerError::User(format!("bundle: meta/{GIT_META} {why}"));
    let mut line = String::new();
    let mut next = |line: &mut String| -> Result<(), RunnerError> {
        line.clear();
        // a header line is short; a longer one means this is not a git bundle
        let n = r.by_ref().take(4096).read_line(line).map_err(|_| bad("has a header that is not UTF-8 text"))?;
        if n == 0 || !line.ends_with('\n') {
            return Err(bad("has no blank line before its pack"));
        }
        line.pop();
        Ok(())
    };
    next(&mut line)?;
    if format!("{line}\n") != GIT_HEADER {
        return Err(bad("does not start with `# v2 git bundle`"));
    }
    let (mut refs, mut prerequisites) = (Vec::new(), Vec::new());
    loop {
        next(&mut line)?;
        if line.is_empty() {
            break;
        }
        if let Some(p) = line.strip_prefix('-') {
            let sha = p.split(' ').next().unwrap_or_default();
            prerequisites.push(git2::Oid::from_str(sha).map_err(|_| bad(&format!("names prerequisite `{sha}`, not a commit id")))?);
            continue;
        }
        let (sha, name) = line.split_once(' ').ok_or_else(|| bad(&format!("has a malformed ref line `{line}`")))?;
        let oid = git2::Oid::from_str(sha).map_err(|_| bad(&format!("names `{sha}`, not a commit id")))?;
        if !name.starts_with("refs/reprise/commits/") || name.contains("..") {
            return Err(bad(&format!("carries ref `{name}`; only refs/reprise/commits/<sha> are accepted")));
        }
        refs.push((oid, name.to_string()));
    }
    Ok(GitHeader { prerequisites, refs })
}

/// Opens a git bundle file, reads its header and leaves the reader at the pack.
fn open_git(path: &Path) -> Result<(GitHeader, BufReader<File>), RunnerError> {
    let mut r = BufReader::new(File::open(path).map_err(io(path, "opening the git bundle"))?);
    Ok((read_git_header(&mut r)?, r))
}

/// Fails unless the repository at `repo` holds every prerequisite of a thin git bundle.
fn check_prerequisites(repo: &Path, g: &GitHeader) -> Result<(), RunnerError> {
    if g.prerequisites.is_empty() {
        return Ok(());
    }
    let local = crate::provenance::open_repo(repo)?;
    for p in &g.prerequisites {
        if local.find_commit(*p).is_err() {
            return Err(RunnerError::User(format!(
                "bundle: it was made with --since and needs commit {p}, which the repository at {} lacks; import the bundle that carries it first, or ask for one made without --since",
                repo.display()
            )));
        }
    }
    Ok(())
}

/// Writes a pack into `repo`'s object database; the pack is indexed (and so checked) on commit.
fn write_pack(repo: &git2::Repository, mut pack: impl Read) -> Result<(), RunnerError> {
    let odb = repo.odb().map_err(RunnerError::git("opening the object database"))?;
    let mut w = odb.packwriter().map_err(RunnerError::git("starting to write the pack"))?;
    std::io::copy(&mut pack, &mut w).map_err(|e| RunnerError::User(format!("bundle: the git pack cannot be written: {e}")))?;
    w.commit().map_err(RunnerError::git("the bundle's git pack is damaged"))?;
    Ok(())
}

/// Checks an unpacked bundle: every run's record and spec parse and agree with `runs.json`, every
/// object they reach is inside, and the git pack indexes into a scratch repository holding every
/// pinned commit with its tree.
fn check(u: &Unpacked, repo: &Path) -> Result<(Vec<BundledRun>, Roots, Vec<String>), RunnerError> {
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
    let roots: Roots = match u.meta.contains_key(ROOTS_META) {
        true => serde_json::from_slice(&u.meta_bytes(ROOTS_META).map_err(bundle_err)?)
            .map_err(|e| RunnerError::User(format!("bundle: meta/{ROOTS_META} is malformed: {e}")))?,
        false => Roots::default(),
    };
    roots::check(&roots, &|d| if u.objects.contains_key(d) { Ok(Some(u.object_bytes(d).map_err(bundle_err)?)) } else { Ok(None) })
        .map_err(|e| RunnerError::User(format!("bundle: {e}")))?;
    let (g, pack) = open_git(u.meta.get(GIT_META).ok_or_else(|| RunnerError::User(format!("bundle: it has no meta/{GIT_META}")))?)?;
    check_prerequisites(repo, &g)?;
    let scratch = git2::Repository::init_bare(u.dir().join("git")).map_err(RunnerError::git("creating a scratch repository"))?;
    if !g.prerequisites.is_empty() {
        // a thin bundle's commits lean on history the local repository has: look there too
        let local = crate::provenance::open_repo(repo)?;
        let objects = local.path().join("objects");
        std::fs::write(scratch.path().join("objects/info/alternates"), format!("{}\n", objects.display())).map_err(io(scratch.path(), "linking the scratch repository to the local one"))?;
    }
    write_pack(&scratch, pack)?;
    let refs = g.refs;
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
    Ok((runs, roots, commits))
}

/// Records each run as its spec's memo where the store has none; returns the runs whose spec
/// already had another record (kept).
pub(crate) fn record_memos(store: &Store, runs: &[BundledRun]) -> Result<Vec<String>, RunnerError> {
    let mut kept_existing = Vec::new();
    for run in runs {
        let (sd, rd) = (Digest::parse(&run.spec).expect("checked"), Digest::parse(&run.record).expect("checked"));
        if memo_if_absent(store, &sd, &rd)?.is_some() {
            kept_existing.push(run.record.clone());
        }
    }
    Ok(kept_existing)
}

/// Writes the pack of the git bundle file `git` into the repository at `repo` and creates its
/// `refs/reprise/commits/<sha>` refs.
pub(crate) fn import_commits(repo: &Path, git: &Path) -> Result<(), RunnerError> {
    let (g, pack) = open_git(git)?;
    check_prerequisites(repo, &g)?;
    let repo = crate::provenance::open_repo(repo)?;
    write_pack(&repo, pack)?;
    for (oid, name) in g.refs {
        repo.reference(&name, oid, true, "reprise import").map_err(RunnerError::git(format!("creating {name}")))?;
    }
    Ok(())
}

/// Verifies a bundle file without running anything and without keeping anything.
pub fn verify(store: &Store, repo: &Path, file: &Path, limits: Limits) -> Result<BundleReport, RunnerError> {
    let f = File::open(file).map_err(|e| RunnerError::User(format!("cannot open the bundle {}: {e}", file.display())))?;
    let u = unpack_with(store, f, limits).map_err(bundle_err)?;
    let (runs, roots, commits) = check(&u, repo)?;
    Ok(BundleReport { runs, roots, objects: u.objects.len(), commits, new_objects: 0, kept_existing: vec![] })
}

/// Verifies a bundle, then publishes its objects into the store, records each run as its spec's
/// memo (unless the store already has one), and imports its commits into `repo` under
/// `refs/reprise/commits/<sha>` so that `rerun` can check them out.
pub fn import(store: &Store, repo: &Path, file: &Path, limits: Limits) -> Result<BundleReport, RunnerError> {
    let f = File::open(file).map_err(|e| RunnerError::User(format!("cannot open the bundle {}: {e}", file.display())))?;
    let u = unpack_with(store, f, limits).map_err(bundle_err)?;
    let (runs, roots, commits) = check(&u, repo)?;
    let new_objects = u.publish_objects(store).map_err(bundle_err)?;
    let kept_existing = record_memos(store, &runs)?;
    roots::keep(store, &roots)?;
    import_commits(repo, &u.meta[GIT_META])?;
    Ok(BundleReport { runs, roots, objects: u.objects.len(), commits, new_objects, kept_existing })
}
