#!/usr/bin/env bash
# Benchmark for issues 3 and 18: restore of a ~800 MB full snapshot plus ~400k delta revisions (2 KB values, one
# event per revision) with `lifeboat etcd restore`, which writes the database at the target itself, against
# `etcdctl snapshot restore` of a snapshot of the *resulting* database: the time etcd's own tool needs for the same
# bytes, in the same run. Lifeboat writes the member directory (WAL, raft snapshot) itself, as etcdctl would. Also a full-only restore against `etcdctl snapshot restore` of that full snapshot.
# Prints the ratios and Lifeboat's peak RSS. Targets (issue 18): ratio <= 1.5, peak RSS <= 300 MB, full-only <= 1.0x.
# For reference: replay through a temporary etcd took 101.5 s here (4.2k revisions/s); etcd-backup-restore 133-227 s.
# Usage: bench/restore.sh      env: FULL_KEYS (200000), DELTA_EVENTS (400000), VALUE_BYTES (2048), BENCH_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
full_keys="${FULL_KEYS:-200000}"  # about 800 MB of bbolt database
events="${DELTA_EVENTS:-400000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-restore}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/store" "$dir/restored" "$dir/restored-full" "$dir/etcdctl-"* && mkdir -p "$dir"
start_etcd "$dir"

echo "== full snapshot data: $full_keys keys x $value_bytes B"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$full_keys" "$value_bytes"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/store" | tail -1
full_revision=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')
echo "== delta data: $events single puts x $value_bytes B (one revision each)"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$events" "$value_bytes" 1 16
/usr/bin/time -f "capture: %e s, peak RSS %M KiB" ./lifeboat etcd snapshot delta --endpoints "$endpoint" --store "$dir/store" --delta-max-bytes $((64 << 20)) | tail -2
./lifeboat etcd snapshots list --store "$dir/store" | tail -1
source_revision=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')
kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
peer=http://127.0.0.1:2380

# timed NAME CMD...: runs CMD, prints "NAME: seconds s, peak RSS MiB" and leaves the seconds in $took.
timed() {
  local name=$1; shift
  sync
  read -r took rss <<<"$(seconds "$@")"
  printf '%s: %.2f s, peak RSS %.0f MiB\n' "$name" "$took" "$((rss / 1024))"
}

# lifeboat_timed NAME CMD...: like timed, but the peak RSS is read from Lifeboat's own /proc status (VmHWM), and the
# line says how many revisions were written and how fast. Lifeboat runs no other program (no etcd, no etcdctl).
lifeboat_timed() {
  local name=$1 start end pid peak=0 hwm; shift
  sync
  start=$(date +%s.%N)
  "$@" >"$dir/cmd.out" 2>"$dir/cmd.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [[ -n "$hwm" && "$hwm" -gt "$peak" ]] && peak=$hwm
    sleep 0.2
  done
  wait "$pid" || { cat "$dir/cmd.err" >&2; return 1; }
  end=$(date +%s.%N)
  took=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
  printf '%s: %.2f s, Lifeboat peak RSS %.0f MiB (%s)\n' "$name" "$took" "$((peak / 1024))" "$(grep -o 'replayed in [0-9.]* s ([0-9]* events/s)' "$dir/cmd.out" || echo "no revisions")"
}

echo "== full + deltas (source at revision $source_revision)"
lifeboat_timed "lifeboat etcd restore" ./lifeboat etcd restore --store "$dir/store" --data-dir "$dir/restored"
lifeboat_all=$took
db="$dir/restored/member/snap/db"
restored_revision=$(ETCDCTL_API=3 etcdctl snapshot status "$db" -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')
[[ "$restored_revision" == "$source_revision" ]] || { echo "restored revision $restored_revision != source $source_revision" >&2; exit 1; }
# The same bytes as a snapshot etcdctl accepts: the database and its SHA-256.
{ cat "$db"; printf "$(sha256sum "$db" | cut -c1-64 | sed 's/../\\x&/g')"; } >"$dir/etcdctl-result.db"
timed "etcdctl snapshot restore (the resulting database)" env ETCDCTL_API=3 etcdctl snapshot restore "$dir/etcdctl-result.db" \
  --data-dir "$dir/etcdctl-restored" --name default --initial-cluster "default=$peer" --initial-advertise-peer-urls "$peer"
etcdctl_all=$took

echo "== full snapshot only (revision $full_revision)"
full=$(ls "$dir/store/etcd/"full-*.db | head -1)
lifeboat_timed "lifeboat etcd restore --to-revision $full_revision" ./lifeboat etcd restore --store "$dir/store" --data-dir "$dir/restored-full" --to-revision "$full_revision"
lifeboat_full=$took
timed "etcdctl snapshot restore (the full snapshot)" env ETCDCTL_API=3 etcdctl snapshot restore "$full" \
  --data-dir "$dir/etcdctl-restored-full" --name default --initial-cluster "default=$peer" --initial-advertise-peer-urls "$peer"
etcdctl_full=$took

awk -v la="$lifeboat_all" -v ea="$etcdctl_all" -v lf="$lifeboat_full" -v ef="$etcdctl_full" -v n="$((source_revision - full_revision))" 'BEGIN {
  printf "ratio full + %d revisions: %.2f (%.2f s vs %.2f s); full only: %.2f (%.2f s vs %.2f s)\n", n, la / ea, la, ea, lf / ef, lf, ef }'
