#!/usr/bin/env bash
# The main job on a throw-away cluster (expects a built tree; scripts/demo.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM
pgc_start rg-demo
echo "== throw-away cluster at $PGHOST"
psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE EXTENSION registry_guard;
SELECT 'registry_guard ' || guard.library_version() AS installed;
SQL
for step in scripts/demo.d/*.sh; do
  [ -f "$step" ] || continue
  . "$step"
done
