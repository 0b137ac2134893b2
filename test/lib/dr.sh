# Helpers for the disaster-recovery drills (source after pgcluster.sh; they use the PG* env).
#
#   dr_rows [psql args]   one line per table of the registry's schemas: "schema.table count md5",
#                         md5 over the rows' text in sorted order (what a restore must keep)
#   dr_security [args]    RLS flags, policies and grants (tables, schemas, functions), sorted;
#                         a default ACL is shown as what it grants (pg_dump omits default ACLs)
#   dr_seal_all [args]    seals until audit.verify() reports nothing unsealed
DR_SCHEMAS="'public','audit','guard','registry_sync','supabase_migrations'"

dr_rows() {
  psql -X -At -v ON_ERROR_STOP=1 "$@" <<SQL
SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(t::text, E''\\n'' ORDER BY t::text)), ''-'') FROM %I.%I t',
              n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname IN ($DR_SCHEMAS)
 ORDER BY n.nspname, c.relname
\gexec
SQL
}

dr_security() {
  psql -X -At -v ON_ERROR_STOP=1 "$@" <<SQL
SELECT 'schema ' || nspname || ' ' || coalesce(nspacl, acldefault('n', nspowner))::text FROM pg_catalog.pg_namespace
 WHERE nspname IN ($DR_SCHEMAS)
UNION ALL
SELECT 'table ' || n.nspname || '.' || c.relname || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
       || ' ' || coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname IN ($DR_SCHEMAS)
UNION ALL
SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' '
       || roles::text || ' ' || coalesce(qual, '-') || ' ' || coalesce(with_check, '-')
  FROM pg_catalog.pg_policies WHERE schemaname IN ($DR_SCHEMAS)
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text || ' ' || coalesce(p.proacl, acldefault('f', p.proowner))::text
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ($DR_SCHEMAS)
ORDER BY 1
SQL
}

dr_seal_all() {
  # A concurrent auto-ANALYZE holds a transaction id and makes audit.seal() wait for it.
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    psql -X -At -v ON_ERROR_STOP=1 "$@" -c "SELECT audit.seal()" >/dev/null || return 1
    [ "$(psql -X -At "$@" -c "SELECT unsealed FROM audit.verify()")" = 0 ] && return 0
    sleep 0.5
  done
  return 1
}
