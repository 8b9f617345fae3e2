//! Provenance through git2: the HEAD commit and, for a tree whose *code* changed, the exact diff of
//! the code (untracked code files included); the Cargo.lock digest; and pinned-commit worktrees.

use crate::error::RunnerError;
use git2::{ApplyLocation, BranchType, Diff, DiffFormat, DiffOptions, Oid, Repository, build::CheckoutBuilder};
use reprise_store::Digest;
use std::fs;
use std::path::{Path, PathBuf};

/// The rule that decides which paths are code, as recorded in a dirty spec's `code.scope`:
/// the root `Cargo.toml` and `Cargo.lock`, the toolchain files, `.cargo/config(.toml)`, and every
/// file under a workspace member's folder (sources, build scripts, data compiled in with
/// `include_*!`); when the root is a package itself, every file. Specs without a scope were made when every changed or untracked file counted.
pub const CODE_SCOPE: &str = "workspace-members/1";

const ROOT_CODE_FILES: [&str; 6] = ["Cargo.toml", "Cargo.lock", "rust-toolchain", "rust-toolchain.toml", ".cargo/config", ".cargo/config.toml"];

/// The state of the code in a repository.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeState {
    pub commit: String,
    /// The patch from HEAD to the working tree's code, or None when no code changed.
    pub diff: Option<Vec<u8>>,
    /// Changed or untracked paths that are not code (reported, never hashed).
    pub other_changes: Vec<String>,
}

impl CodeState {
    pub fn diff_digest(&self) -> Option<Digest> {
        self.diff.as_deref().map(Digest::of)
    }
}

fn open(repo: &Path) -> Result<Repository, RunnerError> {
    open_repo(repo)
}

/// Opens the git repository runs are recorded against; a folder that is not one is the user's
/// to fix (exit 2), naming the folder and the way out.
pub fn open_repo(repo: &Path) -> Result<Repository, RunnerError> {
    Repository::open(repo).map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => RunnerError::User(format!(
            "{} is not a git repository: runs record the git commit of their code, so --repo (or REPRISE_REPO) must name the repository holding it (`git init` and a first commit make one)",
            repo.display()
        )),
        _ => RunnerError::Git { what: format!("opening the repository at {}", repo.display()), source: e },
    })
}

/// Captures HEAD and the diff of the working tree's code against it (ignored files excluded).
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
    let scope = CodeScope::of(&repo, repo.workdir().unwrap_or(repo_path), &tree);
    let mut code_changes = 0;
    let mut other_changes = Vec::new();
    for delta in diff.deltas() {
        let path = delta_path(&delta);
        if scope.is_code(&path) {
            code_changes += 1;
        } else {
            other_changes.push(path);
        }
    }
    let diff = if code_changes == 0 { None } else { Some(patch_bytes(&diff, &scope)?) };
    Ok(CodeState { commit: head.id().to_string(), diff, other_changes })
}

fn delta_path(delta: &git2::DiffDelta) -> String {
    let f = if delta.new_file().path().is_some() { delta.new_file() } else { delta.old_file() };
    f.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Which paths are code: see [`CODE_SCOPE`]. Members are read from the root `Cargo.toml` of the
/// working tree and of HEAD, so a member being added or removed counts either way.
struct CodeScope {
    members: Vec<String>,
    /// The root is a package itself: everything in the tree may be read by its build.
    root_package: bool,
}

impl CodeScope {
    fn of(repo: &Repository, workdir: &Path, head: &git2::Tree) -> CodeScope {
        let mut manifests: Vec<String> = fs::read_to_string(workdir.join("Cargo.toml")).into_iter().collect();
        if let Ok(entry) = head.get_path(Path::new("Cargo.toml"))
            && let Ok(blob) = entry.to_object(repo).and_then(|o| o.peel_to_blob())
        {
            manifests.push(String::from_utf8_lossy(blob.content()).into_owned());
        }
        let root_package = manifests.iter().any(|t| t.lines().any(|l| l.trim() == "[package]"));
        let mut members: Vec<String> = manifests.iter().flat_map(|t| workspace_members(t)).collect();
        members.sort();
        members.dedup();
        CodeScope { members, root_package }
    }

    fn is_code(&self, path: &str) -> bool {
        self.root_package
            || ROOT_CODE_FILES.contains(&path)
            || self.members.iter().any(|m| match m.strip_suffix("/*") {
                Some(parent) => path.strip_prefix(parent).and_then(|r| r.strip_prefix('/')).is_some_and(|r| r.contains('/')),
                None => path.strip_prefix(m.as_str()).is_some_and(|r| r.starts_with('/')),
            })
    }
}

fn patch_bytes(diff: &Diff, scope: &CodeScope) -> Result<Vec<u8>, RunnerError> {
    let mut buf = Vec::new();
    diff.print(DiffFormat::Patch, |delta, _, line| {
        if !scope.is_code(&delta_path(&delta)) {
            return true;
        }
        if matches!(line.origin(), '+' | '-' | ' ') {
            buf.push(line.origin() as u8);
        }
        buf.extend_from_slice(line.content());
        true
    })
    .map_err(RunnerError::git("printing the working tree's diff"))?;
    Ok(buf)
}

/// The `members` of the `[workspace]` table of a Cargo.toml (plain strings and `dir/*` globs).
fn workspace_members(toml: &str) -> Vec<String> {
    let mut in_workspace = false;
    let mut rest = None;
    for (i, line) in toml.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[") && t.ends_with(']') && !t.contains('=') {
            in_workspace = t == "[workspace]";
        } else if in_workspace && t.starts_with("members") && t[7..].trim_start().starts_with('=') {
            rest = Some(toml.lines().skip(i).map(|l| l.split('#').next().unwrap_or("")).collect::<Vec<_>>().join("\n"));
            break;
        }
    }
    let Some(rest) = rest else { return Vec::new() };
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else { return Vec::new() };
    if close < open {
        return Vec::new();
    }
    rest[open + 1..close]
        .split(',')
        .map(|m| m.trim().trim_matches('"').trim_end_matches('/').trim_start_matches("./").to_string())
        .filter(|m| !m.is_empty())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_from_the_workspace_table_only() {
        let toml = "[package]\nname = \"x\"\n[workspace]\nresolver = \"3\"\nmembers = [\n  \"core\", # the core, with, commas\n  \"./store/\",\n  \"crates/*\",\n]\n[workspace.dependencies]\nmembers = 1\n";
        assert_eq!(workspace_members(toml), ["core", "store", "crates/*"]);
        assert!(workspace_members("[workspace]\nresolver = \"3\"\n").is_empty());
        assert_eq!(workspace_members("[workspace]\nmembers=[\"a\",\"b\"]"), ["a", "b"]);
    }

    #[test]
    fn code_is_the_root_manifests_and_the_members_folders() {
        let scope = CodeScope { members: vec!["core".into(), "crates/*".into()], root_package: false };
        for code in ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", ".cargo/config.toml", "core/src/lib.rs", "core/data/x.csv", "crates/a/src/lib.rs"] {
            assert!(scope.is_code(code), "{code}");
        }
        for other in ["lockfiles/pi.json", "my.csv", "notebooks/a.ipynb", "README.md", "core.rs", "corex/src/lib.rs", "crates/loose.rs", "tests/e2e/main.rs"] {
            assert!(!scope.is_code(other), "{other}");
        }
        assert!(CodeScope { members: vec![], root_package: true }.is_code("my.csv"));
    }
}
