-- Every lint of category SECURITY in Supabase's database linter (splinter, the query behind the
-- dashboard's security advisor), re-implemented in our own SQL with the same conditions, one row
-- per finding: name | level | object. Written from splinter's lint definitions (0002 ... 0030);
-- not a copy of them. What "the same conditions" means here:
--  * "API roles" are anon and authenticated (service_role is not considered, as in splinter);
--  * "exposed" schemas are those in pgrst.db_schemas as seen by this session, comma separated
--    and trimmed, 'public' when unset. The dashboard sets it (SET LOCAL) to the project's
--    exposed schemas before it runs the lints; test/suites/rls_matrix_supabase.sh sets it to the
--    value PostgREST reads (the authenticator role's setting);
--  * Supabase's own schemas (the list below) are skipped where splinter skips them, and objects
--    that belong to an extension where splinter skips those;
--  * policy expressions are read as pg_policies renders them with search_path = '' (so
--    functions are schema-qualified), case-sensitively where splinter matches with LIKE.
-- Sets search_path to '' for the session, as splinter does; run it in a session of its own or
-- in a transaction that is rolled back:
--   BEGIN; SET LOCAL pgrst.db_schemas = 'public, graphql_public'; \i this file; ROLLBACK;
-- The roles anon and authenticated must exist. The performance lints (0001, 0003 - 0006, 0009,
-- 0020) are not security findings and are left out.
set search_path = '';
with supa(nsp) as (
  select unnest(array['_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal',
                      'auth', 'cron', 'extensions', 'graphql', 'graphql_public', 'information_schema', 'net', 'pgmq',
                      'pgroonga', 'pgsodium', 'pgsodium_masks', 'pgtle', 'pgbouncer', 'pg_catalog', 'realtime',
                      'repack', 'storage', 'supabase_functions', 'supabase_migrations', 'tiger', 'topology', 'vault'])
), exposed(nsp) as (
  select pg_catalog.btrim(s)
    from pg_catalog.unnest(pg_catalog.string_to_array(
           coalesce(pg_catalog.current_setting('pgrst.db_schemas', true), 'public'), ',')) s
), api(rolname) as (
  values ('anon'), ('authenticated')
), rel as (
  select c.oid, c.relname, c.relkind, c.relrowsecurity, n.nspname,
         pg_catalog.format('%s.%s', n.nspname, c.relname) as name,
         n.nspname in (select nsp from supa) as supabase_schema,
         n.nspname in (select nsp from exposed) as exposed,
         pg_catalog.lower(coalesce(c.reloptions::text, '{}'))::text[]
           && array['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'] as invoker,
         pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
           or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT') as api_select,
         exists (select from pg_catalog.pg_depend d
                  where d.objid = c.oid and d.deptype = 'e' and d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass) as in_extension
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
), pol as (
  select r.name as relname, r.nspname, r.relrowsecurity, r.relkind, r.supabase_schema, p.polname, p.polpermissive,
         p.polroles, p.polcmd, v.qual, v.with_check,
         -- lower case, no blanks, tabs or newlines
         pg_catalog.translate(pg_catalog.lower(coalesce(v.qual, '')), E' \n\t', '') as q,
         pg_catalog.translate(pg_catalog.lower(coalesce(v.with_check, '')), E' \n\t', '') as wc,
         p.polroles = array[0::oid]
           or exists (select from pg_catalog.unnest(p.polroles) o
                       where o::pg_catalog.regrole::text in (select rolname from api)) as for_api
    from pg_catalog.pg_policy p
    join rel r on r.oid = p.polrelid
    join pg_catalog.pg_policies v on v.schemaname = r.nspname and v.tablename = r.relname and v.policyname = p.polname
), fn as (
  select p.oid, p.prosecdef, p.proconfig, n.nspname,
         pg_catalog.format('%s.%s(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) as name,
         n.nspname in (select nsp from supa) as supabase_schema,
         n.nspname in (select nsp from exposed) as exposed,
         exists (select from pg_catalog.pg_depend d
                  where d.objid = p.oid and d.deptype = 'e' and d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass) as in_extension
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
), findings(name, level, object) as (
  -- 0002 auth_users_exposed: an exposed view or materialized view over auth.users that API roles
  -- can read and that does not apply auth.users' row-level security for the caller
  select 'auth_users_exposed', 'ERROR', r.name
    from rel r
   where r.exposed and r.api_select and r.relname <> '0002_auth_users_exposed'
     and exists (select from pg_catalog.pg_rewrite rw
                   join pg_catalog.pg_depend d on d.objid = rw.oid and d.deptype = 'n'
                   join pg_catalog.pg_class au on au.oid = d.refobjid
                   join pg_catalog.pg_namespace an on an.oid = au.relnamespace
                  where rw.ev_class = r.oid and an.nspname = 'auth' and au.relname = 'users'
                    and (r.relkind = 'm' or (r.relkind = 'v' and (not r.invoker or not au.relrowsecurity))))
  union all
  -- 0007 policy_exists_rls_disabled
  select distinct 'policy_exists_rls_disabled', 'ERROR', r.name
    from rel r join pg_catalog.pg_policy p on p.polrelid = r.oid
   where r.relkind = 'r' and not r.supabase_schema and not r.relrowsecurity and not r.in_extension
  union all
  -- 0008 rls_enabled_no_policy
  select 'rls_enabled_no_policy', 'INFO', r.name
    from rel r
   where r.relkind = 'r' and not r.supabase_schema and r.relrowsecurity and not r.in_extension
     and not exists (select from pg_catalog.pg_policy p where p.polrelid = r.oid)
  union all
  -- 0010 security_definer_view (security_invoker exists from PostgreSQL 15 on; the major
  -- version is compared as text, as splinter does)
  select 'security_definer_view', 'ERROR', r.name
    from rel r
   where r.relkind = 'v' and r.api_select and r.exposed and not r.supabase_schema and not r.in_extension
     and not r.invoker and substring(pg_catalog.version() from 'PostgreSQL ([0-9]+)') >= '15'
  union all
  -- 0011 function_search_path_mutable: no search_path setting at all (LIKE as in splinter)
  select 'function_search_path_mutable', 'WARN', f.name
    from fn f
   where not f.supabase_schema and not f.in_extension
     and not exists (select from pg_catalog.unnest(coalesce(f.proconfig, '{}')) s where s like 'search_path=%')
  union all
  -- 0013 rls_disabled_in_public: an exposed table API roles can read without row-level security
  select 'rls_disabled_in_public', 'ERROR', r.name
    from rel r where r.relkind = 'r' and not r.relrowsecurity and r.api_select and r.exposed and not r.supabase_schema
  union all
  -- 0014 extension_in_public
  select 'extension_in_public', 'WARN', e.extname::text
    from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
   where e.extname <> 'plpgsql' and n.nspname = 'public'
  union all
  -- 0015 rls_references_user_metadata: user-editable metadata of the token in a policy
  select 'rls_references_user_metadata', 'ERROR', pg_catalog.format('%s policy %s', p.relname, p.polname)
    from pol p
   where not p.supabase_schema
     and (p.qual like '%auth.jwt()%user_metadata%' or p.qual like '%current_setting(%request.jwt.claims%)%user_metadata%'
          or p.with_check like '%auth.jwt()%user_metadata%'
          or p.with_check like '%current_setting(%request.jwt.claims%)%user_metadata%')
  union all
  -- 0016 materialized_view_in_api / 0017 foreign_table_in_api
  select case r.relkind when 'm' then 'materialized_view_in_api' else 'foreign_table_in_api' end, 'WARN', r.name
    from rel r
   where r.relkind in ('m', 'f') and r.api_select and r.exposed and not r.supabase_schema and not r.in_extension
  union all
  -- 0018 unsupported_reg_types: reg* columns that pg_upgrade cannot carry over
  select 'unsupported_reg_types', 'WARN', pg_catalog.format('%s.%s', r.name, a.attname)
    from rel r
    join pg_catalog.pg_attribute a on a.attrelid = r.oid
    join pg_catalog.pg_type t on t.oid = a.atttypid
    join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
   where tn.nspname = 'pg_catalog' and r.nspname not in ('pg_catalog', 'information_schema', 'pgsodium')
     and t.typname in ('regcollation', 'regconfig', 'regdictionary', 'regnamespace', 'regoper', 'regoperator',
                       'regproc', 'regprocedure')
  union all
  -- 0019 insecure_queue_exposed_in_api: a pgmq queue table readable by API roles without
  -- row-level security while pgmq_public is exposed (splinter's relkind list is 'r' and 'I')
  select 'insecure_queue_exposed_in_api', 'ERROR', r.name
    from rel r
   where r.relkind in ('r', 'I') and not r.relrowsecurity and r.api_select and r.nspname = 'pgmq'
     and r.relname like 'q_%' and 'pgmq_public' in (select nsp from exposed)
  union all
  -- 0021 fkey_to_auth_unique: a foreign key to a unique (not primary) key of an auth table
  select 'fkey_to_auth_unique', 'ERROR', pg_catalog.format('%s constraint %s', r.name, c.conname)
    from pg_catalog.pg_constraint c
    join rel r on r.oid = c.conrelid
    join rel target on target.oid = c.confrelid
    join pg_catalog.pg_index i on i.indexrelid = c.conindid
   where c.contype = 'f' and target.nspname = 'auth' and i.indisunique and not i.indisprimary
  union all
  -- 0022 extension_versions_outdated
  select 'extension_versions_outdated', 'WARN', pg_catalog.format('%s %s (default %s)', x.name, x.installed_version, x.default_version)
    from pg_catalog.pg_available_extensions x
    join pg_catalog.pg_available_extension_versions v on v.name = x.name and v.installed
   where x.installed_version is not null and x.default_version is not null and x.installed_version <> x.default_version
  union all
  -- 0023 sensitive_columns_exposed: an exposed table without row-level security that API roles
  -- can read, with a column whose whole name (lower case, '-' as '_') is a sensitive word
  select 'sensitive_columns_exposed', 'ERROR', r.name
    from rel r
   where r.relkind = 'r' and r.api_select and r.exposed and not r.supabase_schema and not r.relrowsecurity
     and exists (
       select from pg_catalog.pg_attribute a
        where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
          and pg_catalog.replace(pg_catalog.lower(a.attname), '-', '_') = any (array[
            'password', 'passwd', 'pwd', 'passphrase', 'secret', 'secret_key', 'private_key', 'api_key', 'apikey',
            'auth_key', 'token', 'jwt', 'access_token', 'refresh_token', 'oauth_token', 'session_token',
            'bearer_token', 'auth_code', 'session_id', 'session_key', 'session_secret', 'recovery_code',
            'backup_code', 'verification_code', 'otp', 'two_factor', '2fa_secret', '2fa_code',
            'ssn', 'social_security', 'social_security_number', 'driver_license', 'drivers_license',
            'license_number', 'passport_number', 'passport_id', 'national_id', 'tax_id',
            'credit_card', 'card_number', 'cvv', 'cvc', 'cvn', 'bank_account', 'account_number',
            'routing_number', 'iban', 'swift_code', 'bic',
            'health_record', 'medical_record', 'patient_id', 'insurance_number', 'health_insurance',
            'medical_insurance', 'treatment',
            'mac_address', 'macaddr', 'imei', 'device_uuid',
            'pgp_key', 'gpg_key', 'ssh_key', 'certificate', 'license_key', 'activation_key',
            'facial_recognition']))
  union all
  -- 0024 rls_policy_always_true: a permissive policy for PUBLIC / anon / authenticated on a table
  -- with row-level security whose write side holds for every row (USING (true) on SELECT alone
  -- is allowed)
  select 'rls_policy_always_true', 'WARN', pg_catalog.format('%s policy %s', p.relname, p.polname)
    from pol p
   where p.relkind = 'r' and not p.supabase_schema and p.relrowsecurity and p.polpermissive and p.for_api
     and ((p.polcmd in ('w', 'd', '*') and (p.q in ('true', '(true)', '1=1', '(1=1)') or p.qual is null))
          or p.wc in ('true', '(true)', '1=1', '(1=1)')
          or (p.with_check is null and p.polcmd = 'a')
          or (p.with_check is null and p.polcmd in ('w', '*') and p.q in ('true', '(true)', '1=1', '(1=1)')))
  union all
  -- 0025 public_bucket_allows_listing: a public storage bucket whose objects a broad SELECT
  -- policy lets clients list (storage.buckets is read only where it exists)
  select 'public_bucket_allows_listing', 'WARN', 'storage bucket ' || b.id
    from pg_catalog.unnest(case when pg_catalog.to_regclass('storage.buckets') is null then array[]::pg_catalog.xml[]
                                else pg_catalog.xpath('/table/row/id/text()', pg_catalog.query_to_xml(
                                       'select id from storage.buckets where public order by id', false, false, ''))
                           end) x(node)
    cross join lateral (select x.node::text as id) b
   where exists (
     select from pg_catalog.pg_policies v
      where v.schemaname = 'storage' and v.tablename = 'objects' and v.cmd in ('SELECT', 'ALL')
        and v.permissive = 'PERMISSIVE' and v.roles && array['public', 'anon', 'authenticated']::name[]
        and (v.qual is null
             or pg_catalog.translate(pg_catalog.lower(v.qual), E' \n\t', '') in ('true', '(true)', '1=1', '(1=1)')
             or (pg_catalog.regexp_match(v.qual, $re$\A\s*\(*\s*bucket_id\s*=\s*('(?:[^']|'')*')(\s*::\s*[[:alnum:]_\.]+)?\s*\)*\s*\Z$re$, 'i'))[1]
                = '''' || pg_catalog.replace(b.id, '''', '''''') || ''''))
  union all
  -- 0026 / 0027 pg_graphql_{anon,authenticated}_table_exposed: with pg_graphql installed, a
  -- relation of which the role may select any column is visible in the GraphQL schema
  select 'pg_graphql_' || a.rolname || '_table_exposed', 'WARN', r.name
    from rel r cross join api a
   where exists (select from pg_catalog.pg_extension where extname = 'pg_graphql')
     and r.relkind in ('r', 'v', 'm', 'f') and not r.supabase_schema
     and exists (select from pg_catalog.pg_attribute at
                  where at.attrelid = r.oid and at.attnum > 0 and not at.attisdropped
                    and pg_catalog.has_column_privilege(a.rolname, r.oid, at.attnum, 'SELECT'))
  union all
  -- 0028 / 0029 {anon,authenticated}_security_definer_function_executable: in an exposed schema
  select a.rolname || '_security_definer_function_executable', 'WARN', f.name
    from fn f cross join api a
   where f.prosecdef and f.exposed and not f.supabase_schema
     and pg_catalog.has_function_privilege(a.rolname, f.oid, 'EXECUTE')
  union all
  -- 0030 rls_policy_null_auth_disjunct: a permissive read policy for PUBLIC / anon /
  -- authenticated whose USING is "<auth value> IS NULL OR ..." at its top level
  select 'rls_policy_null_auth_disjunct', 'WARN', pg_catalog.format('%s policy %s', t.relname, t.polname)
    from (
      select p.relname, p.polname, s.marked,
             -- the top level of the expression: nested parentheses removed, six levels deep
             pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
               pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
                 s.marked, '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g'),
               '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g') as top
        from pol p
        cross join lateral (
          -- the null tests of a nullable auth value become one marker word, the remaining auth
          -- calls a word without parentheses, and the outer parentheses of the deparsed
          -- expression go
          select pg_catalog.regexp_replace(pg_catalog.regexp_replace(
                   pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
                     p.q,
                     'not\((auth\.(uid|jwt|role)\(\)|current_setting\([^)]*,true\))isnotnull\)', 'xnullchkx', 'g'),
                     '(auth\.(uid|jwt|role)\(\)|current_setting\([^)]*,true\))isnull', 'xnullchkx', 'g'),
                     'current_setting\([^)]*\)', 'fff', 'g'),
                     'auth\.(uid|jwt|role)\(\)', 'fff', 'g'),
                   '^\(', ''), '\)$', '') as marked
        ) s
       where p.relkind = 'r' and not p.supabase_schema and p.relrowsecurity and p.polpermissive and p.for_api
         and p.polcmd in ('r', '*')
    ) t
   where t.top ~ 'or' and t.top !~ 'and' and t.marked ~ '(^|or)\(xnullchkx\)($|or)'
)
select name, level, object from findings order by 1, 3;
