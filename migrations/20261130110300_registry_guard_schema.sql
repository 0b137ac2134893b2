-- The registry_guard extension's schema: `extensions`, as on Supabase, instead of public.
--
-- The extension's objects live in its own schemas (audit, guard), but CREATE EXTENSION without
-- a schema records the first schema of search_path, public, as the extension's schema, and
-- Supabase's linter (extension_in_public) reads exactly that (pg_extension.extnamespace). The
-- extension is not relocatable (ALTER EXTENSION SET SCHEMA would move audit and guard too), so:
-- - new installs: create it first, as a superuser, with
--     CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION registry_guard WITH SCHEMA extensions;
--   (then the registry_guard_extension migration changes nothing);
-- - databases where it was recorded in public: a superuser running this migration re-records
--   it in `extensions`, after checking that none of its objects lives in public (so nothing
--   moves and nothing else changes; pg_dump then writes WITH SCHEMA extensions). Another role
--   gets a warning with the statement to run.
--
-- registry-sync: requires-extension registry_guard

create schema if not exists extensions;

do $$
declare
  ext oid;
  stray text;
begin
  select e.oid into ext from pg_catalog.pg_extension e
   where e.extname = 'registry_guard' and e.extnamespace = 'public'::regnamespace;
  if ext is null then
    return;  -- already elsewhere
  end if;
  select string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ') into stray
    from pg_catalog.pg_depend d
   where d.refclassid = 'pg_catalog.pg_extension'::regclass and d.refobjid = ext and d.deptype = 'e'
     and (pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid)).schema = 'public';
  if stray is not null then
    raise exception 'registry_guard has objects in schema public (%): it cannot be re-recorded in schema extensions', stray
      using hint = 'These are not made by registry_guard''s install scripts; move or drop them, then migrate again.';
  end if;
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    raise warning 'extension registry_guard is recorded in schema public (Supabase''s linter reports extension_in_public); only a superuser can record it in schema extensions'
      using hint = 'As a superuser: UPDATE pg_catalog.pg_extension SET extnamespace = ''extensions''::regnamespace WHERE extname = ''registry_guard''; UPDATE pg_catalog.pg_depend SET refobjid = ''extensions''::regnamespace WHERE classid = ''pg_catalog.pg_extension''::regclass AND objid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = ''registry_guard'') AND refclassid = ''pg_catalog.pg_namespace''::regclass;';
    return;
  end if;
  update pg_catalog.pg_extension set extnamespace = 'extensions'::regnamespace where oid = ext;
  update pg_catalog.pg_depend set refobjid = 'extensions'::regnamespace
   where classid = 'pg_catalog.pg_extension'::regclass and objid = ext
     and refclassid = 'pg_catalog.pg_namespace'::regclass and refobjid = 'public'::regnamespace;
end
$$;
