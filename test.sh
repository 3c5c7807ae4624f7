#!/usr/bin/env bash
# Runs Lifeboat's whole test suite on a fresh Debian machine with only the .NET SDK: installs what the tests need
# (Debian's etcd-server and etcd-client), checks formatting, builds, and runs every test against real servers.
# .ci/run calls exactly this. Ends with one line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./scripts/install-deps.sh

echo "== format check"
dotnet format Lifeboat.slnx --verify-no-changes

echo "== build"
dotnet build Lifeboat.slnx -c Release --nologo -v quiet

echo "== test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Lifeboat.slnx -c Release --no-build --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# dotnet test prints one summary per test assembly; add them up into one closing line.
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed: / {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
  }
  END { print p + 0, f + 0, s + 0 }' "$log")
assemblies=$(grep -cE '(Passed|Failed)! +- +Failed: ' "$log" || true)
expected=$(find tests -name '*.Tests.csproj' | wc -l)
if [[ "$status" -eq 0 && "$assemblies" -ne "$expected" ]]; then
  echo "only $assemblies of $expected test assemblies reported results" >&2
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
