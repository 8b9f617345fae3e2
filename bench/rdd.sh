#!/usr/bin/env bash
# Scalar RDD speed as a ratio against rdrobust 2.1.1 (Python, PyPI), measured in the same run:
# mserd bandwidths + nn variance on n rows of x ~ U(−1, 1),
# y = 0.5 + 0.8x − 0.3x² + 1{x ≥ 0} + N(0, 0.5²) (target: ≥ 3× faster at n = 1,000,000).
# Usage: bash bench/rdd.sh [N] [PYTHON]   PYTHON has rdrobust installed (default: target/bench-venv,
# made here with `pip install rdrobust==2.1.1`; add numba to it to time rdrobust with numba).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
py=${2:-}
if [ -z "$py" ]; then
  py=target/bench-venv/bin/python
  [ -x "$py" ] || python3 -m venv target/bench-venv
  "$py" -m pip install -q --disable-pip-version-check rdrobust==2.1.1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reprise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
peer=$("$py" bench/rdd_peer.py "$n" "$work/data.csv" | tail -1)
ours=$(cargo bench -q --locked -p reprise-experiments --bench rdd -- "$work/data.csv" 2>/dev/null | tail -1)
numba=$("$py" -c 'import numba; print(numba.__version__)' 2>/dev/null || echo "not installed")
echo "reprise:  $ours"
echo "rdrobust: $peer (numba: $numba)"
python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"rdrobust defaults, n={o['n']}: reprise {o['seconds']*1e3:.1f} ms, rdrobust {p['seconds']*1e3:.1f} ms -> {p['seconds']/o['seconds']:.1f}x faster (target >= 3x)")
print(f"  tau reprise {o['estimate']:.10f}, rdrobust {p['estimate']:.10f}; h reprise {o['h']:.10f}, rdrobust {p['h']:.10f}")
PY
