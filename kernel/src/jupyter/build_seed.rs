//! The build of `:dep` crates shared across kernels: after a cell adds dependencies, the kernel's
//! target directory is copied into the store's cache, and a fresh kernel starts from that copy.
//! Cargo's own fingerprints decide what is still fresh, so a changed project crate is rebuilt.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The cached target directory under the store's cache.
pub fn seed_dir(cache: &Path) -> PathBuf {
    cache.join("evcxr-target")
}

/// A copy of the tree `from` at `to` (which must not exist), keeping modification times, which
/// cargo's fingerprints compare. False when the copy failed; `to` is then removed.
fn copy_tree(from: &Path, to: &Path) -> bool {
    let ok = Command::new("cp").arg("-a").arg("--reflink=auto").arg(from).arg(to).status().is_ok_and(|s| s.success())
        || (!to.exists() && Command::new("cp").arg("-a").arg(from).arg(to).status().is_ok_and(|s| s.success()));
    if !ok {
        let _ = std::fs::remove_dir_all(to);
    }
    ok
}

/// Fills the build directory of evcxr's crate at `crate_dir` from the seed. The seed is first
/// copied whole beside it (another kernel may replace the seed meanwhile: a partial copy is
/// dropped, never used), then hard-linked into place.
pub fn plant(seed: &Path, crate_dir: &Path) {
    if !seed.is_dir() {
        return;
    }
    let staged = crate_dir.join("target-seed");
    let _ = std::fs::remove_dir_all(&staged);
    if copy_tree(seed, &staged) {
        let target = crate_dir.join("target");
        let _ = std::fs::create_dir_all(&target);
        let _ = Command::new("cp").arg("-alf").arg(staged.join(".")).arg(&target).status();
    }
    let _ = std::fs::remove_dir_all(&staged);
}

/// Replaces the seed with the build directory of evcxr's crate at `crate_dir`, without the cell
/// crates' own outputs (their names carry the kernel's directory, so no other kernel reuses them).
pub fn save(seed: &Path, crate_dir: &Path) {
    let Some(parent) = seed.parent() else { return };
    let _ = std::fs::create_dir_all(parent);
    let name = seed.file_name().and_then(|n| n.to_str()).unwrap_or("evcxr-target");
    let pid = std::process::id();
    let fresh = parent.join(format!("{name}.new-{pid}"));
    let _ = std::fs::remove_dir_all(&fresh);
    if !copy_tree(&crate_dir.join("target"), &fresh) {
        return;
    }
    prune_cell_outputs(&fresh);
    // A kernel copying from the old seed this instant loses its copy and builds from scratch.
    let old = parent.join(format!("{name}.old-{pid}"));
    let _ = std::fs::remove_dir_all(&old);
    let _ = std::fs::rename(seed, &old);
    if std::fs::rename(&fresh, seed).is_err() {
        let _ = std::fs::remove_dir_all(&fresh);
    }
    let _ = std::fs::remove_dir_all(&old);
    // copies left by kernels that died while saving
    remove_stale(parent, &format!("{name}.new-"), Duration::from_secs(3600));
}

/// Whether cargo wrote anything but the cell crates' outputs under `crate_dir`'s build directory
/// since `since`: a build that found every dependency fresh leaves the seed as it is.
pub fn rebuilt(crate_dir: &Path, since: SystemTime) -> bool {
    fn newer(dir: &Path, since: SystemTime) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_cell_output(&name) || name == ".cargo-lock" {
                return false;
            }
            let path = e.path();
            if path.is_dir() && !path.is_symlink() {
                newer(&path, since)
            } else {
                e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t > since)
            }
        })
    }
    newer(&crate_dir.join("target"), since)
}

/// Outputs of evcxr's own crate (`ctx`) and of its cells (`code_N`).
fn is_cell_output(name: &str) -> bool {
    ["ctx-", "ctx.", "libctx", "code_", "libcode_"].iter().any(|p| name.starts_with(p))
}

/// Removes what evcxr's own crate (`ctx`) and its cells (`code_N`) left in the build directory.
fn prune_cell_outputs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if is_cell_output(&name) {
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        } else if path.is_dir() && !path.is_symlink() {
            prune_cell_outputs(&path);
        }
    }
}

/// Removes entries of `dir` named `prefix…` last modified more than `age` ago.
fn remove_stale(dir: &Path, prefix: &str, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| now.duration_since(t).ok()).is_some_and(|d| d > age);
        if old && e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_build_seeds_the_next_crate_without_the_cell_outputs() {
        let root = tempfile::tempdir().unwrap();
        let (a, b, cache) = (root.path().join("a"), root.path().join("b"), root.path().join("cache"));
        let deps = a.join("target/x86_64-unknown-linux-gnu/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("libreprise_experiments-1.rlib"), b"rlib").unwrap();
        std::fs::write(deps.join("libctx-2.so"), b"cell").unwrap();
        std::fs::create_dir_all(a.join("target/x86_64-unknown-linux-gnu/debug/incremental/ctx-3")).unwrap();
        std::fs::write(a.join("target/x86_64-unknown-linux-gnu/debug/libcode_1.so"), b"cell").unwrap();
        let seed = seed_dir(&cache);
        save(&seed, &a);
        assert!(seed.join("x86_64-unknown-linux-gnu/debug/deps/libreprise_experiments-1.rlib").is_file());
        assert!(!seed.join("x86_64-unknown-linux-gnu/debug/deps/libctx-2.so").exists());
        assert!(!seed.join("x86_64-unknown-linux-gnu/debug/incremental/ctx-3").exists());
        assert!(!seed.join("x86_64-unknown-linux-gnu/debug/libcode_1.so").exists());

        // A new crate whose build directory already holds its own outputs gains the seed's.
        std::fs::create_dir_all(b.join("target/x86_64-unknown-linux-gnu/debug")).unwrap();
        std::fs::write(b.join("target/x86_64-unknown-linux-gnu/debug/libcode_1.so"), b"mine").unwrap();
        plant(&seed, &b);
        let got = b.join("target/x86_64-unknown-linux-gnu/debug/deps/libreprise_experiments-1.rlib");
        assert_eq!(std::fs::read(&got).unwrap(), b"rlib");
        assert_eq!(std::fs::read(b.join("target/x86_64-unknown-linux-gnu/debug/libcode_1.so")).unwrap(), b"mine");
        assert!(!b.join("target-seed").exists());
        // Modification times survive, so cargo's fingerprints still hold.
        let t = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(t(&got), t(&deps.join("libreprise_experiments-1.rlib")));

        // Only the cell's own outputs changed: nothing to save.
        let planted = SystemTime::now();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(b.join("target/x86_64-unknown-linux-gnu/debug/libcode_2.so"), b"cell").unwrap();
        assert!(!rebuilt(&b, planted));
        std::fs::write(b.join("target/x86_64-unknown-linux-gnu/debug/deps/libreprise_core-4.rlib"), b"new").unwrap();
        assert!(rebuilt(&b, planted));

        // Saving again replaces the seed, leaving nothing else behind.
        save(&seed, &b);
        assert!(seed.join("x86_64-unknown-linux-gnu/debug/deps/libreprise_core-4.rlib").is_file());
        let left: Vec<String> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["evcxr-target"]);
    }
}
