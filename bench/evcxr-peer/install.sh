#!/usr/bin/env bash
# Builds the evcxr_jupyter 0.22.0 peer (bench/evcxr-peer, into target/release, reusing the reprise
# kernel's evcxr build: about 3 minutes here) and installs its kernelspec `rust` into the test
# venv, so that bench/kernel.py measures both kernels in the same run.
#   bash bench/evcxr-peer/install.sh [VENV]     (default: target/test-venv)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
venv=${1:-$root/target/test-venv}
[ -f Cargo.lock ] || cp "$root/Cargo.lock" Cargo.lock
CARGO_TARGET_DIR="$root/target" cargo build --release --bin evcxr_jupyter
spec="$venv/share/jupyter/kernels/rust"
mkdir -p "$spec"
cat > "$spec/kernel.json" <<JSON
{
  "argv": ["$root/target/release/evcxr_jupyter", "--control_file", "{connection_file}"],
  "display_name": "Rust (evcxr_jupyter 0.22.0)",
  "language": "rust",
  "interrupt_mode": "message"
}
JSON
echo "kernelspec rust -> $spec"
