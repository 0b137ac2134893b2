#!/usr/bin/env bash
# Audit trail benchmark: 100k registry-like rows (text id, text, text[], jsonb, int).
# Bulk UPDATE of every row and a 2-client pgbench single-row UPDATE, each with no trigger,
# with a PL/pgSQL reference trigger doing what supa_audit 0.3.1 does, and with ours; plus the
# floor (the bare UPDATE + a bulk INSERT ... SELECT of the same audit rows into a
# supa_audit-shaped table, record ids computed in C) and the audit storage per 100k changes. Prints ratios.
# Usage: bench/audit.sh [rows] [pgbench-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
SECS=${2:-10}
. test/lib/pgcluster.sh
trap pgc_stop EXIT INT TERM
PGC_SHARED_BUFFERS=1GB pgc_start rg-bench-audit >/dev/null
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

q <<'SQL'
CREATE EXTENSION registry_guard;
CREATE EXTENSION "uuid-ossp";
-- The reference: supa_audit 0.3.1's design (row trigger in PL/pgSQL, two jsonb images, its
-- four indexes), in its own schema so it can run next to ours.
CREATE SCHEMA ref;
CREATE TABLE ref.record_version(
    id bigserial PRIMARY KEY, record_id uuid, old_record_id uuid, op text NOT NULL,
    ts timestamptz NOT NULL DEFAULT now(), table_oid oid NOT NULL, table_schema name NOT NULL,
    table_name name NOT NULL, record jsonb, old_record jsonb);
CREATE INDEX ON ref.record_version(record_id) WHERE record_id IS NOT NULL;
CREATE INDEX ON ref.record_version(old_record_id) WHERE old_record_id IS NOT NULL;
CREATE INDEX ON ref.record_version USING brin(ts);
CREATE INDEX ON ref.record_version(table_oid);
CREATE FUNCTION ref.to_record_id(entity_oid oid, pkey_cols text[], rec jsonb) RETURNS uuid
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN rec IS NULL THEN NULL WHEN pkey_cols = ARRAY[]::text[] THEN uuid_generate_v4()
           ELSE (SELECT uuid_generate_v5('fd62bc3d-8d6e-43c2-919c-802ba3762271',
                        (jsonb_build_array(to_jsonb($1)) || jsonb_agg($3 ->> key_))::text)
                   FROM unnest($2) x(key_)) END $$;
CREATE FUNCTION ref.trigger() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    pkey_cols text[] = audit.primary_key_columns(TG_RELID);
    record_jsonb jsonb = to_jsonb(new);
    record_id uuid = ref.to_record_id(TG_RELID, pkey_cols, record_jsonb);
    old_record_jsonb jsonb = to_jsonb(old);
    old_record_id uuid = ref.to_record_id(TG_RELID, pkey_cols, old_record_jsonb);
BEGIN
    INSERT INTO ref.record_version(record_id, old_record_id, op, table_oid, table_schema, table_name, record, old_record)
    SELECT record_id, old_record_id, TG_OP, TG_RELID, TG_TABLE_SCHEMA, TG_TABLE_NAME, record_jsonb, old_record_jsonb;
    RETURN coalesce(new, old);
END $$;
CREATE TABLE ref.floor (LIKE ref.record_version INCLUDING ALL);
SQL

make_table() {  # fresh table public.reg with $ROWS rows
  q <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.reg;
CREATE TABLE public.reg(id text PRIMARY KEY, name text NOT NULL, tags text[], meta jsonb, n int NOT NULL);
INSERT INTO public.reg
SELECT 'kpi_' || g, 'Registry entry ' || g, ARRAY['finance', 'tag_' || (g % 50), 'q' || (g % 4)],
       jsonb_build_object('owner', 'team_' || (g % 20), 'thresholds',
                          jsonb_build_array(jsonb_build_object('green', g % 100, 'red', g % 7))),
       g % 1000
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE public.reg;
SQL
}
# Prints "<wall ms> <backend CPU ms>" for one statement. The CPU time of the backend (from
# /proc) is printed too: on a shared, loaded machine wall time mostly measures the neighbours.
timed() {
  psql -X -q -v ON_ERROR_STOP=1 -At <<SQL | awk '/^cpu_before/ {b = $2} /^cpu_after/ {a = $2} /^Time: / {w = $2} END {printf "%s %d\n", w, (a - b) * 1000 / hz}' hz="$(getconf CLK_TCK)"
CHECKPOINT;
SELECT pg_backend_pid() AS pid \gset
\setenv RG_BENCH_PID :pid
\! awk '{print "cpu_before", \$14 + \$15}' /proc/\$RG_BENCH_PID/stat
\timing on
$1;
\timing off
\! awk '{print "cpu_after", \$14 + \$15}' /proc/\$RG_BENCH_PID/stat
SQL
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
UPD="UPDATE public.reg SET n = n + 1"

# No trigger and ours run twice (best of two: the machine is shared), the slow reference once.
min2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
make_table
read -r t_none c_none <<<"$(timed "$UPD")"
read -r t_floor_ins c_floor_ins <<<"$(timed "INSERT INTO ref.floor(record_id, old_record_id, op, table_oid, table_schema, table_name, record, old_record)
  SELECT audit.to_record_id('public.reg'::regclass, '{id}', to_jsonb(r)), audit.to_record_id('public.reg'::regclass, '{id}', to_jsonb(r)),
         'UPDATE', 'public.reg'::regclass, 'public', 'reg', to_jsonb(r), to_jsonb(r) FROM public.reg r")"

make_table
q -c "SELECT audit.enable_tracking('public.reg')" >/dev/null
read -r t_ours c_ours <<<"$(timed "$UPD")"
ours_versions=$(q -c "SELECT count(*) FROM audit.version_log")
ours_bytes=$(q -c "SELECT pg_total_relation_size('audit.version_log') + pg_total_relation_size('audit.change_context')")

make_table
q -c "CREATE TRIGGER ref_audit AFTER INSERT OR UPDATE OR DELETE ON public.reg FOR EACH ROW EXECUTE FUNCTION ref.trigger()"
read -r t_ref c_ref <<<"$(timed "$UPD")"
ref_bytes=$(q -c "SELECT pg_total_relation_size('ref.record_version')")

make_table
read -r t c <<<"$(timed "$UPD")"
t_none=$(min2 "$t_none" "$t"); c_none=$(min2 "$c_none" "$c")
make_table
q -c "SELECT audit.enable_tracking('public.reg')" >/dev/null
read -r t c <<<"$(timed "$UPD")"
t_ours=$(min2 "$t_ours" "$t"); c_ours=$(min2 "$c_ours" "$c")
t_floor=$(awk -v a="$t_none" -v b="$t_floor_ins" 'BEGIN { print a + b }')
c_floor=$((c_none + c_floor_ins))

echo "== load average while benchmarking: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "== bulk UPDATE of $ROWS rows: wall ms (ratio) | backend CPU ms (ratio); best of 2 except the reference"
line() { printf '  %-34s %9.1f %6sx | %7d %6sx  %s\n' "$1" "$2" "$(ratio "$2" "$t_none")" "$3" "$(ratio "$3" "$c_none")" "${4:-}"; }
line "no trigger" "$t_none" "$c_none"
line "floor (UPDATE + bulk INSERT rows)" "$t_floor" "$c_floor"
line "PL/pgSQL supa_audit-style trigger" "$t_ref" "$c_ref"
line "registry_guard (C++)" "$t_ours" "$c_ours" "(target <= 4x, stretch <= 2.5x)"
echo "  versions written by ours: $ours_versions"
echo "== audit storage per $ROWS changes (table + indexes)"
printf '  %-34s %8.1f MB\n' "PL/pgSQL supa_audit-style" "$(awk -v b="$ref_bytes" 'BEGIN { print b / 1048576 }')"
printf '  %-34s %8.1f MB  (%sx)\n' "registry_guard" "$(awk -v b="$ours_bytes" 'BEGIN { print b / 1048576 }')" "$(ratio "$ours_bytes" "$ref_bytes")"

# pgbench: 2 clients, single-row UPDATE by random id.
script=$(mktemp); chmod 644 "$script"
cat >"$script" <<PGB
\set r random(1, $ROWS)
UPDATE public.reg SET n = n + 1 WHERE id = 'kpi_' || :r;
PGB
# Prints "<tps> <server CPU microseconds per transaction>". The backends' CPU is read from the
# postmaster's reaped-children counters (/proc/<postmaster>/stat cutime + cstime), so it counts
# exactly the server work of this run, however busy the machine is.
pm_pid=$(head -1 "$PGC_ROOT/run/data/postmaster.pid")
children_cpu() { awk '{print $16 + $17}' "/proc/$pm_pid/stat"; }
tps() {
  local before after out
  before=$(children_cpu)
  out=$(pgbench -n -M prepared -c 2 -j 2 -T "$SECS" -f "$script" 2>/dev/null)
  sleep 0.5  # let the postmaster reap the two backends
  after=$(children_cpu)
  awk -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" '
    /^tps = / {tps = $3} /^number of transactions actually processed:/ {n = $NF}
    END {printf "%s %.1f\n", tps, (a - b) * 1e6 / hz / n}' <<<"$out"
}
max2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
make_table
read -r p_none u_none <<<"$(tps)"
q -c "SELECT audit.enable_tracking('public.reg')" >/dev/null
read -r p_ours u_ours <<<"$(tps)"
q -c "SELECT audit.disable_tracking('public.reg')" \
  -c "CREATE TRIGGER ref_audit AFTER INSERT OR UPDATE OR DELETE ON public.reg FOR EACH ROW EXECUTE FUNCTION ref.trigger()" >/dev/null
read -r p_ref u_ref <<<"$(tps)"
q -c "DROP TRIGGER ref_audit ON public.reg" >/dev/null
read -r p u <<<"$(tps)"
p_none=$(max2 "$p_none" "$p"); u_none=$(min2 "$u_none" "$u")
q -c "SELECT audit.enable_tracking('public.reg')" >/dev/null
read -r p u <<<"$(tps)"
p_ours=$(max2 "$p_ours" "$p"); u_ours=$(min2 "$u_ours" "$u")
rm -f "$script"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
echo "== pgbench, 2 clients, single-row UPDATE, ${SECS}s runs: tps (share of no trigger) | server CPU per transaction (no trigger / it); best of 2 except the reference"
echo "   load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
pline() { printf '  %-34s %8.0f %5s | %7.1f us %5s  %s\n' "$1" "$2" "$(pct "$2" "$p_none")" "$3" "$(pct "$u_none" "$3")" "${4:-}"; }
pline "no trigger" "$p_none" "$u_none"
pline "PL/pgSQL supa_audit-style trigger" "$p_ref" "$u_ref"
pline "registry_guard (C++)" "$p_ours" "$u_ours" "(target >= 60%, stretch >= 70%)"
