#!/usr/bin/env bash
# Benchmark for issue 5: recovery time (RTO) of an etcd member whose database is damaged: from the moment the damage
# is found (`lifeboat etcd init` starts) to etcd serving the restored data, for a ~1 GB database plus deltas.
# Goal: <= 60 s on a 2-core machine. Prints the time of init (inspect + restore) and of etcd's start, and the total.
# Usage: bench/rto.sh     env: FULL_KEYS (250000), DELTA_EVENTS (20000), VALUE_BYTES (2048), BENCH_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
full_keys="${FULL_KEYS:-250000}"  # about 1 GB of bbolt database
events="${DELTA_EVENTS:-20000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-rto}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/etcd.damaged-"* "$dir/store" && mkdir -p "$dir"
start_etcd "$dir"
client_port=${endpoint##*:}
peer="http://127.0.0.1:$((client_port + 1))"

echo "== data: $full_keys keys x $value_bytes B, full snapshot, then $events puts as deltas"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$full_keys" "$value_bytes"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/store" | tail -1
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$events" "$value_bytes" 1 16
./lifeboat etcd snapshot delta --endpoints "$endpoint" --store "$dir/store" | tail -1
source_revision=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')
ls -l "$dir/etcd/member/snap/db" | awk '{ printf "database: %.0f MiB\n", $5 / 1048576 }'

echo "== damage: etcd stopped, its database truncated to half"
kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
truncate -s "$(( $(stat -c %s "$dir/etcd/member/snap/db") / 2 ))" "$dir/etcd/member/snap/db"
sync; sleep 1

start=$(date +%s.%N)
./lifeboat etcd init --store "$dir/store" --data-dir "$dir/etcd" --name bench \
  --initial-cluster "bench=$peer" --initial-advertise-peer-urls "$peer"
restored=$(date +%s.%N)
etcd --name bench --data-dir "$dir/etcd" --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
  --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "bench=$peer" >"$dir/etcd-restored.log" 2>&1 &
etcd_pid=$!
until ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1; do sleep 0.05; done
end=$(date +%s.%N)
revision=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')
[[ "$revision" == "$source_revision" ]] || { echo "restored revision $revision != source $source_revision" >&2; exit 1; }
awk -v s="$start" -v r="$restored" -v e="$end" -v rev="$revision" 'BEGIN {
  printf "RTO: %.1f s (init: inspect + restore %.1f s, etcd start to healthy %.1f s), serving revision %s\n", e - s, r - s, e - r, rev }'
