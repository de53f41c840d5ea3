#!/usr/bin/env bash
# Installs what opsplan needs on Debian 12, as root, and is safe to run again.
#   scripts/setup.sh run   -> what `opsplan serve` needs
#   scripts/setup.sh test  -> that, plus the real programs the tests start
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

debs=(python3 python3-venv python3-dev gcc git ca-certificates)
# Database backups pipe mariabackup through the zstd program (the in-process compressor is the fallback).
debs+=(zstd)
# PDF reports and postmortems (WeasyPrint, the `pdf` extra) lay text out with Pango, and Hangul needs a
# Korean font that fontconfig lists (`fc-list :lang=ko`): without one opsplan refuses to print boxes.
debs+=(libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-noto-cjk)
if [ "$purpose" = test ]; then
  # The tests start their own throwaway MariaDB servers and run mariabackup against them.
  debs+=(mariadb-server mariadb-client mariadb-backup openssl procps)
  # Prometheus, promtool, Alertmanager and amtool check and run the exported configuration.
  debs+=(prometheus prometheus-alertmanager)
  # systemd-analyze, systemd-sysusers and systemd-tmpfiles check the exported unit; installing the
  # package in a container starts nothing (systemd is not PID 1 there).
  debs+=(systemd)
  # The console's browser tests drive Debian's chromium through Playwright (never `playwright
  # install`: no download at test time); the Korean pages use the CJK font installed above.
  debs+=(chromium)
fi
if [ "$purpose" = bench ]; then
  debs+=(prometheus-node-exporter mariadb-server mariadb-backup zstd)
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A package's own service must not start on the machine for us: tests start their own servers.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv"
  "$python" -m venv .venv
fi
# Reinstall only when the dependencies or their pins changed, so a second run is quick.
# requirements.lock pins every package to the version CI tested (refresh: scripts/lock.sh).
stamp=.venv/.opsplan-deps
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies (pinned by requirements.lock)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c requirements.lock -e '.[dev]'
  echo "$want" > "$stamp"
fi
echo "setup: ready ($purpose)"
