-- Least privilege for the API roles, whatever default privileges the database had.
--
-- Supabase's default privileges give anon, authenticated and service_role ALL on every table,
-- function and sequence created in schema public, so each registry table arrived with
-- table-level UPDATE, DELETE, TRUNCATE, REFERENCES and TRIGGER for all three. The RLS
-- templates revoked most of it but not authenticated's table-level UPDATE, which is enough
-- for `LOCK TABLE public.kpis IN ACCESS EXCLUSIVE MODE`: one signed-in user blocks every
-- reader and writer of every tenant. Here every privilege of the API roles on our objects is
-- revoked and exactly what each policy template needs is granted again:
--   service_role      SELECT, INSERT, UPDATE, DELETE (RLS: service write; BYPASSRLS)
--   authenticated     SELECT (RLS: authenticated read, own tenant)
--   registry_reader   SELECT (RLS: read only, own tenant)
--   anon              nothing
-- Never granted to an API role: TRUNCATE (not subject to RLS), REFERENCES, TRIGGER, and
-- table-level UPDATE/DELETE for authenticated (row policies do not apply to LOCK).
-- principal_profiles' self-service column grants and its directory are set by the later
-- principal_directory migration, kpi_threshold_history's by its tenant migration.
-- Plain SQL: also runs where the registry_guard extension is unavailable.

do $$
declare
  t text;
  rel text;
  api constant text := 'public, anon, authenticated, service_role, registry_reader';
begin
  foreach t in array array['business_glossary_terms', 'business_processes', 'principal_profiles', 'kpis',
                           'data_products', 'consulting_personas', 'council_presets',
                           'council_preset_members', 'registry_documents'] loop
    rel := format('public.%I', t);
    -- A table-level REVOKE also removes column grants (principal_profiles' self-service
    -- UPDATE columns): they are granted again below.
    execute format('revoke all on %s from %s', rel, api);
    execute format('grant select, insert, update, delete on %s to service_role', rel);
    execute format('grant select on %s to authenticated, registry_reader', rel);
  end loop;

  -- Self-service: the columns guard.rls_self_service() made editable (only where that
  -- template's policy exists, i.e. where the extension is installed).
  if exists (select from pg_catalog.pg_policy
              where polrelid = 'public.principal_profiles'::regclass and polname = 'guard_self_service_update') then
    grant update (preferences, communication, default_filters) on public.principal_profiles to authenticated;
  end if;

  -- The audit trail's view (only where the extension made it): the tenant migration that follows
  -- grants it again once it is tenant-filtered.
  if to_regclass('public.kpi_threshold_history') is not null then
    execute format('revoke all on public.kpi_threshold_history from %s', api);
  end if;
end
$$;

-- Functions in public. The updated_at trigger function is never called by API roles (a
-- trigger runs whatever the caller's EXECUTE privilege). The search-text function is part of
-- principal_profiles' full-text index expression: every role that writes the table, or
-- searches with the indexed expression, must be able to execute it.
revoke all on function public.update_updated_at_column() from public, anon, authenticated, service_role, registry_reader;
revoke all on function public.principal_profiles_search_text(text, text, text, text[])
  from public, anon, authenticated, service_role, registry_reader;
grant execute on function public.principal_profiles_search_text(text, text, text, text[])
  to authenticated, service_role, registry_reader;
