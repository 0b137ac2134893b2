#!/usr/bin/env bash
# test/check.sh counts a harness (pg_regress, pg_isolation_regress) that did not run, exited
# non-zero without reporting a failed test, or reported fewer results than tests, as a failure:
# stand-in harnesses (RG_PG_REGRESS / RG_PG_ISOLATION_REGRESS) that die, vanish, or report too
# little make `test/check.sh regress|isolation` fail; one that reports every test passes.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nsql=$(ls test/sql/*.sql | wc -l)

cat >"$work/dies" <<'SH'
#!/bin/sh
echo 'pg_regress: could not open file "test/schedule" for reading: No such file or directory' >&2
exit 2
SH
cat >"$work/one-result" <<'SH'
#!/bin/sh
echo "test first_only ... ok   1 ms"
exit 0
SH
cat >"$work/all-ok" <<'SH'
#!/bin/sh
for a in "$@"; do case "$a" in --*) ;; *) echo "test $a ... ok   1 ms" ;; esac; done
exit 0
SH
chmod +x "$work"/dies "$work"/one-result "$work"/all-ok

check() {  # check <filter> [VAR=value...]: runs test/check.sh, results kept out of the checkout
  env RG_REGRESS_OUT="$work/r" RG_ISOLATION_OUT="$work/i" "${@:2}" test/check.sh "$1" 2>&1
}

out=$(check regress RG_PG_REGRESS="$work/dies"); rc=$?
tap_is "$rc" 1 "a pg_regress that exits 2 before running a test fails test/check.sh"
tap_like "$(tail -1 <<<"$out")" "^0 passed, 1 failed$" "and is counted as one failure"
tap_like "$out" "pg_regress: exited with status 2 without reporting a failed test" "naming the harness and its exit status"

out=$(check regress RG_PG_REGRESS="$work/missing-program"); rc=$?
tap_is "$rc" 1 "a pg_regress that cannot be started fails test/check.sh"
tap_like "$out" "pg_regress: exited with status 127" "with the shell's status 127"

out=$(check isolation RG_PG_ISOLATION_REGRESS="$work/one-result"); rc=$?
tap_is "$rc" 1 "a pg_isolation_regress reporting 1 result for every spec fails test/check.sh"
tap_like "$out" "pg_isolation_regress: reported 1 result\(s\) for [0-9]+ test\(s\)" "naming how many results were missing"

out=$(check regress RG_PG_REGRESS="$work/all-ok"); rc=$?
tap_is "$rc" 0 "a pg_regress that reports every test and exits 0 passes (the check can pass)"
tap_like "$(tail -1 <<<"$out")" "^$nsql passed, 0 failed$" "with one pass per test/sql file"
tap_done
