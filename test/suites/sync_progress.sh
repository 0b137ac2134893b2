#!/usr/bin/env bash
# Progress on long runs: when stderr is a terminal, apply shows rows sent per table and hr the
# users read per source, each ending in a total line; when stderr is a pipe or a file (logs, CI,
# every other suite) or REGISTRY_SYNC_NO_PROGRESS is set, nothing of it appears. The terminal is
# a pseudo-terminal from script(1).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_progress
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
kpis=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$SA_FIXTURE/expected-rows/kpis.json")

# on_tty OUT CMD...: run CMD with stdin, stdout and stderr on a pseudo-terminal; its output to OUT.
on_tty() {
  local out=$1; shift
  TERM=xterm script -qefc "$(printf '%q ' "$@")" /dev/null >"$out" 2>&1 </dev/null
}
on_tty "$work/tty.out" "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop; rc=$?
tap_is "$rc" 0 "apply on a terminal succeeds"
tap_like "$(tr '\r' '\n' <"$work/tty.out")" "apply: kpis: $kpis rows sent" "on a terminal apply ends with the total of KPI rows sent ($kpis)"
tap_is "$(psql -X -At -c 'SELECT count(*) FROM public.kpis')" "$kpis" "and the rows are written"

psql -X -q -c "TRUNCATE public.kpis CASCADE" >/dev/null 2>&1 || psql -X -q -c "DELETE FROM public.kpis" >/dev/null
"$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop >"$work/pipe.out" 2>&1; rc=$?
tap_is "$rc" 0 "apply with stderr on a pipe succeeds"
tap_is "$(grep -c 'rows sent' "$work/pipe.out")" 0 "no progress when stderr is not a terminal"
tap_is "$(tr -cd '\r' <"$work/pipe.out" | wc -c)" 0 "and no carriage returns in that output"

psql -X -q -c "DELETE FROM public.kpis" >/dev/null
REGISTRY_SYNC_NO_PROGRESS=1 on_tty "$work/off.out" "$SA_BIN" apply --registry "$SA_FIXTURE" --on-dangling=drop; rc=$?
tap_is "$rc" 0 "apply on a terminal with REGISTRY_SYNC_NO_PROGRESS set succeeds"
tap_is "$(grep -c 'rows sent' "$work/off.out")" 0 "REGISTRY_SYNC_NO_PROGRESS=1 switches progress off"

# hr from a file source: the users read.
sed "s|/var/lib/registry-sync/hr/users.csv|$PWD/test/fixtures/hr/users.csv|" config/hr-csv.yaml >"$work/hr.yaml"
users=$(($(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' test/fixtures/hr/users.csv)))
on_tty "$work/hr.out" "$SA_BIN" hr --mapping "$work/hr.yaml" --dry-run
tap_like "$(tr '\r' '\n' <"$work/hr.out")" "hr: hr-csv: $users users read" "on a terminal hr ends with the total of users read from the source ($users)"
"$SA_BIN" hr --mapping "$work/hr.yaml" --dry-run >"$work/hr-pipe.out" 2>&1
tap_is "$(grep -c 'users read' "$work/hr-pipe.out")" 0 "no hr progress when stderr is not a terminal"
tap_done
