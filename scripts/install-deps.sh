#!/usr/bin/env bash
# Installs what Lifeboat's quick start and tests need on Debian: etcd 3.4 (etcd-server, etcd-client), curl, zstd, and for the
# tests Node.js with s3rver 3.7.1 and Azurite 3.35.0 (npm, into .lifeboat/tools; Azurite 3.37 needs Node 22, Debian has 20)
# and promtool (Debian's prometheus); --no-s3 skips those.
# Idempotent and quiet when everything is already there.
set -euo pipefail
with_s3=1
[[ "${1:-}" == "--no-s3" ]] && with_s3=0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v curl >/dev/null 2>&1 || need+=(curl)
# --compression zstd binds the system's libzstd; the zstd tool lets the tests check Lifeboat's frames against it.
ldconfig -p 2>/dev/null | grep -q 'libzstd\.so\.1 ' || need+=(libzstd1)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
if [[ $with_s3 -eq 1 ]]; then # the tests' extras (the quick start passes --no-s3)
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  command -v promtool >/dev/null 2>&1 || need+=(prometheus) # promtool checks /metrics and tests deploy/prometheus's alert rules
fi
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
s3rver_version=3.7.1
tools="$root/.lifeboat/tools"
if [[ $with_s3 -eq 1 ]] && ! grep -qs "\"version\": \"$s3rver_version\"" "$tools/node_modules/s3rver/package.json"; then
  echo "== installing s3rver $s3rver_version (npm, into .lifeboat/tools)"
  mkdir -p "$tools"
  npm install --silent --save-exact --no-audit --no-fund --prefix "$tools" "s3rver@$s3rver_version" >/dev/null
fi
azurite_version=3.35.0
if [[ $with_s3 -eq 1 ]] && ! grep -qs "\"version\": \"$azurite_version\"" "$tools/node_modules/azurite/package.json"; then
  echo "== installing azurite $azurite_version (npm, into .lifeboat/tools)"
  mkdir -p "$tools"
  npm install --silent --save-exact --no-audit --no-fund --prefix "$tools" "azurite@$azurite_version" >/dev/null
fi
# Debian's package may have started its own etcd as a service on 2379; Lifeboat's tests use their own ports and never touch it.
command -v dotnet >/dev/null 2>&1 || { echo "install-deps: the .NET SDK (dotnet) is required" >&2; exit 1; }
