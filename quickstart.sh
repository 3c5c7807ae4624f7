#!/usr/bin/env bash
# Lifeboat's main job on this machine, from nothing: installs etcd, starts a local etcd on loopback and the backup
# sidecar beside it (`lifeboat etcd serve`: a full snapshot at start, deltas every minute here, full snapshots daily),
# writes sample Kubernetes-like data, asks the sidecar for a delta now over its HTTP API, shows its readiness and
# the store, and proves the backup by restoring it into a fresh data directory.
# Everything lives under .lifeboat/quickstart. Both processes stop at the end unless --keep is given.
# Ports: LIFEBOAT_QS_CLIENT_PORT (23790), LIFEBOAT_QS_PEER_PORT (23800), LIFEBOAT_QS_API_PORT (28080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
keep=0
[[ "${1:-}" == "--keep" ]] && keep=1

./scripts/install-deps.sh --no-s3 # the quick start uses a local directory; the tests need s3rver
LIFEBOAT_REBUILD=1 ./lifeboat --help >/dev/null   # build the CLI once (Release) from these sources

base="$PWD/.lifeboat/quickstart"
client_port="${LIFEBOAT_QS_CLIENT_PORT:-23790}"
peer_port="${LIFEBOAT_QS_PEER_PORT:-23800}"
api="127.0.0.1:${LIFEBOAT_QS_API_PORT:-28080}"
endpoint="http://127.0.0.1:$client_port"
store="file://$base/store"
mkdir -p "$base"
export ETCDCTL_API=3

pids=()
stop_all() {
  local status=$?
  if [[ "$keep" -eq 0 ]]; then
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done   # SIGTERM's 143 is not the quick start's status
  fi
  exit "$status"
}
trap stop_all EXIT

if etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1; then
  echo "== using the etcd already running at $endpoint"
else
  echo "== starting etcd at $endpoint (data in $base/etcd, log in $base/etcd.log)"
  etcd --name quickstart --data-dir "$base/etcd" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "quickstart=http://127.0.0.1:$peer_port" >"$base/etcd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "etcd exited; see $base/etcd.log" >&2; exit 1; }
    sleep 0.1
  done
fi

echo "== starting the sidecar: lifeboat etcd serve --endpoints $endpoint --store $store --listen $api --delta-period 1m (log in $base/sidecar.log)"
./lifeboat etcd serve --endpoints "$endpoint" --store "$store" --listen "$api" --delta-period 1m >"$base/sidecar.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fsS "http://$api/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "the sidecar exited; see $base/sidecar.log" >&2; exit 1; }
  sleep 0.2
done

echo "== writing sample data (namespaces, config maps, an event with a lease)"
for ns in default kube-system shop; do
  etcdctl --endpoints "$endpoint" put "/registry/namespaces/$ns" "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
  for i in $(seq 1 5); do
    etcdctl --endpoints "$endpoint" put "/registry/configmaps/$ns/config-$i" "{\"kind\":\"ConfigMap\",\"data\":{\"n\":\"$i\"}}" >/dev/null
  done
done
lease=$(etcdctl --endpoints "$endpoint" lease grant 3600 | awk '{print $2}')
etcdctl --endpoints "$endpoint" put --lease="$lease" "/registry/events/shop/started" '{"kind":"Event"}' >/dev/null
# One change just before asking, so that the delta asked for has something to hold even on a machine slow enough
# for the period's own delta to have taken the writes above.
etcdctl --endpoints "$endpoint" put "/registry/configmaps/shop/last-change" '{"kind":"ConfigMap"}' >/dev/null
revision=$(etcdctl --endpoints "$endpoint" endpoint status -w json | sed -E 's/.*"revision":([0-9]+).*/\1/')

echo "== POST http://$api/snapshots/delta (a delta now, instead of waiting for the period)"
curl -fsS -X POST "http://$api/snapshots/delta" | grep -E '"key"|"lastRevision"|"changes"' || true
echo "== GET http://$api/readyz"
curl -fsS "http://$api/readyz"; echo
echo "== lifeboat etcd snapshots list --store $store"
./lifeboat etcd snapshots list --store "$store"

echo "== proving the backup: lifeboat etcd restore --store $store --data-dir $base/restored (etcd is at revision $revision)"
rm -rf "$base/restored"
./lifeboat etcd restore --store "$store" --data-dir "$base/restored" --to-revision "$revision"

if [[ "$keep" -eq 1 ]]; then
  echo "== etcd ($endpoint) and the sidecar (http://$api) keep running: stop them with kill ${pids[*]}"
fi
