#!/usr/bin/env bash
# serve's export job (the fallback YAML snapshot): a good run publishes a complete snapshot
# with a checksum manifest behind the `current` symlink and keeps the previous one; a run that
# fails half-way (a row the mapping cannot write back, after some files are written) or cannot
# reach the database (server stopped) leaves the last good snapshot byte-identical; the
# snapshot's age is in /metrics, survives a serve restart, and the job recovers by itself.
# With the database stopped, /readyz says so, and the metrics scraped then make the alert rules
# fire in `promtool test rules` on the same series (and not after the restart).
# Starts its own cluster (it stops the server).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); chmod 755 "$work"; pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; pgc_stop; rm -rf "$work"; }
trap cleanup EXIT
pgc_start rg-serve-export || { echo "not ok 1 - start a cluster"; exit 1; }
hr_db rg_serve_export || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for <seconds> <shell condition>
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done
  return 1
}
get() { curl -s --max-time 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
metric() { get /metrics >/dev/null; sed -n "s/^$1{job=\"snap\"[^}]*} //p" "$work/body" | head -1; }
runs() { get /metrics >/dev/null; sed -n "s/^registry_sync_job_runs_total{job=\"snap\",kind=\"export\",outcome=\"$1\"} //p" "$work/body"; }
fingerprint() {  # the published state: where current points, every file's bytes and mode
  (cd "$snap" && readlink current && ls && find . \( -path ./current -o -path './.*' \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
}
gauge() { get /metrics >/dev/null; sed -n "s/^$1 //p" "$work/body" | head -1; }
snapshots() { ls -d "$snap"/snapshot-* 2>/dev/null | wc -l | tr -d ' '; }

"$RS" apply --registry examples/registry-2026-01 --on-dangling=drop >/dev/null 2>&1
tap_is "$?" 0 "the example registry is applied"
snap=$work/snap; port=$(free_port)
cat >"$work/serve.yaml" <<YAML
log_level: info
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
  retry_max_seconds: 1
jobs:
  snap:
    kind: export
    dir: $snap
    mapping: $PWD/config/registry-mapping.yaml
    every_seconds: 1
YAML
start_serve() { "$RS" serve --config "$work/serve.yaml" >>"$work/serve.log" 2>&1 & spid=$!; pids+=($spid); }
start_serve

# 1. A good export.
wait_for 30 '[ -L "$snap/current" ] && [ "$(runs success)" -ge 1 ] 2>/dev/null'
tap_ok $? "the export job publishes a snapshot behind the current symlink"
cur=$snap/current
tap_ok "$( [ -f "$cur/SHA256SUMS" ] && [ -f "$cur/snapshot.json" ]; echo $?)" "the snapshot has SHA256SUMS and snapshot.json"
out=$(cd "$cur" && sha256sum -c --strict SHA256SUMS 2>&1); rc=$?
tap_is "$rc" 0 "sha256sum -c SHA256SUMS passes"
tap_is "$(grep -c ': OK$' <<<"$out")" "$(($(ls "$cur" | wc -l) - 1))" "SHA256SUMS covers every file but itself"
tap_is "$(ls "$cur"/*.yaml | wc -l | tr -d ' ')" 6 "the six registry files are in it"
out=$("$RS" validate --registry "$cur" 2>&1)
tap_like "$out" ": 0 error\(s\)" "the snapshot validates"
out=$("$RS" apply --registry "$cur" 2>&1)
tap_like "$out" "applied: 0 row\(s\) written" "applying the snapshot to its database writes 0 rows"
# The metric and the snapshot.json behind `current` from one state: a new export every second
# can publish between two reads, so read metric, snapshot.json, metric and take the reading
# whose two scrapes agree (no export published in between; taken_at only grows).
for ((i = 0; i < 20; i++)); do
  ts=$(metric registry_sync_snapshot_timestamp_seconds)
  taken=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["taken_at_unix"])' "$cur/snapshot.json")
  [ "$(metric registry_sync_snapshot_timestamp_seconds)" = "$ts" ] && break
done
tap_ok "$(python3 -c "import sys; sys.exit(0 if abs(float('$ts') - float('$taken')) < 0.001 else 1)"; echo $?)" "registry_sync_snapshot_timestamp_seconds is the current snapshot's taken_at ($ts, $taken)"
# Each scrape describes the snapshot `current` points at when it is answered: never an older
# one than snapshot.json showed just before it (the metric once lagged the symlink swap).
out=$(python3 - "$port" "$cur/snapshot.json" <<'PY'
import json, re, sys, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
pat = re.compile(r'^registry_sync_snapshot_timestamp_seconds\{job="snap"[^}]*\} (\S+)$', re.M)
seen, stale, n = set(), [], 0
while len(seen) < 8 and n < 20000:  # until seven exports have published under it
    n += 1
    taken = json.load(open(sys.argv[2]))["taken_at_unix"]
    m = float(pat.search(urllib.request.urlopen(url, timeout=5).read().decode()).group(1))
    seen.add(taken)
    if m < taken - 0.0005:
        stale.append("%r < %r" % (m, taken))
print("%d reads, %d snapshots, %d stale %s" % (n, len(seen), len(stale), " ".join(stale[:3])))
PY
)
tap_like "$out" "[0-9]+ reads, [2-8] snapshots, 0 stale" "the snapshot metric never lags the current symlink ($out)"
age=$(metric registry_sync_snapshot_age_seconds)
tap_is "$(gauge registry_sync_database_up)" 1 "registry_sync_database_up is 1"
tap_is "$(gauge registry_sync_migrations_pending)" 0 "registry_sync_migrations_pending is 0"
tap_ok "$(python3 -c "import sys; sys.exit(0 if 0 <= float('$age') < 60 else 1)"; echo $?)" "registry_sync_snapshot_age_seconds is small after a good run ($age)"
wait_for 30 '[ "$(runs success)" -ge 4 ] 2>/dev/null'
tap_is "$(snapshots)" 2 "after several runs the current snapshot and the previous one are kept, older ones removed"
prev=$(ls -d "$snap"/snapshot-* | sort | head -1)
tap_ok "$(cd "$prev" && sha256sum -c --quiet SHA256SUMS >/dev/null 2>&1; echo $?)" "the previous snapshot is complete too"

# 2. An export that fails half-way (a glossary id that is not the slug of its name: export
#    stops after writing some files) leaves the last good snapshot byte-identical.
q "UPDATE public.business_glossary_terms SET term = term || ' (renamed)' WHERE id = (SELECT min(id) FROM public.business_glossary_terms)" >/dev/null
f0=$(runs failure)
wait_for 30 '[ "$(runs failure)" -gt "$f0" ] 2>/dev/null'
tap_ok $? "the export fails while a row cannot be written back"
before=$(fingerprint); ts_before=$(metric registry_sync_snapshot_timestamp_seconds)
f1=$(runs failure)
wait_for 30 '[ "$(runs failure)" -ge $((f1 + 3)) ] 2>/dev/null'
tap_ok $? "three more failing runs"
tap_is "$(fingerprint)" "$before" "the published snapshots are byte-identical after failed runs"
tap_is "$(ls -A "$snap" | grep -c '^\.incoming-')" 0 "no incoming directory is left behind"
tap_is "$(metric registry_sync_job_up)" 0 "registry_sync_job_up is 0"
tap_is "$(metric registry_sync_snapshot_timestamp_seconds)" "$ts_before" "the snapshot timestamp stays the last good one's (its age grows)"
tap_like "$(cat "$work/serve.log")" "business_glossary_terms '.*': id is not the slug of name" "the log names the row and why"
q "UPDATE public.business_glossary_terms SET term = replace(term, ' (renamed)', '')" >/dev/null

# 3. The database stopped: no snapshot is touched; age keeps growing; after the restart the job
#    recovers without an operator.
wait_for 30 '[ "$(metric registry_sync_job_up)" = 1 ]'
tap_ok $? "the export recovers once the row is fixed"
pgc_pg_ctl -m fast stop >/dev/null
before=$(fingerprint); ts_before=$(metric registry_sync_snapshot_timestamp_seconds)
f1=$(runs failure)
wait_for 30 '[ "$(runs failure)" -ge $((f1 + 3)) ] 2>/dev/null'
tap_ok $? "runs fail while the database is down"
wait_for 20 '[ "$(gauge registry_sync_database_up)" = 0 ]'
tap_ok $? "registry_sync_database_up is 0 while the database is down"
tap_is "$(get /readyz)" 503 "/readyz answers 503 while the database is down"
tap_like "$(cat "$work/body")" "database not reachable" "/readyz says the database is not reachable"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.down"
rules=$PWD/packaging/prometheus/registry-sync.rules.yml
python3 test/tools/metrics_to_promtool.py "$work/metrics.down" "$rules" "$work/down.test.yml" serve:9187 \
  RegistrySyncDatabaseUnreachable=firing RegistrySyncSnapshotStale=none RegistrySyncMigrationsNotCurrent=none
out=$(promtool test rules "$work/down.test.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool: RegistrySyncDatabaseUnreachable fires on the series scraped while the database is down"
[ "$rc" = 0 ] || echo "$out" | head -30 | sed 's/^/#   /'
tap_is "$(fingerprint)" "$before" "the snapshots are byte-identical while the database is down"
tap_is "$(metric registry_sync_snapshot_timestamp_seconds)" "$ts_before" "the snapshot timestamp stays the last good one's"
age=$(metric registry_sync_snapshot_age_seconds)
tap_ok "$(python3 -c "import sys; sys.exit(0 if float('$age') >= 2 else 1)"; echo $?)" "the snapshot age grows while the database is down ($age)"
# serve restarted while the database is down: the age is read from the snapshot, not reset.
kill -TERM "$spid"; wait "$spid"
start_serve
wait_for 20 '[ "$(get /healthz)" = 200 ]'
tap_is "$(metric registry_sync_snapshot_timestamp_seconds)" "$ts_before" "a restarted serve reports the existing snapshot's time"
pgc_pg_ctl start >/dev/null
s0=$(runs success)
wait_for 30 '[ "$(runs success)" -gt "$s0" ] 2>/dev/null'
tap_ok $? "after the database is back the export succeeds without an operator"
wait_for 20 '[ "$(gauge registry_sync_database_up)" = 1 ]'
tap_ok $? "registry_sync_database_up is 1 again"
wait_for 20 '[ "$(get /readyz)" = 200 ]'
tap_ok $? "/readyz answers 200 again without an operator"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.up"
python3 test/tools/metrics_to_promtool.py "$work/metrics.up" "$rules" "$work/up.test.yml" serve:9187 \
  RegistrySyncDatabaseUnreachable=none RegistrySyncSnapshotStale=none RegistrySyncJobFailing=none
out=$(promtool test rules "$work/up.test.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool: no alert fires on the series scraped after the restart"
[ "$rc" = 0 ] || echo "$out" | head -30 | sed 's/^/#   /'
# The same check can fail: the outage's series do not pass as "no alert".
python3 test/tools/metrics_to_promtool.py "$work/metrics.down" "$rules" "$work/wrong.test.yml" serve:9187 RegistrySyncDatabaseUnreachable=none
promtool test rules "$work/wrong.test.yml" >/dev/null 2>&1; rc=$?
tap_ok "$([ "$rc" != 0 ]; echo $?)" "promtool fails when the outage's series are expected not to fire"
tap_ok "$(cd "$snap/current" && sha256sum -c --quiet SHA256SUMS >/dev/null 2>&1; echo $?)" "the new snapshot checks out"
tap_is "$(snapshots)" 2 "still two snapshots kept"
kill -TERM "$spid"; wait "$spid"
tap_is "$?" 0 "serve stops cleanly"
tap_done
