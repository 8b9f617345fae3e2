//! Provenance through git2: the HEAD commit and, for a dirty tree, the exact diff (untracked files
//! included); the Cargo.lock digest; and checking a pinned commit out into a worktree for reruns.

use crate::error::RunnerError;
use git2::{ApplyLocation, BranchType, Diff, DiffFormat, DiffOptions, Oid, Repository, build::CheckoutBuilder};
use reprise_store::Digest;
use std::fs;
use std::path::{Path, PathBuf};

/// The state of the code in a repository.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeState {
    pub commit: String,
    /// The patch from HEAD to the working tree, or None for a clean tree.
    pub diff: Option<Vec<u8>>,
}

impl CodeState {
    pub fn diff_digest(&self) -> Option<Digest> {
        self.diff.as_deref().map(Digest::of)
    }
}

fn open(repo: &Path) -> Result<Repository, RunnerError> {
    Repository::open(repo).map_err(RunnerError::git(format!("opening the repository at {}", repo.display())))
}

/// Captures HEAD and the working tree's diff against it (ignored files excluded).
pub fn capture(repo_path: &Path) -> Result<CodeState, RunnerError> {
    let repo = open(repo_path)?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(RunnerError::git(format!("reading HEAD of {} (is there a commit yet?)", repo_path.display())))?;
    let tree = head.tree().map_err(RunnerError::git("reading HEAD's tree"))?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true).show_untracked_content(true).show_binary(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
        .map_err(RunnerError::git("diffing the working tree against HEAD"))?;
    let diff = if diff.deltas().len() == 0 { None } else { Some(patch_bytes(&diff)?) };
    Ok(CodeState { commit: head.id().to_string(), diff })
}

fn patch_bytes(diff: &Diff) -> Result<Vec<u8>, RunnerError> {
    let mut buf = Vec::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            buf.push(line.origin() as u8);
        }
        buf.extend_from_slice(line.content());
        true
    })
    .map_err(RunnerError::git("printing the working tree's diff"))?;
    Ok(buf)
}

/// SHA-256 of `<repo>/Cargo.lock`.
pub fn cargo_lock_digest(repo: &Path) -> Result<Digest, RunnerError> {
    let p = repo.join("Cargo.lock");
    let bytes = fs::read(&p).map_err(|e| RunnerError::File {
        path: p.clone(),
        why: format!("{e}; runs pin the resolved dependencies: run `cargo generate-lockfile` and commit Cargo.lock"),
    })?;
    Ok(Digest::of(&bytes))
}

/// The repository's working-tree root.
pub fn workdir(repo: &Path) -> Result<PathBuf, RunnerError> {
    let r = open(repo)?;
    r.workdir().map(Path::to_path_buf).ok_or_else(|| RunnerError::User(format!("{} is a bare repository", repo.display())))
}

/// Checks `commit` out (detached) into a git worktree at `dest`, then applies `diff` on top.
/// Reuses `dest` when it is already a worktree, resetting it first.
pub fn checkout_worktree(repo_path: &Path, commit: &str, diff: Option<&[u8]>, dest: &Path) -> Result<(), RunnerError> {
    let repo = open(repo_path)?;
    let oid = Oid::from_str(commit).map_err(RunnerError::git(format!("parsing commit id {commit}")))?;
    repo.find_commit(oid).map_err(|e| RunnerError::Git {
        what: format!(
            "commit {commit} is not in the repository at {}; fetch it (or import the bundle that carries it)",
            repo_path.display()
        ),
        source: e,
    })?;
    let wt_repo = match Repository::open(dest) {
        Ok(r) if r.is_worktree() => r,
        _ => {
            if dest.exists() {
                fs::remove_dir_all(dest).map_err(|e| RunnerError::File { path: dest.into(), why: e.to_string() })?;
            }
            fs::create_dir_all(dest.parent().unwrap()).map_err(|e| RunnerError::File { path: dest.into(), why: e.to_string() })?;
            let name = dest.file_name().unwrap().to_string_lossy().into_owned();
            // A stale registration (its folder deleted) blocks the name: prune it first.
            if let Ok(old) = repo.find_worktree(&name) {
                let _ = old.prune(Some(git2::WorktreePruneOptions::new().valid(true).working_tree(true)));
            }
            let wt = repo.worktree(&name, dest, None).map_err(RunnerError::git(format!("adding worktree {}", dest.display())))?;
            let r = Repository::open_from_worktree(&wt).map_err(RunnerError::git("opening the new worktree"))?;
            // libgit2 made a branch named after the worktree; detach and drop it.
            r.set_head_detached(oid).map_err(RunnerError::git("detaching the worktree's HEAD"))?;
            if let Ok(mut b) = repo.find_branch(&name, BranchType::Local) {
                let _ = b.delete();
            }
            r
        }
    };
    wt_repo.set_head_detached(oid).map_err(RunnerError::git(format!("pointing the worktree at {commit}")))?;
    wt_repo
        .checkout_head(Some(CheckoutBuilder::new().force().remove_untracked(true)))
        .map_err(RunnerError::git(format!("checking out {commit}")))?;
    if let Some(bytes) = diff {
        let d = Diff::from_buffer(bytes).map_err(RunnerError::git("reading the recorded diff"))?;
        wt_repo
            .apply(&d, ApplyLocation::WorkDir, None)
            .map_err(RunnerError::git(format!("applying the recorded diff on top of {commit}")))?;
    }
    Ok(())
}
