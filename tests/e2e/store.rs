//! The store through the CLI: concurrent writers with one killed mid-way, a flipped byte found by
//! `verify`, an ambiguous prefix listing its candidates, and `gc` keeping only what is reachable.

use crate::support::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};

fn digest_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic pseudo-random bytes (splitmix64), so the test needs no RNG crate.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x = x.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn eight_writers_with_one_killed_leave_a_verifiable_store() {
    let sb = Sandbox::new();
    let files = sb.scratch().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut content: HashMap<String, Vec<u8>> = HashMap::new();
    let mut lists = Vec::new();
    for p in 0..8u64 {
        let mut list = String::new();
        for i in 0..500u64 {
            // Every 10th file is the same in every process: concurrent writers of one object.
            // Process 0 writes bigger files so that it is killed in the middle of its work.
            let data = if i % 10 == 0 { bytes(i, 1024) } else { bytes(1000 * p + i + 1_000_000, if p == 0 { 256 * 1024 } else { 1024 }) };
            let path = files.join(format!("p{p}-{i}"));
            std::fs::write(&path, &data).unwrap();
            content.insert(digest_hex(&data), data);
            list.push_str(&format!("{}\n", path.display()));
        }
        lists.push(list);
    }
    let spawn = |list: &str| -> Child {
        let mut c = sb.cmd(&["store", "put", "--stdin-paths"]);
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
        child
    };
    let mut victim = spawn(&lists[0]);
    let others: Vec<Child> = lists[1..].iter().map(|l| spawn(l)).collect();
    // Kill process 0 once it has published its first batches, while it is still writing.
    let mut victim_lines = Vec::new();
    let mut reader = BufReader::new(victim.stdout.take().unwrap());
    let mut line = String::new();
    while victim_lines.len() < 70 && reader.read_line(&mut line).unwrap() > 0 {
        victim_lines.push(line.trim().to_string());
        line.clear();
    }
    victim.kill().unwrap(); // SIGKILL
    let status = victim.wait().unwrap();
    assert!(!status.success(), "process 0 was killed before it finished");
    while reader.read_line(&mut line).unwrap() > 0 {
        victim_lines.push(line.trim().to_string());
        line.clear();
    }
    assert!(victim_lines.len() >= 70 && victim_lines.len() < 500, "killed mid-way: {} puts completed", victim_lines.len());
    let mut completed = victim_lines;
    for child in others {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 500);
        completed.extend(lines);
    }
    // Every completed put is readable with its exact bytes.
    for d in &completed {
        let want = content.get(d).unwrap_or_else(|| panic!("{d} is not the digest of any file put"));
        let got = std::fs::read(sb.store().join("objects/sha256").join(&d[..2]).join(&d[2..])).unwrap();
        assert!(got == *want, "object {d} holds other bytes");
    }
    // No partial object is visible: every object in the store is a whole file that was put.
    let v = ok(sb.cmd(&["--json", "verify"])).json();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["corrupt"].as_array().unwrap().is_empty());
    let listed = walk_objects(&sb.store());
    assert!(listed.len() >= completed.iter().collect::<std::collections::HashSet<_>>().len());
    for d in &listed {
        assert!(content.contains_key(d), "object {d} is not the digest of any file put");
    }
}

fn walk_objects(store: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for fan in std::fs::read_dir(store.join("objects/sha256")).unwrap() {
        let fan = fan.unwrap();
        let prefix = fan.file_name().to_string_lossy().into_owned();
        for obj in std::fs::read_dir(fan.path()).unwrap() {
            out.push(format!("{prefix}{}", obj.unwrap().file_name().to_string_lossy()));
        }
    }
    out
}

#[test]
fn verify_finds_a_flipped_byte() {
    let sb = Sandbox::new();
    let run = ok(sb.cmd(&["run", "demo.pi", "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string();
    assert_eq!(ok(sb.cmd(&["verify"])).code, 0);
    let shown = ok(sb.cmd(&["--json", "show", &run])).json();
    let d = shown["record"]["outputs"]["samples.npy"]["digest"].as_str().unwrap().to_string();
    let path = sb.store().join("objects/sha256").join(&d[..2]).join(&d[2..]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut b = std::fs::read(&path).unwrap();
    b[200] ^= 0x10;
    std::fs::write(&path, &b).unwrap();
    // Reading it back through reprise refuses the damaged bytes.
    let r = try_run(sb.cmd(&["store", "get", &d]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(&format!("object {d} is corrupt")), "{}", r.stderr);
    let r = try_run(sb.cmd(&["verify"]));
    assert_eq!(r.code, 1, "a failed check exits 1: {}", r.stdout);
    assert!(r.stdout.contains(&format!("CORRUPT  {d}  (its bytes hash to {}; moved aside to", &digest_hex(&b)[..16])), "{}", r.stdout);
    assert!(r.stderr.contains("1 corrupt, 0 missing"), "{}", r.stderr);
    // Moved aside, the object is missing (and named) until something restores its bytes.
    let r = try_run(sb.cmd(&["store", "get", &d]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(&format!("object {d} is not in the store")), "{}", r.stderr);
}

#[test]
fn an_ambiguous_prefix_lists_both_candidates() {
    let sb = Sandbox::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let (x, y) = (0u32..)
        .find_map(|i| seen.insert(digest_hex(format!("blob {i}").as_bytes())[..6].to_string(), i).map(|j| (j, i)))
        .unwrap();
    let mut digests = Vec::new();
    for i in [x, y] {
        let p = sb.scratch().join(format!("blob{i}"));
        std::fs::write(&p, format!("blob {i}")).unwrap();
        digests.push(ok(sb.cmd(&["store", "put", p.to_str().unwrap()])).last_line().to_string());
    }
    let prefix = &digests[0][..6];
    assert_eq!(&digests[1][..6], prefix);
    for args in [vec!["store", "resolve", prefix], vec!["show", prefix], vec!["rerun", prefix]] {
        let r = try_run(sb.cmd(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("`{prefix}` is ambiguous: it names 2 objects")), "{}", r.stderr);
        for d in &digests {
            assert!(r.stderr.contains(&d[..16]), "{args:?} lists {d}: {}", r.stderr);
        }
    }
    let r = try_run(sb.cmd(&["store", "resolve", "12345"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("give at least 6 hex digits"), "{}", r.stderr);
}

#[test]
fn gc_dry_run_lists_and_gc_deletes_only_the_unreachable() {
    let sb = Sandbox::new();
    let run = ok(sb.cmd(&["run", "demo.pi", "--seed", "3", "-p", "n=1000", "-p", "tasks=2"])).last_line().to_string();
    let junk = sb.scratch().join("junk");
    std::fs::write(&junk, "nobody refers to this").unwrap();
    let junk_d = ok(sb.cmd(&["store", "put", junk.to_str().unwrap()])).last_line().to_string();
    let before = walk_objects(&sb.store());
    // Young garbage is kept by default (--keep-newer 1h), and gc says so.
    let plain = ok(sb.cmd(&["gc"]));
    assert!(plain.stdout.contains("kept 1 unreachable objects younger than 1h"), "{}", plain.stdout);
    assert!(walk_objects(&sb.store()).contains(&junk_d));
    let dry = ok(sb.cmd(&["--json", "gc", "--dry-run", "--now"])).json();
    let removed: Vec<&str> = dry["removed"].as_array().unwrap().iter().map(|r| r["object"].as_str().unwrap()).collect();
    assert_eq!(removed, vec![junk_d.as_str()]);
    assert_eq!(walk_objects(&sb.store()).len(), before.len(), "a dry run deletes nothing");
    let text = ok(sb.cmd(&["gc", "--dry-run", "--now"]));
    assert!(text.stdout.contains(&format!("would remove {junk_d}")), "{}", text.stdout);
    let real = ok(sb.cmd(&["--json", "gc", "--now"])).json();
    assert_eq!(real["removed"].as_array().unwrap().len(), 1);
    let after = walk_objects(&sb.store());
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.contains(&junk_d));
    // Everything the run needs survived: it still verifies and reruns.
    assert_eq!(ok(sb.cmd(&["verify"])).code, 0);
    assert_eq!(ok(sb.cmd(&["rerun", &run])).code, 0);
}

#[test]
fn kernel_install_pins_a_store_only_when_told_to_and_says_which() {
    let sb = Sandbox::new();
    let prefix = sb.scratch().join("prefix");
    let spec = prefix.join("share/jupyter/kernels/reprise/kernel.json");
    let argv = || -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&spec).unwrap()).unwrap();
        v["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
    };
    // REPRISE_STORE in the environment (a script's scratch store) is not written into the spec.
    let mut c = std::process::Command::new(BIN);
    c.args(["kernel", "install", "--no-prepare", "--prefix", prefix.to_str().unwrap()]).env("REPRISE_STORE", sb.store());
    let out = ok(c);
    assert!(!argv().contains(&"--store".to_string()), "{:?}", argv());
    assert!(out.stdout.contains("nothing pinned") && out.stdout.contains("argv: "), "{}", out.stdout);
    // An explicit --store is, and install says so.
    let mut c = std::process::Command::new(BIN);
    c.args(["--store", sb.store().to_str().unwrap(), "kernel", "install", "--no-prepare", "--prefix", prefix.to_str().unwrap()]);
    let out = ok(c);
    let a = argv();
    let i = a.iter().position(|x| x == "--store").expect("--store pinned");
    assert!(a[i + 1].ends_with("store"), "{a:?}");
    assert!(out.stdout.contains("pinned by --store"), "{}", out.stdout);
}
