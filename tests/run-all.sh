#!/usr/bin/env bash
# Every test of the project: the main job (every lock in lockfiles/ must reproduce, into a scratch
# store), the workspace's tests (unit, property and end-to-end), and the Jupyter kernel over the
# wire (jupyter_kernel_test, our protocol tests, every notebook under nbclient), every notebook in
# JupyterLab inside headless Chromium (figures rendered, screenshots in target/browser-test), the causal
# estimators against statsmodels and the scalar RDD against rdrobust, from a Python venv this
# script makes; the sweep tests against a one-node Slurm cluster it starts (and stops).
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d "${TMPDIR:-/tmp}/reprise-ci.XXXXXX")
# the Slurm cluster's folder stays short: munge's socket path must fit in 108 bytes
slurm_dir=$(mktemp -d /tmp/reprise-slurm.XXXXXX)
trap 'bash tests/slurm/cluster.sh down "$slurm_dir" || true; rm -rf "$scratch" "$slurm_dir"' EXIT

echo "== main job: reprise reproduce (release build, scratch store)"
cargo run --release --locked -q -p reprise-kernel --bin reprise -- --quiet --store "$scratch/store" reproduce

echo "== Jupyter kernel over the wire (Python venv: tests/jupyter/requirements.txt)"
venv=${REPRISE_TEST_VENV:-target/test-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/jupyter/requirements.txt
bin=$PWD/target/release/reprise
"$bin" kernel install --prefix "$venv" > /dev/null
REPRISE_BIN="$bin" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/jupyter

echo "== the notebooks in JupyterLab inside headless Chromium (tests/browser/run.sh, same venv)"
REPRISE_BIN="$bin" bash tests/browser/run.sh

echo "== causal estimators against statsmodels (tests/causal/requirements.txt, same venv)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/causal/requirements.txt
REPRISE_BIN="$bin" "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/causal

echo "== scalar RDD against rdrobust 2.1.1 (tests/rdd/requirements.txt, same venv)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/causal/requirements.txt -r tests/rdd/requirements.txt
REPRISE_BIN="$bin" "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/rdd

echo "== a one-node Slurm cluster on 127.0.0.1 for the sweep tests (tests/slurm/cluster.sh)"
SLURM_CONF=$(bash tests/slurm/cluster.sh up "$slurm_dir")
export SLURM_CONF REPRISE_REQUIRE_SLURM=1

echo "== workspace tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  echo "cargo-nextest is not installed; using cargo test"
  cargo test --workspace --locked --no-fail-fast
fi
