//! Bundle export and import against `tar` + `zstd` + `sha256sum` doing the same bytes, in one run.
//! Usage: cargo bench -p reprise-store --bench bundle [-- TOTAL_MIB OBJECTS]   (default 1024 10000)

use reprise_store::bundle::{BundleWriter, Limits, unpack_with};
use reprise_store::{Digest, Store};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// xorshift64*: deterministic filler, not a statistical generator.
struct Filler(u64);

impl Filler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Research-output-like bytes: half the files are f64 arrays of values with three decimals
/// (they compress somewhat, like .npy outputs), half are incompressible.
fn make_data(dir: &Path, total: u64, count: usize) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = Filler(0x9E37_79B9_7F4A_7C15);
    let weights: Vec<u64> = (0..count).map(|_| 1 + f.next() % 1000).collect();
    let sum: u64 = weights.iter().sum();
    let mut paths = Vec::with_capacity(count);
    for (i, w) in weights.iter().enumerate() {
        let size = (total * w / sum).max(8) as usize & !7;
        let mut bytes = Vec::with_capacity(size);
        if i % 2 == 0 {
            while bytes.len() < size {
                let v = ((f.next() % 2_000_000) as f64 - 1_000_000.0) / 1000.0;
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        } else {
            while bytes.len() < size {
                bytes.extend_from_slice(&f.next().to_le_bytes());
            }
        }
        let p = dir.join(format!("f{i:05}"));
        std::fs::write(&p, &bytes).unwrap();
        paths.push(p);
    }
    paths
}

fn sh(script: &str, cwd: &Path) -> f64 {
    let t = Instant::now();
    let st = Command::new("sh").arg("-c").arg(script).current_dir(cwd).status().expect("sh runs");
    assert!(st.success(), "peer command failed: {script}");
    t.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let total_mib: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let work = tempfile::Builder::new().prefix("reprise-bundle-bench").tempdir().unwrap();
    let w = work.path();
    eprintln!("making {count} files, {total_mib} MiB in all …");
    let paths = make_data(&w.join("data"), total_mib << 20, count);
    let a = Store::init(w.join("a")).unwrap();
    let mut digests: Vec<Digest> = Vec::with_capacity(count);
    a.put_files(paths.iter().cloned(), &mut |_, d| digests.push(d)).unwrap();
    digests.sort();
    digests.dedup();
    let bytes: u64 = paths.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    // warm the page cache for both sides alike
    sh("cat data/* > /dev/null", w);

    let t = Instant::now();
    let out = std::fs::File::create(w.join("b.reprise")).unwrap();
    let mut bw = BundleWriter::new(BufWriter::new(out)).unwrap();
    for d in &digests {
        bw.add_object(&a, d).unwrap();
    }
    let mut f = bw.finish().unwrap();
    f.flush().unwrap();
    f.get_ref().sync_all().unwrap();
    drop(f);
    let export = t.elapsed().as_secs_f64();

    let b = Store::init(w.join("b")).unwrap();
    let t = Instant::now();
    let u = unpack_with(&b, std::fs::File::open(w.join("b.reprise")).unwrap(), Limits::default()).unwrap();
    let new = u.publish_objects(&b).unwrap();
    drop(u);
    let import = t.elapsed().as_secs_f64();
    assert_eq!(new, digests.len());

    let peer_export = sh("find data -type f -print0 | sort -z | xargs -0 sha256sum > SUMS && tar -cf - data SUMS | zstd -q -3 -T1 -o peer.tar.zst && sync peer.tar.zst", w);
    let peer_import = sh("mkdir out && zstd -q -dc peer.tar.zst | tar -xf - -C out && cd out && sha256sum --quiet -c SUMS && sync", w);

    let size = |p: &str| std::fs::metadata(w.join(p)).unwrap().len() as f64 / (1 << 20) as f64;
    println!("bundle of {} objects, {:.0} MiB (zstd level 3, one thread on each side)", digests.len(), bytes as f64 / (1 << 20) as f64);
    println!("export: reprise {export:.2} s   tar+zstd+sha256sum {peer_export:.2} s   ratio {:.2}x   (files {:.0} MiB vs {:.0} MiB)", export / peer_export, size("b.reprise"), size("peer.tar.zst"));
    println!("import: reprise {import:.2} s   zstd+tar+sha256sum -c {peer_import:.2} s   ratio {:.2}x", import / peer_import);
}
