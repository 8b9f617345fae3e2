//! Scalar RDD speed (`cargo bench -p reprise-experiments --bench rdd -- DATA.csv`): rdrobust's
//! defaults (mserd bandwidths, nn variance) on a CSV with columns x, y; prints one JSON line of the
//! median wall time. `bench/rdd.sh` writes the data and runs rdrobust 2.1.1 on it beside this.

use reprise_experiments::rdd::{Design, Options, rdrobust, scalar};
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .expect("usage: rdd DATA.csv (columns x, y)");
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let bytes = std::fs::read(&path).expect("DATA.csv is readable");
    let scalar::Columns { x, y, .. } =
        scalar::load(&bytes, "y", "x", None, &[]).expect("columns x and y");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let d = Design::new(&x, &y, None, 0.0).expect("both sides");
        last = Some(rdrobust(&d, &Options::default()).expect("estimate"));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let e = last.expect("one round");
    println!(
        "{{\"n\": {}, \"seconds\": {}, \"estimate\": {}, \"h\": {}}}",
        x.len(),
        times[times.len() / 2],
        e.conventional.estimate,
        e.h[0]
    );
}
