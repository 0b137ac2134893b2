-- Multi-tenancy: every registry table gets client_id (text, NOT NULL, default 'default'), its
-- key becomes (client_id, <old key>), references resolve only within one tenant, and a
-- restrictive policy limits every role without BYPASSRLS to the request's tenant
-- (guard.client_id(): the JWT claim app_metadata.client_id for API roles, app.client_id for
-- trusted backend roles; no tenant = no rows).
--
-- A single-tenant install keeps working: its rows land in tenant 'default' (nothing is
-- dropped or rewritten but the key), registry-sync writes into 'default' unless told
-- otherwise, and API tokens carry app_metadata.client_id = 'default' (or a superuser sets
-- registry_guard.default_client_id for the database).
--
-- registry-sync: requires-extension registry_guard

-- 1. The column. Existing rows get the default tenant.
alter table public.business_glossary_terms add column if not exists client_id text not null default 'default';
alter table public.business_processes add column if not exists client_id text not null default 'default';
alter table public.principal_profiles add column if not exists client_id text not null default 'default';
alter table public.kpis add column if not exists client_id text not null default 'default';
alter table public.data_products add column if not exists client_id text not null default 'default';
alter table public.consulting_personas add column if not exists client_id text not null default 'default';
alter table public.council_presets add column if not exists client_id text not null default 'default';
alter table public.council_preset_members add column if not exists client_id text not null default 'default';
alter table public.registry_documents add column if not exists client_id text not null default 'default';

-- 2. Keys. The registry's array references (registry_references migration) rely on the old
-- keys: they are set aside here and re-declared tenant-scoped in step 3.
create temp table tenancy_references as
  select g.* from guard.reference g
   where g.tenant_column is null
     and g.source_table = any (array['public.business_glossary_terms', 'public.business_processes',
                                     'public.principal_profiles', 'public.kpis', 'public.data_products',
                                     'public.consulting_personas', 'public.council_presets',
                                     'public.council_preset_members', 'public.registry_documents']::regclass[]);
select guard.drop_reference(name) from tenancy_references order by name;

-- Foreign keys into the registry go first (they depend on the old keys); every key
-- becomes (client_id, old key columns), and so do the unique constraints.
do $$
declare
  c record;
  t text;
  cols text;
begin
  for c in select con.conname, con.conrelid::regclass as rel
             from pg_catalog.pg_constraint con
            where con.contype = 'f'
              and con.confrelid in ('public.council_presets'::regclass, 'public.consulting_personas'::regclass)
              and not exists (select from pg_catalog.pg_attribute a
                               where a.attrelid = con.conrelid and a.attnum = any (con.conkey) and a.attname = 'client_id') loop
    execute format('alter table %s drop constraint %I', c.rel, c.conname);
  end loop;

  foreach t in array array['business_glossary_terms', 'business_processes', 'principal_profiles', 'kpis',
                           'data_products', 'consulting_personas', 'council_presets',
                           'council_preset_members', 'registry_documents'] loop
    for c in select con.conname, con.contype,
                    (select string_agg(quote_ident(a.attname), ', ' order by k.ord)
                       from unnest(con.conkey) with ordinality k(attnum, ord)
                       join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as keycols
               from pg_catalog.pg_constraint con
              where con.conrelid = format('public.%I', t)::regclass and con.contype in ('p', 'u')
                and not exists (select from pg_catalog.pg_attribute a
                                 where a.attrelid = con.conrelid and a.attnum = any (con.conkey) and a.attname = 'client_id') loop
      execute format('alter table public.%I drop constraint %I', t, c.conname);
      if c.contype = 'p' then
        execute format('alter table public.%I add primary key (client_id, %s)', t, c.keycols);
      else
        execute format('alter table public.%I add unique (client_id, %s)', t, c.keycols);
      end if;
    end loop;
  end loop;
end
$$;

-- A preset's members are that tenant's personas: composite foreign keys.
alter table public.council_preset_members
  add constraint council_preset_members_preset_fkey foreign key (client_id, preset_id)
    references public.council_presets (client_id, id) on delete cascade on update cascade,
  add constraint council_preset_members_persona_fkey foreign key (client_id, persona_id)
    references public.consulting_personas (client_id, id) on delete restrict on update cascade;

create index if not exists council_preset_members_tenant_persona_idx
  on public.council_preset_members (client_id, persona_id);

-- HR employee numbers are unique per tenant (each client has its own HR system).
drop index if exists public.principal_profiles_employee_id_key;
create unique index principal_profiles_employee_id_key
  on public.principal_profiles (client_id, employee_id) where employee_id is not null;

-- 3. Array references (registry_guard element-wise foreign keys, declared by the
-- registry_references migration) become tenant-scoped: an element must name a process of the
-- same tenant, and deleting a process cascades into its own tenant's arrays only. Each is
-- re-declared with the same options; kpis.data_product_id stays report-only. Existing
-- violations do not block the migration: the reference then stays NOT VALID with a warning.
do $$
declare
  r record;
begin
  for r in select * from tenancy_references order by name loop
    perform guard.add_reference(r.name, r.source_table, r.source_column, r.target_table, r.target_column,
                                r.on_delete, r.on_update, r.is_deferrable, r.initially_deferred,
                                not_valid => true, report_only => r.report_only,
                                tenant_column => 'client_id', target_tenant_column => 'client_id');
    continue when r.report_only;
    begin
      perform guard.validate_reference(r.name);
    exception when foreign_key_violation then
      raise warning 'reference %: existing rows name elements missing in their tenant; new writes are checked, existing ones are not', r.name
        using hint = format('SELECT * FROM guard.validate_references(%L) lists them; fix them, then SELECT guard.validate_reference(%L).',
                            r.name, r.name);
    end;
  end loop;
end
$$;
drop table tenancy_references;

-- 4. Tenant isolation on every registry table (restrictive: ANDed with the read/write policies).
select t, count(*) as statements
  from unnest(array['public.business_glossary_terms', 'public.business_processes', 'public.principal_profiles',
                    'public.kpis', 'public.data_products', 'public.consulting_personas', 'public.council_presets',
                    'public.council_preset_members', 'public.registry_documents']) t,
       guard.rls_tenant_isolation(t::regclass) s
 group by t order by t;
