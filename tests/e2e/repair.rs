//! What counts as code (non-code files never make a run dirty), and a corrupt object repaired:
//! by a rerun's put, by `verify --repair`, by a bundle import, before or after `verify` moved it
//! aside.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const PI: &[&str] = &["run", "demo.pi", "--seed", "7", "-p", "n=20000", "-p", "tasks=4"];

/// The sandbox's repository made a one-member workspace (`core/`), committed.
fn workspace_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let repo = sb.repo();
    std::fs::write(repo.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"core\"]\n").unwrap();
    std::fs::create_dir_all(repo.join("core/src")).unwrap();
    std::fs::write(repo.join("core/src/lib.rs"), "pub fn one() -> u32 { 1 }\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "a workspace"]);
    sb
}

#[test]
fn lockfiles_data_and_stray_files_are_not_code_but_a_new_source_file_is() {
    let sb = workspace_sandbox();
    let first = ok(sb.cmd(PI));
    let hash = first.last_line().to_string();
    assert!(!first.stdout.contains("dirty"), "{}", first.stdout);
    // The tour: lock the run (an uncommitted lockfile), and leave data and a bundle lying around.
    ok(sb.cmd(&["lock", &hash, "--name", "pi-small"]));
    assert!(sb.repo().join("lockfiles/pi-small.json").is_file());
    std::fs::write(sb.repo().join("my.csv"), "a,b\n1,2\n").unwrap();
    std::fs::create_dir_all(sb.repo().join("notebooks")).unwrap();
    std::fs::write(sb.repo().join("notebooks/draft.ipynb"), "{}").unwrap();
    std::fs::write(sb.repo().join("README.md"), "edited, not code\n").unwrap();
    let again = ok(sb.cmd(PI));
    assert_eq!(again.last_line(), hash, "non-code changes leave the spec alone");
    assert!(again.stdout.contains("memoised") && !again.stdout.contains("dirty"), "{}", again.stdout);
    // A clean run at the repository's commit reruns in this binary, with no build.
    let r = ok(sb.cmd(&["--json", "rerun", &hash])).json();
    assert_eq!(r["report"]["ran_with"], "current binary", "{r}");
    assert_eq!(r["passes"], true);
    // A new source file under a member is code: the run is dirty, and its diff holds only code.
    std::fs::write(sb.repo().join("core/src/extra.rs"), "pub fn two() -> u32 { 2 }\n").unwrap();
    let dirty = ok(sb.cmd(PI));
    assert_ne!(dirty.last_line(), hash);
    assert!(dirty.stdout.contains("note: the working tree is dirty"), "{}", dirty.stdout);
    let spec = ok(sb.cmd(&["--json", "show", dirty.last_line()])).json()["spec"]["code"].clone();
    assert_eq!(spec["dirty"], true);
    assert_eq!(spec["scope"], "workspace-members/1", "the rule is recorded with the diff: {spec}");
    let diff = ok(sb.cmd(&["store", "get", spec["diff"].as_str().unwrap()])).stdout;
    assert!(diff.contains("core/src/extra.rs") && diff.contains("pub fn two"), "{diff}");
    for other in ["my.csv", "lockfiles/", "README.md", "notebooks/"] {
        assert!(!diff.contains(other), "{other} is not code but is in the diff:\n{diff}");
    }
    // Cargo.lock is code.
    std::fs::remove_file(sb.repo().join("core/src/extra.rs")).unwrap();
    let mut lock = std::fs::read_to_string(sb.repo().join("Cargo.lock")).unwrap();
    lock.push_str("\n# edited\n");
    std::fs::write(sb.repo().join("Cargo.lock"), lock).unwrap();
    let edited = ok(sb.cmd(PI));
    assert!(edited.stdout.contains("dirty"), "{}", edited.stdout);
}

/// Appends a byte to the stored object `d` (a disk that went wrong).
fn damage(store: &Path, d: &str) -> Vec<u8> {
    let p = store.join("objects/sha256").join(&d[..2]).join(&d[2..]);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut b = std::fs::read(&p).unwrap();
    b.push(b'!');
    std::fs::write(&p, &b).unwrap();
    b
}

fn summary_digest(sb: &Sandbox, run: &str) -> String {
    ok(sb.cmd(&["--json", "show", run])).json()["record"]["outputs"]["summary.json"]["digest"].as_str().unwrap().to_string()
}

#[test]
fn a_corrupt_output_comes_back_by_rerun_repair_and_bundle_import() {
    let sb = Sandbox::new();
    let run = ok(sb.cmd(PI)).last_line().to_string();
    let d = summary_digest(&sb, &run);
    let good = ok(sb.cmd(&["show", &run, "--output", "summary.json"])).stdout;
    let bundle = sb.scratch().join("run.reprise");
    ok(sb.cmd(&["bundle", "export", &run, "-o", bundle.to_str().unwrap()]));

    // 1. A rerun that produces the bytes replaces the damaged file (a put repairs in place).
    damage(&sb.store(), &d);
    let shown = try_run(sb.cmd(&["show", &run, "--output", "summary.json"]));
    assert!(shown.stderr.contains(&format!("object {d} is corrupt")), "{}", shown.stderr);
    ok(sb.cmd(&["rerun", &run]));
    assert_eq!(ok(sb.cmd(&["verify"])).code, 0);
    assert_eq!(ok(sb.cmd(&["show", &run, "--output", "summary.json"])).stdout, good);

    // 2. verify moves the damaged file aside (kept, never deleted); --repair reruns what made it.
    let bad = damage(&sb.store(), &d);
    let v = try_run(sb.cmd(&["verify"]));
    assert_eq!(v.code, 1, "{}", v.stdout);
    let moved = sb.store().join("quarantine").join(&d);
    assert!(v.stdout.contains(&format!("CORRUPT  {d}")) && v.stdout.contains(&moved.display().to_string()), "{}", v.stdout);
    assert_eq!(std::fs::read(&moved).unwrap(), bad);
    let v = try_run(sb.cmd(&["verify"]));
    assert_eq!(v.code, 1);
    assert!(v.stdout.contains(&format!("MISSING  {d}")) && v.stdout.contains("damaged file(s) from earlier checks"), "{}", v.stdout);
    let r = ok(sb.cmd(&["verify", "--repair"]));
    assert!(r.stdout.contains(&format!("reran {}", &run[..12])) && r.stdout.contains(&format!("RESTORED {d}")), "{}", r.stdout);
    assert!(r.stdout.contains("ok: every object matches"), "{}", r.stdout);
    assert!(moved.is_file(), "the quarantined file stays until the user deletes it");
    assert_eq!(ok(sb.cmd(&["show", &run, "--output", "summary.json"])).stdout, good);
    // In one step, from a damaged file in place.
    damage(&sb.store(), &d);
    let r = ok(sb.cmd(&["--json", "verify", "--repair"])).json();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["repair"]["restored"][0], d.as_str());

    // 3. A bundle import restores it, whether verify moved it aside first or not.
    for verify_first in [true, false] {
        damage(&sb.store(), &d);
        if verify_first {
            assert_eq!(try_run(sb.cmd(&["verify"])).code, 1);
        }
        let imp = ok(sb.cmd(&["bundle", "import", bundle.to_str().unwrap()]));
        assert!(!imp.stdout.contains("0 object(s) new"), "verify first: {verify_first}: {}", imp.stdout);
        assert_eq!(ok(sb.cmd(&["verify"])).code, 0, "verify first: {verify_first}");
        assert_eq!(ok(sb.cmd(&["show", &run, "--output", "summary.json"])).stdout, good);
    }
}
