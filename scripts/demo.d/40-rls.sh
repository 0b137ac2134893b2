# Demo step (sourced by scripts/demo-run.sh): row-level security on the migrated registry —
# the same KPI table read as PostgREST would for anon, two tenants, a token without a tenant
# and the admin console's reader; then guard.rls_report() over the whole database.
echo "== row-level security (guard.* claim helpers, tenant isolation, rls_report)"
demo_registry_schema
demo_expect_key public.kpis client_id,id
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO public.kpis (client_id, id, name, domain, data_product_id) VALUES
('acme', 'demo_gross_margin', 'Gross Margin', 'Finance', 'FI_Star_Schema'),
('acme', 'demo_dso', 'Days Sales Outstanding', 'Finance', 'FI_Star_Schema'),
('globex', 'demo_gross_margin', 'Gross Margin', 'Finance', 'FI_Star_Schema')
ON CONFLICT DO NOTHING;
SQL
as_request() {  # as_request <label> <role> <claims json> [app.client_id]
  echo "-- $1"
  psql -X -q -At -F ' ' 2>&1 <<SQL | sed 's/^/   /'
BEGIN;
SELECT set_config('request.jwt.claims', '$3', true), set_config('app.client_id', '${4:-}', true) \\g /dev/null
SET LOCAL ROLE $2;
SELECT coalesce(string_agg(client_id || '/' || id, ', ' ORDER BY client_id, id), '(no rows)') FROM public.kpis WHERE id LIKE 'demo\_%';
COMMIT;
SQL
}
as_request "expected: anon is refused (no grant on the registry tables)" anon '{"role": "anon"}'
as_request "authenticated, JWT app_metadata.client_id = acme" authenticated \
  '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated", "app_metadata": {"client_id": "acme"}}'
as_request "authenticated, JWT app_metadata.client_id = globex" authenticated \
  '{"sub": "b0000000-0000-4000-8000-00000000000b", "role": "authenticated", "app_metadata": {"client_id": "globex"}}'
as_request "authenticated, no tenant in the JWT, SET app.client_id = acme (ignored for API roles)" authenticated \
  '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated"}' acme
as_request "registry_reader (admin console, a trusted role), app.client_id = globex" registry_reader '' globex
echo "-- guard.rls_report() on this database"
psql -X -q -c "SELECT * FROM guard.rls_report()" | sed 's/^/   /'
psql -X -q -c "DELETE FROM public.kpis WHERE id LIKE 'demo\_%'"
