#!/usr/bin/env bash
# serve's failure classes and instances: a permanent failure (a refused mass deactivation) is
# not retried until its input changes or SIGHUP, a long Retry-After is honoured, and two serve
# instances on one database run each job on one of them, the survivor taking over when the
# other is killed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; hostile_stop P; rm -rf "$work"; }
trap cleanup EXIT

hr_db rg_serve_jobs || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for <seconds> <shell condition>
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done
  return 1
}
get() { curl -s --max-time 5 -o "$work/body.$1" -w '%{http_code}' "http://127.0.0.1:$1$2"; }
metric() { get "$1" /metrics >/dev/null; sed -n "s/^$2{job=\"$3\"[^}]*} //p" "$work/body.$1" | head -1; }
serve_config() {  # serve_config FILE PORT MAPPING
  cat >"$1" <<EOF
log_level: info
serve:
  listen: 127.0.0.1:$2
  migrations_dir: $PWD/migrations
  retry_max_seconds: 1
jobs:
  hr:
    kind: hr
    mapping: $3
    every_seconds: 1
EOF
}
runs() { q "SELECT count(*) FROM registry_sync.sync_runs WHERE status = '$1'"; }

# 1. A refused mass deactivation is permanent: one sync_runs row, not one per retry.
python3 - "$work/users.csv" 20 <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("employee_number,first_name,last_name,department,status\n")
    for i in range(1, n + 1):
        f.write(f"E{i},First{i},Last{i},Finance,Active\n")
PY
cat >"$work/csv.yaml" <<EOF
source: {kind: csv, name: hr-csv, file: "$work/users.csv"}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name, department: department}
active: {field: status, values: [Active]}
deactivation_threshold: 0.25
EOF
"$RS" hr --mapping "$work/csv.yaml" >/dev/null 2>&1
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE status = 'active'")" 20 "20 HR users synced"
cp "$work/users.csv" "$work/users.full.csv"
head -3 "$work/users.full.csv" >"$work/users.csv"   # 18 of 20 gone: refused
port1=$(free_port)
serve_config "$work/s1.yaml" "$port1" "$work/csv.yaml"
"$RS" serve --config "$work/s1.yaml" >"$work/s1.log" 2>&1 & s1=$!; pids+=($s1)
wait_for 20 '[ "$(runs failed)" -ge 1 ]'
tap_ok $? "the refused run is recorded"
sleep 5   # five intervals, with retries capped at 1 s
tap_is "$(runs failed)" 1 "the refusal is not retried while its input is unchanged (one sync_runs row)"
tap_is "$(metric "$port1" registry_sync_job_blocked hr)" 1 "registry_sync_job_blocked is 1"
tap_is "$(metric "$port1" registry_sync_job_permanent_failures_total hr)" 1 "one permanent failure counted"
tap_like "$(cat "$work/s1.log")" "permanent failure \(refused\): not retried until the HR file, the mapping or the token change" "the log says why it is not retried"
cp "$work/users.full.csv" "$work/users.csv"   # the input changes: runs again and succeeds
wait_for 20 '[ "$(runs succeeded)" -ge 2 ]'
tap_ok $? "a changed input file runs the job again"
tap_is "$(metric "$port1" registry_sync_job_blocked hr)" 0 "the job is no longer blocked"
head -3 "$work/users.full.csv" >"$work/users.csv"
wait_for 20 '[ "$(runs failed)" -ge 2 ]'
tap_ok $? "refused again after another change"
kill -HUP "$s1"
wait_for 20 '[ "$(runs failed)" -ge 3 ]'
tap_ok $? "SIGHUP retries a blocked job"
tap_like "$(cat "$work/s1.log")" "SIGHUP: retrying" "the log names the operator's command"
kill -TERM "$s1"; wait "$s1"
tap_is "$?" 0 "serve stops cleanly"
cp "$work/users.full.csv" "$work/users.csv"

# 2. Retry-After longer than the backoff cap is honoured (one request, not one per second).
hostile_start P || { echo "not ok - start the hostile peer"; exit 1; }
cat >"$work/wd.yaml" <<EOF
source: {kind: workday, name: wd, url: "$P_URL/wd/status?code=429&retry_after=3600", max_attempts: 1, max_retry_after_seconds: 5}
fields: {employee_id: Employee_ID}
EOF
port2=$(free_port)
serve_config "$work/s2.yaml" "$port2" "$work/wd.yaml"
"$RS" serve --config "$work/s2.yaml" >"$work/s2.log" 2>&1 & s2=$!; pids+=($s2)
wait_for 20 '[ "$(grep -c wd/status "$P_LOG")" -ge 1 ]'
sleep 5
tap_is "$(grep -c wd/status "$P_LOG")" 1 "a 429 with Retry-After: 3600 is not retried within seconds"
tap_like "$(cat "$work/s2.log")" "retrying in 3600.0s \(the HR source's Retry-After\)" "the log says the Retry-After is honoured"
kill -TERM "$s2"; wait "$s2"

# 3. Two instances on one database: the job runs on one; kill it and the other takes over.
q "DELETE FROM registry_sync.sync_runs" >/dev/null
pa=$(free_port); pb=$(free_port)
serve_config "$work/a.yaml" "$pa" "$work/csv.yaml"
serve_config "$work/b.yaml" "$pb" "$work/csv.yaml"
"$RS" serve --config "$work/a.yaml" >"$work/a.log" 2>&1 & sa=$!; pids+=($sa)
wait_for 20 '[ "$(metric "$pa" registry_sync_job_runs_total hr)" -ge 1 ] 2>/dev/null'
tap_ok $? "instance A runs the job"
"$RS" serve --config "$work/b.yaml" >"$work/b.log" 2>&1 & sb=$!; pids+=($sb)
wait_for 20 '[ "$(get "$pb" /healthz)" = 200 ]'
sleep 4
tap_is "$(metric "$pb" registry_sync_job_runs_total hr)" 0 "instance B does not run the job while A holds it"
tap_is "$(metric "$pb" registry_sync_job_active hr)" 0 "B reports the job as held elsewhere"
tap_like "$(cat "$work/b.log")" "runs on another serve instance \(pid [0-9]+, application_name 'registry-sync serve hr'" "B's log names the holder"
wait_for 30 '[ "$(metric "$pa" registry_sync_job_runs_total hr)" -ge 3 ] 2>/dev/null'; rc=$?  # a loaded machine runs fewer per second
a_runs=$(metric "$pa" registry_sync_job_runs_total hr)
tap_is "$rc" 0 "A keeps running it (runs: $a_runs)"
kill -9 "$sa"
wait_for 10 '[ "$(metric "$pb" registry_sync_job_runs_total hr)" -ge 1 ] 2>/dev/null'
tap_ok $? "B takes the job over after A is killed"
tap_is "$(metric "$pb" registry_sync_job_active hr)" 1 "B reports the job as its own"
kill -TERM "$sb"; wait "$sb"

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_serve_jobs" >/dev/null
tap_done
