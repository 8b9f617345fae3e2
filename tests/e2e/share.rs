//! Sweeps and sessions shared like runs: through a bundle and through a folder remote into an
//! empty store, where they show, verify and rerun (a session's replay is tested over the wire in
//! tests/jupyter, where a kernel saved it).

use crate::support::*;

/// Every ref under `prefix` in the store at `store`, by name.
fn refs(store: &std::path::Path, prefix: &str) -> Vec<String> {
    match std::fs::read_dir(store.join("refs").join(prefix)) {
        Ok(d) => {
            let mut v: Vec<String> = d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_sweep_and_a_session_travel_by_bundle_and_folder_remote_and_rerun_there() {
    let sb = Sandbox::new();
    let sweep = ok(sb.cmd(&["sweep", "demo.pi", "--seeds", "1..3", "-p", "n=3000", "--grid", "tasks=1,2"])).last_line().to_string();
    let session = save_session(&sb, 4);
    let shown = ok(sb.cmd(&["--json", "show", &sweep])).json();
    let aggregate = shown["aggregate"].as_str().unwrap_or_else(|| panic!("{shown}")).to_string();

    // By bundle: export by the sweep's hash (or its aggregate's) and the session's, into an empty store.
    let file = sb.scratch().join("shared.reprise");
    let out = ok(sb.cmd(&["bundle", "export", &aggregate[..12], &session[0][..12], "-o", file.to_str().unwrap()]));
    assert!(out.stdout.contains("4 run(s), 1 sweep(s), 1 session(s)"), "{}", out.stdout);
    let empty = sb.scratch().join("by-bundle");
    let imp = ok(reprise(&empty, &sb.repo(), &["--json", "bundle", "import", file.to_str().unwrap()])).json();
    assert_eq!(imp["roots"]["sweeps"][0]["manifest"], sweep.as_str());
    assert_eq!(imp["roots"]["sweeps"][0]["aggregate"], aggregate.as_str());
    assert_eq!(imp["roots"]["sessions"][0], session[0].as_str());
    check_arrived(&empty, &sb, &sweep, &aggregate, &session);

    // By folder remote: push the sweep and the session, pull everything into another empty store.
    let url = format!("file://{}", sb.scratch().join("lab").display());
    ok(sb.cmd(&["remote", "add", "lab", &url, "--create"]));
    let pushed = ok(sb.cmd(&["remote", "push", "lab", &sweep[..12], &session[0][..12]]));
    assert!(pushed.stdout.contains("pushed 4 run(s), 1 sweep(s), 1 session(s) to `lab`"), "{}", pushed.stdout);
    let other = sb.scratch().join("by-remote");
    ok(reprise(&other, &sb.repo(), &["remote", "add", "lab", &url]));
    let ls = ok(reprise(&other, &sb.repo(), &["remote", "ls", "lab"]));
    assert!(ls.stdout.contains("4 run(s), 1 sweep(s) and 1 session(s) on `lab`"), "{}", ls.stdout);
    // Pulling by the session's hash brings that alone; then the rest.
    let one = ok(reprise(&other, &sb.repo(), &["--json", "remote", "pull", "lab", &session[0][..10]])).json();
    assert_eq!(one["runs"].as_array().unwrap().len(), 0, "{one}");
    assert_eq!(refs(&other, "sessions"), vec![session[0].clone()]);
    assert!(refs(&other, "sweeps").is_empty());
    ok(reprise(&other, &sb.repo(), &["remote", "pull", "lab"]));
    check_arrived(&other, &sb, &sweep, &aggregate, &session);

    // Something that is neither a run, a sweep nor a session is refused by name.
    let r = try_run(sb.cmd(&["bundle", "export", &session[1][..12], "-o", file.to_str().unwrap()]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is a plain object: bundles and remotes carry runs, sweeps and sessions"), "{}", r.stderr);
}

/// The receiving store keeps the sweep, its aggregate and the session by refs, shows them as the
/// sender does, verifies clean, and reruns every cell of the sweep.
fn check_arrived(store: &std::path::Path, sb: &Sandbox, sweep: &str, aggregate: &str, session: &[String]) {
    let there = |args: &[&str]| ok(reprise(store, &sb.repo(), args));
    assert_eq!(refs(store, "sweeps"), vec![sweep.to_string()]);
    assert_eq!(refs(store, "sweep-aggregates"), vec![sweep.to_string()]);
    assert_eq!(refs(store, "sessions"), vec![session[0].clone()]);
    assert_eq!(there(&["show", sweep]).stdout, ok(sb.cmd(&["show", sweep])).stdout);
    assert_eq!(there(&["show", aggregate]).stdout, ok(sb.cmd(&["show", aggregate])).stdout);
    assert_eq!(there(&["show", &session[0]]).stdout, ok(sb.cmd(&["show", &session[0]])).stdout);
    assert_eq!(there(&["store", "get", &session[1]]).stdout, "output 4\n");
    let v = there(&["verify"]);
    assert!(v.stdout.contains("ok: every object matches"), "{}", v.stdout);
    let rerun = there(&["rerun", sweep]);
    assert!(rerun.stdout.contains(&format!("reproduced: all 4 cells of sweep {}", &sweep[..12])), "{}", rerun.stdout);
    // What arrived is kept: gc takes none of it.
    there(&["gc", "--now"]);
    assert!(there(&["verify"]).stdout.contains("ok: every object matches"));
}
