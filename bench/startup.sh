#!/usr/bin/env bash
# Benchmark for issue 19 (item 6): the wall time of one-shot CLI commands, this working tree against a base revision
# (BASE, default 40c7fa6: before the move onto KubernetesClient, grpc-dotnet, prometheus-net and Cronos), both published
# the same way (Release, ReadyToRun). Runs each command RUNS times (default 10), alternating base and new, under
# /usr/bin/time, and prints the medians and the ratio new/base (target <= 1.20):
#   lifeboat volumes list          against the tests' Kubernetes API server on loopback, holding 40 VolumeSnapshots
#   lifeboat etcd snapshots list   on a local store holding a full snapshot and 12 deltas
# Usage: bench/startup.sh [RUNS]      env: BASE (git revision), BENCH_DIR (default /tmp/lifeboat-bench-startup)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-10}"
base="${BASE:-40c7fa6}"
dir="${BENCH_DIR:-/tmp/lifeboat-bench-startup}"

source bench/lib.sh
build_tools "$dir"
rm -rf "$dir/base" "$dir/base-src" "$dir/store" "$dir/etcd" && mkdir -p "$dir/base-src"
echo "== publishing $base"
git archive "$base" | tar -x -C "$dir/base-src"
dotnet publish "$dir/base-src/src/Lifeboat.Cli/Lifeboat.Cli.csproj" -c Release -r linux-x64 -p:PublishReadyToRun=true \
  --self-contained false -o "$dir/base" --nologo -v quiet >"$dir/base-build.log" 2>&1 || { cat "$dir/base-build.log"; exit 1; }

echo "== a local store with a full snapshot and 12 deltas"
start_etcd "$dir"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$dir/store" >/dev/null
for i in $(seq 1 12); do
  ETCDCTL_API=3 etcdctl --endpoints "$endpoint" put "/registry/bench/$i" "value-$i" >/dev/null
  ./lifeboat etcd snapshot delta --endpoints "$endpoint" --store "$dir/store" >/dev/null
done

echo "== the tests' API server with 40 VolumeSnapshots"
sleep 100000 | "$dir/bin/Lifeboat.Bench" api-server "$dir/kubeconfig" 40 >"$dir/api.log" 2>&1 &
api_pid=$!
trap 'kill $etcd_pid $api_pid 2>/dev/null || true; pkill -P $$ sleep 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q serving "$dir/api.log" 2>/dev/null && break; sleep 0.1; done

new_bin="$PWD/.lifeboat/cli/lifeboat"
base_bin="$dir/base/lifeboat"
time_one() { # time_one BIN ARGS...: wall seconds of one run, which must succeed
  /usr/bin/time -f "%e" -o "$dir/time.txt" "$@" >"$dir/cmd.out" 2>"$dir/cmd.err" || { cat "$dir/cmd.err" >&2; return 1; }
  cat "$dir/time.txt"
}
for command in "volumes list --kubeconfig $dir/kubeconfig" "etcd snapshots list --store $dir/store"; do
  read -ra words <<<"$command"
  "$new_bin" "${words[@]}" >/dev/null && "$base_bin" "${words[@]}" >/dev/null # warm the page cache for both
  base_times=(); new_times=()
  for _ in $(seq 1 "$runs"); do
    base_times+=("$(time_one "$base_bin" "${words[@]}")")
    new_times+=("$(time_one "$new_bin" "${words[@]}")")
  done
  mb=$(median "${base_times[@]}"); mn=$(median "${new_times[@]}")
  awk -v c="lifeboat ${words[0]} ${words[1]}" -v b="$mb" -v n="$mn" -v base="$base" 'BEGIN {
    printf "%-28s base (%s) %.3f s   new %.3f s   ratio %.2f (target <= 1.20)\n", c, base, b, n, n / b }'
done
