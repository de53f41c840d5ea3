#!/usr/bin/env bash
# Sets up and runs opsplan's main job: `opsplan serve` on the default plan (the seed's values).
# Idempotent: an existing plan is kept (never overwritten), and the run says so with its language.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
plan=${OPSPLAN_PLAN:-opsplan.yaml}
.venv/bin/opsplan init "$plan" --lang "${OPSPLAN_LANG:-ko}" --keep
.venv/bin/opsplan --plan "$plan" plan check
exec .venv/bin/opsplan --plan "$plan" serve "$@"
