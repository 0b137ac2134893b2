-- Row-level security on every registry table: service_role writes, authenticated reads,
-- registry_reader (admin console) reads, anon gets nothing. Plain SQL (no extension needed), so
-- it also protects a managed Supabase database where registry_guard cannot be installed. The
-- policies and grants are exactly what guard.rls_service_write_authenticated_read() and
-- guard.rls_read_only() produce (same names and markers), so the templates can re-apply them.

do $$
declare
  t text;
  rel text;
begin
  foreach t in array array['business_glossary_terms', 'business_processes', 'principal_profiles', 'kpis',
                           'data_products', 'consulting_personas', 'council_presets',
                           'council_preset_members', 'registry_documents'] loop
    rel := format('public.%I', t);
    execute format('alter table %s enable row level security', rel);

    execute format('create policy guard_service_write on %s as permissive for all to service_role using (true) with check (true)', rel);
    execute format('comment on policy guard_service_write on %s is %L', rel, 'registry_guard template service_write_authenticated_read');
    execute format('create policy guard_authenticated_read on %s as permissive for select to authenticated using (true)', rel);
    execute format('comment on policy guard_authenticated_read on %s is %L', rel, 'registry_guard template service_write_authenticated_read');
    execute format('grant select, insert, update, delete on %s to service_role', rel);
    execute format('grant select on %s to authenticated', rel);
    -- TRUNCATE is not subject to RLS: never for API roles.
    execute format('revoke insert, delete, truncate, references, trigger on %s from authenticated', rel);
    execute format('revoke all on %s from anon', rel);

    execute format('create policy guard_read_only on %s as permissive for select to registry_reader using (true)', rel);
    execute format('comment on policy guard_read_only on %s is %L', rel, 'registry_guard template read_only');
    execute format('grant select on %s to registry_reader', rel);
    execute format('revoke insert, update, delete, truncate, references, trigger on %s from registry_reader', rel);
  end loop;
end
$$;
