//! Lockfiles: `lock` pins a run, `reproduce` checks every lock against the current code and fails
//! loudly when a pinned output moves.

use crate::support::*;

#[test]
fn lock_then_reproduce_and_catch_a_moved_output() {
    let sb = Sandbox::new();
    let run = ok(sb.cmd(&["run", "demo.pi", "--seed", "11", "-p", "n=5000", "-p", "tasks=4"])).last_line().to_string();
    let locked = ok(sb.cmd(&["lock", &run[..10], "--name", "pi-small"]));
    assert!(locked.stdout.contains("new lock `pi-small` pins 3 outputs"), "{}", locked.stdout);
    let path = sb.repo().join("lockfiles/pi-small.json");
    let lock: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(lock["recorded"]["run"], run.as_str());
    assert_eq!(lock["seed"], 11);
    assert_eq!(lock["params"]["n"], 5000);

    let r = ok(sb.cmd(&["reproduce"]));
    assert!(r.stdout.contains("ok   pi-small"), "{}", r.stdout);
    assert!(r.stdout.contains("1 of 1 locks reproduce"), "{}", r.stdout);

    // Re-locking the same run changes nothing.
    let again = ok(sb.cmd(&["lock", &run, "--name", "pi-small"]));
    assert!(again.stdout.contains("outputs unchanged"), "{}", again.stdout);

    // A pinned digest that the code no longer gives is a failure, with the output named.
    let text = std::fs::read_to_string(&path).unwrap();
    let d = lock["outputs"]["summary.json"]["digest"].as_str().unwrap();
    std::fs::write(&path, text.replace(d, &"0".repeat(64))).unwrap();
    let r = try_run(sb.cmd(&["reproduce"]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL pi-small"), "{}", r.stdout);
    assert!(r.stdout.contains("summary.json  DIFFERENT"), "{}", r.stdout);
    assert!(r.stdout.contains("0 of 1 locks reproduce"), "{}", r.stdout);

    let r = try_run(sb.cmd(&["reproduce", "nope"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no lock named `nope`"), "{}", r.stderr);
}
