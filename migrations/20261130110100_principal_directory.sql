-- What a signed-in principal reads of principal profiles (README "Who reads what of a profile"):
--   own profile (JWT sub = auth_user_id)   every column, in public.principal_profiles
--   colleagues of the same tenant          the directory columns only, in public.principal_directory:
--                                          name, title, first/last name, role, department,
--                                          description, responsibilities, business processes,
--                                          principal groups, status
--   admins (registry_reader, service_role) every column of every profile of their tenant
-- E-mail, employee id, manager, preferences, communication, filters, persona, permissions,
-- metadata and the HR/auth link columns are therefore never readable by a colleague. Before
-- this, a `USING (true)` read policy for authenticated let every member read all of them.
--
-- Column privileges cannot depend on the row (own vs colleague), and a view that reads other
-- members' rows would need its owner's rights; so the directory is a table of its own, kept
-- equal to principal_profiles by a trigger (same transaction) and a cascading foreign key
-- (deletes and key changes), with its own tenant isolation. API roles cannot write it.
--
-- registry-sync: requires-extension registry_guard

create schema if not exists registry_private;
revoke all on schema registry_private from public;
comment on schema registry_private is
  'registry helpers that public views and triggers run with their owner''s rights; no API role has USAGE';

create table public.principal_directory (
  client_id text not null,
  id text not null,
  name text not null,
  title text,
  first_name text,
  last_name text,
  role text,
  department text,
  description text,
  responsibilities text[],
  business_process_ids text[],
  principal_groups text[],
  status text not null,
  primary key (client_id, id),
  foreign key (client_id, id) references public.principal_profiles (client_id, id) on delete cascade on update cascade
);
comment on table public.principal_directory is
  'Directory columns of principal_profiles that tenant members may read of each other (kept by trigger; read-only for API roles)';

create function registry_private.principal_directory_sync()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.principal_directory as d
         (client_id, id, name, title, first_name, last_name, role, department, description,
          responsibilities, business_process_ids, principal_groups, status)
  values (new.client_id, new.id, new.name, new.title, new.first_name, new.last_name, new.role, new.department,
          new.description, new.responsibilities, new.business_process_ids, new.principal_groups, new.status)
  on conflict (client_id, id) do update
     set name = excluded.name, title = excluded.title, first_name = excluded.first_name,
         last_name = excluded.last_name, role = excluded.role, department = excluded.department,
         description = excluded.description, responsibilities = excluded.responsibilities,
         business_process_ids = excluded.business_process_ids, principal_groups = excluded.principal_groups,
         status = excluded.status;
  return null;
end
$$;
revoke all on function registry_private.principal_directory_sync() from public;
comment on function registry_private.principal_directory_sync() is
  'Trigger: copies the directory columns of a principal_profiles row into public.principal_directory';

-- Row triggers fire in name order after the foreign key's own cascade (RI_ConstraintTrigger_*),
-- so a key change has moved the directory row before it is refreshed.
create trigger principal_directory_sync
  after insert or update of client_id, id, name, title, first_name, last_name, role, department, description,
                            responsibilities, business_process_ids, principal_groups, status
  on public.principal_profiles
  for each row execute function registry_private.principal_directory_sync();

insert into public.principal_directory
       (client_id, id, name, title, first_name, last_name, role, department, description,
        responsibilities, business_process_ids, principal_groups, status)
select client_id, id, name, title, first_name, last_name, role, department, description,
       responsibilities, business_process_ids, principal_groups, status
  from public.principal_profiles;

-- The directory: members and the admin console read their tenant's entries; nobody writes.
select count(*) as statements from guard.rls_read_only('public.principal_directory', array['authenticated', 'registry_reader']);
select count(*) as statements from guard.rls_tenant_isolation('public.principal_directory');
revoke all on public.principal_directory from public, anon, authenticated, service_role, registry_reader;
grant select on public.principal_directory to authenticated, service_role, registry_reader;

-- principal_profiles: a member reads their own profile only (guard_self_service_read). The
-- service-write/authenticated-read template's policies go; service_role keeps writing through
-- a policy of its own (it also has BYPASSRLS on Supabase), registry_reader keeps reading.
select count(*) as statements from guard.rls_remove('public.principal_profiles', 'service_write_authenticated_read');
create policy principal_profiles_service_write on public.principal_profiles
  as permissive for all to service_role using (true) with check (true);
comment on policy principal_profiles_service_write on public.principal_profiles is
  'service_role reads and writes every profile of every tenant (the backend key)';
