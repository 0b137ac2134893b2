-- The RLS matrix over the migrated registry: every persona x every registry table x
-- select / insert / update / delete, as PostgREST runs them (SET ROLE + request.jwt.claims,
-- transaction-local). Each cell runs in a subtransaction that is rolled back, so every cell
-- sees the same data. Outcomes: select = visible rows per tenant; insert = ok / denied;
-- update / delete = rows affected or denied (privilege: no grant; policy: RLS WITH CHECK).
-- Then the operations row-level security does not filter (LOCK, TRUNCATE) or that lock rows
-- (SELECT ... FOR UPDATE), the tenant's view of kpi_threshold_history, and what a member reads
-- of a colleague's profile. (COPY runs outside a function: rls_matrix/copy_cells.sh.)
\pset footer off
create temp table persona (ord int, name text, role text, claims text, app_client_id text, tenant text);
insert into persona values
  (1, 'anon', 'anon', '{"role": "anon", "app_metadata": {"client_id": "acme"}}', null, 'acme'),
  (2, 'authenticated', 'authenticated',
      '{"sub": "c0000000-0000-4000-8000-00000000000c", "role": "authenticated", "app_metadata": {"client_id": "default"}}', null, 'default'),
  (3, 'service_role', 'service_role', '{"role": "service_role"}', null, 'acme'),
  (4, 'registry_reader', 'registry_reader', null, 'acme', 'acme'),
  (5, 'self-service (Ann, acme)', 'authenticated',
      '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "ann@acme.example", "app_metadata": {"client_id": "acme"}}', null, 'acme'),
  (6, 'tenant A (acme)', 'authenticated',
      '{"sub": "d0000000-0000-4000-8000-00000000000d", "role": "authenticated", "app_metadata": {"client_id": "acme"}}', null, 'acme'),
  (7, 'tenant B (globex)', 'authenticated',
      '{"sub": "e0000000-0000-4000-8000-00000000000e", "role": "authenticated", "app_metadata": {"client_id": "globex"}}', null, 'globex'),
  -- Ann's token without a tenant claim; app.client_id set by the caller is ignored for API roles.
  (8, 'no tenant', 'authenticated',
      '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated"}', 'acme', 'acme');

create temp table registry (ord int, name text, insert_sql text, update_sql text);
insert into registry values
  (1, 'business_glossary_terms', $$insert into public.business_glossary_terms (client_id, id, term) values (%L, 'new_term', 'New')$$,
      'update public.business_glossary_terms set updated_at = updated_at'),
  (2, 'business_processes', $$insert into public.business_processes (client_id, id, name, domain) values (%L, 'new_bp', 'New', 'Finance')$$,
      'update public.business_processes set updated_at = updated_at'),
  (3, 'principal_profiles', $$insert into public.principal_profiles (client_id, id, name) values (%L, 'new_principal', 'New')$$,
      $$update public.principal_profiles set preferences = '{"theme": "dark"}'$$),
  (4, 'kpis', $$insert into public.kpis (client_id, id, name, domain, data_product_id, business_process_ids) values (%L, 'new_kpi', 'New', 'Finance', 'dp_1', '{bp_fin}')$$,
      'update public.kpis set updated_at = updated_at'),
  (5, 'data_products', $$insert into public.data_products (client_id, id, name, domain, owner) values (%L, 'new_dp', 'New', 'Finance', 'Finance Team')$$,
      'update public.data_products set updated_at = updated_at'),
  (6, 'consulting_personas', $$insert into public.consulting_personas (client_id, id, name) values (%L, 'new_persona', 'New')$$,
      'update public.consulting_personas set updated_at = updated_at'),
  (7, 'council_presets', $$insert into public.council_presets (client_id, id, name) values (%L, 'new_preset', 'New')$$,
      'update public.council_presets set updated_at = updated_at'),
  (8, 'council_preset_members', $$insert into public.council_preset_members (client_id, preset_id, persona_id, position) values (%L, 'preset_1', 'persona_2', 2)$$,
      'update public.council_preset_members set updated_at = updated_at'),
  (9, 'registry_documents', $$insert into public.registry_documents (client_id, file, key, document) values (%L, 'new.yaml', 'k', '{}')$$,
      'update public.registry_documents set updated_at = updated_at');

-- Runs one statement as a persona and rolls it back; returns the outcome (or, with check_sql,
-- what that query sees right after the statement). Deferred constraints are checked at once.
create function pg_temp.cell(p persona, stmt text, kind text, check_sql text default null) returns text language plpgsql as $fn$
declare
  outcome text;
  n bigint;
begin
  begin
    perform set_config('request.jwt.claims', coalesce(p.claims, ''), true);
    perform set_config('app.client_id', coalesce(p.app_client_id, ''), true);
    set constraints all immediate;
    execute format('set local role %I', p.role);
    if kind = 'select' then
      execute stmt into outcome;
    else
      execute stmt;
      get diagnostics n = row_count;
      outcome := case when kind in ('insert', 'lock') then 'ok' else n || ' rows' end;
    end if;
    if check_sql is not null then
      execute check_sql into outcome;
    end if;
    raise exception using errcode = 'RGMX0', message = outcome;
  exception
    when sqlstate 'RGMX0' then
      return sqlerrm;
    when insufficient_privilege then
      return case when sqlerrm like 'new row violates row-level security%' then 'denied (policy)'
                  else 'denied (privilege)' end;
    when others then
      return 'error ' || sqlstate || ': ' || sqlerrm;
  end;
end
$fn$;

select p.name as persona, r.name as "table",
       pg_temp.cell(p, format($$select coalesce(string_agg(client_id || '=' || n, ' ' order by client_id), 'none')
                                 from (select client_id, count(*) n from public.%I group by 1) s$$, r.name), 'select') as "select",
       pg_temp.cell(p, format(r.insert_sql, p.tenant), 'insert') as "insert",
       pg_temp.cell(p, r.update_sql, 'update') as "update",
       pg_temp.cell(p, format('delete from public.%I', r.name), 'delete') as "delete"
  from persona p cross join registry r
 order by p.ord, r.ord;

-- Tenant A can neither read, nor write, nor reference tenant B's rows.
-- Writes: a role allowed everything by a permissive policy is still held to its own tenant
-- by the restrictive tenant policy.
create role rls_matrix_writer nologin;
grant usage on schema public to rls_matrix_writer;
grant select, insert, update, delete on public.business_glossary_terms to rls_matrix_writer;
create policy matrix_writer_all on public.business_glossary_terms for all to rls_matrix_writer using (true) with check (true);
create temp table writer_case (ord int, what text, stmt text, kind text);
insert into writer_case values
  (1, 'sees', $$select coalesce(string_agg(client_id || '=' || n, ' ' order by client_id), 'none') from (select client_id, count(*) n from public.business_glossary_terms group by 1) s$$, 'select'),
  (2, 'inserts into own tenant', $$insert into public.business_glossary_terms (client_id, id, term) values ('acme', 'w', 'W')$$, 'insert'),
  (3, 'inserts into tenant B', $$insert into public.business_glossary_terms (client_id, id, term) values ('globex', 'w', 'W')$$, 'insert'),
  (4, 'updates tenant B rows', $$update public.business_glossary_terms set term = 'x' where client_id = 'globex'$$, 'update'),
  (5, 'moves its row to tenant B', $$update public.business_glossary_terms set client_id = 'globex', id = 'moved' where client_id = 'acme'$$, 'update'),
  (6, 'deletes tenant B rows', $$delete from public.business_glossary_terms where client_id = 'globex'$$, 'delete'),
  (7, 'deletes everything it can', $$delete from public.business_glossary_terms$$, 'delete');
select w.what as "tenant A writer (app.client_id = acme)",
       pg_temp.cell(row(0, 'writer', 'rls_matrix_writer', null, 'acme', 'acme')::persona, w.stmt, w.kind) as outcome
  from writer_case w order by w.ord;
drop policy matrix_writer_all on public.business_glossary_terms;
revoke all on public.business_glossary_terms from rls_matrix_writer;
revoke usage on schema public from rls_matrix_writer;
drop role rls_matrix_writer;

-- References resolve within the tenant only, for every writer (service_role and the owner too);
-- deleting a process removes it (ON DELETE CASCADE) from its own tenant's arrays only.
create temp table reference_case (ord int, what text, stmt text, check_sql text);
insert into reference_case values
  (1, 'acme KPI naming an acme process', $$insert into public.kpis (client_id, id, name, domain, data_product_id, business_process_ids) values ('acme', 'k2', 'K', 'Finance', 'dp_1', '{bp_fin}')$$, null),
  (2, 'acme KPI naming a globex-only process', $$insert into public.kpis (client_id, id, name, domain, data_product_id, business_process_ids) values ('acme', 'k3', 'K', 'Finance', 'dp_1', '{bp_gx_only}')$$, null),
  (3, 'acme principal naming a globex-only process', $$update public.principal_profiles set business_process_ids = '{bp_fin,bp_gx_only}' where client_id = 'acme' and id = 'cfo'$$, null),
  (4, 'acme preset member: globex-only persona', $$insert into public.council_preset_members (client_id, preset_id, persona_id, position) values ('acme', 'preset_1', 'persona_gx', 3)$$, null),
  (5, 'delete acme bp_ops: KPI arrays are', $$delete from public.business_processes where client_id = 'acme' and id = 'bp_ops'$$,
      $$select string_agg(client_id || ' ' || id || ' ' || business_process_ids::text, ', ' order by client_id) from public.kpis$$),
  (6, 'delete globex bp_ops: KPI arrays are', $$delete from public.business_processes where client_id = 'globex' and id = 'bp_ops'$$,
      $$select string_agg(client_id || ' ' || id || ' ' || business_process_ids::text, ', ' order by client_id) from public.kpis$$);
select c.what as "service_role writes", regexp_replace(pg_temp.cell(row(0, 'service', 'service_role', '{"role": "service_role"}', null, 'acme')::persona,
                                                                   c.stmt, 'write', c.check_sql), E'\n.*', '') as outcome
  from reference_case c order by c.ord;

-- LOCK, SELECT ... FOR UPDATE and TRUNCATE per API role: row-level security filters none of
-- them, so only privileges decide. A lock in a mode that conflicts with ROW EXCLUSIVE (SHARE or
-- stronger) would stop every tenant's writers; ACCESS EXCLUSIVE every reader too.
create temp table lock_target (ord int, name text);
insert into lock_target select ord, name from registry;
insert into lock_target values (10, 'principal_directory'), (11, 'kpi_threshold_history');
select p.name as persona, l.name as "table",
       pg_temp.cell(p, format('lock table public.%I in access share mode', l.name), 'lock') as "lock access share",
       pg_temp.cell(p, format('lock table public.%I in row exclusive mode', l.name), 'lock') as "lock row exclusive",
       pg_temp.cell(p, format('lock table public.%I in share mode', l.name), 'lock') as "lock share",
       pg_temp.cell(p, format('lock table public.%I in access exclusive mode', l.name), 'lock') as "lock access exclusive",
       case when l.ord = 11 then 'n/a (view)'
            else pg_temp.cell(p, format('select 1 from public.%I for update', l.name), 'update') end as "select for update",
       case when l.ord = 11 then 'n/a (view)'
            else pg_temp.cell(p, format('truncate public.%I', l.name), 'lock') end as "truncate"
  from persona p cross join lock_target l
 where p.ord in (1, 3, 4, 5)
 order by p.ord, l.ord;

-- What a member reads of profiles: the own row in full, colleagues (same tenant) only through
-- the directory's columns, other tenants nothing.
select p.name as persona,
       pg_temp.cell(p, $$select coalesce(string_agg(client_id || '/' || id || ' ' || coalesce(email, '-') || ' ' || coalesce(employee_id, '-'), ', ' order by client_id, id), 'none') from public.principal_profiles$$, 'select') as "principal_profiles (email, employee id)",
       pg_temp.cell(p, $$select coalesce(string_agg(client_id || '/' || id || ' ' || name, ', ' order by client_id, id), 'none') from public.principal_directory$$, 'select') as "principal_directory (name)"
  from persona p order by p.ord;
select string_agg(column_name::text, ', ' order by ordinal_position) as "principal_directory columns"
  from information_schema.columns where table_schema = 'public' and table_name = 'principal_directory';
-- The directory follows every change of the profiles (by trigger and cascading key) in the same transaction.
create temp table directory_case (ord int, what text, stmt text);
insert into directory_case values
  (1, 'service_role renames Bob', $$update public.principal_profiles set name = 'Robert', email = 'robert@acme.example' where client_id = 'acme' and id = 'coo'$$),
  (2, 'service_role adds a profile', $$insert into public.principal_profiles (client_id, id, name, email) values ('acme', 'cto', 'Cy', 'cy@acme.example')$$),
  (3, 'service_role changes a key', $$update public.principal_profiles set id = 'chief_operations' where client_id = 'acme' and id = 'coo'$$),
  (4, 'service_role deletes a profile', $$delete from public.principal_profiles where client_id = 'acme' and id = 'coo'$$),
  (5, 'Ann edits her preferences', $$update public.principal_profiles set preferences = '{"theme": "dark"}'$$);
select c.what as "directory after", pg_temp.cell(case when c.ord = 5 then p5 else p3 end, c.stmt, 'write',
         $$select string_agg(client_id || '/' || id || ' ' || name || ' ' || status, ', ' order by client_id, id) from public.principal_directory where client_id = 'acme'$$) as acme
  from directory_case c, (select p from persona p where ord = 3) s3(p3), (select p from persona p where ord = 5) s5(p5)
 order by c.ord;
select count(*) as "directory rows differing from the profiles"
  from public.principal_profiles pp full join public.principal_directory d using (client_id, id)
 where d.id is null or pp.id is null or (pp.name, pp.title, pp.department, pp.status) is distinct from (d.name, d.title, d.department, d.status);

-- kpi_threshold_history through the API: each tenant sees its own KPIs' thresholds only.
update public.kpis set thresholds = jsonb_build_array(jsonb_build_object(
  'comparison_type', 'budget', 'green_threshold', 10, 'yellow_threshold', 5, 'red_threshold', 0));
select p.name as persona,
       pg_temp.cell(p, $$select coalesce(string_agg(client_id || '/' || kpi_id || ' ' || comparison_type || ' ' || green_threshold, ', ' order by client_id, kpi_id), 'none') from public.kpi_threshold_history where effective_to is null$$, 'select') as "kpi_threshold_history (in force)",
       pg_temp.cell(p, 'select count(*)::text from registry_private.kpi_threshold_versions()', 'select') as "its helper, called directly"
  from persona p order by p.ord;

-- Audit attribution per API role: each persona claims to be the sync daemon
-- (registry_guard.actor, registry_guard.sync_run_id of no running run, application_name) and
-- makes a write it is allowed to make; the version records what it could not claim apart
-- (claimed_attribution), never as the actor. Only db_role and session_role are facts.
create function pg_temp.attribution(p persona, stmt text) returns text language plpgsql as $fn$
declare
  before bigint;
  outcome text;
begin
  select coalesce(max(id), 0) into before from audit.record_version;
  begin
    perform set_config('request.jwt.claims', coalesce(p.claims, ''), true);
    perform set_config('app.client_id', coalesce(p.app_client_id, ''), true);
    perform set_config('registry_guard.actor', 'registry-sync apply', true);
    perform set_config('registry_guard.sync_run_id', '7', true);
    perform set_config('application_name', 'registry-sync', true);
    execute format('set local role %I', p.role);
    execute stmt;
    reset role;
    select coalesce(string_agg(format('%s: actor %s, sync run %s, application %s, db_role %s, claimed %s',
                                      table_name, coalesce(actor, '-'), coalesce(sync_run_id::text, '-'),
                                      coalesce(application_name, '-'), db_role,
                                      coalesce((select string_agg(k, ',' order by k) from jsonb_object_keys(claimed_attribution) k), '-')),
                               '; '), 'no version written')
      into outcome from audit.record_version where id > before;
    raise exception using errcode = 'RGMX0', message = outcome;
  exception
    when sqlstate 'RGMX0' then return sqlerrm;
    when insufficient_privilege then return 'denied: ' || sqlerrm;
    when others then return 'error ' || sqlstate || ': ' || sqlerrm;
  end;
end
$fn$;
select p.name as persona,
       pg_temp.attribution(p, case p.role
         when 'service_role' then $$update public.kpis set name = name || ' ' where client_id = 'acme'$$
         when 'authenticated' then $$update public.principal_profiles set preferences = '{"theme": "dark"}'$$
         else $$update public.kpis set name = name || ' '$$ end) as "claims to be registry-sync apply (run 7)"
  from persona p order by p.ord;
