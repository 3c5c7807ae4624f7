#!/usr/bin/env bash
# Installs what Lifeboat's quick start and tests need on Debian: etcd 3.4 (etcd-server, etcd-client) and curl.
# Idempotent and quiet when everything is already there.
set -euo pipefail
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [[ ${#need[@]} -gt 0 ]]; then
  sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to apt-get install ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "== installing ${need[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's package may have started its own etcd as a service on 2379; Lifeboat's tests use their own ports and never touch it.
command -v dotnet >/dev/null 2>&1 || { echo "install-deps: the .NET SDK (dotnet) is required" >&2; exit 1; }
