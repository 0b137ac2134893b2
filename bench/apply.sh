#!/usr/bin/env bash
# registry-sync apply of N KPIs shaped like the real ones (bench/gen_kpis.py: copies of the
# January 2026 entries with thresholds, dimensions, filters, synonyms and metadata filled)
# against a COPY of the same rows into kpis with its own triggers (the baseline, TARGETS.md),
# and into a trigger-less copy of kpis; then the no-op re-apply; then a PyYAML-written file
# with hundreds of thousands of anchors/aliases. Targets: full apply <= 2x COPY with triggers,
# re-apply <= 10% of the full apply with 0 rows written and 0 audit versions.
#
# The machine may be shared: every measurement is repeated (APPLY_BENCH_REPS, default 3), the
# variants interleaved within each repetition, and the ratios are medians of per-repetition
# ratios (each ratio from the same minutes).
#
# usage: bench/apply.sh [N]   (default 100000)
#   APPLY_BENCH_REPS=5                 repetitions
#   APPLY_BENCH_OLD_BIN=/tmp/old/registry-sync
#                                      also time another build (e.g. the previous main) in the
#                                      same repetitions, on the same rows
#   APPLY_BENCH_ROLE=1                 also time apply as registry_syncer (no BYPASSRLS: the
#                                      rows go through row-level security)
#   APPLY_BENCH_ALIASES=0              skip the PyYAML anchors/aliases file
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
REPS=${APPLY_BENCH_REPS:-3}
OLD_BIN=${APPLY_BENCH_OLD_BIN:-}
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
"$BIN" migrate --dir migrations >/dev/null

reg=$work/reg; mkdir -p "$reg"; cp "$fixture"/*.yaml "$reg"/; chmod u+w "$reg"/*.yaml
python3 bench/gen_kpis.py "$N" "$reg/kpi_registry.yaml"
size=$(stat -c %s "$reg/kpi_registry.yaml")
echo "registry: $N KPIs (copies of the $(grep -c '^  - id:' "$fixture/kpi_registry.yaml") real ones, ids varied), kpi_registry.yaml $((size / 1048576)) MB; $REPS repetitions; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kpis triggers (fire for the baseline COPY and for apply alike): $(psql -X -At -c "SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.kpis'::regclass AND NOT tgisinternal")"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
audit_versions() { psql -X -At -c "SELECT count(*) FROM audit.record_version"; }
cols=$(psql -X -At -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.kpis'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('created_at', 'updated_at')")
# Only kpis is emptied between runs: the other registries stay loaded, because kpis'
# business_process_ids are checked against business_processes (and TRUNCATE of a referenced
# table is refused). Both the baseline and apply write into the same empty kpis table.
empty_kpis() { psql -X -q -c "TRUNCATE kpis" -c "DELETE FROM registry_sync.apply_state" -c "CHECKPOINT"; }
# The trigger-less table: same columns, defaults, indexes and constraints, no triggers, no RLS.
psql -X -q -c "CREATE TABLE public.kpis_plain (LIKE public.kpis INCLUDING ALL)"

# The rows themselves, in COPY form: load once, dump kpis.
"$BIN" apply --registry "$reg" --on-dangling=drop >/dev/null 2>&1
psql -X -q -c "\\copy (SELECT $cols FROM kpis) TO '$work/kpis.copy'"
rows=$(psql -X -At -c "SELECT count(*) FROM kpis")
if [ "${APPLY_BENCH_ROLE:-0}" = 1 ]; then
  psql -X -q -c "ALTER ROLE registry_syncer LOGIN"
fi

# timed OUT ERR CMD...: CMD's output to OUT and ERR, its wall time (s) to stdout.
# ERR "-": the command's stderr stays the script's.
timed() {
  local o=$1 e=$2 t0 t1; shift 2
  t0=$(now)
  if [ "$e" = - ]; then "$@" >"$o" || return 1; else "$@" >"$o" 2>"$e" || return 1; fi
  t1=$(now); calc "$t1 - $t0"
}
copy_into() { psql -X -q -c "\\copy $1 ($cols) FROM '$work/kpis.copy'"; }
written() { grep -Eo '(applied: [0-9]+ row|0 rows written)' "$1" | grep -Eo '[0-9]+' | head -1; }
# apply_pair LABEL BIN [psql args]: full apply into an empty kpis, then the no-op re-apply.
declare -A T
apply_pair() {
  local label=$1 bin=$2; shift 2
  local full noop a0 a1 w
  empty_kpis
  full=$(timed "$work/$label.full.out" "$work/$label.full.err" "$bin" apply --registry "$reg" --on-dangling=drop "$@") \
    || { echo "$label: apply failed:"; tail -5 "$work/$label.full.err"; exit 1; }
  [ "$(psql -X -At -c "SELECT count(*) FROM kpis")" = "$rows" ] || { echo "$label: apply left a different row count"; exit 1; }
  psql -X -q -c "CHECKPOINT"
  a0=$(audit_versions)
  noop=$(timed "$work/$label.noop.out" /dev/null "$bin" apply --registry "$reg" --on-dangling=drop "$@")
  a1=$(audit_versions)
  w=$(written "$work/$label.noop.out")
  [ "$w" = 0 ] && [ "$a1" = "$a0" ] || { echo "$label: the no-op re-apply wrote $w rows and $((a1 - a0)) audit versions"; exit 1; }
  T[$label.full]+="$full "; T[$label.noop]+="$noop "
  T[$label.ratio]+="$(calc "$full / $copy_s") "; T[$label.plainratio]+="$(calc "$full / $plain_s") "
  T[$label.noopshare]+="$(calc "100 * $noop / $full") "
}

for rep in $(seq 1 "$REPS"); do
  empty_kpis
  copy_s=$(timed /dev/null - copy_into kpis); T[copy]+="$copy_s "
  psql -X -q -c "TRUNCATE kpis_plain" -c "CHECKPOINT"
  plain_s=$(timed /dev/null - copy_into kpis_plain); T[plain]+="$plain_s "
  apply_pair new "$BIN"
  [ -z "$OLD_BIN" ] || apply_pair old "$OLD_BIN"
  [ "${APPLY_BENCH_ROLE:-0}" = 1 ] && apply_pair role "$BIN" --user registry_syncer
  last() { echo "${T[$1]}" | awk '{ printf "%.2f", $NF }'; }
  echo "  repetition $rep: COPY $(calc "$copy_s"), trigger-less COPY $(calc "$plain_s"), apply $(last new.full) s$([ -z "$OLD_BIN" ] || echo ", old build $(last old.full) s"), load $(cut -d' ' -f1 /proc/loadavg)"
done

m() { echo "${T[$1]}" | median; }
printf 'COPY of %s KPI rows into kpis (its triggers):   %6.2f s (median)\n' "$rows" "$(m copy)"
printf 'COPY into a trigger-less copy of kpis:          %6.2f s\n' "$(m plain)"
report() {
  local label=$1 what=$2
  printf '%-47s %6.2f s   ratio %.2fx COPY with triggers (target <= 2x), %.2fx trigger-less COPY\n' "$what:" "$(m "$label.full")" "$(m "$label.ratio")" "$(m "$label.plainratio")"
  printf '%-47s %6.2f s   %.1f%% of the full apply (target <= 10%%), 0 rows written, 0 audit versions\n' "  no-op re-apply:" "$(m "$label.noop")" "$(m "$label.noopshare")"
}
report new "registry-sync apply (empty kpis)"
grep -E '^registry-sync: ' "$work/new.full.err" | sed 's/^/    /' || true
[ -z "$OLD_BIN" ] || report old "old build ($OLD_BIN)"
[ "${APPLY_BENCH_ROLE:-0}" = 1 ] && report role "apply as registry_syncer (under RLS)"

if [ "${APPLY_BENCH_ALIASES:-1}" = 1 ]; then
  areg=$work/areg; mkdir -p "$areg"; cp "$fixture"/*.yaml "$areg"/; chmod u+w "$areg"/*.yaml
  python3 bench/gen_kpis.py --pyyaml-aliases "$N" "$areg/kpi_registry.yaml"
  naliases=$(grep -Eo '\*id[0-9]+' "$areg/kpi_registry.yaml" | wc -l)
  empty_kpis
  t=$(timed "$work/alias.out" "$work/alias.err" "$BIN" apply --registry "$areg" --on-dangling=drop) \
    || { echo "the PyYAML file with $naliases aliases did not load:"; grep -v warning "$work/alias.err" | tail -5; exit 1; }
  printf 'PyYAML-written file (%s MB, %s aliases): applied in %.2f s, %s kpis rows\n' "$(($(stat -c %s "$areg/kpi_registry.yaml") / 1048576))" \
    "$naliases" "$t" "$(psql -X -At -c "SELECT count(*) FROM kpis")"
fi
