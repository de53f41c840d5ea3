#!/usr/bin/env bash
# Refreshes requirements.lock: the exact versions of every runtime and dev dependency, which
# scripts/setup.sh installs as pip constraints so a fresh machine gets what CI tested.
#   bash scripts/lock.sh            resolve pyproject.toml's ranges anew (newest allowed versions)
#   bash scripts/lock.sh --from V   write what the virtual environment V has installed
# Then run scripts/test.sh (its setup installs the new pins) and commit both files together.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ "${1:-}" = --from ]; then
  venv=$2
else
  venv=$(mktemp -d /tmp/opsplan-lock.XXXXXX)
  trap 'rm -rf "$venv"' EXIT
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e '.[dev]'
fi
{
  echo "# Exact versions of opsplan's runtime and dev dependencies, as tested (Python 3.11, Debian 12)."
  echo "# scripts/setup.sh installs with '-c requirements.lock'; refresh with 'bash scripts/lock.sh'."
  "$venv/bin/python" -m pip freeze --exclude-editable --all | grep -v '^#' |
    grep -viE '^(opsplan|pip|setuptools|wheel)([=@ ]|$)' | sort -f
} > requirements.lock
echo "lock: wrote requirements.lock ($(grep -cv '^#' requirements.lock) packages)"
