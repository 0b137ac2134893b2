-- Who may use what in the schemas audit, guard and registry_sync of a migrated database (role
-- names normalized: owner, PUBLIC; other roles by name). Output: one line per object.
CREATE FUNCTION pg_temp.who(grantee oid, owner oid) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN $1 = 0 THEN 'PUBLIC' WHEN $1 = $2 THEN 'owner' ELSE $1::regrole::text END
$$;
CREATE FUNCTION pg_temp.acl(acl aclitem[], owner oid, kind "char") RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(pg_temp.who(a.grantee, $2) || ':' || a.privilege_type, ', '
                    ORDER BY pg_temp.who(a.grantee, $2), a.privilege_type)
    FROM pg_catalog.aclexplode(coalesce($1, pg_catalog.acldefault($3, $2))) a
$$;
SELECT line FROM (
  SELECT 'schema ' || n.nspname || ': ' || pg_temp.acl(n.nspacl, n.nspowner, 'n') AS line
    FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('audit', 'guard', 'registry_sync')
  UNION ALL
  SELECT 'definer ' || p.oid::regprocedure::text || ': ' || pg_temp.acl(p.proacl, p.proowner, 'f')
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND p.prosecdef
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ': ' || pg_temp.acl(p.proacl, p.proowner, 'f')
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'registry_sync'
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ': ' ||
         pg_temp.acl(c.relacl, c.relowner, (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char")
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT 'column ' || c.oid::regclass::text || '.' || a.attname || ': ' || pg_temp.acl(a.attacl, c.relowner, 'c')
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND a.attacl IS NOT NULL
) l ORDER BY line COLLATE "C";
