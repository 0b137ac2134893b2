-- Every privilege the API roles (anon, authenticated, service_role, registry_reader) hold on
-- the registry's objects, one line per role and object: schemas (USAGE, CREATE), tables,
-- views and sequences (table-level privileges, then column-level ones as PRIV(col, ...)), and
-- functions they can execute (those the migrations made, and the extension's in schemas they
-- can use). Directly granted, through PUBLIC or through role membership alike.
\pset footer off
\pset tuples_only on
\pset format unaligned
\pset fieldsep ' | '
with api(oid, rolname) as (
  select oid, rolname from pg_catalog.pg_roles
   where rolname in ('anon', 'authenticated', 'service_role', 'registry_reader')
), nsp as (
  select oid, nspname from pg_catalog.pg_namespace
   where nspname in ('public', 'guard', 'audit', 'registry_sync', 'registry_private', 'supabase_migrations', 'extensions')
), ext_member(classid, objid) as (
  select d.classid, d.objid from pg_catalog.pg_depend d where d.deptype = 'e'
), schema_privs as (
  select a.rolname, 'schema ' || n.nspname as object,
         array_to_string(array_remove(array[
           case when pg_catalog.has_schema_privilege(a.oid, n.oid, 'USAGE') then 'USAGE' end,
           case when pg_catalog.has_schema_privilege(a.oid, n.oid, 'CREATE') then 'CREATE' end], null), ', ') as privs
    from api a cross join nsp n
), rels as (
  select c.oid, c.relkind, format('%s %I.%I', case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                                             when 'S' then 'sequence' when 'f' then 'foreign table'
                                                             else 'table' end, n.nspname, c.relname) as object
    from pg_catalog.pg_class c join nsp n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
), rel_privs as (
  select a.rolname, r.object,
         array_to_string(array(
           select p from unnest(case when r.relkind = 'S' then array['USAGE', 'SELECT', 'UPDATE']
                                     else array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] end)
                         with ordinality u(p, o)
            where case when r.relkind = 'S' then pg_catalog.has_sequence_privilege(a.oid, r.oid, p)
                       else pg_catalog.has_table_privilege(a.oid, r.oid, p) end
            order by o)
           || array(
           select p || '(' || string_agg(att.attname::text, ', ' order by att.attname) || ')'
             from unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) with ordinality u(p, o)
             join pg_catalog.pg_attribute att on att.attrelid = r.oid and att.attnum > 0 and not att.attisdropped
            where r.relkind <> 'S' and not pg_catalog.has_table_privilege(a.oid, r.oid, p)
              and pg_catalog.has_column_privilege(a.oid, r.oid, att.attnum, p)
            group by p, o order by o), ', ') as privs
    from api a cross join rels r
), fn_privs as (
  select a.rolname, format('function %I.%I(%s)', n.nspname, f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid)) as object,
         'EXECUTE' as privs
    from api a cross join pg_catalog.pg_proc f join nsp n on n.oid = f.pronamespace
   where pg_catalog.has_function_privilege(a.oid, f.oid, 'EXECUTE')
     and (not exists (select from ext_member e where e.classid = 'pg_catalog.pg_proc'::regclass and e.objid = f.oid)
          or pg_catalog.has_schema_privilege(a.oid, n.oid, 'USAGE'))
)
select rolname, object, privs from (
  select * from schema_privs union all select * from rel_privs union all select * from fn_privs) all_privs
 where privs <> ''
 order by rolname, object;
