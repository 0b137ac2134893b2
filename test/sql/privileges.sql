-- Privileges as a test: every SECURITY DEFINER function and every relation of the schemas audit,
-- guard and registry_sync (the last exists only where the migrations ran) with who may use it,
-- and every function PUBLIC may execute. A new grant or a new SECURITY DEFINER function changes
-- this list and must be reviewed. Role names are normalized (owner, PUBLIC) so that the result
-- does not depend on the installing superuser's name.
CREATE EXTENSION registry_guard;
CREATE FUNCTION pg_temp.who(grantee oid, owner oid) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN $1 = 0 THEN 'PUBLIC' WHEN $1 = $2 THEN 'owner' ELSE $1::regrole::text END
$$;
CREATE FUNCTION pg_temp.acl(acl aclitem[], owner oid, kind "char") RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(pg_temp.who(a.grantee, $2) || ':' || a.privilege_type, ', '
                    ORDER BY pg_temp.who(a.grantee, $2), a.privilege_type)
    FROM pg_catalog.aclexplode(coalesce($1, pg_catalog.acldefault($3, $2))) a
$$;

-- Schemas: no USAGE for PUBLIC.
SELECT n.nspname AS schema, pg_temp.acl(n.nspacl, n.nspowner, 'n') AS privileges
  FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('audit', 'guard', 'registry_sync') ORDER BY 1;

-- SECURITY DEFINER functions: none for PUBLIC.
SELECT p.oid::regprocedure AS function, pg_temp.acl(p.proacl, p.proowner, 'f') AS privileges
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND p.prosecdef
 ORDER BY p.oid::regprocedure::text COLLATE "C";
SELECT count(*) AS definer_functions_for_public
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND p.prosecdef
   AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE');

-- Functions PUBLIC may execute (SECURITY INVOKER: they run with the caller's rights; schema
-- USAGE is still needed to call them by name).
SELECT p.oid::regprocedure AS public_function
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('audit', 'guard', 'registry_sync')
   AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- Tables, views and sequences.
SELECT c.oid::regclass AS relation, c.relkind, pg_temp.acl(c.relacl, c.relowner, (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char") AS privileges
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
 ORDER BY c.oid::regclass::text COLLATE "C";
-- Column privileges.
SELECT c.oid::regclass AS relation, a.attname, pg_temp.acl(a.attacl, c.relowner, 'c') AS privileges
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND a.attacl IS NOT NULL
 ORDER BY c.oid::regclass::text COLLATE "C", a.attname;

DROP EXTENSION registry_guard;
