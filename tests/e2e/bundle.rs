//! Bundles between two machines' worth of state: export from one sandbox, verify, import into
//! another with an unrelated repository; a damaged bundle is refused and leaves nothing behind.

use crate::support::*;

#[test]
fn export_verify_import_then_show_and_a_damaged_bundle_is_refused() {
    let a = Sandbox::new();
    git(&a.repo(), &["commit", "-q", "--allow-empty", "-m", "the sender's work"]);
    let hash = ok(a.cmd(&["run", "demo.pi", "--seed", "3", "-p", "n=50000", "-p", "tasks=8"])).last_line().to_string();
    let file = a.scratch().join("runs.reprise");
    let out = ok(a.cmd(&["bundle", "export", &hash[..10], "-o", file.to_str().unwrap()]));
    assert!(out.stdout.contains("1 run(s)") && out.stdout.contains("1 commit(s)"), "{}", out.stdout);
    let v = ok(a.cmd(&["--json", "bundle", "verify", file.to_str().unwrap()])).json();
    assert_eq!(v["runs"][0]["record"], hash.as_str());

    // the receiver: its own store, and a repository that has never seen the sender's commits
    let b = Sandbox::new();
    git(&b.repo(), &["commit", "-q", "--allow-empty", "-m", "unrelated history"]);
    let commit = v["runs"][0]["commit"].as_str().unwrap().to_string();
    assert!(std::process::Command::new("git").args(["cat-file", "-e", &commit]).current_dir(b.repo()).status().map(|s| !s.success()).unwrap());
    let imp = ok(b.cmd(&["--json", "bundle", "import", file.to_str().unwrap()])).json();
    assert_eq!(imp["new_objects"], v["objects"]);
    assert_eq!(git(&b.repo(), &["rev-parse", &format!("refs/reprise/commits/{commit}")]), commit);
    let shown_a = ok(a.cmd(&["show", &hash, "--output", "summary.json"])).stdout;
    let shown_b = ok(b.cmd(&["show", &hash, "--output", "summary.json"])).stdout;
    assert_eq!(shown_a, shown_b);
    // the same spec asked for on the receiver is memoised: the imported record is its memo
    let again = ok(b.cmd(&["run", "demo.pi", "--seed", "3", "-p", "n=50000", "-p", "tasks=8"]));
    assert_eq!(again.last_line().len(), 64);
    let again_imp = ok(b.cmd(&["--json", "bundle", "import", file.to_str().unwrap()])).json();
    assert_eq!(again_imp["new_objects"], 0, "a second import adds nothing");

    // a thin bundle (--since): only the history the receiver lacks; a receiver without the
    // prerequisite commit is told which one it needs
    git(&a.repo(), &["commit", "-q", "--allow-empty", "-m", "more work"]);
    let r3 = ok(a.cmd(&["run", "demo.pi", "--seed", "4", "-p", "n=50000", "-p", "tasks=8"])).last_line().to_string();
    let thin = a.scratch().join("thin.reprise");
    ok(a.cmd(&["bundle", "export", &r3, "--since", &commit, "-o", thin.to_str().unwrap()]));
    let full = a.scratch().join("full.reprise");
    ok(a.cmd(&["bundle", "export", &r3, "-o", full.to_str().unwrap()]));
    assert!(std::fs::metadata(&thin).unwrap().len() < std::fs::metadata(&full).unwrap().len());
    let c3 = git(&a.repo(), &["rev-parse", "HEAD"]);
    ok(b.cmd(&["bundle", "import", thin.to_str().unwrap()]));
    assert_eq!(git(&b.repo(), &["rev-parse", &format!("refs/reprise/commits/{c3}")]), c3);
    assert_eq!(ok(a.cmd(&["show", &r3, "--output", "summary.json"])).stdout, ok(b.cmd(&["show", &r3, "--output", "summary.json"])).stdout);
    let lacks = Sandbox::new();
    let r = try_run(lacks.cmd(&["bundle", "import", thin.to_str().unwrap()]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(&format!("needs commit {commit}")) && r.stderr.contains("without --since"), "{}", r.stderr);
    assert!(tree(&lacks.store()).iter().all(|(p, _)| !p.starts_with("objects/")), "nothing kept");
    let r = try_run(a.cmd(&["bundle", "export", &r3, "--since", "no-such-rev", "-o", a.scratch().join("y.reprise").to_str().unwrap()]));
    assert!(r.stderr.contains("`--since no-such-rev` names no commit"), "{}", r.stderr);

    // one flipped byte: refused by verify and by import, and the store gains nothing
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = a.scratch().join("damaged.reprise");
    std::fs::write(&bad, &bytes).unwrap();
    let c = Sandbox::new();
    ok(c.cmd(&["run", "demo.pi", "--seed", "9", "-p", "n=1000", "-p", "tasks=2"]));
    let before = tree(&c.store());
    let refs_before = git(&c.repo(), &["for-each-ref"]);
    let r = try_run(c.cmd(&["bundle", "verify", bad.to_str().unwrap()]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("bundle"), "{}", r.stderr);
    let r = try_run(c.cmd(&["bundle", "import", bad.to_str().unwrap()]));
    assert_ne!(r.code, 0);
    // a bundle over the receiver's size cap: refused with the limit named
    let r = try_run(c.cmd(&["bundle", "import", file.to_str().unwrap(), "--max-expanded", "2KiB"]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("expands past the limit of 2048 bytes") && r.stderr.contains("--max-expanded"), "{}", r.stderr);
    let r = try_run(c.cmd(&["bundle", "import", file.to_str().unwrap(), "--max-expanded", "lots"]));
    assert!(r.stderr.contains("`lots` is not a size"), "{}", r.stderr);
    assert_eq!(before, tree(&c.store()), "a refused import leaves the store byte for byte as it was");
    assert_eq!(refs_before, git(&c.repo(), &["for-each-ref"]), "and the repository's refs too");
    // a hash the store does not have
    let r = try_run(a.cmd(&["bundle", "export", "abcdef0123", "-o", a.scratch().join("x.reprise").to_str().unwrap()]));
    assert_ne!(r.code, 0);
    assert!(!a.scratch().join("x.reprise").exists(), "no partial file is left");
}
