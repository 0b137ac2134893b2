#!/usr/bin/env bash
# Database timeouts of every registry-sync session (config section `database:`): a run waiting
# for registry-sync's own advisory lock gives up after advisory_lock_wait_seconds naming the
# session that holds it; lock_timeout and statement_timeout end stuck statements.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

hr_db rg_db_timeouts || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
cat >"$work/csv.yaml" <<EOF
source: {kind: csv, name: hr-csv, file: "$PWD/test/fixtures/hr/users.csv"}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name, title: job_title, department: department, email: work_email}
active: {field: status, values: [Active, Leave]}
EOF
config() {  # config KEY VALUE
  printf 'log_level: info\ndatabase:\n  %s: %s\n' "$1" "$2" >"$work/rs.yaml"
}
hr() { timeout 60 "$RS" hr --config "$work/rs.yaml" --mapping "$work/csv.yaml" >"$work/out" 2>&1; }
# Key of a registry-sync advisory lock: first 8 bytes of SHA-256(name), as a signed bigint.
lock_key() { python3 -c 'import hashlib, sys; print(int.from_bytes(hashlib.sha256(sys.argv[1].encode()).digest()[:8], "big", signed=True))' "$1"; }
hold() {  # hold SQL...: runs the statements in one transaction with application_name blocker-session for 20 s
  PGAPPNAME=blocker-session psql -X -q -c "BEGIN" "$@" -c "SELECT pg_sleep(20)" >/dev/null 2>&1 &
  pids+=($!)
}
holding() { [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blocker-session' AND query LIKE '%pg_sleep%'")" = 1 ]; }
# release: end the blocker and wait (bounded) until its backend is gone and its locks with it;
# a fixed short sleep was not always enough on a loaded machine.
release() {
  q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'blocker-session'" >/dev/null
  for _ in $(seq 1 200); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blocker-session'")" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
wait_holding() { for _ in $(seq 1 50); do holding && return 0; sleep 0.1; done; return 1; }

config advisory_lock_wait_seconds 1
hold -c "SELECT pg_advisory_xact_lock($(lock_key 'registry-sync hr:hr-csv:default'))"
wait_holding
hr
tap_is "$?" 1 "a run whose advisory lock stays taken gives up"
tap_like "$(cat "$work/out")" "another session holds the 'registry-sync hr:hr-csv:default' lock: pid [0-9]+, application_name 'blocker-session'.*in a transaction since 20[0-9-]+T[0-9:]+Z" \
  "the error names the holder and since when"
tap_like "$(cat "$work/out")" "advisory_lock_wait_seconds" "the error names the setting"
release
hr
tap_is "$?" 0 "the run succeeds once the lock is free"

# The same for a session lock (apply's).
hold -c "SELECT pg_advisory_lock($(lock_key 'registry-sync apply'))"
wait_holding
timeout 60 "$RS" apply --config "$work/rs.yaml" --registry examples/registry-2026-01 --mapping config/registry-mapping.yaml \
  --on-dangling=drop >"$work/out" 2>&1
tap_is "$?" 1 "apply gives up when another session holds its lock"
tap_like "$(cat "$work/out")" "another session holds the 'registry-sync apply' lock: pid [0-9]+, application_name 'blocker-session'" \
  "apply's error names the holder"
release

config lock_timeout_seconds 1
hold -c "LOCK TABLE public.principal_profiles IN ACCESS EXCLUSIVE MODE"
wait_holding
hr
tap_is "$?" 1 "a table lock held elsewhere ends the run after lock_timeout_seconds"
tap_like "$(cat "$work/out")" "lock timeout" "the error says lock timeout"
release

config statement_timeout_seconds 1
q "CREATE FUNCTION public.slow_trigger() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END \$\$;
   CREATE TRIGGER slow BEFORE UPDATE ON public.principal_profiles FOR EACH STATEMENT EXECUTE FUNCTION public.slow_trigger()" >/dev/null
sed 's/Chief Operating Officer/Chief Operations Officer/' test/fixtures/hr/users.csv >"$work/users.csv"
sed -i "s|file: \"[^\"]*\"|file: \"$work/users.csv\"|" "$work/csv.yaml"
hr
tap_is "$?" 1 "a statement running past statement_timeout_seconds ends the run"
tap_like "$(cat "$work/out")" "statement timeout" "the error says statement timeout"
tap_is "$(q "SELECT title FROM principal_profiles WHERE employee_id = '41001'")" "Chief Operating Officer" "nothing was written"

config lock_wait_seconds 5
hr
tap_is "$?" 2 "an unknown database setting is a usage error"
tap_like "$(cat "$work/out")" "rs.yaml:3: unknown key 'database.lock_wait_seconds'" "the error names file:line"

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_db_timeouts" >/dev/null
tap_done
