#!/usr/bin/env bash
# Every test of the project: the main job (every lock in lockfiles/ must reproduce, into a scratch
# store), the Jupyter kernel over the wire (jupyter_kernel_test, our protocol tests, every notebook
# under nbclient; the kernel forced onto the path of a toolchain without rust-src, so every machine
# gives the same verdict), every notebook in JupyterLab inside headless Chromium (figures rendered,
# screenshots in target/browser-test), the causal estimators against statsmodels and the scalar RDD
# against rdrobust, the sweep tests against a one-node Slurm cluster it starts (and stops), and the
# workspace's unit, property and end-to-end tests.
#
# One release build serves all of it: the workspace's tests are built with the release profile,
# and the `reprise` binary that build makes runs the main job and the kernel (a second, debug
# build of the whole dependency graph took 15–18 minutes). What waits on the network (apt-get,
# pip, npm: tests/install.sh) runs beside that build. At the end a table gives each stage's wall
# time. About 20 minutes on a 2-core machine from a clean clone (19–22 measured).
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d "${TMPDIR:-/tmp}/reprise-ci.XXXXXX")
# the Slurm cluster's folder stays short: munge's socket path must fit in 108 bytes
slurm_dir=$(mktemp -d /tmp/reprise-slurm.XXXXXX)
installs_pid=

stages=()
stage_name=
stage_t0=$(date +%s)
all_t0=$stage_t0
stage() {
  local now; now=$(date +%s)
  [ -n "$stage_name" ] && stages+=("$(printf '%-58s %6d' "$stage_name" $((now - stage_t0)))")
  stage_name=$1
  stage_t0=$now
  [ -n "$1" ] && echo "== $1"
  return 0
}
finish() {
  local status=$?
  set +e
  stage ""
  [ -n "$installs_pid" ] && kill "$installs_pid" 2>/dev/null
  bash tests/slurm/cluster.sh down "$slurm_dir" || true
  rm -rf "$slurm_dir"
  echo
  printf '%-58s %6s\n' "stage" "wall s"
  printf '%s\n' "${stages[@]}"
  printf '%-58s %6d\n' "total" $(( $(date +%s) - all_t0 ))
  [ $status -eq 0 ] || echo "run-all: FAILED (exit $status) in the stage listed last"
  # The test runner's own closing line stays the last line.
  [ -f "$scratch/workspace.log" ] && grep -E '^ *Summary|^test result' "$scratch/workspace.log" | tail -n 1
  rm -rf "$scratch"
  exit $status
}
trap finish EXIT

if cargo nextest --version >/dev/null 2>&1; then
  build_tests=(cargo nextest run --workspace --locked --cargo-profile release --no-run)
  run_tests=(cargo nextest run --workspace --locked --cargo-profile release --no-fail-fast)
else
  echo "cargo-nextest is not installed; using cargo test"
  build_tests=(cargo test --workspace --locked --release --no-run)
  run_tests=(cargo test --workspace --locked --release --no-fail-fast)
fi

stage "installs, beside the build (tests/install.sh)"
bash tests/install.sh > "$scratch/install.log" 2>&1 &
installs_pid=$!

stage "release build: the reprise binary and every test binary"
"${build_tests[@]}"
bin=$PWD/target/release/reprise

stage "main job: reprise reproduce (scratch store)"
"$bin" --quiet --store "$scratch/store" reproduce

stage "waiting for the installs"
if ! wait "$installs_pid"; then
  installs_pid=
  cat "$scratch/install.log" >&2
  echo "tests/install.sh failed (its log is above)" >&2
  exit 1
fi
installs_pid=
cat "$scratch/install.log"
venv=${REPRISE_TEST_VENV:-target/test-venv}

stage "Jupyter kernel over the wire (no rust-src path forced)"
# The science crates are built into the tests' store by the test that needs them (`kernel prepare`).
"$bin" kernel install --prefix "$venv" --no-prepare > /dev/null
REPRISE_BIN="$bin" REPRISE_KERNEL_NO_RUST_SRC=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/jupyter

stage "notebooks in JupyterLab in headless Chromium"
REPRISE_BIN="$bin" REPRISE_KERNEL_NO_RUST_SRC=1 bash tests/browser/run.sh

stage "causal estimators against statsmodels"
REPRISE_BIN="$bin" "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/causal

stage "scalar RDD against rdrobust 2.1.1"
REPRISE_BIN="$bin" "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/rdd

stage "one-node Slurm cluster on 127.0.0.1"
SLURM_CONF=$(bash tests/slurm/cluster.sh up "$slurm_dir")
export SLURM_CONF REPRISE_REQUIRE_SLURM=1

stage "doc examples of the science crates (release profile)"
cargo test --doc --locked --release -p reprise-stats -p reprise-causal -p reprise-rdd -p reprise-discocat -p reprise-qbs -p reprise-experiments

stage "workspace tests (release profile)"
"${run_tests[@]}" 2>&1 | tee "$scratch/workspace.log"
