-- The roles row-level security is written for: Supabase's PostgREST roles (anon,
-- authenticated, service_role with BYPASSRLS) where they do not exist yet, i.e. on plain
-- PostgreSQL, so the same policies behave the same locally and on Supabase; and
-- registry_reader, the admin console's read-only role (ours, on every install).
-- Roles are cluster-wide: every creation is conditional, so running this again, or in a
-- second database of the same cluster, or on Supabase, changes nothing that exists.

do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'registry_reader') then
    create role registry_reader nologin noinherit;
  end if;
end
$$;

comment on role registry_reader is 'registry admin console: reads the registry tables (of the tenant it selects), writes nothing';

grant usage on schema public to anon, authenticated, service_role, registry_reader;
