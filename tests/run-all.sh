#!/usr/bin/env bash
# Every test of the project: the main job (every lock in lockfiles/ must reproduce, into a scratch
# store) and then the whole workspace's tests (unit, property and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d "${TMPDIR:-/tmp}/reprise-ci.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

echo "== main job: reprise reproduce (release build, scratch store)"
cargo run --release --locked -q -p reprise-kernel --bin reprise -- --quiet --store "$scratch/store" reproduce

echo "== workspace tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  echo "cargo-nextest is not installed; using cargo test"
  cargo test --workspace --locked --no-fail-fast
fi
