#!/usr/bin/env bash
# Disaster-recovery drill, physical: pgBackRest with the shipped configuration (config/pgbackrest,
# paths replaced) on a throw-away cluster — full backup, registry changes, an apply and an HR run,
# a differential backup, more changes and WAL; then a point-in-time restore to a moment between
# two recorded changes into a second cluster, and in place. Every pgBackRest / pg_ctl command is
# a block of docs/runbooks/restore-from-backup.md run from the document. Checks on the restored
# cluster: no pending or edited migration, row checksums, audit chain and seal head, references,
# RLS policies and grants equal to what was recorded at that moment.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
. test/lib/runbook.sh
. test/lib/dr.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
command -v pgbackrest >/dev/null || { echo "not ok 1 - pgbackrest is not installed (scripts/deps.sh)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-dr.XXXXXX"); chmod 755 "$work"
restored_data=$work/restored
stop_restored() {
  [ -f "$restored_data/postmaster.pid" ] && pgc_as_server "$PGC_BIN/pg_ctl" -D "$restored_data" -m immediate -w stop >/dev/null 2>&1
  return 0
}
trap 'stop_restored; pgc_stop; rm -rf "$work"' EXIT
step() {  # step NAME CMD...: runs CMD, one TAP line; its output as diagnostics when it fails
  local name=$1 s; shift
  "$@" >"$work/out" 2>&1; s=$?
  tap_ok $s "$name"
  [ $s = 0 ] || tail -20 "$work/out" | sed 's/^/#   /'
  return $s
}
as_server_block() { (cd / && rb_run_as_server "$1"); }
pgc_start rg-dr >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
mkdir -p "$work/bin"; ln -s "$rs" "$work/bin/registry-sync"
export PATH="$work/bin:$PGC_BIN:$PATH" RGSYNC_MAPPING=$repo/config/registry-mapping.yaml

# pgBackRest as shipped, with this run's paths; the repository passphrase in conf.d (mode 0600).
mkdir -p "$restored_data"; chmod 700 "$restored_data"
[ "$(id -u)" = 0 ] && chown postgres "$restored_data"
dr_pgbackrest_init "$work"
tap_is "$(psql -X -At -c "SHOW archive_mode")" on "the cluster archives WAL with config/pgbackrest/postgresql-archive.conf"

# The environment the runbooks name (docs/runbooks/README.md), pointing at this run's clusters.
export PGDATA=$PGC_ROOT/run/data RESTORE_PGDATA=$restored_data RESTORE_PORT=$((PGPORT + 1))
rb_use docs/runbooks/restore-from-backup.md
step "stanza-create and check (runbook block stanza-create)" as_server_block stanza-create

# The registry: schema, the January 2026 sample through apply, HR from a CSV export.
reg=$work/registry; mkdir -p "$reg"; cp examples/registry-2026-01/*.yaml "$reg"/
cp test/fixtures/hr/users.csv "$work/users.csv"
sed "s|file: /var/lib/registry-sync/hr/users.csv|file: $work/users.csv|" config/hr-csv.yaml >"$work/hr.yaml"
step "registry-sync migrate" "$rs" migrate --dir migrations
step "registry-sync apply of the sample registry" "$rs" apply --registry "$reg" --on-dangling=drop
step "registry-sync hr from CSV" "$rs" hr --mapping "$work/hr.yaml"
dr_seal_all; tap_ok $? "audit sealed"

step "full backup (runbook block full-backup)" as_server_block full-backup

# Changes after the full backup: an edit applied from git, an HR change, then a differential.
sed -i '0,/green_threshold: 0.10/s//green_threshold: 0.12/' "$reg/kpi_registry.yaml"
"$rs" apply --registry "$reg" --on-dangling=drop >"$work/out" 2>&1
tap_like "$(cat "$work/out")" "kpis: 0 inserted, 1 updated" "apply writes the edited KPI"
sed -i 's/^41003,Chloé,Martin,Financial Analyst,/41003,Chloé,Martin,Senior Financial Analyst,/' "$work/users.csv"
step "HR run with a promotion" "$rs" hr --mapping "$work/hr.yaml"
dr_seal_all
step "differential backup (runbook block diff-backup)" as_server_block diff-backup

# Change A, sealed; then the moment to restore to, with everything recorded at it.
sed -i '0,/green_threshold: 0.12/s//green_threshold: 0.15/' "$reg/kpi_registry.yaml"
"$rs" apply --registry "$reg" --on-dangling=drop >/dev/null 2>&1
dr_seal_all
export MANIFEST=$work/manifest-at-target.json
step "manifest recorded at the target moment (runbook block record-manifest)" rb_run record-manifest
rows_at=$(dr_rows); sec_at=$(dr_security)
head_at=$(psql -X -At -c "SELECT * FROM audit.seal_head()")
refs_sql="SELECT reference || ' ' || source_key || ' ' || missing_element FROM guard.validate_references() ORDER BY 1"
refs_at=$(psql -X -At -c "$refs_sql")
last_version_at=$(psql -X -At -c "SELECT max(id) FROM audit.record_version")
export TARGET_TIME; TARGET_TIME=$(psql -X -At -c "SELECT clock_timestamp()")
tap_like "$rows_at" "^public\.kpis [0-9]+ [0-9a-f]{32}" "row checksums recorded at the target moment"

# Change B after the target: KPI edit, HR deactivation, sealed; then more WAL, archived.
sed -i '0,/green_threshold: 0.15/s//green_threshold: 0.20/' "$reg/kpi_registry.yaml"
"$rs" apply --registry "$reg" --on-dangling=drop >/dev/null 2>&1
sed -i '/^41004,/d' "$work/users.csv"
"$rs" hr --mapping "$work/hr.yaml" --allow-mass-deactivation >"$work/out" 2>&1
tap_like "$(cat "$work/out")" "deactivat" "HR run after the target deactivates a profile"
dr_seal_all
psql -X -q -c "CREATE TABLE public.dr_after_target AS SELECT g FROM generate_series(1, 20000) g" -c "SELECT pg_switch_wal()" >/dev/null
rows_after=$(dr_rows)
"$rs" manifest --out "$work/manifest-latest.json" >/dev/null 2>&1
[ "$rows_after" != "$rows_at" ]; tap_ok $? "the changes after the target moment changed row checksums"
(cd / && rb_run_as_server stanza-create) >/dev/null 2>&1   # check: waits until the switched WAL is archived
rb_run archiver -At >"$work/out" 2>&1
tap_like "$(cat "$work/out")" "^[1-9][0-9]*\|[0-9A-F]{24}" "WAL archived (runbook block archiver)"
rb_run recent-changes -At >"$work/out" 2>&1
tap_like "$(cat "$work/out")" "registry-sync hr:hr-csv" "recent changes name the HR run (runbook block recent-changes)"
(cd / && rb_run_as_server info) >"$work/out" 2>&1
tap_like "$(cat "$work/out")" "full backup:.*" "pgbackrest info lists the backups (runbook block info)"
tap_like "$(cat "$work/out")" "diff backup:" "and the differential"

# Point-in-time restore into a second cluster.
step "point-in-time restore into a second data directory (runbook block restore-pitr)" as_server_block restore-pitr
step "the restored cluster starts (runbook block start-restored)" as_server_block start-restored
R=(-p "$RESTORE_PORT")
tap_is "$(psql -X -At "${R[@]}" -c "SELECT pg_is_in_recovery()")" f "recovery stopped at the target and the cluster is promoted when pg_ctl returns"
step "runbook block verify-restored passes" rb_run verify-restored
tap_like "$(cat "$work/out")" "audit chain ok: true" "and reports the audit chain ok"
tap_like "$(cat "$work/out")" "enforced reference violations: 0" "and no enforced reference violated"
tap_like "$(cat "$work/out")" "restore verified: .* equals the manifest" "and verify-restore confirms the manifest of the target moment"
out=$("$rs" verify-restore --manifest "$work/manifest-latest.json" --port "$RESTORE_PORT" 2>&1); rc=$?
tap_is "$rc" 1 "verify-restore against the manifest of the latest state (after the target) exits 1"
tap_like "$out" "table public.dr_after_target: missing \(the manifest has 20000 rows\)" "it names the table created after the target"
tap_like "$out" "table public.kpis: 20 rows as in the manifest, but their content differs" "and the KPI changed after it"
tap_like "$out" "audit seal head: id [0-9]+ .*, the manifest has id [0-9]+" "and the seal head"
PGPORT=$RESTORE_PORT "$rs" status --fail-on-pending --dir migrations >"$work/out" 2>&1
tap_ok $? "no pending or edited migration on the restored cluster"
tap_is "$(dr_rows "${R[@]}")" "$rows_at" "every table's row count and checksum equals the one recorded at the target"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT to_regclass('public.dr_after_target') IS NULL")" t "the table created after the target is absent"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT max(id) FROM audit.record_version")" "$last_version_at" "the last audit version is the last one before the target"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT ok::text || ' unsealed=' || unsealed FROM audit.verify()")" "true unsealed=0" "audit.verify() ok"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT * FROM audit.seal_head()")" "$head_at" "audit.seal_head() equals the head recorded at the target"
tap_is "$(psql -X -At "${R[@]}" -c "$refs_sql")" "$refs_at" "references validate as at the target (the same report-only findings)"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT count(*) FROM guard.references")" \
  "$(psql -X -At -c "SELECT count(*) FROM guard.references")" "every declared reference is there"
tap_is "$(dr_security "${R[@]}")" "$sec_at" "RLS flags, policies and grants equal those at the target"
tap_like "$sec_at" "policy public\.kpis .*authenticated" "(the compared set includes the registry's RLS policies)"
tap_is "$(psql -X -At "${R[@]}" -c "SELECT thresholds->0->>'green_threshold' FROM public.kpis WHERE thresholds->0->>'green_threshold' IN ('0.15', '0.20', '0.2')")" \
  "0.15" "the KPI has the value of change A, not of change B"
stop_restored

# Restore in place over the source cluster, to the same moment.
step "restore in place (runbook block restore-in-place)" as_server_block restore-in-place
tap_is "$(psql -X -At -c "SELECT pg_is_in_recovery()")" f "the cluster restored in place is promoted when pg_ctl returns"
tap_is "$(dr_rows)" "$rows_at" "the cluster restored in place has the rows of the target moment"
tap_is "$(psql -X -At -c "SELECT ok FROM audit.verify()")" t "and its audit chain verifies"
dr_seal_all; tap_ok $? "sealing continues on the new timeline"
tap_done
