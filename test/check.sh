#!/usr/bin/env bash
# Runs every test of the project against a throw-away cluster and ends with "N passed, N failed".
#
# Suites: pg_regress (test/sql -> test/expected), pg_isolation_regress (test/isolation/specs),
# and every executable test/suites/*.sh (TAP output; they get PGHOST/PGPORT of the cluster and
# may start clusters of their own). Usage: test/check.sh [suite-name-filter]
# A harness (pg_regress, pg_isolation_regress) that exits non-zero without reporting a failed
# test, or reports fewer results than it was given tests, counts as a failure.
# Environment: RG_REGRESS_OUT / RG_ISOLATION_OUT (where results and diffs go; default beside
# the inputs), RG_PG_REGRESS / RG_PG_ISOLATION_REGRESS (the harness programs; for the
# check_harness suite), RG_SUITE_TIMEOUT (seconds per suite, default 900).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
filter=${1:-}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM

passed=0; failed=0; failures=()
count_regress() {  # parses pg_regress output on stdin (ending with "# harness exit status N")
  local line
  harness_status=
  while IFS= read -r line; do
    case "$line" in "# harness exit status "*) harness_status=${line#\# harness exit status }; continue ;; esac
    echo "$line"
    if [[ $line =~ \.\.\.\ +ok ]]; then passed=$((passed + 1))
    elif [[ $line =~ \.\.\.\ +FAILED ]] || [[ $line =~ \.\.\.\ +failed ]]; then
      failed=$((failed + 1)); failures+=("regress: ${line%%...*}")
    fi
  done
}
# run_harness <label> <number of tests> <command...>: runs a pg_regress-style harness and counts
# its results; a harness that did not run, exited non-zero without reporting a failed test, or
# reported fewer results than tests is one failure more.
run_harness() {
  local label=$1 want=$2; shift 2
  local p0=$passed f0=$failed
  count_regress < <("$@" 2>&1; echo "# harness exit status $?")
  local got=$((passed - p0 + failed - f0))
  if [ "${harness_status:-1}" != 0 ] && [ "$failed" = "$f0" ]; then
    failed=$((failed + 1)); failures+=("$label: exited with status ${harness_status:-?} without reporting a failed test")
  elif [ "$got" -lt "$want" ]; then
    failed=$((failed + 1)); failures+=("$label: reported $got result(s) for $want test(s)")
  fi
}

pgc_start rg-check || { echo "0 passed, 1 failed"; exit 1; }
pgxs_dir=$(dirname "$(pg_config --pgxs)")/..
pg_regress=${RG_PG_REGRESS:-$pgxs_dir/test/regress/pg_regress}
pg_isolation_regress=${RG_PG_ISOLATION_REGRESS:-$pgxs_dir/test/isolation/pg_isolation_regress}
regress_out=${RG_REGRESS_OUT:-test}
isolation_out=${RG_ISOLATION_OUT:-test/isolation}
echo "== cluster: $PGHOST (PostgreSQL $(psql -Atc 'show server_version'))"

if [ -z "$filter" ] || [ "$filter" = regress ]; then
  tests=$(ls test/sql/*.sql 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.sql$//' | sort)
  if [ -n "$tests" ]; then
    echo "== pg_regress"
    rm -rf "$regress_out/results" "$regress_out/regression.diffs"; mkdir -p "$regress_out/results"
    run_harness pg_regress "$(wc -w <<<"$tests")" "$pg_regress" --bindir="$PGC_SYS_BIN" --inputdir=test \
      --outputdir="$regress_out" --dbname=rg_regress $tests
  fi
fi
if [ -z "$filter" ] || [ "$filter" = isolation ]; then
  specs=$(ls test/isolation/specs/*.spec 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.spec$//' | sort)
  if [ -n "$specs" ]; then
    echo "== pg_isolation_regress"
    rm -rf "$isolation_out/results" "$isolation_out/regression.diffs"; mkdir -p "$isolation_out/results"
    run_harness pg_isolation_regress "$(wc -w <<<"$specs")" "$pg_isolation_regress" --bindir="$PGC_SYS_BIN" \
      --inputdir=test/isolation --outputdir="$isolation_out" --dbname=rg_isolation $specs
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
  for d in "$regress_out/regression.diffs" "$isolation_out/regression.diffs"; do
    [ -f "$d" ] && { echo "== $d"; head -200 "$d"; }
  done
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
