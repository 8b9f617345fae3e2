#!/usr/bin/env bash
# The GPU check, for a machine with the CUDA driver but no Rust toolchain. Build here first:
#   bash scripts/build_device_bins.sh      (puts the binaries and a scratch repo in target/device)
# then run this there from the repository root. It prints the device, runs the parity tests with
# REPRISE_REQUIRE_GPU=1, compares rdd.r3d's outputs on backend=cpu and backend=cuda, and prints
# gpu-bench's table last. Exit status: non-zero when any parity check fails.
set -uo pipefail
BIN=${BIN:-target/device}
status=0
echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"
echo "== parity tests (REPRISE_REQUIRE_GPU=1)"
if ! REPRISE_REQUIRE_GPU=1 "$BIN/parity" --test-threads 1 2>&1 | tail -12; then status=1; fi
[ "${PIPESTATUS[0]}" = 0 ] || status=1
echo "== rdd.r3d, Rademacher multipliers, B=100000: output digests on each backend"
store=$(mktemp -d)
for b in cpu cuda; do
  start=$(date +%s%N)
  "$BIN/reprise" run rdd.r3d --repo "$BIN/repo" --store "$store" -q --json \
      -p multipliers=rademacher -p draws=100000 -p backend=$b > "$store/$b.json" || status=1
  end=$(date +%s%N)
  printf '%s: %d ms  ' "$b" $(( (end - start) / 1000000 ))
  python3 -c "import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t) if t.strip() else {'outputs': {}}; print(' '.join(f'{k}={v[\"digest\"][:16]}' for k,v in sorted(d['outputs'].items())) or 'no outputs')" "$store/$b.json"
done
python3 - "$store" <<'PY' || status=1
import json, sys
def outputs(k):
    t = open(f"{sys.argv[1]}/{k}.json").read()
    return json.loads(t)["outputs"] if t.strip() else None
a, b = outputs("cpu"), outputs("cuda")
if a is None or b is None:
    print("outputs identical on cpu and cuda: not compared (a run failed)")
    sys.exit(1)
same = {k: v["digest"] for k, v in a.items()} == {k: v["digest"] for k, v in b.items()}
print("outputs identical on cpu and cuda:", same)
sys.exit(0 if same else 1)
PY
echo "== gpu-bench"
"$BIN/gpu-bench" || status=1
exit $status
