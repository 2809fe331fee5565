#!/usr/bin/env bash
# Install the Debian packages the live checks are tested against, when any is missing.
# redis-server, prometheus (with promtool), prometheus-redis-exporter and
# prometheus-pushgateway: real servers on loopback, never mocks; chromium: the headless
# browser the HTML report is tested in; openssl: the TLS tests' certificates; python3-venv:
# the virtualenv. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail
declare -A need=(
  [redis-server]=redis-server
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-redis-exporter]=prometheus-redis-exporter
  [prometheus-pushgateway]=prometheus-pushgateway
  [chromium]=chromium
  [openssl]=openssl
)
missing=()
for bin in "${!need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3 python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: need root to run: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
