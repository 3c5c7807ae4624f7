#!/usr/bin/env bash
# Benchmark for issue 2: a full snapshot of a ~1 GB etcd, Lifeboat against etcdctl in the same run.
# Loads etcd with KEYS x VALUE_BYTES (default 250000 x 2048, in 128-op transactions), then times
# `etcdctl snapshot save` and `lifeboat etcd snapshot full --compression none` alternately, RUNS times each
# (default 5), and prints every run, the medians, Lifeboat's peak RSS and the median ratio (target <= 0.9).
# Usage: bench/full-snapshot.sh [RUNS]      env: KEYS, VALUE_BYTES, BENCH_DIR (default /tmp/lifeboat-bench)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-5}"
keys="${KEYS:-250000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/out" && mkdir -p "$dir/out"
mkdir -p "$dir"
start_etcd "$dir"

echo "== loading $keys keys x $value_bytes B"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$keys" "$value_bytes"

# Before every timed run, of either tool: delete the previous output and let the disk settle. The root file system
# here is ext4 with online discard, and deleting the last run's 1 GB file while the next run writes made write
# costs swing 5x between identical runs.
settle() { rm -rf "$dir/out"/*; sync; sleep 1; }
etcdctl_times=(); lifeboat_times=(); lifeboat_rss=()
for i in $(seq 1 "$runs"); do
  settle
  read -r t _ < <(ETCDCTL_API=3 seconds etcdctl --endpoints "$endpoint" snapshot save "$dir/out/etcdctl.db")
  etcdctl_times+=("$t")
  size=$(stat -c %s "$dir/out/etcdctl.db")
  settle
  read -r t rss < <(seconds ./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/out/store" --compression none)
  lifeboat_times+=("$t"); lifeboat_rss+=("$rss")
  printf 'run %d: etcdctl %6.2f s   lifeboat %6.2f s (peak RSS %d MiB)   snapshot %d MiB\n' \
    "$i" "${etcdctl_times[-1]}" "$t" $((rss / 1024)) $((size / 1048576))
done
me=$(median "${etcdctl_times[@]}"); ml=$(median "${lifeboat_times[@]}"); mr=$(median "${lifeboat_rss[@]}")
awk -v e="$me" -v l="$ml" -v r="$mr" -v s="$size" 'BEGIN {
  printf "median: etcdctl snapshot save %.2f s (%.0f MiB/s), lifeboat etcd snapshot full %.2f s (%.0f MiB/s), lifeboat peak RSS %.0f MiB\n", e, s/1048576/e, l, s/1048576/l, r/1024
  printf "ratio lifeboat/etcdctl = %.2f (target <= 0.90)\n", l / e }'
