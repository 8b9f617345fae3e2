//! Runs: the same spec gives the same run hash (forced, and whatever the thread count); memoised
//! runs return at once; bad params are refused before anything runs.

use crate::support::*;

const SMALL: &[&str] = &["run", "demo.pi", "--seed", "7", "-p", "n=200000", "-p", "tasks=16"];

#[test]
fn same_spec_forced_twice_gives_the_same_run_hash() {
    let sb = Sandbox::new();
    let first = ok(sb.cmd(SMALL));
    let hash = first.last_line().to_string();
    assert_eq!(hash.len(), 64, "the last line is the run hash: {}", first.stdout);
    let mut again = sb.cmd(SMALL);
    again.arg("--force");
    let second = ok(again);
    assert!(!second.stdout.contains("memoised"), "--force runs again: {}", second.stdout);
    assert_eq!(second.last_line(), hash);
}

#[test]
fn thread_count_never_changes_the_run_hash() {
    let sb = Sandbox::new();
    let mut hashes = Vec::new();
    for threads in ["1", "2", "3"] {
        let mut c = sb.cmd(SMALL);
        c.arg("--force").env("RAYON_NUM_THREADS", threads);
        hashes.push(ok(c).last_line().to_string());
    }
    assert_eq!(hashes[0], hashes[1], "1 vs 2 threads");
    assert_eq!(hashes[0], hashes[2], "1 vs 3 threads");
    // The note records the thread count of the latest execution, outside the hash.
    let shown = ok(sb.cmd(&["--json", "show", &hashes[0]])).json();
    assert_eq!(shown["note"]["threads"], 3);
}

#[test]
fn a_recorded_spec_is_memoised() {
    let sb = Sandbox::new();
    let first = ok(sb.cmd(SMALL));
    let second = ok(sb.cmd(SMALL));
    assert!(second.stdout.contains("memoised"), "{}", second.stdout);
    assert_eq!(first.last_line(), second.last_line());
    // Spelling out a default is the same spec.
    let mut explicit: Vec<&str> = SMALL.to_vec();
    explicit.extend(["-p", "keep=1000"]);
    let third = ok(sb.cmd(&explicit));
    assert!(third.stdout.contains("memoised"));
    assert_eq!(third.last_line(), first.last_line());
    // A different seed is a different run.
    let other = ok(sb.cmd(&["run", "demo.pi", "--seed", "8", "-p", "n=200000", "-p", "tasks=16"]));
    assert_ne!(other.last_line(), first.last_line());
}

#[test]
fn bad_params_are_refused_before_anything_runs() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (&["-p", "nn=5"], "unknown parameter `nn` (this experiment takes: n, tasks, keep)"),
        (&["-p", "n=many"], "parameter `n` expects int, got `many`"),
        (&["-p", "n=0"], "parameter `n` = 0 is out of range 1..=100000000000"),
        (&["-p", "n"], "`n` is not of the form name=value"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["run", "demo.pi"];
        args.extend_from_slice(extra);
        let r = try_run(sb.cmd(&args));
        assert_eq!(r.code, 2, "user error exit status for {extra:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: demo.pi: "), "{}", r.stderr);
        assert!(r.stderr.contains(want), "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    }
    let r = try_run(sb.cmd(&["run", "demo.tau"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown experiment `demo.tau` (known: ") && r.stderr.contains("demo.pi"), "{}", r.stderr);
    assert!(!sb.store().exists(), "nothing ran, so no store was created");
}

#[test]
fn show_prints_an_output_and_runs_lists_newest_first() {
    let sb = Sandbox::new();
    let a = ok(sb.cmd(&["run", "demo.pi", "--seed", "1", "-p", "n=1000", "-p", "tasks=4"])).last_line().to_string();
    let b = ok(sb.cmd(&["run", "demo.pi", "--seed", "2", "-p", "n=1000", "-p", "tasks=4"])).last_line().to_string();
    let summary: serde_json::Value = serde_json::from_str(&ok(sb.cmd(&["show", &a[..10], "--output", "summary.json"])).stdout).unwrap();
    assert_eq!(summary["n"], 1000);
    let hits = summary["hits"].as_u64().unwrap();
    assert!((summary["estimate"].as_f64().unwrap() - 4.0 * hits as f64 / 1000.0).abs() < 1e-15);
    let listed = ok(sb.cmd(&["--json", "runs"])).json();
    let runs: Vec<&str> = listed.as_array().unwrap().iter().map(|r| r["run"].as_str().unwrap()).collect();
    assert_eq!(runs, vec![b.as_str(), a.as_str()], "newest first");
    let r = try_run(sb.cmd(&["show", &a, "--output", "nope.csv"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has no output `nope.csv` (it has: hits.npy, samples.npy, summary.json)"), "{}", r.stderr);
}

#[test]
fn backend_requests_resolve_into_the_spec_and_never_change_outputs() {
    let sb = Sandbox::new();
    let base = ["run", "rdd.r3d", "--json", "-p", "multipliers=rademacher", "-p", "draws=300"];
    let run = |backend: &str| {
        let mut args = base.to_vec();
        args.extend(["-p", backend]);
        ok(sb.cmd(&args)).json()
    };
    let (cpu, auto) = (run("backend=cpu"), run("backend=auto"));
    assert_eq!(cpu["outputs"], auto["outputs"], "auto gives the CPU's bytes");
    let spec = ok(sb.cmd(&["--json", "show", cpu["run"].as_str().unwrap()])).json();
    assert_eq!(spec["spec"]["backend"]["kind"], "cpu", "{spec}");
    // Gaussian multipliers never ask for a backend: the spec records the CPU reference.
    let gauss = ok(sb.cmd(&["run", "rdd.r3d", "--json", "-p", "draws=300", "-p", "backend=cuda"])).json();
    assert!(gauss["outputs"]["summary.json"].is_object());
    let mut cuda = base.to_vec();
    cuda.extend(["-p", "backend=cuda"]);
    let r = try_run(sb.cmd(&cuda));
    if reprise_gpu::cuda_unavailable().is_some() {
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("backend `cuda` was asked for but no CUDA device can be used") && r.stderr.contains("backend=auto"), "{}", r.stderr);
    } else {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["outputs"], cpu["outputs"], "CUDA gives the CPU's bytes");
    }
}
