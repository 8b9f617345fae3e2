#!/usr/bin/env bash
# DisCoCat batch similarity speed as ratios against NumPy doing the same maths with the same
# factorisations (bench/discocat_peer.py), measured in the same run: 10,000 sentence pairs
# S V O / S L O at d = 300 — Kronecker, the two copy models grouped by verb, relational
# (target: each ≥ 3× faster). Usage: bash bench/discocat.sh [PAIRS] [D] [PYTHON]
# PYTHON has numpy (default: target/bench-venv, made here with `pip install numpy`).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-10000}
d=${2:-300}
py=${3:-}
if [ -z "$py" ]; then
  py=target/bench-venv/bin/python
  [ -x "$py" ] || python3 -m venv target/bench-venv
  "$py" -m pip install -q --disable-pip-version-check numpy
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reprise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
peer=$("$py" bench/discocat_peer.py "$work" "$pairs" "$d" | tail -1)
ours=$(cargo bench -q --locked -p reprise-experiments --bench discocat -- "$work" 2>/dev/null | tail -1)
echo "reprise: $ours"
echo "numpy:   $peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{o['pairs']} pairs, d={o['d']}, reprise on {o['threads']} threads, numpy {p['numpy']} ({p['blas']}):")
for m in ["kronecker", "s_hadamard_Vo", "o_hadamard_VTs", "relational"]:
    (to, so), (tp, sp) = o[m], p[m]
    print(f"  {m:15s} reprise {to*1e3:8.1f} ms  numpy {tp*1e3:8.1f} ms  -> {tp/to:5.1f}x (target >= 3x)  checksum diff {abs(so-sp):.2e}")
PY
