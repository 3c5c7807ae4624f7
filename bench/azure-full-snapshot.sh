#!/usr/bin/env bash
# Benchmark for issue 20: a full snapshot of a ~1 GB etcd streamed to Azure Blob Storage as Azurite (Microsoft's
# emulator, on loopback) serves it, with zstd, against `etcdctl snapshot save` to a local file, in the same run.
# Loads etcd with KEYS x VALUE_BYTES (default 250000 x 2048), starts Azurite (--disableTelemetry), then times etcdctl
# and `lifeboat etcd snapshot full --store azblob://lifeboat/run-N --compression zstd` alternately, RUNS times each
# (default 3), and prints every run, the medians, Lifeboat's peak RSS and the median ratio (RSS target <= 150 MB).
# Usage: bench/azure-full-snapshot.sh [RUNS]   env: KEYS, VALUE_BYTES, BENCH_DIR (default /tmp/lifeboat-bench-azure),
#        COMPRESSION (default zstd)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
keys="${KEYS:-250000}"
value_bytes="${VALUE_BYTES:-2048}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-azure}"
compression="${COMPRESSION:-zstd}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/etcd" "$dir/out" "$dir/azurite" && mkdir -p "$dir/out" "$dir/azurite"
start_etcd "$dir"

port=$((30000 + RANDOM % 20000))
node .lifeboat/tools/node_modules/azurite/dist/src/blob/main.js --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/azurite" \
  --disableTelemetry --skipApiVersionCheck --silent >"$dir/azurite.log" 2>&1 &
azurite_pid=$!
trap 'kill $etcd_pid $azurite_pid 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# Azurite's one account and its published development key.
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
"$dir/bin/Lifeboat.Bench" azure-container "$AZURE_STORAGE_CONNECTION_STRING" lifeboat

echo "== loading $keys keys x $value_bytes B"
"$dir/bin/Lifeboat.Bench" load "$endpoint" "$keys" "$value_bytes"

settle() { rm -rf "$dir/out"/*; sync; sleep 1; }
etcdctl_times=(); lifeboat_times=(); lifeboat_rss=()
for i in $(seq 1 "$runs"); do
  settle
  read -r t _ < <(ETCDCTL_API=3 seconds etcdctl --endpoints "$endpoint" snapshot save "$dir/out/etcdctl.db")
  etcdctl_times+=("$t")
  size=$(stat -c %s "$dir/out/etcdctl.db")
  settle
  read -r t rss < <(seconds ./lifeboat etcd snapshot full --endpoints "$endpoint" --store "azblob://lifeboat/run-$i" --compression "$compression")
  lifeboat_times+=("$t"); lifeboat_rss+=("$rss")
  stored=$(./lifeboat etcd snapshots list --store "azblob://lifeboat/run-$i" --output json | grep -o '"size": *[0-9]*' | grep -o '[0-9]*$' | sort -n | tail -1)
  printf 'run %d: etcdctl %6.2f s   lifeboat -> azure blob %6.2f s (peak RSS %d MiB)   snapshot %d MiB, stored %d MiB\n' \
    "$i" "${etcdctl_times[-1]}" "$t" $((rss / 1024)) $((size / 1048576)) $((${stored:-0} / 1048576))
done
me=$(median "${etcdctl_times[@]}"); ml=$(median "${lifeboat_times[@]}"); mr=$(median "${lifeboat_rss[@]}")
awk -v c="$compression" -v e="$me" -v l="$ml" -v r="$mr" -v s="$size" 'BEGIN {
  printf "median: etcdctl snapshot save %.2f s (%.0f MiB/s), lifeboat full snapshot to azure blob with %s %.2f s (%.0f MiB/s), lifeboat peak RSS %.0f MiB\n", e, s/1048576/e, c, l, s/1048576/l, r/1024
  printf "ratio lifeboat/etcdctl = %.2f (RSS target <= 150 MB)\n", l / e }'
