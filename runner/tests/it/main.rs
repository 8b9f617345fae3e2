//! The runner against a fake experiment in a real temporary git repository: inputs enter the spec
//! by digest, dirty trees are recorded with their diff, memoised runs, and in-process reruns.

use reprise_core::{Experiment, ExperimentError, NoProgress, Outputs, ParamSpec, RunCtx};
use reprise_runner::rerun::RerunOptions;
use reprise_runner::{Environment, RunRequest, Runner};
use reprise_store::{Digest, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Sums the bytes of its input and draws `k` numbers from stream "noise".
struct Fake;

impl Experiment for Fake {
    fn name(&self) -> &'static str {
        "test.fake"
    }
    fn version(&self) -> u32 {
        3
    }
    fn description(&self) -> &'static str {
        "a fake for runner tests"
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::int("k", 4, 1, 100, "draws")]
    }
    fn inputs(&self) -> Vec<&'static str> {
        vec!["data"]
    }
    fn run(&self, ctx: &RunCtx) -> Result<Outputs, ExperimentError> {
        use rand::Rng;
        let data = ctx.input("data")?;
        let mut rng = ctx.rng("noise");
        let draws: Vec<f64> = (0..ctx.params.int("k")).map(|_| rng.random::<f64>()).collect();
        let mut out = Outputs::new();
        out.json("summary.json", &serde_json::json!({ "sum": data.iter().map(|b| *b as u64).sum::<u64>(), "len": data.len() }))?;
        out.npy("draws.npy", &[draws.len()], &draws);
        Ok(out)
    }
}

fn registry(name: &str) -> Option<&'static dyn Experiment> {
    (name == "test.fake").then_some(&Fake as &dyn Experiment)
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("data")).unwrap();
        std::fs::write(repo.join("Cargo.lock"), "# a lockfile\n").unwrap();
        std::fs::write(repo.join("data/in.bin"), [1u8, 2, 3]).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "init"]);
        World { dir }
    }
    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }
    fn runner(&self) -> Runner<'static> {
        let store = Store::init(self.dir.path().join("store")).unwrap();
        let env = Environment {
            repo: self.repo(),
            toolchain: "rustc test".into(),
            target: "test-target".into(),
            features: vec![],
            backend: BTreeMap::from([("kind".into(), "cpu".into())]),
            resolve_backend: reprise_runner::env::cpu_only,
            threads: 1,
            cpu_features: vec![],
            host: "test".into(),
            reprise_version: "0".into(),
        };
        Runner { store, env, progress: &NoProgress }
    }
    fn request(&self, k: &str) -> RunRequest {
        RunRequest {
            params: vec![format!("k={k}")],
            seed: 5,
            inputs: vec![("data".into(), self.repo().join("data/in.bin"))],
            force: false,
            started: "2026-01-01T00:00:00Z".into(),
        }
    }
}

#[test]
fn inputs_enter_the_spec_by_digest_and_no_absolute_path_is_hashed() {
    let w = World::new();
    let r = w.runner();
    let out = r.run(&Fake, &w.request("4")).unwrap();
    assert!(!out.memoised);
    assert_eq!(out.spec.inputs["data"], Digest::of(&[1, 2, 3]).hex());
    assert!(!out.spec.code.dirty);
    let spec_text = String::from_utf8(out.spec.canonical().unwrap()).unwrap();
    assert!(!spec_text.contains(w.dir.path().to_str().unwrap()), "no absolute paths in the spec: {spec_text}");
    let summary = r.store.read(&Digest::parse(&out.record.outputs["summary.json"].digest).unwrap()).unwrap();
    assert_eq!(summary, br#"{"len":3,"sum":6}"#);
    // The note keeps the input's path relative to the repository, for `lock`.
    assert_eq!(r.note(&out.record_digest).unwrap().unwrap().input_paths["data"], "data/in.bin");
    // Same request: memoised. Only the input's bytes matter, not where the file lies.
    assert!(r.run(&Fake, &w.request("4")).unwrap().memoised);
    let elsewhere = w.dir.path().join("elsewhere.bin");
    let mut req = w.request("4");
    req.inputs = vec![("data".into(), elsewhere.clone())];
    std::fs::write(&elsewhere, [1u8, 2, 3]).unwrap();
    let moved = r.run(&Fake, &req).unwrap();
    assert!(moved.memoised);
    assert_eq!(moved.spec_digest, out.spec_digest);
    std::fs::write(&elsewhere, [9u8]).unwrap();
    let changed = r.run(&Fake, &req).unwrap();
    assert!(!changed.memoised);
    assert!(!changed.spec.code.dirty);
    assert_ne!(changed.spec_digest, out.spec_digest);
}

#[test]
fn missing_and_unknown_inputs_are_user_errors() {
    let w = World::new();
    let r = w.runner();
    let mut req = w.request("4");
    req.inputs.clear();
    let e = r.run(&Fake, &req).unwrap_err();
    assert!(e.is_user_error());
    assert_eq!(e.to_string(), "experiment failed: input `data` is required but was not given (pass --input data=PATH)");
    req.inputs = vec![("data".into(), w.repo().join("data/in.bin")), ("extra".into(), w.repo().join("Cargo.lock"))];
    let e = r.run(&Fake, &req).unwrap_err();
    assert!(e.to_string().contains("takes no input `extra`"), "{e}");
    assert!(r.store.list().unwrap().is_empty(), "nothing was stored");
}

#[test]
fn a_dirty_tree_is_recorded_with_its_diff_and_reruns_in_process() {
    let w = World::new();
    // Code is what a build reads: here Cargo.lock (the repository has no workspace members).
    std::fs::write(w.repo().join("Cargo.lock"), "# a lockfile, edited\n").unwrap();
    std::fs::write(w.repo().join("notes.txt"), "an untracked file, not code\n").unwrap();
    let r = w.runner();
    let out = r.run(&Fake, &w.request("6")).unwrap();
    assert!(out.spec.code.dirty);
    assert_eq!(out.spec.code.scope.as_deref(), Some(reprise_runner::provenance::CODE_SCOPE));
    let diff = r.store.read(&Digest::parse(out.spec.code.diff.as_ref().unwrap()).unwrap()).unwrap();
    let diff = String::from_utf8(diff).unwrap();
    assert!(diff.contains("+++ b/Cargo.lock") && diff.contains("+# a lockfile, edited"), "{diff}");
    assert!(!diff.contains("notes.txt"), "{diff}");
    let opts = RerunOptions { target_dir: w.dir.path().join("target"), show_build_output: false, started: String::new() };
    let report = r.rerun(&out.record_digest.short(10), &registry, &opts).unwrap();
    assert!(report.passes());
    assert_eq!(report.ran_with, "current binary");
    assert_eq!(report.new_record, out.record_digest.hex());
    assert!(report.outputs.iter().all(|o| o.verdict == reprise_runner::compare::Verdict::Identical));
}

#[test]
fn a_memo_is_recorded_only_where_the_spec_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(dir.path().join("store")).unwrap();
    let spec = store.put_bytes(b"a spec").unwrap();
    let (first, second) = (store.put_bytes(b"a record").unwrap(), store.put_bytes(b"another record").unwrap());
    let memo = reprise_runner::run::memo_if_absent;
    assert_eq!(memo(&store, &spec, &first).unwrap(), None, "recorded");
    assert_eq!(store.read_ref(&format!("runs/{spec}")).unwrap(), Some(first));
    assert_eq!(memo(&store, &spec, &first).unwrap(), None, "the same record again");
    assert_eq!(memo(&store, &spec, &second).unwrap(), Some(first), "another record: the first is kept");
    assert_eq!(store.read_ref(&format!("runs/{spec}")).unwrap(), Some(first));
}
