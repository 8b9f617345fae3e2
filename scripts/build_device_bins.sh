#!/usr/bin/env bash
# Builds what scripts/device_check.sh runs on a GPU machine (which has no cargo): the `reprise`
# binary without the notebook engine, gpu-bench, the parity test binary, and a scratch git
# repository for run provenance, all under target/device (carry that folder).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/device
rm -rf "$out" && mkdir -p "$out"
cargo build --release --locked -p reprise-kernel --bin reprise --no-default-features --features cuda
cargo build --release --locked -p reprise-gpu --bin gpu-bench
parity=$(cargo test --release --locked -p reprise-gpu --test parity --no-run --message-format=json \
  | python3 -c "import json,sys; print([m['executable'] for m in map(json.loads, sys.stdin) if m.get('reason')=='compiler-artifact' and m.get('executable') and m['target']['name']=='parity'][0])")
cp target/release/reprise target/release/gpu-bench "$out/"
cp "$parity" "$out/parity"
mkdir "$out/repo" && cp Cargo.lock "$out/repo/"
git -C "$out/repo" init -q
git -C "$out/repo" add Cargo.lock
git -C "$out/repo" -c user.name=reprise -c user.email=reprise@localhost commit -qm "scratch repository for device runs"
ls -la "$out"
