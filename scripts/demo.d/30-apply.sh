# Demo step (sourced by scripts/demo-run.sh, after 20-migrate): load the January 2026 sample
# registry with registry-sync apply — the default run refuses the 7 dangling references and
# lists them; --on-dangling=drop loads everything else; a re-apply writes nothing; an edit
# shows as a dry-run diff and lands as one audited update; export writes the snapshot back.
demo_registry_schema
demo_expect_key public.kpis client_id,id
demo_expect_tracked public.kpis
RGS=build/daemon/registry-sync
export RGSYNC_MAPPING=$PWD/config/registry-mapping.yaml
demo_reg=$(mktemp -d)
cp examples/registry-2026-01/*.yaml "$demo_reg"/
short() { sed -e "s#$demo_reg/##g" -e "s#$demo_reg#registry-2026-01#g"; }

echo "== registry-sync validate (offline): every finding as file:line:column"
demo_expect "7 dangling references in the January 2026 files (6 distinct values), each with file:line:column"
"$RGS" validate --registry "$demo_reg" | grep -v 'enforced: false' | short || true

echo "== registry-sync apply (default --on-dangling=fail): refuses, lists every dangling reference, changes nothing"
demo_expect "the same 7 dangling references; apply refuses and writes nothing"
"$RGS" apply --registry "$demo_reg" 2>&1 | grep -E 'error:|validation failed' | short || true

echo "== registry-sync apply --on-dangling=drop: the 7 references are dropped, each reported"
"$RGS" apply --registry "$demo_reg" --on-dangling=drop 2>&1 | grep -vE 'enforced: false' | short

echo "== rows per table"
psql -X -q <<'SQL'
SELECT 'business_processes' AS "table", count(*) AS rows FROM business_processes UNION ALL
SELECT 'business_glossary_terms', count(*) FROM business_glossary_terms UNION ALL
SELECT 'data_products', count(*) FROM data_products UNION ALL
SELECT 'kpis', count(*) FROM kpis UNION ALL
SELECT 'principal_profiles', count(*) FROM principal_profiles UNION ALL
SELECT 'consulting_personas', count(*) FROM consulting_personas UNION ALL
SELECT 'council_presets', count(*) FROM council_presets UNION ALL
SELECT 'council_preset_members', count(*) FROM council_preset_members UNION ALL
SELECT 'registry_documents', count(*) FROM registry_documents;
SQL

echo "== re-apply of the unchanged files"
"$RGS" apply --registry "$demo_reg" --on-dangling=drop 2>/dev/null

echo "== an edit in git: gross_revenue's yoy green threshold 0.10 -> 0.12 (dry run, then apply)"
sed -i '0,/green_threshold: 0.10/s//green_threshold: 0.12/' "$demo_reg/kpi_registry.yaml"
"$RGS" apply --registry "$demo_reg" --on-dangling=drop --dry-run 2>/dev/null | grep -vE ': 0 added, 0 changed, 0 removed'
"$RGS" apply --registry "$demo_reg" --on-dangling=drop 2>/dev/null | grep -E '^kpis|^applied'

echo "== sync runs"
psql -X -q -c "SELECT id, status, dry_run, counts->'kpis' AS kpis, left(coalesce(error, ''), 50) AS error FROM registry_sync.sync_runs ORDER BY id"
echo "== audit rows written by apply for kpis (actor and sync run come from SET LOCAL registry_guard.*)"
psql -X -q -c "SELECT id, op, record->>'id' AS kpi, old_record->'thresholds'->0->>'green_threshold' AS green_was,
                      record->'thresholds'->0->>'green_threshold' AS green_now, actor, sync_run_id, changed_columns
                 FROM audit.record_version WHERE table_name = 'kpis' ORDER BY id DESC LIMIT 3"

echo "== registry-sync export: the database back as YAML (the fallback snapshot)"
"$RGS" export --out "$demo_reg/snapshot" 2>/dev/null
ls "$demo_reg/snapshot"
echo "== apply(export(db)) writes nothing"
"$RGS" apply --registry "$demo_reg/snapshot" --full-diff 2>/dev/null | tail -1
rm -rf "$demo_reg"
