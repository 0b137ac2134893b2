-- The security lints of Supabase's database linter (the dashboard's security advisor), as
-- documented per lint (name, level, what it looks at), re-implemented for our tests: one row
-- per finding (name | level | object). Lints that need Supabase services (auth config,
-- storage buckets, pgmq, pg_graphql) are left out. Run in a database where the roles anon and
-- authenticated exist.
with sys(nsp) as (
  select unnest(array['_timescaledb_internal', 'auth', 'cron', 'extensions', 'graphql', 'graphql_public',
                      'information_schema', 'net', 'pgmq', 'pgroonga', 'pgsodium', 'pgsodium_masks', 'pgtle',
                      'pgbouncer', 'pg_catalog', 'realtime', 'repack', 'storage', 'supabase_functions',
                      'supabase_migrations', 'tiger', 'topology', 'vault'])
), ext_member(classid, objid) as (
  select d.classid, d.objid from pg_catalog.pg_depend d where d.deptype = 'e'
), rel as (
  select c.oid, c.relname, c.relkind, c.relrowsecurity, n.nspname,
         format('%I.%I', n.nspname, c.relname) as name,
         lower(coalesce(c.reloptions::text, '{}'))::text[] && array['security_invoker=1', 'security_invoker=true',
                                                                   'security_invoker=yes', 'security_invoker=on'] as invoker,
         pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
           or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT') as api_select,
         exists (select from ext_member e where e.classid = 'pg_catalog.pg_class'::regclass and e.objid = c.oid) as in_extension
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname not in (select nsp from sys) and n.nspname !~ '^pg_(toast|temp_)'
), pol as (
  select p.*, r.name as relname, r.relrowsecurity, r.relkind, r.in_extension,
         replace(replace(lower(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')), ' ', ''), E'\n', '') as q,
         replace(replace(lower(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')), ' ', ''), E'\n', '') as wc,
         p.polroles = array[0::oid]
           or exists (select from unnest(p.polroles) o join pg_catalog.pg_roles ro on ro.oid = o
                       where ro.rolname in ('anon', 'authenticated')) as for_api
    from pg_catalog.pg_policy p join rel r on r.oid = p.polrelid
)
-- 0002 auth_users_exposed: a view over auth.users that API roles can read with its owner's rights
select 'auth_users_exposed' as name, 'ERROR' as level, r.name as object
  from rel r
 where r.relkind in ('v', 'm') and r.api_select
   and exists (select from pg_catalog.pg_rewrite rw join pg_catalog.pg_depend d on d.objid = rw.oid
                where rw.ev_class = r.oid and d.refobjid = to_regclass('auth.users'))
   and (r.relkind = 'm' or not r.invoker
        or not coalesce((select relrowsecurity from pg_catalog.pg_class where oid = to_regclass('auth.users')), false))
union all
-- 0007 policy_exists_rls_disabled
select distinct 'policy_exists_rls_disabled', 'ERROR', p.relname
  from pol p where p.relkind = 'r' and not p.relrowsecurity and not p.in_extension
union all
-- 0008 rls_enabled_no_policy
select 'rls_enabled_no_policy', 'INFO', r.name
  from rel r
 where r.relkind = 'r' and r.relrowsecurity and not r.in_extension
   and not exists (select from pg_catalog.pg_policy p where p.polrelid = r.oid)
union all
-- 0010 security_definer_view: a view API roles can read that runs with its owner's rights
select 'security_definer_view', 'ERROR', r.name
  from rel r where r.relkind = 'v' and r.api_select and not r.invoker and not r.in_extension
union all
-- 0011 function_search_path_mutable: search_path not pinned to ''
select 'function_search_path_mutable', 'WARN', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
 where n.nspname not in (select nsp from sys) and n.nspname !~ '^pg_'
   and not exists (select from ext_member e where e.classid = 'pg_catalog.pg_proc'::regclass and e.objid = p.oid)
   and not coalesce(p.proconfig, '{}') && array['search_path=""']
union all
-- 0013 rls_disabled_in_public: a table API roles can read without row-level security
select 'rls_disabled_in_public', 'ERROR', r.name
  from rel r where r.relkind = 'r' and not r.relrowsecurity and r.api_select
union all
-- 0014 extension_in_public
select 'extension_in_public', 'WARN', e.extname::text
  from pg_catalog.pg_extension e
 where e.extname <> 'plpgsql' and e.extnamespace = 'public'::regnamespace
union all
-- 0015 rls_references_user_metadata: user-editable metadata in a policy
select 'rls_references_user_metadata', 'ERROR', format('%s policy %s', p.relname, p.polname)
  from pol p where (p.q || ' ' || p.wc) like '%user_metadata%'
union all
-- 0016 materialized_view_in_api / 0017 foreign_table_in_api
select case r.relkind when 'm' then 'materialized_view_in_api' else 'foreign_table_in_api' end, 'WARN', r.name
  from rel r where r.relkind in ('m', 'f') and r.api_select and not r.in_extension
union all
-- 0023 sensitive_columns_exposed: API-readable table without RLS holding credential-like columns
select 'sensitive_columns_exposed', 'ERROR', r.name
  from rel r
 where r.relkind = 'r' and not r.relrowsecurity and r.api_select
   and exists (select from pg_catalog.pg_attribute a
                where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                  and a.attname ~* '(password|passwd|secret|api_key|token|ssn|credit_card|card_number|iban|national_id|tax_id)')
union all
-- 0024 rls_policy_always_true: an always-true write policy for anon / authenticated / PUBLIC
select 'rls_policy_always_true', 'WARN', format('%s policy %s', p.relname, p.polname)
  from pol p
 where p.relkind = 'r' and p.relrowsecurity and p.polpermissive and p.for_api
   and ((p.polcmd in ('w', 'd', '*') and (p.q in ('true', '(true)', '1=1', '(1=1)') or p.polqual is null))
        or p.wc in ('true', '(true)', '1=1', '(1=1)')
        or (p.polwithcheck is null and p.polcmd = 'a'))
union all
-- 0028 / 0029: a SECURITY DEFINER function anon / authenticated may execute
select r.rolname || '_security_definer_function_executable', 'WARN', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  cross join pg_catalog.pg_roles r
 where r.rolname in ('anon', 'authenticated') and p.prosecdef
   and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
   and n.nspname not in (select nsp from sys)
order by 1, 3;
