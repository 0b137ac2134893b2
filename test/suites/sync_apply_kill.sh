#!/usr/bin/env bash
# SIGKILL in the middle of apply's transaction: the database stays exactly at the before state,
# and the next apply records the killed run as abandoned and completes the work.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_apply_kill
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
work=$(mktemp -d)
blocker=
cleanup() { [ -n "$blocker" ] && kill "$blocker" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
R=$work/reg; sa_copy_fixture "$R"
"$SA_BIN" apply --registry "$R" --on-dangling=drop >/dev/null 2>&1; tap_ok $? "initial apply"

# Changes to several tables: KPIs (written early) and a preset's members (written late).
sed -i 's/unit: "\$"/unit: "USD"/' "$R/kpi_registry.yaml"
sed -i 's/personas: \["mckinsey", "bcg", "bain"\]/personas: ["bain", "bcg"]/' "$R/consulting_personas_registry.yaml"
before=$(sa_snapshot $db)

# Another session holds council_preset_members, so apply stops inside its transaction after
# it has already updated kpis.
mkfifo "$work/hold"
psql -X -q -v ON_ERROR_STOP=1 <"$work/hold" >/dev/null 2>&1 &
blocker=$!
exec 7>"$work/hold"
echo "BEGIN; LOCK TABLE council_preset_members IN ACCESS EXCLUSIVE MODE;" >&7
# Start apply only once the lock is held: on an idle machine apply can otherwise finish first.
for _ in $(seq 1 300); do
  [ "$(psql -X -At -c "SELECT count(*) FROM pg_locks WHERE relation = 'public.council_preset_members'::regclass
                         AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
  sleep 0.1
done
"$SA_BIN" apply --registry "$R" --on-dangling=drop >"$work/apply.out" 2>&1 &
apply_pid=$!
waiting=""
# Up to 60 s: on a loaded CI machine apply may take a while to reach the lock.
for _ in $(seq 1 600); do
  waiting=$(psql -X -At -c "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.relation = 'public.kpis'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted
                              WHERE a.application_name = 'registry-sync apply' AND a.wait_event_type = 'Lock'")
  [ "$waiting" = 1 ] && break
  sleep 0.1
done
tap_is "$waiting" 1 "apply is inside its transaction (kpis already written) and waiting"
kill -KILL $apply_pid; wait $apply_pid 2>/dev/null; rc=$?
tap_is "$rc" 137 "apply was killed with SIGKILL"
echo "COMMIT;" >&7; exec 7>&-; wait "$blocker"; blocker=
# The server notices the dead client when it next talks to it; wait for the backend to go.
for _ in $(seq 1 100); do
  [ "$(psql -X -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'registry-sync apply'")" = 0 ] && break
  sleep 0.1
done
tap_is "$(sa_snapshot $db)" "$before" "the database is exactly at the before state (rows and audit versions)"
tap_is "$(psql -X -At -c "SELECT status FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "running" "the killed run's record was left running"

out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop 2>&1); rc=$?
tap_is "$rc" 0 "the next apply succeeds"
tap_like "$(psql -X -At -c "SELECT status || ': ' || error FROM registry_sync.sync_runs ORDER BY id DESC OFFSET 1 LIMIT 1")" \
  "^failed: abandoned" "the next apply marks the killed run as failed (abandoned)"
tap_is "$(psql -X -At -c "SELECT string_agg(persona_id, ',' ORDER BY position) FROM council_preset_members WHERE preset_id = 'mbb_council'")" \
  "bain,bcg" "the next apply completes the work"
psql -X -q -d postgres -c "DROP DATABASE $db"
tap_done
