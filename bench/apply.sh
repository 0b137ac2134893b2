#!/usr/bin/env bash
# registry-sync apply of 100k generated KPIs (shaped like the real ones) against a bare COPY of
# the same rows, and the no-op re-apply. Targets (TARGETS.md): full apply <= 2x bare COPY,
# re-apply <= 10% of the full apply with 0 rows written and 0 audit versions.
# usage: bench/apply.sh [N]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
. test/lib/pgcluster.sh
PGC_SHARED_BUFFERS=1GB
work=$(mktemp -d)
trap 'pgc_stop; rm -rf "$work"' EXIT
pgc_start rg-bench-apply >/dev/null
export RGSYNC_MAPPING=$PWD/config/registry-mapping.yaml
BIN=$PWD/build/daemon/registry-sync
fixture=test/fixtures/registry-2026-01

psql -X -q -c "CREATE DATABASE bench"
export PGDATABASE=bench
if "$BIN" --help 2>/dev/null | grep -q '^  migrate'; then
  "$BIN" migrate --dir migrations >/dev/null
else
  for f in migrations/*.sql; do psql -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null; done
fi

reg=$work/reg; mkdir -p "$reg"; cp "$fixture"/*.yaml "$reg"/; chmod u+w "$reg"/*.yaml
python3 bench/gen_kpis.py "$N" "$reg/kpi_registry.yaml"
size=$(stat -c %s "$reg/kpi_registry.yaml")
echo "registry: $N KPIs, kpi_registry.yaml $((size / 1048576)) MB"
echo "kpis triggers (fire for the baseline COPY and for apply alike): $(psql -X -At -c "SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.kpis'::regclass AND NOT tgisinternal")"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.4f\", $* }"; }
audit_versions() { psql -X -At -c "SELECT CASE WHEN to_regclass('audit.record_version') IS NULL THEN 0 ELSE (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM audit.record_version', false, true, '')))[1]::text::bigint END"; }
cols=$(psql -X -At -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.kpis'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('created_at', 'updated_at')")
# Only kpis is emptied between runs: the other registries stay loaded, because kpis'
# business_process_ids are checked against business_processes (and TRUNCATE of a referenced
# table is refused). Both the baseline and apply write into the same empty kpis table.
empty_kpis() { psql -X -q -c "TRUNCATE kpis" -c "DELETE FROM registry_sync.apply_state"; }

# The rows themselves, in COPY form: load once, dump kpis.
"$BIN" apply --registry "$reg" --on-dangling=drop >/dev/null 2>&1
psql -X -q -c "\\copy (SELECT $cols FROM kpis) TO '$work/kpis.copy'"
empty_kpis; psql -X -q -c "CHECKPOINT"

t0=$(now); psql -X -q -c "\\copy kpis ($cols) FROM '$work/kpis.copy'"; t1=$(now)
copy_s=$(calc "$t1 - $t0")
empty_kpis; psql -X -q -c "CHECKPOINT"

t0=$(now); "$BIN" apply --registry "$reg" --on-dangling=drop >"$work/full.out" 2>"$work/full.err"; t1=$(now)
full_s=$(calc "$t1 - $t0")
rows=$(psql -X -At -c "SELECT count(*) FROM kpis")
psql -X -q -c "CHECKPOINT"

a0=$(audit_versions)
t0=$(now); "$BIN" apply --registry "$reg" --on-dangling=drop >"$work/noop.out" 2>/dev/null; t1=$(now)
noop_s=$(calc "$t1 - $t0")
a1=$(audit_versions)
t0=$(now); "$BIN" apply --registry "$reg" --on-dangling=drop --full-diff >"$work/noopfull.out" 2>/dev/null; t1=$(now)
noopfull_s=$(calc "$t1 - $t0")
a2=$(audit_versions)

written() { grep -Eo '(applied: [0-9]+ row|0 rows written)' "$1" | grep -Eo '[0-9]+' | head -1; }
printf 'bare COPY of %s KPI rows:            %6.2f s\n' "$rows" "$copy_s"
printf 'registry-sync apply (empty kpis):     %6.2f s   ratio %.2fx  (target <= 2x)\n' "$full_s" "$(calc "$full_s / $copy_s")"
grep -E '^registry-sync: ' "$work/full.err" | sed 's/^/    /' || true
printf 'no-op re-apply:                        %6.2f s   %.1f%% of full apply (target <= 10%%), rows written %s, audit versions %s\n' \
  "$noop_s" "$(calc "100 * $noop_s / $full_s")" "$(written "$work/noop.out")" "$((a1 - a0))"
printf 'no-op re-apply with --full-diff:       %6.2f s   %.1f%% of full apply, rows written %s, audit versions %s\n' \
  "$noopfull_s" "$(calc "100 * $noopfull_s / $full_s")" "$(written "$work/noopfull.out")" "$((a2 - a1))"
