# Helpers for the disaster-recovery drills (source after pgcluster.sh; they use the PG* env).
#
#   dr_rows [psql args]   one line per table of the registry's schemas: "schema.table count md5",
#                         md5 over the rows' text in sorted order (what a restore must keep)
#   dr_security [args]    RLS flags, policies and grants (tables, schemas, functions), sorted;
#                         a default ACL is shown as what it grants (pg_dump omits default ACLs)
#   dr_seal_all [args]    seals until audit.verify() reports nothing unsealed
#   dr_pgbackrest_init W  pgBackRest for the running pgc cluster as shipped (config/pgbackrest, paths
#                         under W; repository passphrase in W/etc/conf.d), archiving on, server
#                         restarted; exports PGBACKREST_CONFIG_PATH
DR_SCHEMAS="'public','audit','guard','registry_sync','registry_private','supabase_migrations'"

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

dr_pgbackrest_init() {
  local w=$1 repo=${PGC_REPO:-.}
  mkdir -p "$w/etc/conf.d" "$w/repo" "$w/spool" "$w/log" "$w/lock" || return 1
  sed -e "s|^repo1-path=.*|repo1-path=$w/repo|" -e "s|^spool-path=.*|spool-path=$w/spool|" \
      -e "s|^log-path=.*|log-path=$w/log|" -e "s|^lock-path=.*|lock-path=$w/lock|" \
      -e "s|^pg1-path=.*|pg1-path=$PGC_ROOT/run/data|" -e "s|^pg1-socket-path=.*|pg1-socket-path=$PGHOST|" \
      -e "s|^pg1-port=.*|pg1-port=$PGPORT|" "$repo/config/pgbackrest/pgbackrest.conf" >"$w/etc/pgbackrest.conf"
  printf '[global]\nrepo1-cipher-pass=%s\n' "$(head -c 48 /dev/urandom | base64 -w0)" >"$w/etc/conf.d/cipher.conf"
  chmod 600 "$w/etc/conf.d/cipher.conf"
  [ "$(id -u)" = 0 ] && chown -R postgres "$w/etc" "$w/repo" "$w/spool" "$w/log" "$w/lock"
  export PGBACKREST_CONFIG_PATH=$w/etc
  sed "s|pgbackrest --stanza|pgbackrest --config-path=$w/etc --stanza|" "$repo/config/pgbackrest/postgresql-archive.conf" \
    >>"$PGC_ROOT/run/data/postgresql.conf"
  pgc_restart
}
