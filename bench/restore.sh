#!/usr/bin/env bash
# Benchmark for issue 3: restore of a ~800 MB full snapshot plus ~400k delta events (2 KB values, one event per
# revision), timed end to end with `lifeboat etcd restore`, with events/s of the replay and Lifeboat's peak RSS.
# Reference (issue 3, measured on this kind of machine): etcd-backup-restore replays ~1.8k events/s (~3.2k with fsync
# off), 133-227 s in all, at 1.7 GB RSS. Target: half its best time (<= 66 s) and under 300 MB RSS.
# Usage: bench/restore.sh      env: FULL_KEYS (200000), DELTA_EVENTS (400000), VALUE_BYTES (2048), BENCH_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
full_keys="${FULL_KEYS:-200000}"  # about 800 MB of bbolt database
events="${DELTA_EVENTS:-400000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-restore}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/store" "$dir/restored" && mkdir -p "$dir"
mkdir -p "$dir"
start_etcd "$dir"

echo "== full snapshot data: $full_keys keys x $value_bytes B"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$full_keys" "$value_bytes"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/store"
echo "== delta data: $events single puts x $value_bytes B (one revision each)"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$events" "$value_bytes" 1 16
/usr/bin/time -f "capture: %e s, peak RSS %M KiB" ./lifeboat etcd snapshot delta --endpoints "$endpoint" --store "$dir/store" --delta-max-bytes $((64 << 20)) | tail -2
./lifeboat etcd snapshots list --store "$dir/store" | tail -1
source_revision=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')

echo "== restore (source at revision $source_revision)"
sync; sleep 1
start=$(date +%s.%N)
./lifeboat etcd restore --store "$dir/store" --data-dir "$dir/restored" &
pid=$!
peak=0
# Lifeboat's own peak RSS (VmHWM). GNU time's %M would report the temporary etcd child, which maps the whole database.
while kill -0 "$pid" 2>/dev/null; do
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [[ -n "$hwm" && "$hwm" -gt "$peak" ]] && peak=$hwm
  sleep 0.5
done
wait "$pid"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v p="$peak" 'BEGIN { printf "restore: %.1f s in all, Lifeboat peak RSS %.0f MiB\n", e - s, p / 1024 }'
