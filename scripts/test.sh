#!/usr/bin/env bash
# Runs every test of the solution, after making sure that what the tests need is on this machine:
# a RabbitMQ broker for the end-to-end suite and Debian's docker-compose (only to validate the
# compose file; no Docker engine is needed). Usage: scripts/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-rabbitmq.sh

# docker-compose validates the compose file; curl and jq run the README walk-through.
missing=()
for tool in docker-compose curl jq; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian's ${missing[*]}..."
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
fi

dotnet tool restore >/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Metering.sln --configuration Release "$@" 2>&1 | tee "$log" || status=$?

# One closing line for the whole solution, summed over the test projects' own summaries.
awk '/(Passed|Failed)! +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "Total: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
