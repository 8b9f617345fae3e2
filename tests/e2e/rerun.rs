//! `rerun` at the current commit (in this binary) and at an older commit (built in a worktree),
//! and a deliberately changed output reported with the right figures and exit status.

use crate::support::*;
use std::path::Path;

fn npy_f64(bytes: &[u8]) -> (usize, Vec<f64>) {
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let start = 10 + header_len;
    (start, bytes[start..].chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect())
}

#[test]
fn rerun_reproduces_at_the_current_and_an_older_commit_and_reports_a_changed_output() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let c1 = workspace_repo(&repo);
    let store = dir.path().join("store");
    // The pinned build shares the intermediate artifacts of the build that made this test (cargo's
    // build directory, under the profile's folder): only crates whose features differ are compiled
    // again, and its binary still goes to a target directory of its own.
    let target = workspace().join("target").join("rerun-e2e");
    let build_dir = workspace().join("target");
    let cmd = |args: &[&str]| {
        let mut c = reprise(&store, &repo, args);
        c.env("REPRISE_RERUN_TARGET_DIR", &target).env("CARGO_BUILD_BUILD_DIR", &build_dir);
        c
    };

    // The binary under test is built from exactly the sources committed as c1.
    let run = ok(cmd(&["run", "demo.pi", "--seed", "7", "-p", "n=50000", "-p", "tasks=8", "-p", "keep=20"]));
    let r1 = run.last_line().to_string();
    let r0 = ok(cmd(&["run", "demo.pi", "--seed", "8", "-p", "n=20000", "-p", "tasks=4"])).last_line().to_string();

    // 1. At the current commit: rerun in this binary.
    let rep = ok(cmd(&["--json", "rerun", &r1[..8]])).json();
    assert_eq!(rep["passes"], true);
    assert_eq!(rep["report"]["ran_with"], "current binary");
    assert_eq!(rep["report"]["new_record"], r1.as_str(), "the rerun's record is the recorded one, byte for byte");
    for o in rep["report"]["outputs"].as_array().unwrap() {
        assert_eq!(o["verdict"], "identical", "{o}");
    }

    // 2. The experiment's code changes in a second commit; the run pinned to c1 still reproduces,
    //    with a binary built at c1 in a worktree.
    let pi = repo.join("experiments/src/demo/pi.rs");
    let src = std::fs::read_to_string(&pi).unwrap();
    assert!(src.contains("let estimate = 4.0 * p;"));
    std::fs::write(&pi, src.replace("let estimate = 4.0 * p;", "let estimate = 4.0 * p * (1.0 + 1e-9);")).unwrap();
    git(&repo, &["commit", "-q", "-am", "change the estimator"]);
    assert_ne!(git(&repo, &["rev-parse", "HEAD"]), c1);
    let c = cmd(&["--json", "rerun", &r1]);
    let t = std::time::Instant::now();
    let rep = ok(c).json();
    eprintln!("rerun at an older commit, its --no-default-features build included: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(rep["passes"], true, "{rep}");
    assert_eq!(rep["report"]["ran_with"], format!("built at {}", &c1[..12]));
    assert_eq!(rep["report"]["new_record"], r1.as_str());
    let worktree = store.join("cache/worktrees").join(&c1[..12]);
    let pinned_src = std::fs::read_to_string(worktree.join("experiments/src/demo/pi.rs")).unwrap();
    assert!(pinned_src.contains("let estimate = 4.0 * p;"), "the worktree holds c1's code");
    assert_eq!(git(&worktree, &["rev-parse", "HEAD"]), c1);

    // 2b. A collaborator with an empty store and a repository that never saw c1 gets r1 as a
    //     bundle and r0 through an S3 remote, and reruns both at c1 (one build, shared by both).
    let bundle = dir.path().join("r1.reprise");
    ok(cmd(&["bundle", "export", &r1, "-o", bundle.to_str().unwrap()]));
    let s3_root = dir.path().join("s3");
    let s3 = S3Server::start(&s3_root, "lab-runs");
    ok(cmd(&["remote", "add", "lab", "s3://lab-runs/r", "--endpoint", &s3.endpoint]));
    ok(with_s3_credentials(cmd(&["remote", "push", "lab", &r0])));
    let peer = dir.path().join("peer");
    std::fs::create_dir(&peer).unwrap();
    small_repo(&peer);
    let peer_store = dir.path().join("peer-store");
    let pcmd = |args: &[&str]| {
        let mut c = reprise(&peer_store, &peer, args);
        c.env("REPRISE_RERUN_TARGET_DIR", &target).env("CARGO_BUILD_BUILD_DIR", &build_dir);
        with_s3_credentials(c)
    };
    ok(pcmd(&["bundle", "import", bundle.to_str().unwrap()]));
    ok(pcmd(&["remote", "add", "lab", "s3://lab-runs/r", "--endpoint", &s3.endpoint]));
    ok(pcmd(&["remote", "pull", "lab", &r0[..12]]));
    for r in [&r1, &r0] {
        let rep = ok(pcmd(&["--json", "rerun", r])).json();
        assert_eq!(rep["passes"], true, "{rep}");
        assert_eq!(rep["report"]["ran_with"], format!("built at {}", &c1[..12]));
        assert_eq!(rep["report"]["new_record"], r.as_str(), "the collaborator's rerun gives the sender's record, byte for byte");
    }
    drop(s3);

    // 3. A record whose samples.npy was deliberately changed in one element.
    let record_bytes = ok(cmd(&["store", "get", &r1])).stdout;
    let mut record: serde_json::Value = serde_json::from_str(&record_bytes).unwrap();
    let samples = std::process::Command::new(BIN)
        .args(["--store", store.to_str().unwrap(), "show", &r1, "--output", "samples.npy"])
        .output()
        .unwrap()
        .stdout;
    let (start, values) = npy_f64(&samples);
    assert_eq!(values.len(), 60, "20 rows of (x, y, inside)");
    let flat = 3 * 5 + 1; // row 5, column 1 (y)
    let original = values[flat];
    let changed_value = original + 0.25;
    let mut changed = samples.clone();
    changed[start + 8 * flat..start + 8 * flat + 8].copy_from_slice(&changed_value.to_le_bytes());
    let changed_digest = put(&store, &repo, &changed);
    record["outputs"]["samples.npy"]["digest"] = changed_digest.clone().into();
    let tampered = put(&store, &repo, serde_json::to_string(&record).unwrap().as_bytes());

    let r = try_run(cmd(&["--json", "rerun", &tampered]));
    assert_eq!(r.code, 1, "a rerun that differs exits 1\n{}\n{}", r.stdout, r.stderr);
    let rep = r.json();
    assert_eq!(rep["passes"], false);
    let outs = rep["report"]["outputs"].as_array().unwrap();
    let s = outs.iter().find(|o| o["name"] == "samples.npy").unwrap();
    assert_eq!(s["verdict"], "different");
    assert_eq!(s["recorded"], changed_digest.as_str());
    let d = &s["detail"];
    assert_eq!(d["kind"], "array");
    assert_eq!(d["elements"], 60);
    assert_eq!(d["differing"], 1);
    assert_eq!(d["first_index"], serde_json::json!([5, 1]));
    let abs = (changed_value - original).abs();
    assert_eq!(d["max_abs"].as_f64().unwrap(), abs);
    assert_eq!(d["max_rel"].as_f64().unwrap(), abs / changed_value.abs().max(original.abs()));
    let ulps = (changed_value.to_bits() as i64 - original.to_bits() as i64).unsigned_abs();
    assert_eq!(d["max_ulps"].as_u64().unwrap(), ulps);
    for o in outs.iter().filter(|o| o["name"] != "samples.npy") {
        assert_eq!(o["verdict"], "identical", "{o}");
    }
    // The text report names the same figures.
    let text = try_run(cmd(&["rerun", &tampered]));
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("1 of 60 elements differ (dtype <f8), first at [5, 1]"), "{}", text.stdout);
    assert!(text.stdout.contains("NOT reproduced: 1 of 3 outputs differ"), "{}", text.stdout);
}

fn put(store: &Path, repo: &Path, bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = reprise(store, repo, &["store", "put", "-"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
