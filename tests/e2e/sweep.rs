//! Sweeps: 16 seeds × 2 grid points of demo.pi planned, run on a local process pool, aggregated;
//! the same hash and aggregate however many workers ran it or in which store; an interrupted
//! sweep runs only what is missing; a killed worker's cell runs again; `rerun <sweep>` per cell.

use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

const SWEEP: &[&str] = &["sweep", "demo.pi", "--seeds", "0..16", "--grid", "n=2000,4000", "-p", "tasks=4"];

fn sweep(sb: &Sandbox, store: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(SWEEP);
    args.extend_from_slice(extra);
    ok(reprise(store, &sb.repo(), &args)).json()
}

/// Worker processes (`internal run-spec`) working on `store`.
fn workers(store: &Path) -> Vec<u32> {
    let needle = store.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains("internal run-spec") && cmd.contains(needle)
        })
        .collect()
}

#[test]
fn a_sweep_is_the_same_whoever_runs_it_resumes_and_reruns_per_cell() {
    let sb = Sandbox::new();
    let first = sweep(&sb, &sb.store(), &["--parallel", "2"]);
    assert_eq!((first["cells"].as_u64(), first["ran"].as_u64(), first["done"].as_u64()), (Some(32), Some(32), Some(32)), "{first}");
    let (hash, agg) = (first["sweep"].as_str().unwrap().to_string(), first["aggregate"].as_str().unwrap().to_string());

    // again: nothing runs, the same hash and aggregate
    let again = sweep(&sb, &sb.store(), &[]);
    assert_eq!((again["ran"].as_u64(), again["sweep"].as_str(), again["aggregate"].as_str()), (Some(0), Some(hash.as_str()), Some(agg.as_str())));

    // one worker, another store: the same sweep hash and the same aggregate bytes
    let other = sb.scratch().join("other-store");
    let serial = sweep(&sb, &other, &["--parallel", "1"]);
    assert_eq!((serial["sweep"].as_str(), serial["aggregate"].as_str()), (Some(hash.as_str()), Some(agg.as_str())));
    let bytes = |store: &Path| ok(reprise(store, &sb.repo(), &["store", "get", &agg])).stdout;
    assert_eq!(bytes(&sb.store()), bytes(&other));
    let a: serde_json::Value = serde_json::from_str(&bytes(&sb.store())).unwrap();
    assert_eq!(a["groups"].as_array().unwrap().len(), 2);
    assert_eq!(a["groups"][0]["point"]["n"], "2000");
    assert_eq!(a["groups"][0]["fields"]["estimate"]["n"], 16);

    // interrupted: five cells lost their records; the sweep runs those five and nothing else
    let memo_dir = other.join("refs/runs");
    let mut memos: Vec<_> = std::fs::read_dir(&memo_dir).unwrap().flatten().map(|e| e.path()).collect();
    memos.sort();
    for m in memos.iter().take(5) {
        std::fs::remove_file(m).unwrap();
    }
    let resumed = sweep(&sb, &other, &[]);
    assert_eq!((resumed["ran"].as_u64(), resumed["aggregate"].as_str()), (Some(5), Some(agg.as_str())));

    // every cell rerun and compared, one verdict each
    let re = ok(sb.cmd(&["--json", "rerun", &hash[..12]])).json();
    assert_eq!(re["passes"], true);
    let cells = re["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 32);
    assert!(cells.iter().all(|c| c["verdict"] == "reproduced"), "{re}");

    // bad input is refused before anything runs
    let r = try_run(sb.cmd(&["sweep", "demo.pi", "--seeds", "5..2"]));
    assert!(r.stderr.contains("is not a seed list"), "{}", r.stderr);
    let r = try_run(sb.cmd(&["sweep", "demo.pi", "--seeds", "0..2", "--grid", "n=10,20", "-p", "n=5"]));
    assert!(r.stderr.contains("both a --param and a --grid axis"), "{}", r.stderr);
    let r = try_run(sb.cmd(&["sweep", "demo.pi", "--seeds", "0..2", "--grid", "tasks=0"]));
    assert!(r.stderr.contains("demo.pi"), "{}", r.stderr);
}

const CAUSAL: &[&str] = &["sweep", "causal.simulation", "--seeds", "3", "-p", "reps=4", "-p", "n=200", "-p", "ipm=false", "--grid", "first_rep=0,4,8"];

/// The sweep's table digests, and the output digests of one run of all twelve replications.
fn causal_tables(sb: &Sandbox, store: &Path, extra: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(CAUSAL);
    args.extend_from_slice(extra);
    let v = ok(reprise(store, &sb.repo(), &args)).json();
    let single = ok(reprise(store, &sb.repo(), &["--json", "run", "causal.simulation", "--seed", "3", "-p", "reps=12", "-p", "n=200", "-p", "ipm=false"])).json();
    let outputs: serde_json::Map<String, serde_json::Value> = single["outputs"].as_object().unwrap().iter().map(|(k, o)| (k.clone(), o["digest"].clone())).collect();
    (v["tables"].clone(), serde_json::Value::Object(outputs))
}

#[test]
fn a_simulation_split_over_cells_gives_the_single_run_s_table_bit_for_bit() {
    let sb = Sandbox::new();
    let (tables, single) = causal_tables(&sb, &sb.store(), &["--parallel", "2"]);
    for name in ["results.csv", "summary.json", "estimates.npy", "rmse.plotly.json"] {
        assert_eq!(tables[name], single[name], "{name}: the sweep's table is the one-run table");
    }
    // cells that do not tile the replications are refused with the reason
    let r = try_run(sb.cmd(&["sweep", "causal.simulation", "--seeds", "3", "-p", "reps=4", "-p", "n=200", "-p", "ipm=false", "--grid", "first_rep=0,2"]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("replications 4.. are covered twice"), "{}", r.stderr);
}

#[test]
fn an_r3d_study_split_by_design_gives_the_single_run_s_table_bit_for_bit() {
    let sb = Sandbox::new();
    let common = ["-p", "replications=3", "-p", "draws_per_unit=10", "-p", "bootstrap_draws=20", "-p", "n=100"];
    let mut args = vec!["--json", "sweep", "rdd.r3d_simulation", "--seeds", "5", "--grid", "dgp=1,2", "--grid", "delta=0,1", "--parallel", "2"];
    args.extend(common);
    let v = ok(sb.cmd(&args)).json();
    let mut args = vec!["--json", "run", "rdd.r3d_simulation", "--seed", "5", "-p", "dgp=1,2", "-p", "delta=0,1"];
    args.extend(common);
    let single = ok(sb.cmd(&args)).json();
    for name in ["cells.csv", "bias_rmse_by_q.csv", "power.plotly.json", "summary.json"] {
        assert_eq!(v["tables"][name], single["outputs"][name]["digest"], "{name}");
    }
}

#[test]
fn a_killed_worker_s_cell_runs_again() {
    let sb = Sandbox::new();
    let mut c = sb.cmd(&["--json", "sweep", "demo.pi", "--seeds", "0..2", "-p", "n=300000000", "-p", "tasks=4", "--parallel", "1"]);
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let start = Instant::now();
    let victim = loop {
        if let Some(pid) = workers(&sb.store()).first().copied() {
            break pid;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no worker appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(std::process::Command::new("kill").args(["-KILL", &victim.to_string()]).status().unwrap().success());
    let r = ran(child.wait_with_output().unwrap());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!((v["done"].as_u64(), v["lost"].as_array().map(Vec::len)), (Some(2), Some(0)), "{v}");
    assert!(v["retried_after_kill"].as_u64().unwrap() >= 1, "{v}");
}

/// Whether a Slurm cluster answers (SLURM_CONF set, `sinfo` works). Without one the Slurm tests
/// say so and pass, unless REPRISE_REQUIRE_SLURM=1 (CI), where they fail.
fn slurm_cluster() -> bool {
    let answers = std::env::var_os("SLURM_CONF").is_some()
        && std::process::Command::new("sinfo").arg("-h").output().map(|o| o.status.success()).unwrap_or(false);
    if !answers {
        assert!(std::env::var("REPRISE_REQUIRE_SLURM").as_deref() != Ok("1"), "REPRISE_REQUIRE_SLURM=1, but no Slurm cluster answers (SLURM_CONF unset or sinfo fails)");
        eprintln!("skipped: no Slurm cluster (set SLURM_CONF; `tests/slurm/cluster.sh up DIR` starts a one-node one)");
    }
    answers
}

#[test]
fn slurm_and_the_local_pool_give_the_same_sweep_and_aggregate() {
    if !slurm_cluster() {
        return;
    }
    let sb = Sandbox::new();
    let local = sweep(&sb, &sb.store(), &["--parallel", "2"]);
    let on_slurm = sb.scratch().join("slurm-store");
    let s = sweep(&sb, &on_slurm, &["--executor", "slurm", "--parallel", "8"]);
    assert_eq!((s["done"].as_u64(), s["ran"].as_u64()), (Some(32), Some(32)), "{s}");
    assert_eq!((s["sweep"].as_str(), s["aggregate"].as_str()), (local["sweep"].as_str(), local["aggregate"].as_str()));
    let agg = local["aggregate"].as_str().unwrap();
    let bytes = |store: &Path| ok(reprise(store, &sb.repo(), &["store", "get", agg])).stdout;
    assert_eq!(bytes(&sb.store()), bytes(&on_slurm), "the aggregate's bytes do not depend on the executor");
    let again = sweep(&sb, &on_slurm, &["--executor", "slurm"]);
    assert_eq!(again["ran"], 0, "a finished sweep submits nothing");
    // a simulation study split over Slurm tasks: the one-run table, bit for bit
    let (tables, single) = causal_tables(&sb, &on_slurm, &["--executor", "slurm"]);
    assert_eq!(tables["results.csv"], single["results.csv"]);
    assert_eq!(tables["estimates.npy"], single["estimates.npy"]);
}

#[test]
fn a_cancelled_slurm_task_is_lost_then_resubmitted() {
    if !slurm_cluster() {
        return;
    }
    let sb = Sandbox::new();
    let mut c = sb.cmd(&["--json", "sweep", "demo.pi", "--seeds", "0..3", "-p", "n=300000000", "-p", "tasks=4", "--executor", "slurm", "--parallel", "1"]);
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    // a task's output file appears when it starts: `<job>_<index>.out`
    let start = Instant::now();
    let task = loop {
        let found = std::fs::read_dir(sb.store().join("cache/sweeps")).ok().and_then(|sweeps| {
            sweeps.flatten().flat_map(|s| std::fs::read_dir(s.path()).into_iter().flatten().flatten()).find_map(|sub| {
                std::fs::read_dir(sub.path().join("array-0/out")).ok()?.flatten().find_map(|f| f.file_name().to_str()?.strip_suffix(".out").map(str::to_owned))
            })
        });
        if let Some(t) = found {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no Slurm task started");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(std::process::Command::new("scancel").arg(&task).status().unwrap().success());
    let r = ran(child.wait_with_output().unwrap());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!((v["done"].as_u64(), v["lost"].as_array().map(Vec::len)), (Some(3), Some(0)), "{v}");
    assert!(v["retried_after_kill"].as_u64().unwrap() >= 1, "the cancelled task {task} ran again: {v}");
}
