#!/usr/bin/env bash
# Recovery objectives measured: a registry of N KPIs (default 100k) with V audit versions
# (default 1M) on a throw-away cluster with pgBackRest as shipped (config/pgbackrest). Prints
# the full backup's time (and a differential's), the restore's time, and the WAL replay time
# for the changes made after the full backup, each next to a baseline measured in the same run:
# a plain file copy of the data directory (backup, restore) and the time the changes took
# when they were made (replay). Not part of the tests; run on demand: bench/dr.sh [N] [V]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
V=${2:-1000000}
. test/lib/pgcluster.sh
. test/lib/dr.sh
PGC_SHARED_BUFFERS=512MB
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-dr.XXXXXX"); chmod 755 "$work"
restored=$work/restored
trap '[ -f "$restored/postmaster.pid" ] && pgc_as_server "$PGC_BIN/pg_ctl" -D "$restored" -m immediate -w stop >/dev/null 2>&1; pgc_stop; rm -rf "$work"' EXIT
pgc_start rg-bench-dr >/dev/null
export RGSYNC_MAPPING=$PWD/config/registry-mapping.yaml
dr_pgbackrest_init "$work"
mkdir -p "$restored" "$work/copy"; chmod 700 "$restored"
[ "$(id -u)" = 0 ] && chown postgres "$restored" "$work/copy"
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $* }"; }
as_server() { (cd / && pgc_as_server "$@"); }

build/daemon/registry-sync migrate --dir migrations >/dev/null 2>&1
as_server pgbackrest --stanza=registry stanza-create >/dev/null
# N KPIs (one version each) and updates of every KPI up to about half of V versions before the
# full backup, the other half after it.
rounds_total=$(( V / N - 1 )); [ "$rounds_total" -ge 2 ] || rounds_total=2
rounds_a=$(( rounds_total / 2 )); rounds_b=$(( rounds_total - rounds_a ))
psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO public.kpis (id, name, domain, data_product_id, description, thresholds)
  SELECT 'kpi_' || g, 'KPI ' || g, 'Finance', 'FI_Star_Schema', 'generated KPI ' || g,
         jsonb_build_array(jsonb_build_object('comparison_type', 'yoy', 'green_threshold', g % 100, 'red_threshold', -(g % 50)))
    FROM generate_series(1, $N) g"
update_round() { psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE public.kpis SET description = 'revision $1 of ' || id"; }
for r in $(seq 1 "$rounds_a"); do update_round "a$r"; done
dr_seal_all
psql -X -q -c "CHECKPOINT"
versions_at_backup=$(psql -X -At -c "SELECT count(*) FROM audit.version_log")
db_bytes=$(psql -X -At -c "SELECT sum(pg_database_size(datname)) FROM pg_database")
echo "registry: $N KPIs, $versions_at_backup audit versions at the full backup, cluster $((db_bytes / 1048576)) MB"

# Baseline: a plain copy of the data directory (what any file-level backup must at least do).
t0=$(now); as_server cp -a "$PGC_ROOT/run/data/." "$work/copy/"; t1=$(now)
copy_s=$(calc "$t1 - $t0"); rm -rf "$work/copy"
t0=$(now); as_server pgbackrest --stanza=registry --type=full backup; t1=$(now)
full_s=$(calc "$t1 - $t0")
full_label=$(as_server pgbackrest --stanza=registry --output=json info | python3 -c 'import json,sys; print([b for b in json.load(sys.stdin)[0]["backup"] if b["type"] == "full"][-1]["label"])')

# The changes after the full backup (the WAL a restore of it must replay), timed as made.
lsn0=$(psql -X -At -c "SELECT pg_current_wal_lsn()")
t0=$(now)
for r in $(seq 1 "$rounds_b"); do update_round "b$r"; done
dr_seal_all
t1=$(now)
write_s=$(calc "$t1 - $t0")
wal_bytes=$(psql -X -At -c "SELECT pg_current_wal_lsn() - '$lsn0'::pg_lsn")
psql -X -q -c "SELECT pg_switch_wal()" >/dev/null
as_server pgbackrest --stanza=registry check >/dev/null
versions=$(psql -X -At -c "SELECT count(*) FROM audit.version_log")
t0=$(now); as_server pgbackrest --stanza=registry --type=diff backup; t1=$(now)
diff_s=$(calc "$t1 - $t0")
echo "after the full backup: $((versions - versions_at_backup)) more versions ($versions in all), $((wal_bytes / 1048576)) MB of WAL, written in ${write_s} s"

# Restore of the full backup, then replay of all WAL archived since, until promoted.
t0=$(now); as_server pgbackrest --stanza=registry --set="$full_label" --pg1-path="$restored" restore; t1=$(now)
restore_s=$(calc "$t1 - $t0")
t0=$(now)
as_server "$PGC_BIN/pg_ctl" -D "$restored" -l "$restored/restore.log" -o "-c port=$((PGPORT + 1)) -c archive_mode=off" -w -t 3600 start >/dev/null
until [ "$(psql -X -At -p $((PGPORT + 1)) -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do sleep 0.2; done
t1=$(now)
replay_s=$(calc "$t1 - $t0")
got=$(psql -X -At -p $((PGPORT + 1)) -c "SELECT count(*) FROM audit.version_log")
[ "$got" = "$versions" ] || { echo "restored cluster has $got versions, expected $versions" >&2; exit 1; }

echo
printf '%-44s %10s %s\n' "step" "seconds" "ratio to its baseline"
printf '%-44s %10s %s\n' "file copy of the data directory (baseline)" "$copy_s" "1.00"
printf '%-44s %10s %s\n' "pgBackRest full backup (zstd, encrypted)" "$full_s" "$(calc "$full_s / $copy_s") x file copy"
printf '%-44s %10s %s\n' "pgBackRest differential backup" "$diff_s" "$(calc "$diff_s / $full_s") x full backup"
printf '%-44s %10s %s\n' "restore of the full backup" "$restore_s" "$(calc "$restore_s / $copy_s") x file copy"
printf '%-44s %10s %s\n' "WAL replay of the changes since it" "$replay_s" "$(calc "$replay_s / $write_s") x the time to make them ($write_s s)"
echo
echo "RTO for a restore of this registry = restore + replay = $(calc "$restore_s + $replay_s") s (replay $(calc "$wal_bytes / 1048576 / $replay_s") MB/s of WAL)"
echo "RPO = archive_timeout (60 s) at most on a quiet registry; with async archiving, the WAL not yet pushed"
