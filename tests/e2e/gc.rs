//! `gc` loses nothing that was printed: every hash a sweep (with its aggregate and an experiment's
//! tables), a bundle import and a remote pull print still shows, reruns and verifies after `gc`;
//! a `gc` looping beside them deletes nothing they are writing; a temporary root left by a killed
//! run is discarded and named; an object of an unknown kind stops `gc` before it deletes; a
//! missing object is named with its owner, and `rerun` fails with an `error:` line.

use crate::support::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Every digest-looking word (64 hex digits) in `text`.
fn hashes(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_hexdigit()).filter(|w| w.len() == 64).map(str::to_string).collect()
}

/// A run in its own store, exported as a bundle, and one pushed to a folder remote.
fn foreign_runs(sb: &Sandbox) -> (String, String, String) {
    let src = sb.scratch().join("src-store");
    let run = |seed: &str| ok(reprise(&src, &sb.repo(), &["run", "demo.pi", "--seed", seed, "-p", "n=3000", "-p", "tasks=2"])).last_line().to_string();
    let (b, r) = (run("901"), run("902"));
    let bundle = sb.scratch().join("b.reprise");
    ok(reprise(&src, &sb.repo(), &["bundle", "export", &b, "-o", bundle.to_str().unwrap()]));
    let url = format!("file://{}", sb.scratch().join("shared").display());
    ok(reprise(&src, &sb.repo(), &["remote", "add", "lab", &url, "--create"]));
    ok(reprise(&src, &sb.repo(), &["remote", "push", "lab", &r]));
    ok(sb.cmd(&["remote", "add", "lab", &url]));
    (b, r, bundle.to_str().unwrap().to_string())
}

/// Every printed hash shows and reruns, `store get` of each works, and `verify` passes.
fn all_resolve(sb: &Sandbox, printed: &[String], rerun: &[String]) {
    for h in printed {
        ok(sb.cmd(&["show", h]));
        ok(sb.cmd(&["store", "get", h]));
    }
    for h in rerun {
        let rep = ok(sb.cmd(&["--json", "rerun", h])).json();
        assert_ne!(rep["passes"], false, "{h}: {rep}");
    }
    let v = try_run(sb.cmd(&["verify"]));
    assert_eq!(v.code, 0, "verify after gc:\n{}\n{}", v.stdout, v.stderr);
}

#[test]
fn everything_printed_survives_gc_and_a_missing_part_is_named() {
    let sb = Sandbox::new();
    // A sweep whose experiment makes its own table (causal.simulation joins replications).
    let out = ok(sb.cmd(&["sweep", "causal.simulation", "--seeds", "0", "-p", "reps=2", "-p", "n=200", "--grid", "first_rep=0,2"]));
    let printed = hashes(&out.stdout);
    assert!(out.stdout.contains("table "), "the experiment's table is printed: {}", out.stdout);
    let sweep_hash = out.last_line().to_string();
    let (b, r, bundle) = foreign_runs(&sb);
    ok(sb.cmd(&["bundle", "import", &bundle]));
    ok(sb.cmd(&["remote", "pull", "lab", &r]));
    let before = try_run(sb.cmd(&["gc", "--now", "--dry-run"]));
    assert_eq!(before.code, 0, "{}", before.stderr);
    ok(sb.cmd(&["gc", "--now"]));
    let mut all = printed.clone();
    all.extend([b.clone(), r.clone()]);
    all_resolve(&sb, &all, &[sweep_hash.clone(), b.clone(), r.clone()]);
    let shown = ok(sb.cmd(&["show", &sweep_hash])).stdout;
    assert!(shown.contains("recorded 2 of 2 cells") && shown.contains("aggregate "), "{shown}");

    // A table deleted by hand: verify names it and its owner; show of the aggregate marks it.
    let agg = ok(sb.cmd(&["--json", "show", &sweep_hash])).json()["aggregate"].as_str().unwrap().to_string();
    let agg_json = ok(sb.cmd(&["--json", "show", &agg])).json();
    let table = agg_json["value"]["tables"].as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string();
    remove_object(&sb.store(), &table);
    let v = try_run(sb.cmd(&["verify"]));
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains(&format!("MISSING  {table}  (named by sweep aggregate {}", &agg[..12])), "{}", v.stdout);
    assert!(ok(sb.cmd(&["show", &agg])).stdout.contains("MISSING"));

    // A run's spec deleted by hand: verify names it and the record; rerun fails with an error
    // line naming it and the way out.
    let spec = ok(sb.cmd(&["--json", "show", &b])).json()["spec_digest"].as_str().unwrap().to_string();
    remove_object(&sb.store(), &spec);
    let v = try_run(sb.cmd(&["verify"]));
    assert!(v.stdout.contains(&format!("MISSING  {spec}  (named by run record {}", &b[..12])), "{}", v.stdout);
    let bad = try_run(sb.cmd(&["rerun", &b]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("error:") && bad.stderr.contains(&spec) && bad.stderr.contains("import the bundle again"), "{}", bad.stderr);
}

fn remove_object(store: &Path, hex: &str) {
    let p = store.join("objects/sha256").join(&hex[..2]).join(&hex[2..]);
    std::fs::remove_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

#[test]
fn gc_looping_beside_a_sweep_an_import_and_a_pull_deletes_nothing_they_write() {
    let sb = Sandbox::new();
    let (b, r, bundle) = foreign_runs(&sb);
    ok(sb.cmd(&["run", "demo.pi", "--seed", "1", "-p", "n=1000"])); // the store exists before gc starts
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let looper = {
        let (stop, rounds, store, repo) = (stop.clone(), rounds.clone(), sb.store(), sb.repo());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let g = try_run(reprise(&store, &repo, &["gc", "--now"]));
                assert_eq!(g.code, 0, "gc beside the writers failed:\n{}", g.stderr);
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let out = ok(sb.cmd(&["sweep", "demo.pi", "--seeds", "0..60", "-p", "n=4000", "-p", "tasks=2", "-p", "keep=200"]));
    let sweep_hash = out.last_line().to_string();
    let printed = hashes(&out.stdout);
    ok(sb.cmd(&["bundle", "import", &bundle]));
    ok(sb.cmd(&["remote", "pull", "lab", &r]));
    stop.store(true, Ordering::SeqCst);
    looper.join().unwrap();
    let n = rounds.load(Ordering::SeqCst);
    assert!(n >= 3, "gc ran {n} times beside the writers");
    eprintln!("gc ran {n} times beside a 60-cell sweep, a bundle import and a remote pull");
    ok(sb.cmd(&["gc", "--now"]));
    let mut all = printed;
    all.extend([b.clone(), r.clone()]);
    all_resolve(&sb, &all, &[sweep_hash, b, r]);
}

#[test]
fn a_killed_runs_temporary_roots_are_discarded_by_name_and_an_unknown_kind_stops_gc() {
    let sb = Sandbox::new();
    ok(sb.cmd(&["run", "demo.pi", "--seed", "1", "-p", "n=1000"]));
    let mut child = sb.cmd(&["run", "demo.pi", "--seed", "2", "-p", "n=2000000000", "-p", "tasks=2"]).spawn().unwrap();
    // Its spec is stored (and pinned) before the experiment starts.
    let pins = sb.store().join("pins");
    let t0 = std::time::Instant::now();
    while std::fs::read_dir(&pins).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(t0.elapsed().as_secs() < 60, "the run never pinned anything");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    let g = ok(sb.cmd(&["gc", "--now"]));
    assert!(g.stdout.contains(&format!("discarded the temporary roots of process {pid} on ")) && g.stdout.contains("it has ended"), "{}", g.stdout);
    assert_eq!(std::fs::read_dir(&pins).unwrap().count(), 0);

    // An object of a Reprise kind this build does not know: gc deletes nothing and names it.
    let put = |bytes: &[u8]| {
        let f = sb.scratch().join("object");
        std::fs::write(&f, bytes).unwrap();
        ok(sb.cmd(&["store", "put", f.to_str().unwrap()])).last_line().to_string()
    };
    let junk = put(b"unreferenced");
    let future = put(br#"{"schema":"reprise.notebook-run/9"}"#);
    std::fs::create_dir_all(sb.store().join("refs/future")).unwrap();
    std::fs::write(sb.store().join("refs/future/one"), format!("{future}\n")).unwrap();
    let g = try_run(sb.cmd(&["gc", "--now"]));
    assert_eq!(g.code, 2, "{}\n{}", g.stdout, g.stderr);
    assert!(g.stderr.contains("error: gc deleted nothing") && g.stderr.contains("reprise.notebook-run/9") && g.stderr.contains(&future[..12]), "{}", g.stderr);
    ok(sb.cmd(&["store", "get", &junk]));
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Run(u8),
        Sweep(u8),
        Session(u8),
        Import(bool),
        Gc,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6).prop_map(Op::Run),
            (0u8..3).prop_map(Op::Sweep),
            any::<u8>().prop_map(Op::Session),
            any::<bool>().prop_map(Op::Import),
            Just(Op::Gc),
        ]
    }

    /// Two bundles of runs made elsewhere, shared by every case.
    fn bundles() -> &'static (tempfile::TempDir, [String; 2]) {
        static B: std::sync::OnceLock<(tempfile::TempDir, [String; 2])> = std::sync::OnceLock::new();
        B.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let repo = dir.path().join("repo");
            std::fs::create_dir(&repo).unwrap();
            small_repo(&repo);
            let store = dir.path().join("store");
            let paths = [0, 1].map(|i| {
                let r = ok(reprise(&store, &repo, &["run", "demo.pi", "--seed", &format!("{}", 700 + i), "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string();
                let p = dir.path().join(format!("b{i}.reprise"));
                ok(reprise(&store, &repo, &["bundle", "export", &r, "-o", p.to_str().unwrap()]));
                p.to_str().unwrap().to_string()
            });
            (dir, paths)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10, max_shrink_iters: 20, ..ProptestConfig::default() })]
        #[test]
        fn every_hash_printed_before_a_gc_resolves_after_it(ops in proptest::collection::vec(op(), 1..9)) {
            let sb = Sandbox::new();
            let (_, bundle) = bundles();
            let f = sb.scratch().join("first");
            std::fs::write(&f, b"the store exists before the first gc").unwrap();
            ok(sb.cmd(&["store", "put", f.to_str().unwrap()]));
            let mut printed: Vec<String> = Vec::new();
            for op in ops.iter().chain([&Op::Gc]) {
                match op {
                    Op::Run(s) => printed.push(ok(sb.cmd(&["run", "demo.pi", "--seed", &s.to_string(), "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string()),
                    Op::Sweep(s) => {
                        let seeds = format!("{s}..{}", s + 3);
                        printed.extend(hashes(&ok(sb.cmd(&["sweep", "demo.pi", "--seeds", &seeds, "-p", "n=1000", "-p", "tasks=2", "--parallel", "2"])).stdout));
                    }
                    Op::Session(t) => printed.extend(save_session(&sb, *t)),
                    Op::Import(second) => {
                        let out = ok(sb.cmd(&["--json", "bundle", "import", &bundle[*second as usize]])).stdout;
                        printed.extend(hashes(&out));
                    }
                    Op::Gc => {
                        ok(sb.cmd(&["gc", "--now"]));
                        for h in &printed {
                            let shown = try_run(sb.cmd(&["show", h]));
                            prop_assert_eq!(shown.code, 0, "show {} after {:?}: {}", h, ops, shown.stderr);
                            prop_assert_eq!(try_run(sb.cmd(&["store", "get", h])).code, 0, "store get {} after {:?}", h, ops);
                        }
                    }
                }
            }
            let v = try_run(sb.cmd(&["verify"]));
            prop_assert_eq!(v.code, 0, "{}", v.stdout);
        }
    }
}

#[test]
fn rm_lets_gc_take_a_run_a_sweep_and_a_session_on_purpose() {
    let sb = Sandbox::new();
    let keep = ok(sb.cmd(&["run", "demo.pi", "--seed", "1", "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string();
    let gone = ok(sb.cmd(&["run", "demo.pi", "--seed", "2", "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string();
    let out = ok(sb.cmd(&["sweep", "demo.pi", "--seeds", "5..7", "-p", "n=1000", "-p", "tasks=2"]));
    let sweep = out.last_line().to_string();
    let gone_outputs: Vec<String> = ok(sb.cmd(&["--json", "show", &gone])).json()["record"]["outputs"]
        .as_object().unwrap().values().map(|o| o["digest"].as_str().unwrap().to_string()).collect();
    // A dry run lists and removes nothing.
    let dry = ok(sb.cmd(&["rm", &gone[..10], "--dry-run"]));
    assert!(dry.stdout.contains("would remove ref runs/") && dry.stdout.contains("would remove ref notes/"), "{}", dry.stdout);
    ok(sb.cmd(&["gc", "--now"]));
    ok(sb.cmd(&["show", &gone]));
    let session = save_session(&sb, 9);
    let rm = ok(sb.cmd(&["rm", &gone, &sweep, &session[0][..12]]));
    assert!(rm.stdout.contains(&format!("removed ref sessions/{}", session[0])), "{}", rm.stdout);
    assert!(rm.stdout.contains(&format!("removed ref sweeps/{sweep}")) && rm.stdout.contains(&format!("removed ref sweep-aggregates/{sweep}")), "{}", rm.stdout);
    assert!(rm.stdout.contains("stay, as runs"), "{}", rm.stdout);
    ok(sb.cmd(&["gc", "--now"]));
    for d in std::iter::once(&gone).chain(&gone_outputs) {
        assert_ne!(try_run(sb.cmd(&["store", "get", d])).code, 0, "{d} was let go and collected");
    }
    assert_ne!(try_run(sb.cmd(&["show", &sweep])).code, 0);
    for d in &session {
        assert_ne!(try_run(sb.cmd(&["store", "get", d])).code, 0, "the session and its output were collected");
    }
    ok(sb.cmd(&["show", &keep]));
    let v = try_run(sb.cmd(&["verify"]));
    assert_eq!(v.code, 0, "{}", v.stdout);
    // Something no ref keeps by name: an error naming it and the way out.
    let out_digest = ok(sb.cmd(&["--json", "show", &keep])).json()["record"]["outputs"]["summary.json"]["digest"].as_str().unwrap().to_string();
    let bad = try_run(sb.cmd(&["rm", &out_digest]));
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("which no ref keeps by name") && bad.stderr.contains("hint:"), "{}", bad.stderr);
}
