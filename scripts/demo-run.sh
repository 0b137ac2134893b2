#!/usr/bin/env bash
# The main job on a throw-away cluster (expects a built tree; scripts/demo.sh builds it).
# Usage: scripts/demo-run.sh [step ...]   e.g. `scripts/demo-run.sh 50-hr` runs one step on
# its own (every step sets up the schema it needs); without arguments every scripts/demo.d step.
# Errors printed on purpose are announced by a line "-- expected: ..." (scripts/demo-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. scripts/demo-lib.sh
steps=()
if [ $# -eq 0 ]; then
  for step in scripts/demo.d/*.sh; do [ -f "$step" ] && steps+=("$step"); done
else
  for name in "$@"; do
    step=scripts/demo.d/${name%.sh}.sh
    [ -f "$step" ] || { echo "demo-run: no step $name (steps: $(cd scripts/demo.d && ls *.sh | sed 's/\.sh$//' | tr '\n' ' '))" >&2; exit 2; }
    steps+=("$step")
  done
fi
trap pgc_stop EXIT INT TERM
pgc_start rg-demo
echo "== throw-away cluster at $PGHOST"
psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE EXTENSION registry_guard;
SELECT 'registry_guard ' || guard.library_version() AS installed;
SQL
for step in "${steps[@]}"; do
  DEMO_STEP=$(basename "$step" .sh)
  . "$step"
done
echo "== demo finished: ${#steps[@]} step(s) ran"
