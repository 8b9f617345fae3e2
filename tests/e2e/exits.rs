//! Exit codes and messages for bad input: each case exits 2 naming its culprit, causes are said
//! once; legitimate but degenerate data get an answer; a lock is not replaced by another spec
//! without --force; a refused import into a missing store leaves no folder.

use crate::support::*;

/// score, outcome, took_up = 1{score ≥ 50} (perfect compliance), a constant column, 2·score,
/// a covariate z and 3·z.
fn rdd_csv(sb: &Sandbox) -> String {
    let mut text = String::from("score,outcome,took_up,const,twice,z,z3\n");
    let mut u = 0x2545_f491_4f6c_dd1du64;
    for i in 0..400u64 {
        u ^= u << 13;
        u ^= u >> 7;
        u ^= u << 17;
        let score = (i as f64 * 37.0) % 100.0 + (u % 1000) as f64 / 1000.0;
        let t = u8::from(score >= 50.0);
        let noise = ((u >> 20) % 1000) as f64 / 100.0 - 5.0;
        let z = ((u >> 40) % 997) as f64 / 97.0;
        text += &format!("{score},{},{t},1.0,{},{z},{}\n", 2.0 * score + 10.0 * f64::from(t) + noise, 2.0 * score, 3.0 * z);
    }
    let p = sb.scratch().join("rdd.csv");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn bad_input_exits_2_naming_the_culprit() {
    let sb = Sandbox::new();
    let data = rdd_csv(&sb);
    let input = format!("data={data}");
    let rdd = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["run", "rdd.scalar", "-i", &input, "-p", "x=score", "-p", "y=outcome"].iter().map(|s| s.to_string()).collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        if !extra.iter().any(|e| e.starts_with("c=")) {
            a.extend(["-p".to_string(), "c=50".to_string()]);
        }
        a
    };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let run = ok(sb.cmd(&["run", "demo.pi", "-p", "n=2000"])).last_line().to_string();
    let not_git = sb.scratch().join("plain");
    std::fs::create_dir_all(&not_git).unwrap();
    ok(sb.cmd(&["remote", "add", "s3lab", "s3://lab-runs/x"]));
    let bad_csv = sb.scratch().join("bad.csv");
    std::fs::write(&bad_csv, "a,b\n1,2\n3\n").unwrap();
    let bad_input = format!("data={}", bad_csv.display());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (s(&["remote", "add", "x1", "s3:/lab-runs"]), "`s3:/lab-runs` is not a remote URL: unknown scheme"),
        (s(&["remote", "add", "bad name", "s3://lab-runs/p"]), "`bad name` is not a remote name"),
        (s(&["remote", "add", "s3lab", "s3://other/y"]), "remote `s3lab` already exists"),
        (s(&["remote", "ls", "nosuch"]), "no remote named `nosuch`"),
        (s(&["remote", "ls", "s3lab"]), "remote `s3lab`: no credentials: set AWS_ACCESS_KEY_ID"),
        (s(&["remote", "push", "s3lab"]), "remote `s3lab`: no credentials"),
        (rdd(&["-p", "c=500"]), "no units right of (at or above) the cutoff 500"),
        (rdd(&["-p", "covs=twice,twice"]), "parameter covs: `twice` is named twice"),
        (rdd(&["-p", "covs=const"]), "covariate `const` is constant within the bandwidth"),
        (rdd(&["-p", "covs=twice"]), "covariate `twice` is constant within the bandwidth, or a linear combination"),
        (rdd(&["-p", "covs=z,z3"]), "covariate `z3` is constant within the bandwidth, or a linear combination"),
        (rdd(&["-p", "fuzzy=outcome"]), "parameter fuzzy names the outcome column `outcome`"),
        (s(&["run", "rdd.scalar", "-i", &bad_input, "-p", "x=a", "-p", "y=b"]), "line 3 has 1 field, the header has 2"),
        (s(&["run", "discocat.compose", "-p", "sentence=john loves", "-p", "types=n | n.r s n.l"]), "pregroup typing: the words reduce to s·n.l, not s"),
        (s(&["run", "discocat.gs2011", "-p", "models=verb,foo"]), "no model `foo`"),
        (s(&["run", "discocat.gs2011", "-p", "dataset=ks2013", "-p", "oov=error"]), "words have no vector"),
        (s(&["bundle", "import", "nothere.reprise"]), "cannot open the bundle nothere.reprise"),
        (s(&["bundle", "export", &run, "-o", "/nonexistent/dir/x.reprise"]), "cannot write the bundle /nonexistent/dir/x.reprise"),
        (s(&["bundle", "export", &run, "-o", "/tmp/never.reprise", "--since", "nosuchrev"]), "`--since nosuchrev` names no commit"),
    ];
    for (args, culprit) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = sb.cmd(&args);
        for v in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
            c.env_remove(v);
        }
        let r = try_run(c);
        assert_eq!(r.code, 2, "{args:?} exits 2:\n{}", r.stderr);
        assert!(r.stderr.contains(culprit), "{args:?} names `{culprit}`:\n{}", r.stderr);
        assert!(!r.stderr.contains("looks like a bug"), "{args:?}:\n{}", r.stderr);
        // Each cause once: no line of the message repeats one before it.
        let lines: Vec<&str> = r.stderr.lines().collect();
        for (i, l) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("caused by: ")) {
            let said = &l["caused by: ".len()..];
            assert!(!lines[..i].iter().any(|p| p.contains(said)), "{args:?} says a cause twice:\n{}", r.stderr);
        }
    }
    let r = try_run(reprise(&sb.store(), &not_git, &["run", "demo.pi", "-p", "n=2000"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{} is not a git repository", not_git.display())), "{}", r.stderr);
}

#[test]
fn perfect_compliance_gives_an_answer_with_the_first_stage_exact() {
    let sb = Sandbox::new();
    let data = rdd_csv(&sb);
    let input = format!("data={data}");
    let base = ["--json", "run", "rdd.scalar", "-i", &input, "-p", "x=score", "-p", "y=outcome", "-p", "c=50"];
    let summary = |args: &[&str]| -> serde_json::Value {
        let run = ok(sb.cmd(args)).json()["run"].as_str().unwrap().to_string();
        serde_json::from_str(&ok(sb.cmd(&["show", &run, "--output", "summary.json"])).stdout).unwrap()
    };
    let sharp = summary(&base);
    let mut fuzzy_args = base.to_vec();
    fuzzy_args.extend(["-p", "fuzzy=took_up"]);
    let fuzzy = summary(&fuzzy_args);
    let (se, fe) = (&sharp["estimate"], &fuzzy["estimate"]);
    let fs = &fe["first_stage"][0];
    assert_eq!(fs["estimate"], 1.0, "{fs}");
    assert_eq!(fs["se"], 0.0);
    assert!(fs["z"].is_null() && fs["p_value"].is_null(), "{fs}");
    assert!(fs["undefined"].as_str().unwrap().contains("the standard error is 0"), "{fs}");
    for row in ["conventional", "bias_corrected", "robust"] {
        assert_eq!(se[row], fe[row], "the fuzzy {row} row is the sharp one");
    }
    assert_eq!(se["h"], fe["h"]);
    let warnings = fuzzy["warnings"].to_string();
    assert!(warnings.contains("the design is sharp in effect") && warnings.contains("perfect compliance"), "{warnings}");
}

#[test]
fn the_sweep_table_shows_headline_and_varying_fields_and_names_the_rest() {
    let sb = Sandbox::new();
    let out = ok(sb.cmd(&["sweep", "demo.pi", "--seeds", "1..3", "-p", "n=3000", "--grid", "tasks=1,2"]));
    let header = out.stdout.lines().find(|l| l.starts_with("grid point")).unwrap_or_else(|| panic!("{}", out.stdout));
    let cols: Vec<&str> = header.split_whitespace().skip(3).collect();
    assert_eq!(cols, ["estimate", "std_error", "abs_error", "hits"], "{}", out.stdout);
    assert!(out.stdout.contains("1 more summary field(s) not shown: n (constant); `reprise --json show <aggregate>`"), "{}", out.stdout);
}

#[test]
fn a_lock_of_another_spec_is_replaced_only_with_force() {
    let sb = Sandbox::new();
    let a = ok(sb.cmd(&["run", "demo.pi", "--seed", "7", "-p", "n=3000"])).last_line().to_string();
    let b = ok(sb.cmd(&["run", "demo.pi", "--seed", "8", "-p", "n=4000"])).last_line().to_string();
    ok(sb.cmd(&["lock", &a]));
    let path = sb.repo().join("lockfiles/demo.pi.json");
    let before = std::fs::read_to_string(&path).unwrap();
    let r = try_run(sb.cmd(&["lock", &b]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for part in ["already pins another run of another spec", "--force", "seed: 7 → 8", "param n: 3000 → 4000"] {
        assert!(r.stderr.contains(part), "{part}:\n{}", r.stderr);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "the lock is untouched");
    ok(sb.cmd(&["lock", &b, "--force"]));
    assert!(std::fs::read_to_string(&path).unwrap().contains(&b));
}

#[test]
fn a_refused_import_into_a_missing_store_leaves_no_folder() {
    let sb = Sandbox::new();
    let junk = sb.scratch().join("junk.reprise");
    std::fs::write(&junk, b"not a bundle at all").unwrap();
    let store = sb.scratch().join("new").join("store");
    for verb in ["import", "verify", "ls"] {
        let r = try_run(reprise(&store, &sb.repo(), &["bundle", verb, junk.to_str().unwrap()]));
        assert_eq!(r.code, 2, "{verb}: {}", r.stderr);
        assert!(!sb.scratch().join("new").exists(), "bundle {verb} left a folder behind");
    }
    // A bundle that verifies is imported into a new store, which stays; verify alone leaves none.
    let run = ok(sb.cmd(&["run", "demo.pi", "-p", "n=2000"])).last_line().to_string();
    let good = sb.scratch().join("good.reprise");
    ok(sb.cmd(&["bundle", "export", &run, "-o", good.to_str().unwrap()]));
    ok(reprise(&store, &sb.repo(), &["bundle", "verify", good.to_str().unwrap()]));
    assert!(!sb.scratch().join("new").exists());
    ok(reprise(&store, &sb.repo(), &["bundle", "import", good.to_str().unwrap()]));
    assert!(store.join("FORMAT").is_file());
}
