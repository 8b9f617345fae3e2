#!/usr/bin/env bash
# Causal estimator speed as ratios against the named peer, measured in the same run:
#   1. AIPW, 5-fold cross-fitting, logistic + OLS per arm, n = 100,000, d = 10, vs EconML's
#      LinearDRLearner with the same models on the same data (target: ≥ 10× faster)
#   2. IPM-MMD weights for 5,000 controls (target: < 2 s; no peer)
# Usage: bash bench/causal.sh [PYTHON]   PYTHON has econml installed (default: target/bench-venv,
# made here with `pip install econml==0.17.0`).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-}
if [ -z "$py" ]; then
  py=target/bench-venv/bin/python
  [ -x "$py" ] || python3 -m venv target/bench-venv
  "$py" -m pip install -q --disable-pip-version-check econml==0.17.0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reprise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
ours=$(BENCH_DATA="$work/data.csv" cargo bench -q --locked -p reprise-experiments --bench causal 2>/dev/null | tail -1)
peer=$("$py" bench/causal_peer.py "$work/data.csv" 5 2>/dev/null | tail -1)
echo "reprise: $ours"
echo "econml:  $peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = p["econml_lineardrlearner_s"] / o["aipw_crossfit_n100k_d10_s"]
print(f"AIPW 5-fold, n=100k, d=10: reprise {o['aipw_crossfit_n100k_d10_s']*1e3:.1f} ms, EconML {p['econml_lineardrlearner_s']*1e3:.1f} ms -> {r:.1f}x faster (target >= 10x)")
print(f"  ATE reprise {o['aipw_ate']:.6f}, EconML {p['econml_ate']:.6f} (same data; EconML's DR model differs in detail)")
if "mmd_n0_5000_s" in o:  # absent under BENCH_ONLY=aipw
    print(f"IPM-MMD, 5,000 controls: {o['mmd_n0_5000_s']:.2f} s, support {o['mmd_support']}, converged {o['mmd_converged']} (target < 2 s)")
PY
