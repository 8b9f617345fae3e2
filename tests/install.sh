#!/usr/bin/env bash
# Everything the test command installs, once: Debian's chromium and Slurm packages (one apt-get
# update, one install, only what is missing), one Python venv with every stage's requirements (one
# pip call), and playwright-core for the browser test (npm, into target/browser-node; it never
# downloads a browser). tests/run-all.sh runs it beside the release build: it waits on the network,
# not the CPU. The stage scripts (tests/browser/run.sh, tests/slurm/cluster.sh) still install what
# they miss when run alone.
#   bash tests/install.sh            (venv: target/test-venv, or $REPRISE_TEST_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${REPRISE_TEST_VENV:-target/test-venv}
node_dir=target/browser-node

missing=()
command -v chromium >/dev/null || missing+=(chromium)
if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/munged ]; then
  missing+=(slurmctld slurmd slurm-client munge)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  -r tests/jupyter/requirements.txt -r tests/browser/requirements.txt \
  -r tests/causal/requirements.txt -r tests/rdd/requirements.txt

mkdir -p "$node_dir"
if ! cmp -s tests/browser/package-lock.json "$node_dir/package-lock.json" || [ ! -d "$node_dir/node_modules/playwright-core" ]; then
  cp tests/browser/package.json tests/browser/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --silent)
fi
echo "installed: system packages, $venv, $node_dir"
