-- registry-sync's own roles, least privilege (README "Roles for registry-sync"):
--   registry_migrator  owns the registry's schema objects and runs `registry-sync migrate`
--                      (DDL on its own objects; no superuser, no BYPASSRLS, no CREATEROLE)
--   registry_syncer    what `apply`, `hr`, `export` and `serve` (seal) need: read and write the
--                      registry tables of the tenant it selects (app.client_id; row-level
--                      security applies, no BYPASSRLS), its bookkeeping in schema registry_sync,
--                      temporary staging tables, audit.seal(); no DDL, no TRUNCATE, no migrate
-- Both are NOLOGIN: give each a login (ALTER ROLE ... LOGIN PASSWORD ...) or grant it to the
-- login role the service uses. Neither is an API role: the audit trusts their actor settings.
-- Roles are cluster-wide: creation is conditional. Run once by a role that may create roles and
-- owns the objects (the superuser or Supabase's postgres, as before); later migrations run as
-- registry_migrator.

do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'registry_migrator') then
    create role registry_migrator nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'registry_syncer') then
    create role registry_syncer nologin noinherit;
  end if;
end
$$;
comment on role registry_migrator is 'registry-sync migrate: owns the registry schema objects; no superuser, no BYPASSRLS';
comment on role registry_syncer is 'registry-sync apply/hr/export/serve: writes registry rows of its tenant; no DDL, no BYPASSRLS';

do $$
declare
  o record;
  me constant text := current_user;
begin
  -- A non-superuser may give objects away only to a role it belongs to.
  if not (select rolsuper from pg_catalog.pg_roles where rolname = me)
     and not pg_catalog.pg_has_role(me, 'registry_migrator', 'MEMBER') then
    execute format('grant registry_migrator to %I', me);
  end if;

  -- registry_migrator owns what the migrations made: the registry's tables, views and functions
  -- in public and the schemas registry_sync and registry_private with their contents.
  for o in
    select format('alter %s %s owner to registry_migrator',
                  case c.relkind when 'v' then 'view' when 'S' then 'sequence' else 'table' end,
                  format('%I.%I', n.nspname, c.relname)) as stmt
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'v', 'S')
       and (n.nspname in ('registry_sync', 'registry_private')
            or (n.nspname = 'public' and c.relname in ('business_glossary_terms', 'business_processes', 'principal_profiles',
                                                       'kpis', 'data_products', 'consulting_personas', 'council_presets',
                                                       'council_preset_members', 'registry_documents', 'principal_directory',
                                                       'kpi_threshold_history')))
       and not exists (select from pg_catalog.pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i'))  -- owned sequences follow their table
    union all
    select format('alter function %I.%I(%s) owner to registry_migrator', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'registry_private'
        or (n.nspname = 'public' and p.proname in ('update_updated_at_column', 'principal_profiles_search_text'))
    union all
    select format('alter schema %I owner to registry_migrator', n.nspname)
      from pg_catalog.pg_namespace n where n.nspname in ('registry_sync', 'registry_private')
  loop
    execute o.stmt;
  end loop;

  -- migrate: new tables in public, new schemas, its history (shared with the Supabase CLI).
  execute format('grant create on database %I to registry_migrator', current_database());
  grant usage, create on schema public to registry_migrator;
  if to_regnamespace('supabase_migrations') is not null then
    grant usage, create on schema supabase_migrations to registry_migrator;
    grant select, insert, update, delete on all tables in schema supabase_migrations to registry_migrator;
    grant usage on schema supabase_migrations to registry_syncer;   -- serve's /readyz and status read the history
    grant select on all tables in schema supabase_migrations to registry_syncer;
  end if;
  -- Migrations declare audit tracking and references (as the tables' owner).
  if to_regnamespace('audit') is not null then
    grant usage on schema audit, guard to registry_migrator;
    grant execute on function audit.enable_tracking(regclass), audit.enable_tracking(regclass, text[]),
                              audit.disable_tracking(regclass) to registry_migrator;
    -- registry_private.kpi_threshold_versions() reads the KPI versions with its owner's rights.
    grant select on audit.record_version to registry_migrator;
  end if;

  -- registry_syncer: rows, not structure.
  grant usage on schema public, registry_sync to registry_syncer;
  execute format('grant temporary on database %I to registry_syncer', current_database());
  for o in select unnest(array['business_glossary_terms', 'business_processes', 'principal_profiles', 'kpis',
                               'data_products', 'consulting_personas', 'council_presets',
                               'council_preset_members', 'registry_documents']) as t loop
    execute format('grant select, insert, update, delete on public.%I to registry_syncer', o.t);
    -- Every row of the tenant it selects: the restrictive tenant policy (where multi-tenancy is
    -- installed) still holds it to app.client_id.
    execute format('create policy registry_syncer_write on public.%I as permissive for all to registry_syncer using (true) with check (true)', o.t);
  end loop;
  grant execute on function public.principal_profiles_search_text(text, text, text, text[]) to registry_syncer;
  grant select, insert, update on registry_sync.sync_runs, registry_sync.watermarks, registry_sync.apply_state to registry_syncer;
  grant usage, select on sequence registry_sync.sync_runs_id_seq to registry_syncer;
  if to_regprocedure('audit.seal()') is not null then
    grant usage on schema audit to registry_syncer;
    grant execute on function audit.seal() to registry_syncer;
  end if;
end
$$;
