//! DisCoCat batch similarity speed (`cargo bench -p reprise-experiments --bench discocat -- DIR`):
//! Kronecker, copy (grouped by verb) and relational similarities of the pairs in DIR (written by
//! `bench/discocat_peer.py`); prints one JSON line of median wall times and result checksums.

use reprise_experiments::discocat::batch::{self, Lexicon, Pair};
use std::time::Instant;

fn f64s(path: &std::path::Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
}

fn main() {
    let dir = std::env::args().skip(1).find(|a| !a.starts_with('-')).expect("usage: discocat DIR (from bench/discocat_peer.py)");
    let dir = std::path::Path::new(&dir);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).expect("meta.json")).expect("JSON");
    let d = meta["d"].as_u64().expect("d") as usize;
    let (nouns, verbs, rels) = (f64s(&dir.join("nouns.f64")), f64s(&dir.join("verbs.f64")), f64s(&dir.join("rels.f64")));
    let raw = std::fs::read(dir.join("pairs.u32")).expect("pairs.u32");
    let ints: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    let pairs: Vec<Pair> = ints.chunks_exact(4).map(|c| Pair { s: c[0], o: c[1], verb: c[2], landmark: c[3] }).collect();
    let lex = Lexicon { d, nouns: &nouns, verbs: &verbs, rels: &rels };
    let time = |f: &dyn Fn() -> Vec<f64>| {
        let mut times = Vec::new();
        let mut out = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            out = f();
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], out.iter().sum::<f64>())
    };
    let k = time(&|| batch::kronecker(&lex, &pairs));
    let cs = time(&|| batch::copy(&lex, &pairs, true));
    let co = time(&|| batch::copy(&lex, &pairs, false));
    let r = time(&|| batch::relational(&lex, &pairs));
    println!(
        "{{\"pairs\": {}, \"d\": {d}, \"threads\": {}, \"kronecker\": [{}, {}], \"s_hadamard_Vo\": [{}, {}], \"o_hadamard_VTs\": [{}, {}], \"relational\": [{}, {}]}}",
        pairs.len(), rayon::current_num_threads(), k.0, k.1, cs.0, cs.1, co.0, co.1, r.0, r.1
    );
}
