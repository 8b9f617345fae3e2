#!/usr/bin/env bash
# Store and runner speed, as ratios against the named peer measured in the same run:
#   1. `reprise store put` of a 1 GiB file vs `sha256sum` of the same file (target: ≤ 1.2×)
#   2. 10,000 puts of 1 KiB files vs `git hash-object -w --stdin-paths` (target: ≤ 1.0×)
#   3. `reprise run` of a memoised spec, end to end (target: < 50 ms)
# Usage: bash bench/store.sh [SIZE_MIB]   (default 1024). Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
cargo build --release --locked -q -p reprise-kernel --bin reprise
bin=$PWD/target/release/reprise
work=$(mktemp -d "${TMPDIR:-/tmp}/reprise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
# best of N wall times (ms) of a command
best() {
  local n=$1; shift; local best=
  for _ in $(seq "$n"); do
    local t0; t0=$(now); "$@" >/dev/null; local t1; t1=$(now)
    local ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "== 1. put of a ${size_mib} MiB file vs sha256sum (best of 3, page cache warm)"
head -c "$((size_mib << 20))" /dev/urandom > "$work/big"
cat "$work/big" > /dev/null
sha=$(best 3 sha256sum "$work/big")
put() { rm -rf "$work/s1"; "$bin" --store "$work/s1" -q store put "$work/big"; }
rp=$(best 3 put)
echo "sha256sum: ${sha} ms   reprise store put: ${rp} ms   ratio: $(ratio "$rp" "$sha")×"
rm -f "$work/big"

echo "== 2. 10,000 puts of 1 KiB files vs git hash-object -w --stdin-paths (best of 3)"
mkdir -p "$work/small"
python3 - "$work/small" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(10000):
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(os.urandom(1024))
PY
ls -1 "$work/small" | sed "s|^|$work/small/|" > "$work/list"
gitput() { rm -rf "$work/g"; git init -q "$work/g"; git -C "$work/g" hash-object -w --stdin-paths < "$work/list"; }
storeput() { rm -rf "$work/s2"; "$bin" --store "$work/s2" -q store put --stdin-paths < "$work/list"; }
g=$(best 3 gitput)
s=$(best 3 storeput)
echo "git hash-object: ${g} ms   reprise store put: ${s} ms   ratio: $(ratio "$s" "$g")×"

echo "== 3. memoised run, end to end (mean of 20 after one real run)"
"$bin" --store "$work/s3" -q run demo.pi --seed 7 > /dev/null
t0=$(now)
for _ in $(seq 20); do "$bin" --store "$work/s3" -q run demo.pi --seed 7 > /dev/null; done
t1=$(now)
echo "memoised run: $(python3 -c "print(f'{($t1-$t0)/20/1e6:.1f}')") ms"
