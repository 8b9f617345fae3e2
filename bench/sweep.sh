#!/usr/bin/env bash
# Sweep overhead per cell over a plain `reprise run` of the same spec, measured in one run:
#   N cells of demo.pi (one worker, so nothing overlaps) vs the same N specs as N `reprise run`s.
# Target: under 50 ms per cell. Usage: bash bench/sweep.sh [N] [POINTS]   (default 64 cells, n=100000)
set -euo pipefail
cd "$(dirname "$0")/.."
cells=${1:-64}
points=${2:-100000}
cargo build --release --locked -q -p reprise-kernel --bin reprise
bin=$PWD/target/release/reprise
work=$(mktemp -d "${TMPDIR:-/tmp}/reprise-sweep-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }

t0=$(now)
for s in $(seq 0 $((cells - 1))); do
  "$bin" --store "$work/runs" -q run demo.pi --seed "$s" -p n="$points" -p tasks=4 > /dev/null
done
t1=$(now)
"$bin" --store "$work/sweep" -q sweep demo.pi --seeds "0..$cells" -p n="$points" -p tasks=4 --parallel 1 > /dev/null
t2=$(now)
python3 - "$cells" "$t0" "$t1" "$t2" <<'PY'
import sys
n, t0, t1, t2 = int(sys.argv[1]), *map(int, sys.argv[2:])
runs, sweep = (t1 - t0) / 1e6, (t2 - t1) / 1e6
print(f"{n} plain runs: {runs:.0f} ms ({runs/n:.1f} ms each)   sweep of {n} cells, one worker: {sweep:.0f} ms ({sweep/n:.1f} ms each)")
print(f"overhead per cell: {(sweep - runs)/n:.1f} ms (target < 50 ms)   ratio {sweep/runs:.2f}x")
PY
