#!/usr/bin/env bash
# Benchmark for issue 6: a full snapshot of a ~1 GB etcd streamed to an S3 server (s3rver on loopback) with gzip,
# against `etcdctl snapshot save` to a local file, in the same run.
# Loads etcd with KEYS x VALUE_BYTES (default 250000 x 2048), starts s3rver, then times etcdctl and
# `lifeboat etcd snapshot full --store s3://... --compression gzip` alternately, RUNS times each (default 3), and prints
# every run, the medians, Lifeboat's peak RSS and the median ratio (targets: ratio <= 1.0, RSS <= 150 MB).
# Usage: bench/s3-full-snapshot.sh [RUNS]   env: KEYS, VALUE_BYTES, BENCH_DIR (default /tmp/lifeboat-bench-s3),
#        ENCRYPT=1 (also encrypt, AES-256-GCM), COMPRESSION (default gzip; zstd for the faster codec),
#        LIFEBOAT_ARGS (extra flags, e.g. "--s3-part-size-mib 16")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
keys="${KEYS:-250000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-s3}"
compression="${COMPRESSION:-gzip}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/out" "$dir/s3" && mkdir -p "$dir/out" "$dir/s3" "$dir/creds"
start_etcd "$dir"

s3port=$((30000 + RANDOM % 20000))
node --openssl-legacy-provider .lifeboat/tools/node_modules/s3rver/bin/s3rver.js -d "$dir/s3" -a 127.0.0.1 -p "$s3port" \
  --configure-bucket lifeboat --silent >"$dir/s3rver.log" 2>&1 &
s3_pid=$!
trap 'kill $etcd_pid $s3_pid 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && break; sleep 0.1; done
printf 'S3RVER' >"$dir/creds/accessKeyID"; printf 'S3RVER' >"$dir/creds/secretAccessKey"
extra=()
if [[ "${ENCRYPT:-0}" == 1 ]]; then head -c 32 /dev/urandom >"$dir/creds/key"; extra+=(--encryption-key-file "$dir/creds/key"); fi
# shellcheck disable=SC2206
extra+=(${LIFEBOAT_ARGS:-})

echo "== loading $keys keys x $value_bytes B"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$keys" "$value_bytes"

settle() { rm -rf "$dir/out"/* "$dir/s3/lifeboat"/run-*; sync; sleep 1; }
etcdctl_times=(); lifeboat_times=(); lifeboat_rss=()
for i in $(seq 1 "$runs"); do
  settle
  read -r t _ < <(ETCDCTL_API=3 seconds etcdctl --endpoints "$endpoint" snapshot save "$dir/out/etcdctl.db")
  etcdctl_times+=("$t")
  size=$(stat -c %s "$dir/out/etcdctl.db")
  settle
  read -r t rss < <(seconds ./lifeboat etcd snapshot full --endpoints "$endpoint" --store "s3://lifeboat/run-$i" \
    --s3-endpoint "http://127.0.0.1:$s3port" --s3-force-path-style --s3-credentials-dir "$dir/creds" --compression "$compression" "${extra[@]}")
  lifeboat_times+=("$t"); lifeboat_rss+=("$rss")
  stored=$(find "$dir/s3/lifeboat/run-$i" -name '*_S3rver_object' -printf '%s\n' | sort -n | tail -1)
  printf 'run %d: etcdctl %6.2f s   lifeboat -> s3 %6.2f s (peak RSS %d MiB)   snapshot %d MiB, stored %d MiB\n' \
    "$i" "${etcdctl_times[-1]}" "$t" $((rss / 1024)) $((size / 1048576)) $((stored / 1048576))
done
me=$(median "${etcdctl_times[@]}"); ml=$(median "${lifeboat_times[@]}"); mr=$(median "${lifeboat_rss[@]}")
awk -v c="$compression" -v e="$me" -v l="$ml" -v r="$mr" -v s="$size" 'BEGIN {
  printf "median: etcdctl snapshot save %.2f s (%.0f MiB/s), lifeboat full snapshot to s3 with %s %.2f s (%.0f MiB/s), lifeboat peak RSS %.0f MiB\n", e, s/1048576/e, c, l, s/1048576/l, r/1024
  printf "ratio lifeboat/etcdctl = %.2f (target <= 1.0; RSS target <= 150 MB)\n", l / e }'
