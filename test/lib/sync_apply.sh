# Helpers for the sync_apply_* suites (source after tap.sh, with a cluster's PG* env exported).
SA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SA_BIN=$SA_REPO/build/daemon/registry-sync
# The January 2026 registry and the rows it must become (test/fixtures/registry-2026-01/README.md).
SA_FIXTURE=${SA_FIXTURE:-$SA_REPO/test/fixtures/registry-2026-01}
export RGSYNC_MAPPING=$SA_REPO/config/registry-mapping.yaml

# sa_newdb NAME: a fresh database with the registry schema (every migration, in order).
sa_newdb() {
  psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null || return 1
  if "$SA_BIN" --help 2>/dev/null | grep -q '^  migrate'; then
    "$SA_BIN" migrate --dir "$SA_REPO/migrations" --dbname "$1" >/dev/null 2>&1 || return 1
  else
    local f
    for f in "$SA_REPO"/migrations/*.sql; do
      psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$f" >/dev/null 2>&1 || { echo "# migration $f failed" >&2; return 1; }
    done
  fi
}

# sa_snapshot DB: every registry table's rows (and audit versions when tracked) as sorted text,
# to prove a failed run changed nothing.
sa_snapshot() {
  psql -X -At -d "$1" <<'SQL'
SELECT t, md5(coalesce(string_agg(r, E'\n' ORDER BY r), '')), count(r) FROM (
  SELECT 'business_processes' t, to_jsonb(x)::text r FROM public.business_processes x UNION ALL
  SELECT 'business_glossary_terms', to_jsonb(x)::text FROM public.business_glossary_terms x UNION ALL
  SELECT 'data_products', to_jsonb(x)::text FROM public.data_products x UNION ALL
  SELECT 'kpis', to_jsonb(x)::text FROM public.kpis x UNION ALL
  SELECT 'principal_profiles', to_jsonb(x)::text FROM public.principal_profiles x UNION ALL
  SELECT 'consulting_personas', to_jsonb(x)::text FROM public.consulting_personas x UNION ALL
  SELECT 'council_presets', to_jsonb(x)::text FROM public.council_presets x UNION ALL
  SELECT 'council_preset_members', to_jsonb(x)::text FROM public.council_preset_members x UNION ALL
  SELECT 'registry_documents', to_jsonb(x)::text FROM public.registry_documents x
) s GROUP BY t ORDER BY t;
SELECT 'audit', (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM audit.record_version', false, true, '')))[1]::text
 WHERE to_regclass('audit.record_version') IS NOT NULL;
SQL
}

# sa_copy_fixture DIR: a writable copy of the January 2026 registry.
sa_copy_fixture() { mkdir -p "$1" && cp "$SA_FIXTURE"/*.yaml "$1"/ && chmod u+w "$1"/*.yaml; }
