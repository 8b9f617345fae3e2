//! Remotes: push from one store to a real S3 server (s3s-fs on loopback), an interrupted push
//! completed by running it again, pull into a second store with an unrelated repository, a
//! tampered object refused, and a folder remote (`file://`).

use crate::support::*;
#[test]
fn push_to_s3_interrupted_then_completed_and_pull_into_another_store() {
    let server_root = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(server_root.path(), "lab-runs");
    let a = Sandbox::new();
    let s3cmd = |sb: &Sandbox, args: &[&str]| with_s3_credentials(sb.cmd(args));
    let r1 = ok(a.cmd(&["run", "demo.pi", "--seed", "3", "-p", "n=20000", "-p", "tasks=4"])).last_line().to_string();
    let r2 = ok(a.cmd(&["run", "demo.pi", "--seed", "4", "-p", "n=20000", "-p", "tasks=4"])).last_line().to_string();
    ok(a.cmd(&["remote", "add", "lab", "s3://lab-runs/team", "--endpoint", &s3.endpoint]));
    let ls = ok(a.cmd(&["remote", "ls"])).stdout;
    assert!(ls.contains("lab") && ls.contains("s3://lab-runs/team") && ls.contains(&s3.endpoint), "{ls}");

    // no credentials: a clear error before any request
    let mut c = a.cmd(&["remote", "push", "lab"]);
    c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    let r = try_run(c);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no credentials: set AWS_ACCESS_KEY_ID"), "{}", r.stderr);

    // the connection fails after two objects arrived: the push fails, names the remote, and no
    // run is listed on the remote (manifests are written last)
    s3.fail_puts_after(2);
    let r = try_run(s3cmd(&a, &["remote", "push", "lab", "--retries", "0", "--jobs", "1"]));
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("remote `lab`") && r.stderr.contains("sending object"), "{}", r.stderr);
    let listed = ok(s3cmd(&a, &["--json", "remote", "ls", "lab"])).json();
    assert_eq!(listed.as_array().unwrap().len(), 0);

    // run again: what arrived is not sent again, and both runs are listed
    s3.heal();
    let p = ok(s3cmd(&a, &["--json", "remote", "push", "lab"])).json();
    assert_eq!(p["present"], 2, "{p}");
    assert_eq!(p["runs"].as_array().unwrap().len(), 2);
    let total = p["moved"].as_u64().unwrap() + 2;
    let again = ok(s3cmd(&a, &["--json", "remote", "push", "lab"])).json();
    assert_eq!((again["moved"].as_u64().unwrap(), again["present"].as_u64().unwrap()), (0, total), "a complete push sends nothing");
    let listed = ok(s3cmd(&a, &["--json", "remote", "ls", "lab"])).json();
    let records: Vec<&str> = listed.as_array().unwrap().iter().map(|r| r["record"].as_str().unwrap()).collect();
    assert!(records.contains(&r1.as_str()) && records.contains(&r2.as_str()));

    // the receiver: an empty store and a repository that never saw the sender's commit
    let b = Sandbox::new();
    git(&b.repo(), &["commit", "-q", "--allow-empty", "-m", "unrelated history"]);
    ok(b.cmd(&["remote", "add", "lab", "s3://lab-runs/team", "--endpoint", &s3.endpoint]));
    let one = ok(s3cmd(&b, &["--json", "remote", "pull", "lab", &r1[..10]])).json();
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    assert_eq!(one["runs"][0]["record"], r1.as_str());
    let commit = one["runs"][0]["commit"].as_str().unwrap().to_string();
    assert_eq!(git(&b.repo(), &["rev-parse", &format!("refs/reprise/commits/{commit}")]), commit);
    assert_eq!(ok(a.cmd(&["show", &r1, "--output", "summary.json"])).stdout, ok(b.cmd(&["show", &r1, "--output", "summary.json"])).stdout);
    let rest = ok(s3cmd(&b, &["--json", "remote", "pull", "lab"])).json();
    assert_eq!(rest["runs"].as_array().unwrap().len(), 2);
    assert!(rest["moved"].as_u64().unwrap() > 0 && rest["present"].as_u64().unwrap() > 0, "{rest}");
    // each pulled run is its spec's memo in the receiving store
    let spec2 = rest["runs"].as_array().unwrap().iter().find(|r| r["record"] == r2.as_str()).unwrap()["spec"].as_str().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(b.store().join("refs/runs").join(&spec2)).unwrap().trim(), r2);

    // a tampered record on the server is refused: the pull fails naming it, the bad bytes are
    // not kept, no run or commit is recorded, and what did arrive is verified objects only
    let hex = r2.clone();
    let on_server = server_root.path().join("lab-runs/team/objects/sha256").join(&hex[..2]).join(&hex);
    let mut bytes = std::fs::read(&on_server).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&on_server, &bytes).unwrap();
    let c = Sandbox::new();
    ok(c.cmd(&["remote", "add", "lab", "s3://lab-runs/team", "--endpoint", &s3.endpoint]));
    let refs = |sb: &Sandbox| tree(&sb.store()).into_iter().filter(|(p, _)| p.starts_with("refs/")).collect::<Vec<_>>();
    let (refs_before, git_before) = (refs(&c), git(&c.repo(), &["for-each-ref"]));
    let r = try_run(s3cmd(&c, &["remote", "pull", "lab", &r2]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(&format!("sent bytes hashing to {}", sha256_hex(&bytes))) && r.stderr.contains("were not kept"), "{}", r.stderr);
    assert!(!c.store().join("objects/sha256").join(&hex[..2]).join(&hex[2..]).exists());
    assert_eq!(refs_before, refs(&c));
    assert_eq!(git_before, git(&c.repo(), &["for-each-ref"]));
    ok(c.cmd(&["verify"]));
    // unknown names are errors that say where to look
    let r = try_run(s3cmd(&c, &["remote", "pull", "lab", "abcdef12"]));
    assert!(r.stderr.contains("no run or spec starting with `abcdef12`"), "{}", r.stderr);
    let r = try_run(c.cmd(&["remote", "push", "nowhere"]));
    assert!(r.stderr.contains("no remote named `nowhere` (known: lab)"), "{}", r.stderr);
}

#[test]
fn a_folder_remote_carries_runs_between_stores() {
    let a = Sandbox::new();
    let shared = a.scratch().join("shared");
    let url = format!("file://{}", shared.display());
    let r1 = ok(a.cmd(&["run", "demo.pi", "--seed", "5", "-p", "n=20000", "-p", "tasks=4"])).last_line().to_string();
    // A missing folder (an unmounted share) is never created silently: add says so, ls and push
    // refuse naming the path, and only `push --create` makes it.
    let added = ok(a.cmd(&["remote", "add", "disk", &url]));
    assert!(added.stderr.contains("does not exist yet") && added.stderr.contains("--create"), "{}", added.stderr);
    for args in [vec!["remote", "ls", "disk"], vec!["remote", "push", "disk"], vec!["remote", "pull", "disk"]] {
        let r = try_run(a.cmd(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("its folder {} does not exist", shared.display())), "{args:?}: {}", r.stderr);
        assert!(!shared.exists(), "{args:?} created the folder");
    }
    let p = ok(a.cmd(&["--json", "remote", "push", "disk", &r1[..8], "--create"])).json();
    assert_eq!(p["present"], 0);
    assert!(shared.join("FORMAT").is_file() && shared.join("runs").join(format!("{r1}.json")).is_file());
    let b = Sandbox::new();
    ok(b.cmd(&["remote", "add", "disk", &url]));
    let q = ok(b.cmd(&["--json", "remote", "pull", "disk"])).json();
    assert_eq!(q["moved"], p["moved"]);
    assert_eq!(ok(a.cmd(&["show", &r1, "--output", "summary.json"])).stdout, ok(b.cmd(&["show", &r1, "--output", "summary.json"])).stdout);
    let r = try_run(b.cmd(&["remote", "add", "disk", &url]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("remote `disk` already exists"), "{}", r.stderr);
    ok(b.cmd(&["remote", "rm", "disk"]));
    assert!(ok(b.cmd(&["remote", "ls"])).stdout.contains("no remotes"));
}
