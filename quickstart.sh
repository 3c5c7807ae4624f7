#!/usr/bin/env bash
# Lifeboat's main job on this machine, from nothing: installs etcd, starts a local etcd on loopback, writes sample
# Kubernetes-like data, takes a verified full snapshot into the local-directory store and lists the store.
# Everything lives under .lifeboat/quickstart (etcd's data, its log, the store). etcd is stopped at the end unless
# --keep is given. Ports: LIFEBOAT_QS_CLIENT_PORT (default 23790) and LIFEBOAT_QS_PEER_PORT (23800), so an etcd
# already on 2379 is never touched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
keep=0
[[ "${1:-}" == "--keep" ]] && keep=1

./scripts/install-deps.sh
LIFEBOAT_REBUILD=1 ./lifeboat --help >/dev/null   # build the CLI once (Release) from these sources

base="$PWD/.lifeboat/quickstart"
client_port="${LIFEBOAT_QS_CLIENT_PORT:-23790}"
peer_port="${LIFEBOAT_QS_PEER_PORT:-23800}"
endpoint="http://127.0.0.1:$client_port"
store="file://$base/store"
mkdir -p "$base"

if ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1; then
  echo "== using the etcd already running at $endpoint"
  etcd_pid=""
else
  echo "== starting etcd at $endpoint (data in $base/etcd, log in $base/etcd.log)"
  etcd --name quickstart --data-dir "$base/etcd" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "quickstart=http://127.0.0.1:$peer_port" >"$base/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1 && break
    kill -0 "$etcd_pid" 2>/dev/null || { echo "etcd exited; see $base/etcd.log" >&2; exit 1; }
    sleep 0.1
  done
fi
stop_etcd() {
  local status=$?
  if [[ -n "$etcd_pid" && "$keep" -eq 0 ]]; then
    kill "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true   # etcd's own exit status (143 after SIGTERM) is not the quick start's
  fi
  exit "$status"
}
trap stop_etcd EXIT

echo "== writing sample data (namespaces, config maps, an event with a lease)"
export ETCDCTL_API=3
for ns in default kube-system shop; do
  etcdctl --endpoints "$endpoint" put "/registry/namespaces/$ns" "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
  for i in $(seq 1 5); do
    etcdctl --endpoints "$endpoint" put "/registry/configmaps/$ns/config-$i" "{\"kind\":\"ConfigMap\",\"data\":{\"n\":\"$i\"}}" >/dev/null
  done
done
lease=$(etcdctl --endpoints "$endpoint" lease grant 3600 | awk '{print $2}')
etcdctl --endpoints "$endpoint" put --lease="$lease" "/registry/events/shop/started" '{"kind":"Event"}' >/dev/null

echo "== lifeboat etcd snapshot full --endpoints $endpoint --store $store"
./lifeboat etcd snapshot full --endpoints "$endpoint" --store "$store"

echo "== lifeboat etcd snapshots list --store $store"
./lifeboat etcd snapshots list --store "$store"

if [[ "$keep" -eq 1 && -n "$etcd_pid" ]]; then
  echo "== etcd keeps running at $endpoint (pid $etcd_pid); stop it with: kill $etcd_pid"
fi
