#!/usr/bin/env bash
# Every notebook in notebooks/ run in JupyterLab 4 inside Debian's headless Chromium: no error
# output, every figure a rendered Plotly chart, nothing fetched from outside 127.0.0.1; and
# tests/browser/broken-figure.ipynb must be caught. Screenshots go to target/browser-test/.
#   bash tests/browser/run.sh [NOTEBOOK.ipynb ...]     (default: every notebook in notebooks/)
# Installs what is missing: chromium (apt-get), JupyterLab + plotly (into the test venv,
# target/test-venv or $REPRISE_TEST_VENV, beside the kernel tests' packages),
# playwright-core (npm, into target/browser-node; it never downloads a browser).
# Needs REPRISE_BIN (default target/release/reprise, built by tests/run-all.sh's main job).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${REPRISE_BIN:-$repo/target/release/reprise}
out=${REPRISE_BROWSER_OUT:-$repo/target/browser-test}
venv=${REPRISE_TEST_VENV:-$repo/target/test-venv}
node_dir=$repo/target/browser-node
t0=$(date +%s)
[ -x "$bin" ] || { echo "no reprise binary at $bin: build it with cargo build --release -p reprise-kernel, or set REPRISE_BIN" >&2; exit 2; }

if ! command -v chromium >/dev/null; then
  echo "installing chromium (apt-get)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/browser/requirements.txt
mkdir -p "$node_dir"
if ! cmp -s tests/browser/package-lock.json "$node_dir/package-lock.json" || [ ! -d "$node_dir/node_modules/playwright-core" ]; then
  cp tests/browser/package.json tests/browser/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --silent)
fi

t_installed=$(date +%s)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/reprise-browser.XXXXXX")
lab_pid=
cleanup() {
  if [ -n "$lab_pid" ]; then kill "$lab_pid" 2>/dev/null || true; wait "$lab_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# The lab serves a copy (opening a notebook writes checkpoints beside it) and keeps its config,
# data, runtime, settings and workspaces out of $HOME.
root=$scratch/root
mkdir -p "$root" "$out"
rm -f "$out"/*.png "$out"/results.json
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/*.ipynb); fi
names=()
for nb in "${notebooks[@]}"; do cp "$nb" "$root/"; names+=("$(basename "$nb")"); done
cp tests/browser/broken-figure.ipynb "$root/"
export JUPYTER_CONFIG_DIR=$scratch/cfg JUPYTER_DATA_DIR=$scratch/data JUPYTER_RUNTIME_DIR=$scratch/rt \
  JUPYTERLAB_SETTINGS_DIR=$scratch/settings JUPYTERLAB_WORKSPACES_DIR=$scratch/ws
settings=$venv/share/jupyter/lab/settings
mkdir -p "$settings"
cp tests/browser/overrides.json "$settings/overrides.json"
# The kernelspec names no store (only an explicit --store is pinned; unset here all the same): the
# kernels take the scratch store from the server's environment, like the nbclient tests.
env -u REPRISE_STORE "$bin" kernel install --prefix "$venv" --no-prepare >/dev/null
export REPRISE_STORE=$scratch/store
# The notebooks' `:dep reprise-rdd` (-causal, -discocat, -qbs) find the crates built, as after `reprise kernel install`.
"$bin" kernel prepare > "$out/prepare.log" 2>&1 || { echo "reprise kernel prepare failed; its log:" >&2; cat "$out/prepare.log" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=reprise-browser-test   # fixed: the server listens on 127.0.0.1 only, and dies with the test
"$venv/bin/jupyter" lab --no-browser --allow-root --ip 127.0.0.1 --port "$port" \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$root" \
  --MultiKernelManager.default_kernel_name=reprise \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  --LabApp.extension_manager=readonly --LabApp.expose_app_in_browser=True \
  > "$out/lab.log" 2>&1 &
lab_pid=$!
up() { "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
  "http://127.0.0.1:$port/api/status?token=$token" 2>/dev/null; }
for _ in $(seq 240); do
  kill -0 "$lab_pid" 2>/dev/null || { echo "JupyterLab exited at start; its log:" >&2; cat "$out/lab.log" >&2; exit 1; }
  up && break
  sleep 0.25
done
up || { echo "JupyterLab did not answer in 60 s; log: $out/lab.log" >&2; exit 1; }

status=0
NODE_PATH=$node_dir/node_modules node tests/browser/lab.cjs --url "http://127.0.0.1:$port" --token "$token" \
  --root "$root" --out "$out" --kernel "Rust (Reprise)" --expect-broken broken-figure.ipynb "${names[@]}" || status=$?
echo "browser stage: $(( $(date +%s) - t_installed )) s after installs (lab start to last screenshot); installs took $(( t_installed - t0 )) s; lab log: $out/lab.log"
exit $status
