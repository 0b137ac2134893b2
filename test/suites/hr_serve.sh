#!/usr/bin/env bash
# registry-sync serve: scheduled HR sync, registry apply and audit sealing, /healthz /readyz /metrics,
# surviving a database stop/start without losing the run, clean stop on SIGTERM.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
  # The cluster belongs to the caller: make sure it runs again whatever happened here.
  [ -f "$PGC_ROOT/run/data/postmaster.pid" ] || pgc_pg_ctl start >/dev/null 2>&1
  hr_scim_stop; rm -rf "$work"
}
trap cleanup EXIT

hr_db rg_hr_serve || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
export HR_TOKEN=serve-token-9981 SCIM_TOKEN=serve-token-9981
hr_gen_scim_users 12 '{"departments": ["Finance"]}' >"$work/users.json"
hr_scim_start "$work/users.json" || { echo "not ok 1 - start the SCIM server"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/hr.yaml" <<EOF
source: {kind: scim, name: corp, url: "$SCIM_URL", token_env: HR_TOKEN, page_size: 5, backoff_seconds: 0.05, max_attempts: 2}
EOF
cat >"$work/registry-sync.yaml" <<EOF
log_level: info
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
  retry_max_seconds: 1
  readiness_check_seconds: 1
jobs:
  hr-corp:
    kind: hr
    mapping: $work/hr.yaml
    every_seconds: 1
  seal:
    kind: seal
    every_seconds: 2
EOF
get() { curl -s -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
metric() { get /metrics >/dev/null; sed -n "s/^$1{job=\"$2\"[^}]*} //p" "$work/body"; }
wait_for() {  # wait_for <seconds> <shell condition>
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done
  return 1
}

"$RS" serve --config "$work/registry-sync.yaml" >"$work/serve.log" 2>&1 &
serve_pid=$!
wait_for 20 '[ "$(get /healthz)" = 200 ]'
tap_ok $? "/healthz answers 200"
tap_is "$(get /readyz)" 200 "/readyz is 200 with the database up and migrations current"
wait_for 30 '[ "$(q "SELECT count(*) FROM principal_profiles")" = 12 ]'
tap_ok $? "the hr job syncs the SCIM users"
wait_for 20 '[ "$(metric registry_sync_job_runs_total seal | head -1)" -ge 1 ] 2>/dev/null'
tap_ok $? "the seal job runs"
get /metrics >/dev/null
tap_like "$(cat "$work/body")" "# TYPE registry_sync_job_errors_total counter" "/metrics is Prometheus text with TYPE lines"
tap_like "$(metric registry_sync_job_rows_changed_total hr-corp)" "^12$" "metrics count the rows the hr job changed"
tap_like "$(metric registry_sync_job_last_success_timestamp_seconds hr-corp)" "^1[0-9]{9}" "metrics carry the last success time"
tap_like "$(metric registry_sync_job_last_duration_seconds hr-corp)" "^[0-9]" "metrics carry the last duration"
tap_is "$(get /nope)" 404 "unknown paths are 404"

# Database down: runs fail (errors counted, /readyz 503), a change made meanwhile lands after restart.
pgc_pg_ctl -m fast stop >/dev/null
errors_before=$(metric registry_sync_job_errors_total hr-corp)
scim_admin POST /users '[{"id":"3","userName":"user3","displayName":"User 3 Renamed","active":true,"emails":[{"value":"user3@example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E3","department":"Finance"}}]' >/dev/null
wait_for 20 '[ "$(metric registry_sync_job_errors_total hr-corp)" -ge $((errors_before + 2)) ]'
tap_ok $? "runs fail and are counted while the database is down"
tap_is "$(get /readyz)" 503 "/readyz is 503 while the database is down"
tap_like "$(cat "$work/body")" "not reachable" "/readyz says why"
tap_is "$(get /healthz)" 200 "/healthz stays 200 (the process is alive)"
pgc_pg_ctl start >/dev/null
wait_for 30 '[ "$(q "SELECT name FROM principal_profiles WHERE employee_id = '"'E3'"'" 2>/dev/null)" = "User 3 Renamed" ]'
tap_ok $? "after the restart the job recovers and applies the change made meanwhile"
tap_is "$(metric registry_sync_job_up hr-corp)" 1 "job is up again"
tap_like "$(cat "$work/serve.log")" "retrying in" "failures are logged with the retry delay"
tap_ok "$(grep -c "$HR_TOKEN" "$work/serve.log")" "the token never appears in the log"

kill -TERM "$serve_pid"
wait_for 15 '! kill -0 $serve_pid 2>/dev/null'
tap_ok $? "SIGTERM stops serve"
wait "$serve_pid"; status=$?
serve_pid=
tap_is "$status" 0 "exit status 0 after SIGTERM"
tap_like "$(tail -1 "$work/serve.log")" "stopping" "serve logs its stop"

# An apply job: the same run as `registry-sync apply`, on its own database and schedule.
hr_db rg_hr_serve_apply; tap_ok $? "database for the apply job"
cp -r examples/registry-2026-01 "$work/registry"
cat >"$work/apply.yaml" <<EOF
log_level: info
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
  retry_max_seconds: 1
jobs:
  registry:
    kind: apply
    registry: $work/registry
    mapping: $PWD/config/registry-mapping.yaml
    on_dangling: drop
    tenant: default
    every_seconds: 1
EOF
"$RS" serve --config "$work/apply.yaml" >"$work/apply.log" 2>&1 &
serve_pid=$!
wait_for 30 '[ "$(q "SELECT count(*) FROM kpis" 2>/dev/null)" = 20 ]'
tap_ok $? "the apply job loads the registry (dangling references dropped)"
tap_is "$(q "SELECT status FROM registry_sync.sync_runs ORDER BY id LIMIT 1")" succeeded "the run is recorded in sync_runs"
wait_for 20 '[ "$(metric registry_sync_job_up registry)" = 1 ]'
tap_ok $? "/metrics shows the apply job up"
tap_like "$(metric registry_sync_job_last_success_timestamp_seconds registry)" "^1[0-9]{9}" "/metrics carries the apply job's last success time"
tap_like "$(metric registry_sync_job_rows_changed_total registry)" "^[1-9][0-9]*$" "/metrics counts the rows the apply job wrote"
tap_is "$(metric registry_sync_job_errors_total registry)" 0 "no apply errors"
tap_like "$(cat "$work/body")" 'registry_sync_job_up\{job="registry",kind="apply"\} 1' "the job is labelled kind=apply"
tap_like "$(cat "$work/apply.log")" "dropped dangling reference" "dropped references are logged"
sed -i '0,/name: "Gross Revenue"/s//name: "Gross Revenue (edited)"/' "$work/registry/kpi_registry.yaml"
wait_for 30 '[ "$(q "SELECT name FROM kpis WHERE id = '"'gross_revenue'"'")" = "Gross Revenue (edited)" ]'
tap_ok $? "an edit to a YAML file is applied on the next run"
kill -TERM "$serve_pid"; wait "$serve_pid"; status=$?; serve_pid=
tap_is "$status" 0 "serve with an apply job stops cleanly"
sed -i 's/^    on_dangling: drop$/    on_dangling: sometimes/' "$work/apply.yaml"
"$RS" serve --config "$work/apply.yaml" >"$work/out" 2>&1
tap_is "$?" 2 "a bad on_dangling is a usage error"
tap_like "$(cat "$work/out")" "apply.yaml:11: on_dangling must be fail, drop or keep" "the error names file:line"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_hr_serve_apply" >/dev/null

printf 'jobs:\n  x:\n    kind: hr\n    every_minutes: 5\n    mapping: %s\n    colour: blue\n' "$work/hr.yaml" >"$work/bad.yaml"
"$RS" serve --config "$work/bad.yaml" >"$work/out" 2>&1
tap_is "$?" 2 "a bad serve config is a usage error"
tap_like "$(cat "$work/out")" "bad.yaml:6: unknown job setting 'colour'" "config error names file:line"

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_hr_serve" >/dev/null
tap_done
