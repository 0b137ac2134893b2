#!/usr/bin/env bash
# Streaming apply: a registry file of 1 MB or more whose table can be streamed goes into the
# database while it is still being read. Its results must equal the non-streamed path's (the
# same mapping with the file named by a glob, which is never streamed), and an error found
# after rows already went in must leave no trace: the same findings naming file:line, exit 1,
# every table and the audit trail unchanged, no run record. Also: a PyYAML-written file sharing
# objects through anchors/aliases (more copied nodes than the old fixed 1M budget) applies.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
S=rg_sync_stream_s; P=rg_sync_stream_p   # streamed / plain (glob mapping)
sa_newdb $S; tap_ok $? "fresh database (streamed runs)"
sa_newdb $P; tap_ok $? "fresh database (non-streamed runs)"
sed 's#^  - path: kpi_registry.yaml$#  - path: "kpi_registry*.yaml"#' "$RGSYNC_MAPPING" >"$work/glob-mapping.yaml"
grep -q 'path: "kpi_registry\*.yaml"' "$work/glob-mapping.yaml"; tap_ok $? "glob mapping written (its kpi file is never streamed)"

R=$work/reg; sa_copy_fixture "$R"
python3 bench/gen_kpis.py 1500 "$R/kpi_registry.yaml"
[ "$(stat -c %s "$R/kpi_registry.yaml")" -ge 1048576 ]; tap_ok $? "generated kpi_registry.yaml is over 1 MB (streamed)"

rows() {  # every registry table without its timestamps, as one hash per table
  psql -X -At -d "$1" <<'SQL'
SELECT t, count(*), md5(string_agg(r, E'\n' ORDER BY r)) FROM (
  SELECT 'kpis' t, (to_jsonb(x) - 'created_at' - 'updated_at')::text r FROM public.kpis x UNION ALL
  SELECT 'business_processes', (to_jsonb(x) - 'created_at' - 'updated_at')::text FROM public.business_processes x UNION ALL
  SELECT 'data_products', (to_jsonb(x) - 'created_at' - 'updated_at')::text FROM public.data_products x UNION ALL
  SELECT 'principal_profiles', (to_jsonb(x) - 'created_at' - 'updated_at')::text FROM public.principal_profiles x UNION ALL
  SELECT 'council_preset_members', (to_jsonb(x) - 'created_at' - 'updated_at')::text FROM public.council_preset_members x UNION ALL
  SELECT 'registry_documents', (to_jsonb(x) - 'created_at' - 'updated_at')::text FROM public.registry_documents x
) s GROUP BY t ORDER BY t
SQL
}
runs() { psql -X -At -d "$1" -c "SELECT count(*) FROM registry_sync.sync_runs"; }
findings() { grep -E '(error|warning): ' "$1" | sort; }

# ---- into empty tables
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S >"$work/s.out" 2>"$work/s.err"; rc=$?
tap_is "$rc" 0 "streamed apply succeeds"
tap_like "$(cat "$work/s.err")" "kpis rows went into the database while kpi_registry.yaml was read \(streamed\)" "the kpis rows were streamed"
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $P --mapping "$work/glob-mapping.yaml" >"$work/p.out" 2>"$work/p.err"; rc=$?
tap_is "$rc" 0 "non-streamed apply succeeds"
tap_is "$(grep -c 'streamed' "$work/p.err")" 0 "the glob mapping is not streamed"
tap_is "$(rows $S)" "$(rows $P)" "streamed and non-streamed runs leave the same rows in every table"
tap_is "$(psql -X -At -d $S -c 'SELECT count(*) FROM kpis')" 1500 "1500 KPIs"
tap_is "$(findings "$work/s.err")" "$(findings "$work/p.err")" "the same findings (dropped dangling references) in both"
tap_is "$(sed 's/sync run [0-9]*/sync run N/' "$work/s.out")" "$(sed 's/sync run [0-9]*/sync run N/' "$work/p.out")" "the same summary on stdout"
tap_is "$(psql -X -At -d $S -c "SELECT status, counts->'kpis'->>'inserted', length(file_hashes->>'kpi_registry.yaml') FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" \
  "succeeded|1500|64" "the run is recorded as succeeded with its counts and file hashes"
tap_is "$(psql -X -At -d $S -c "SELECT count(*), count(DISTINCT sync_run_id), min(sync_run_id) = (SELECT max(id) FROM registry_sync.sync_runs) FROM audit.record_version WHERE table_name = 'kpis' AND actor = 'registry-sync apply'")" \
  "1500|1|t" "every streamed kpis row is attributed to the run in the audit trail"

out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S 2>/dev/null)
tap_like "$out" "registry unchanged since sync run" "the re-apply takes the unchanged-input shortcut"

# ---- into tables that have rows: one changed, one added (staged and merged)
sed -i '0,/^    name: "Gross Revenue \([0-9]*\)"/s//    name: "Gross Revenue \1 (restated)"/' "$R/kpi_registry.yaml"
printf '  - id: added_kpi\n    name: "Added"\n    domain: "Finance"\n    data_product_id: "FI_Star_Schema"\n' >>"$R/kpi_registry.yaml"
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S >"$work/s.out" 2>"$work/s.err"; rc=$?
tap_is "$rc" 0 "streamed apply onto existing rows succeeds"
tap_like "$(cat "$work/s.out")" "kpis: 1 inserted, 1 updated, 0 deleted, 1499 unchanged" "one KPI added, one changed"
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $P --mapping "$work/glob-mapping.yaml" >"$work/p.out" 2>"$work/p.err"
tap_is "$(rows $S)" "$(rows $P)" "the same rows as the non-streamed run"
tap_is "$(sed 's/sync run [0-9]*/sync run N/' "$work/s.out")" "$(sed 's/sync run [0-9]*/sync run N/' "$work/p.out")" "the same summary on stdout"

# ---- errors found after rows already went in: everything rolled back, the same findings
check_failure() {  # check_failure NAME EXPECTED-ERROR-REGEX [apply args...]
  local name=$1 want=$2; shift 2
  local db before_s before_p runs_s runs_p rc
  before_s=$(sa_snapshot $S); runs_s=$(runs $S)
  "$SA_BIN" apply --registry "$R" --dbname $S "$@" >"$work/fs.out" 2>"$work/fs.err"; rc=$?
  tap_is "$rc" 1 "$name: streamed apply exits 1"
  tap_like "$(cat "$work/fs.err")" "$want" "$name: the error names file:line"
  tap_like "$(cat "$work/fs.err")" "validation failed; the database was not changed" "$name: says the database was not changed"
  tap_is "$(sa_snapshot $S)" "$before_s" "$name: every table and the audit trail unchanged (no partial data)"
  tap_is "$(runs $S)" "$runs_s" "$name: no run record (as when validation fails before the database is touched)"
  "$SA_BIN" apply --registry "$R" --dbname $P --mapping "$work/glob-mapping.yaml" "$@" >"$work/fp.out" 2>"$work/fp.err"
  tap_is "$(grep -v '^registry-sync: read and mapped' "$work/fs.err")" "$(grep -v '^registry-sync: read and mapped' "$work/fp.err")" \
    "$name: the same output as the non-streamed run"
  # Into an empty kpis too (the direct COPY path).
  psql -X -q -d $S -c "TRUNCATE kpis" -c "DELETE FROM registry_sync.apply_state"
  before_s=$(sa_snapshot $S); runs_s=$(runs $S)
  "$SA_BIN" apply --registry "$R" --dbname $S "$@" >"$work/fs.out" 2>"$work/fs.err"; rc=$?
  tap_is "$rc:$(sa_snapshot $S | grep -c .):$(runs $S)" "1:$(printf '%s\n' "$before_s" | grep -c .):$runs_s" "$name: into an empty kpis: exit 1, nothing written, no run"
  tap_is "$(psql -X -At -d $S -c 'SELECT count(*) FROM kpis')" 0 "$name: kpis still empty"
  "$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S >/dev/null 2>&1 || true
}
cp "$R/kpi_registry.yaml" "$work/kpi.good"
cp "$R/principal_registry.yaml" "$work/principal.good"
last=$(($(wc -l <"$R/kpi_registry.yaml") + 2))
printf '  - id: bad_kpi\n    name: "Bad"\n    domain: "Finance"\n    data_product_id: "FI_Star_Schema"\n    tags: 5\n' >>"$R/kpi_registry.yaml"
check_failure "a type error in the last KPI" "kpi_registry.yaml:$((last + 3)):11: error: kpis.tags: expected a list of text values" --on-dangling=drop
cp "$work/kpi.good" "$R/kpi_registry.yaml"
printf '  - id: gross_revenue_000001\n    name: "Twice"\n    domain: "Finance"\n    data_product_id: "FI_Star_Schema"\n' >>"$R/kpi_registry.yaml"
check_failure "a duplicate id at the end" "kpi_registry.yaml:$((last - 1)):5: error: kpis key 'gross_revenue_000001' appears twice" --on-dangling=drop
cp "$work/kpi.good" "$R/kpi_registry.yaml"
printf '  - id: broken\n    name: [unclosed\n' >>"$R/kpi_registry.yaml"
check_failure "a syntax error at the end" "kpi_registry.yaml:[0-9]+:[0-9]+: error: " --on-dangling=drop
cp "$work/kpi.good" "$R/kpi_registry.yaml"
sed -i 's/^principals:$/principals:\n  - id: extra\n    name: [not, text]/' "$R/principal_registry.yaml"
check_failure "an error in a file read after the streamed one" "principal_registry.yaml:7:11: error: principal_profiles.name: expected text" --on-dangling=drop
cp "$work/principal.good" "$R/principal_registry.yaml"
check_failure "dangling references under --on-dangling=fail" "kpi_registry.yaml:[0-9]+:[0-9]+: error: dangling reference: kpis '"

# ---- under row-level security (registry_syncer has no BYPASSRLS) and for another tenant
psql -X -q -c "ALTER ROLE registry_syncer LOGIN"
psql -X -q -d $S -c "TRUNCATE kpis" -c "DELETE FROM registry_sync.apply_state"
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S --user registry_syncer >"$work/s.out" 2>"$work/s.err"; rc=$?
tap_is "$rc" 0 "streamed apply as registry_syncer (rows go through RLS) succeeds"
tap_like "$(cat "$work/s.err")" "\(streamed\)" "streamed as registry_syncer"
tap_is "$(rows $S)" "$(rows $P)" "the same rows as the non-streamed run"
"$SA_BIN" apply --registry "$R" --on-dangling=drop --dbname $S --tenant acme >"$work/s.out" 2>"$work/s.err"; rc=$?
tap_is "$rc:$(psql -X -At -d $S -c "SELECT count(*) FROM kpis WHERE client_id = 'acme'")" "0:1501" "streamed apply for tenant acme writes its 1501 KPIs under client_id acme"

# ---- a PyYAML dump sharing objects through anchors/aliases (over 1M copied nodes)
A=$work/areg; sa_copy_fixture "$A"
python3 bench/gen_kpis.py --pyyaml-aliases 30000 "$A/kpi_registry.yaml"
tap_like "$(head -1 "$A/kpi_registry.yaml")" "PyYAML" "the file was written by PyYAML"
tap_is "$([ "$(grep -Eo '\*id[0-9]+' "$A/kpi_registry.yaml" | wc -l)" -gt 150000 ] && echo many)" many "it holds over 150k aliases"
sa_newdb rg_sync_stream_a
"$SA_BIN" apply --registry "$A" --on-dangling=drop --dbname rg_sync_stream_a >"$work/a.out" 2>"$work/a.err"; rc=$?
tap_is "$rc" 0 "the PyYAML file with anchors and aliases applies"
[ "$rc" = 0 ] || grep -v warning "$work/a.err" | head -5 | sed 's/^/#  /'
want=$(python3 -c '
import sys, yaml
d = yaml.load(open(sys.argv[1]), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
k = d["kpis"]
full = sum(1 for e in k if e.get("thresholds") and e.get("dimensions") and e.get("metadata"))
print(f"{len(k)}|{full}")' "$A/kpi_registry.yaml")
tap_is "$(psql -X -At -d rg_sync_stream_a -c "SELECT count(*), count(*) FILTER (WHERE jsonb_array_length(thresholds) > 0 AND jsonb_array_length(dimensions) > 0 AND metadata <> '{}') FROM kpis")" \
  "$want" "every KPI stored, the shared thresholds, dimensions and metadata expanded where PyYAML reads them ($want)"

psql -X -q -d postgres -c "DROP DATABASE $S" -c "DROP DATABASE $P" -c "DROP DATABASE rg_sync_stream_a"
tap_done
