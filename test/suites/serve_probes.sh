#!/usr/bin/env bash
# serve's HTTP side against hostile clients and a stuck database: clients dripping one byte
# every 90 ms (more of them than workers) are cut off by the whole-request deadline and do not
# stop /healthz, nor do clients that never read a large reply (the write timeout); a large
# request body gets 413; /readyz answers from state the scheduler keeps (not from a database
# connection per request, which a locked catalog or a dead server would hold up) and never
# names host, port, database or user.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); serve_pid=; pids=()
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

hr_db rg_serve_probes || { echo "not ok 1 - create database with the registry schema"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
cat >"$work/csv.yaml" <<EOF
source: {kind: csv, name: hr-csv, file: "$PWD/test/fixtures/hr/users.csv"}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name, title: job_title, department: department, email: work_email}
active: {field: status, values: [Active, Leave]}
EOF
config() {  # config DATABASE-URL-LINE
  cat >"$work/serve.yaml" <<EOF
log_level: info
$1
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
  retry_max_seconds: 1
jobs:
  hr:
    kind: hr
    mapping: $work/csv.yaml
    every_seconds: 2
EOF
}
get() { curl -s --max-time 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
wait_for() {  # wait_for <seconds> <shell condition>
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done
  return 1
}
start_serve() { PGDATABASE=${PGDATABASE} "$RS" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 & serve_pid=$!; wait_for 20 '[ "$(get /healthz)" = 200 ]'; }
stop_serve() { kill -TERM "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; serve_pid=; }

config ""
start_serve
tap_ok $? "serve answers /healthz"
wait_for 20 '[ "$(get /readyz)" = 200 ]'
tap_ok $? "/readyz is 200 with the database up"

# Slow-drip clients: each holds a connection for 20 s sending one byte every 90 ms (one every
# 40 ms: never idle long enough for a per-read timeout either).
for i in 0.09 0.09 0.04; do python3 test/hostile-peer/peer.py drip 127.0.0.1 "$port" 20 "$i" >/dev/null 2>&1 & pids+=($!); done
sleep 1
tap_is "$(get /healthz)" 200 "/healthz answers while three clients drip their requests"
tap_is "$(get /metrics)" 200 "/metrics answers too"

# More drip clients than serve has workers (8): cpp-httplib times out each read only, so without
# a deadline for the whole request they hold every worker for minutes (8 KB of header at one
# byte per 90 ms) and /healthz waits in the queue. serve closes a connection whose request is not
# complete request_timeout_seconds (5) after a worker took it up: /healthz answers (bound: 10 s)
# and each drip client sees its connection closed long before its 20 s are up.
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait "${pids[@]}" 2>/dev/null; pids=()
for i in $(seq 1 12); do python3 test/hostile-peer/peer.py drip 127.0.0.1 "$port" 20 0.09 >"$work/drip.$i" 2>&1 & pids+=($!); done
wait_for 15 '[ "$(cat "$work"/drip.* | grep -c "^connected")" = 12 ]'
tap_ok $? "12 drip clients connected"
sleep 0.5
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
tap_is "$code" 200 "/healthz answers within 10 s while 12 clients (more than the 8 workers) drip their requests"
wait "${pids[@]}" 2>/dev/null; pids=()
tap_is "$(cat "$work"/drip.* | grep -c '^closed by server')" 12 "every drip connection is closed by serve before its 20 s are up"
tap_like "$(cat "$work/serve.log")" "closed the HTTP connection from 127.0.0.1:[0-9]+: its request was not complete within 5s" "serve logs each closed connection"

# Keep-alive still works: the next request on a connection gets the keep-alive wait plus the deadline.
tap_is "$(curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{http_code}/%{num_connects} ' "http://127.0.0.1:$port/healthz" "http://127.0.0.1:$port/metrics")" \
  "200/1 200/0 " "two requests on one kept-alive connection both answer"

head -c 1048576 /dev/zero >"$work/big"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST --data-binary @"$work/big" "http://127.0.0.1:$port/healthz")
tap_is "$code" 413 "a 1 MB request body is refused with 413"
tap_is "$(get /healthz)" 200 "/healthz still answers after the large body"

# A locked migration history holds up any query reading it: /readyz must still answer.
psql -X -q -c "BEGIN" -c "LOCK TABLE supabase_migrations.schema_migrations IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(15)" >/dev/null 2>&1 &
locker=$!; pids+=($locker)
wait_for 5 '[ "$(psql -X -At -c "SELECT count(*) FROM pg_locks WHERE relation = '"'supabase_migrations.schema_migrations'"'::regclass AND mode = '"'AccessExclusiveLock'"' AND granted")" = 1 ]'
sleep 1.5
tap_is "$(get /readyz)" 200 "/readyz answers at once from the last check while the database is stuck"
tap_is "$(get /healthz)" 200 "/healthz answers while the database is stuck"
kill "$locker" 2>/dev/null; wait "$locker" 2>/dev/null
psql -X -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(15)%' AND pid <> pg_backend_pid()" >/dev/null
stop_serve

# A database that does not exist: /readyz says not ready without naming where it connects.
PGDATABASE=rg_no_such_db_4471 start_serve
tap_ok $? "serve starts although its database does not exist"
wait_for 10 '[ "$(get /readyz)" = 503 ]'
tap_ok $? "/readyz is 503"
body=$(cat "$work/body")
tap_like "$body" "not ready" "/readyz says not ready"
tap_is "$(grep -Fc -e rg_no_such_db_4471 -e "$PGPORT" -e "$PGHOST" -e "user=" -e "dbname=" -e "host=" <<<"$body")" 0 "/readyz does not name host, port, database or user"
tap_like "$(cat "$work/serve.log")" "rg_no_such_db_4471" "the serve log has the details for the operator"
stop_serve

# The write timeout (5 s per write): clients that request a large /metrics and never read it
# (tiny receive window) block the reply's writes. More of them than workers: each worker is
# freed when its write times out, and /healthz still answers. /metrics is made large by jobs
# with long names (label values): about 1.5 MB per job.
long=$(head -c 120000 /dev/zero | tr '\0' j)
config ""
# (an explicit "? key" because YAML limits plain keys to 1024 characters)
for n in 1 2 3 4; do printf '  ? %s%s\n  : kind: hr\n    mapping: %s\n    every_seconds: 3600\n' "$long" "$n" "$work/csv.yaml" >>"$work/serve.yaml"; done
start_serve
tap_ok $? "serve with four long-named jobs answers /healthz"
size=$(curl -s --max-time 20 "http://127.0.0.1:$port/metrics" | wc -c)
tap_ok "$([ "$size" -gt 4000000 ]; echo $?)" "/metrics is larger than 4 MB ($size bytes), more than socket buffers hold"
for i in $(seq 1 12); do python3 test/hostile-peer/peer.py stall 127.0.0.1 "$port" /metrics 40 >"$work/stall.$i" 2>&1 & pids+=($!); done
wait_for 15 '[ "$(cat "$work"/stall.* | grep -c "^sent")" = 12 ]'
tap_ok $? "12 clients requested /metrics and read nothing"
sleep 1
code=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
tap_is "$code" 200 "/healthz answers while 12 clients (more than the 8 workers) do not read their replies"
tap_is "$(get /readyz)" 200 "/readyz answers too"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait "${pids[@]}" 2>/dev/null; pids=()
stop_serve

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_serve_probes" >/dev/null
tap_done
