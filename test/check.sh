#!/usr/bin/env bash
# Runs every test of the project against a throw-away cluster and ends with "N passed, N failed".
#
# Suites: pg_regress (test/sql -> test/expected), pg_isolation_regress (test/isolation/specs),
# and every executable test/suites/*.sh (TAP output; they get PGHOST/PGPORT of the cluster and
# may start clusters of their own). Usage: test/check.sh [suite-name-filter]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
filter=${1:-}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM

passed=0; failed=0; failures=()
count_regress() {  # parses pg_regress output on stdin
  local line
  while IFS= read -r line; do
    echo "$line"
    if [[ $line =~ \.\.\.\ +ok ]]; then passed=$((passed + 1))
    elif [[ $line =~ \.\.\.\ +FAILED ]] || [[ $line =~ \.\.\.\ +failed ]]; then
      failed=$((failed + 1)); failures+=("regress: ${line%%...*}")
    fi
  done
}

pgc_start rg-check || { echo "0 passed, 1 failed"; exit 1; }
pgxs_dir=$(dirname "$(pg_config --pgxs)")/..
echo "== cluster: $PGHOST (PostgreSQL $(psql -Atc 'show server_version'))"

if [ -z "$filter" ] || [ "$filter" = regress ]; then
  tests=$(ls test/sql/*.sql 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.sql$//' | sort)
  if [ -n "$tests" ]; then
    echo "== pg_regress"
    rm -rf test/results; mkdir -p test/results
    count_regress < <("$pgxs_dir/test/regress/pg_regress" --bindir="$PGC_SYS_BIN" --inputdir=test \
      --outputdir=test --dbname=rg_regress $tests 2>&1)
  fi
fi
if [ -z "$filter" ] || [ "$filter" = isolation ]; then
  specs=$(ls test/isolation/specs/*.spec 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.spec$//' | sort)
  if [ -n "$specs" ]; then
    echo "== pg_isolation_regress"
    rm -rf test/isolation/results; mkdir -p test/isolation/results
    count_regress < <("$pgxs_dir/test/isolation/pg_isolation_regress" --bindir="$PGC_SYS_BIN" \
      --inputdir=test/isolation --outputdir=test/isolation --dbname=rg_isolation $specs 2>&1)
  fi
fi
for suite in test/suites/*.sh; do
  [ -x "$suite" ] || continue
  name=$(basename "$suite" .sh)
  [ -z "$filter" ] || [ "$filter" = "$name" ] || continue
  echo "== suite $name"
  started=$SECONDS
  sp=0; sf=0; status=1
  while IFS= read -r line; do
    echo "$line"
    case "$line" in
      "# exit status "*) status=${line#\# exit status } ;;
      "ok "*) sp=$((sp + 1)) ;;
      "not ok "*) sf=$((sf + 1)); failures+=("$name: ${line#not ok }") ;;
    esac
  done < <(timeout "${RG_SUITE_TIMEOUT:-900}" "$suite" 2>&1; echo "# exit status $?")
  if [ "${status:-1}" != 0 ] && [ "$sf" = 0 ]; then sf=1; failures+=("$name: exited with status $status"); fi
  passed=$((passed + sp)); failed=$((failed + sf))
  echo "# suite $name: $sp passed, $sf failed in $((SECONDS - started))s"
done

if [ ${#failures[@]} -gt 0 ]; then
  echo "== failures"; printf '  %s\n' "${failures[@]}"
  for d in test/regression.diffs test/isolation/regression.diffs; do
    [ -f "$d" ] && { echo "== $d"; head -200 "$d"; }
  done
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
