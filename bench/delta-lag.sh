#!/usr/bin/env bash
# Benchmark for issue 4: the sidecar capturing deltas with gzip while etcd takes the highest write rate it sustains
# here (single puts of VALUE_BYTES, 16 in flight, so every put is its own revision). Samples every second etcd's
# revision, how far the chain reaches (GET /snapshots/latest) and the sidecar's RSS; prints the write rate, the largest
# delta lag, how long the chain took to catch up after the writes stopped, the sidecar's peak and final RSS, and, after
# storing what is buffered and verifying the chain end to end, how many revisions are missing from the store (must be 0).
# Reference (issue 4): etcd-backup-restore falls behind at ~4.9k events/s of 2 KB values with gzip, its memory
# growing to 0.7 GB.   Usage: bench/delta-lag.sh      env: PUTS (200000), VALUE_BYTES (2048), BENCH_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
puts="${PUTS:-200000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-lag}"
source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/store" && mkdir -p "$dir"
start_etcd "$dir"
api="127.0.0.1:$((20000 + RANDOM % 9000))"
./lifeboat etcd serve --endpoints "$endpoint" --store "$dir/store" --compression gzip --delta-period 30s --listen "$api" ${SIDECAR_ARGS:-} >"$dir/sidecar.log" 2>&1 &
sidecar=$!
trap 'kill $sidecar $etcd_pid 2>/dev/null || true; wait $sidecar $etcd_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -fsS "http://$api/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

revision() { ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/'; }
reach() { curl -fsS "http://$api/snapshots/latest" | sed -nE 's/.*"chainRevision": ([0-9]+).*/\1/p'; }
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$sidecar/status"; }

echo "== writing $puts single puts x $value_bytes B, 16 in flight, while the sidecar captures with gzip"
start_rev=$(revision)
start=$(date +%s.%N)
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$puts" "$value_bytes" 1 16 > "$dir/load.txt" &
loader=$!
max_lag=0; peak=0
while kill -0 "$loader" 2>/dev/null; do
  r=$(revision); c=$(reach); m=$(rss)
  lag=$((r - c)); (( lag > max_lag )) && max_lag=$lag; (( m > peak )) && peak=$m
  printf 't=%5.1fs  etcd revision %8d  chain %8d  lag %6d  sidecar RSS %4d MiB\n' "$(awk -v n="$(date +%s.%N)" -v s="$start" 'BEGIN { print n - s }')" "$r" "$c" "$lag" "$m"
  sleep 1
done
wait "$loader"
end=$(date +%s.%N)
final=$(revision)
while (( $(reach) < final )); do sleep 0.2; m=$(rss); (( m > peak )) && peak=$m; done
caught=$(date +%s.%N)
awk -v p="$puts" -v s="$start" -v e="$end" -v c="$caught" -v l="$max_lag" -v pk="$peak" -v f="$(rss)" 'BEGIN {
  printf "writes: %.0f events/s for %.1f s; largest lag %d revisions; caught up %.1f s after the writes stopped; sidecar RSS peak %d MiB, final %d MiB\n", p / (e - s), e - s, l, c - e, pk, f }'
# Store what is still buffered, then read the whole chain back as a restore would: it must reach etcd's last revision
# with no revision missing (verify fails on a gap).
curl -fsS -X POST "http://$api/snapshots/delta" >/dev/null
./lifeboat etcd snapshots verify --store "$dir/store" >"$dir/verify.txt" || { cat "$dir/verify.txt"; exit 1; }
stored=$(ls "$dir/store/etcd" | sed -nE 's/^delta-[0-9]+-0*([0-9]+)-.*/\1/p' | sort -n | tail -1)
ls "$dir/store/etcd" | wc -l | xargs -I{} echo "store holds {} snapshots, verified end to end; last stored revision $stored of $final: $((final - stored)) revisions lost"
