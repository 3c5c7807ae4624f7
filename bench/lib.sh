# Shared by the bench scripts (sourced, not run).

# start_etcd DIR: starts an etcd with its data in DIR/etcd on random loopback ports, sets $endpoint and $etcd_pid,
# stops it when the script exits, and waits until it serves.
start_etcd() {
  local dir=$1 port
  port=$((30000 + RANDOM % 20000))
  endpoint="http://127.0.0.1:$port"
  etcd --name bench --data-dir "$dir/etcd" --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "bench=http://127.0.0.1:$((port + 1))" >"$dir/etcd.log" 2>&1 &
  etcd_pid=$!
  trap 'kill $etcd_pid 2>/dev/null || true; wait $etcd_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "etcd did not start; see $dir/etcd.log" >&2
  return 1
}

# build_tools DIR: builds the CLI (Release, ReadyToRun) and the bench loader into DIR/bin.
build_tools() {
  ./scripts/install-deps.sh
  LIFEBOAT_REBUILD=1 ./lifeboat --help >/dev/null
  dotnet build bench/Lifeboat.Bench -c Release -o "$1/bin" --nologo -v quiet >/dev/null
}

# seconds CMD...: runs CMD (with $dir set by the caller), prints its wall seconds and peak RSS (KiB); its output goes to
# $dir/cmd.out and $dir/cmd.err, and the latter is shown if it fails.
seconds() {
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >"$dir/cmd.out" 2>"$dir/cmd.err" || { cat "$dir/cmd.err" >&2; return 1; }
  cat "$dir/time.txt"
}

# median N...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
