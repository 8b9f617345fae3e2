#!/usr/bin/env bash
# SMC speed as a ratio against a NumPy particle filter doing the same algorithm on the same HMM
# (monad-bayes' 3-state HMM, 16 observations), measured in the same run (target: reprise ≥ 20×
# faster at 10,000 particles). Usage: bash bench/qbs.sh [PARTICLES] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
py=${2:-}
if [ -z "$py" ]; then
  py=target/bench-venv/bin/python
  [ -x "$py" ] || python3 -m venv target/bench-venv
  "$py" -m pip install -q --disable-pip-version-check numpy
fi
peer=$("$py" bench/qbs_peer.py "$n" | tail -1)
ours=$(cargo bench -q --locked -p reprise-experiments --bench qbs -- "$n" 2>/dev/null | tail -1)
echo "reprise: $ours"
echo "numpy:   $peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"SMC on the HMM, {o['particles']} particles: reprise {o['seconds']*1e3:.1f} ms, numpy {p['seconds']*1e3:.1f} ms -> {p['seconds']/o['seconds']:.2f}x (target >= 20x)")
print(f"  mean log Z: reprise {o['mean_log_z']:.4f}, numpy {p['mean_log_z']:.4f}, exact {o['exact_log_z']:.4f}")
PY
