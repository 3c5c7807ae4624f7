#!/usr/bin/env bash
# Benchmark for issue 17: `lifeboat etcd init` in its default mode reads the whole database of a healthy member —
# every reachable page, the freelist, every value of etcd's key bucket decoded — before it keeps it. Target: under
# 3 s for a ~1 GB database on 2 cores, and the directory byte-identical afterwards. The reference in the same run is
# `etcdctl snapshot status` on the same database file, which also reads every key (to hash them).
# Usage: bench/init-inspect.sh     env: FULL_KEYS (250000), VALUE_BYTES (2048), RUNS (3), BENCH_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
full_keys="${FULL_KEYS:-250000}"  # about 1 GB of bbolt database
value_bytes="${VALUE_BYTES:-2048}"
runs="${RUNS:-3}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-init}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/store" && mkdir -p "$dir"
start_etcd "$dir"
client_port=${endpoint##*:}
peer="http://127.0.0.1:$((client_port + 1))"

echo "== data: $full_keys keys x $value_bytes B, then etcd stopped cleanly"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$full_keys" "$value_bytes"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/store" | tail -1
kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
db="$dir/etcd/member/snap/db"
ls -l "$db" | awk '{ printf "database: %.0f MiB\n", $5 / 1048576 }'
before=$(find "$dir/etcd" -type f -exec sha256sum {} + | sort | sha256sum)

lifeboat_times=() etcdctl_times=()
for run in $(seq "$runs"); do
  cat "$db" >/dev/null  # both read from the page cache
  read -r t rss <<<"$(seconds ./lifeboat etcd init --store "$dir/store" --data-dir "$dir/etcd" --name bench \
        --initial-cluster "bench=$peer" --initial-advertise-peer-urls "$peer")"
  grep -q "decision: keep" "$dir/cmd.out" "$dir/cmd.err" || { echo "init did not keep the healthy directory:" >&2; cat "$dir/cmd.out" "$dir/cmd.err" >&2; exit 1; }
  lifeboat_times+=("$t")
  read -r e erss <<<"$(seconds env ETCDCTL_API=3 etcdctl snapshot status "$db")"
  etcdctl_times+=("$e")
  echo "run $run: lifeboat etcd init $t s (peak RSS $((rss / 1024)) MiB), etcdctl snapshot status $e s (peak RSS $((erss / 1024)) MiB)"
done

after=$(find "$dir/etcd" -type f -exec sha256sum {} + | sort | sha256sum)
[[ "$before" == "$after" ]] || { echo "the data directory changed" >&2; exit 1; }
l=$(median "${lifeboat_times[@]}") e=$(median "${etcdctl_times[@]}")
awk -v l="$l" -v e="$e" 'BEGIN { printf "median: lifeboat etcd init %.2f s, etcdctl snapshot status %.2f s, ratio %.2f; data directory unchanged\n", l, e, l / e }'
