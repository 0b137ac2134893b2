
-- ==== row-level security helpers (schema guard) ====
-- Policies call these helpers without USAGE on schema guard (names are resolved when the policy
-- is created). To call them directly from API roles (e.g. in SECURITY INVOKER functions behind
-- PostgREST), GRANT USAGE ON SCHEMA guard to those roles; guard.rls_report() then also checks
-- what else in schema guard they can reach.
-- Claim helpers (extension/rls/rls_claims.cpp). STABLE: they read settings that do not change within
-- a statement; PARALLEL SAFE: workers receive the leader's settings and role. Each returns NULL
-- when its source is unset or empty, so a policy comparing with it fails closed; malformed
-- request.jwt.claims raises an error.
CREATE FUNCTION guard.uid() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_uid';
COMMENT ON FUNCTION guard.uid() IS
  'JWT sub as uuid (legacy request.jwt.claim.sub first, then request.jwt.claims); NULL when absent or not a UUID';
CREATE FUNCTION guard.role() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_role';
COMMENT ON FUNCTION guard.role() IS 'JWT role claim (legacy request.jwt.claim.role first); NULL when absent';
CREATE FUNCTION guard.email() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_email';
COMMENT ON FUNCTION guard.email() IS 'JWT email claim (legacy request.jwt.claim.email first); NULL when absent';
CREATE FUNCTION guard.jwt() RETURNS jsonb
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_jwt';
COMMENT ON FUNCTION guard.jwt() IS 'request.jwt.claims as jsonb; NULL when unset';
CREATE FUNCTION guard.claim(path text) RETURNS text
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_claim';
COMMENT ON FUNCTION guard.claim(text) IS
  'Claim at a dotted path of request.jwt.claims (e.g. app_metadata.client_id, groups.0) as text; NULL when absent';
CREATE FUNCTION guard.client_id() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_client_id';
COMMENT ON FUNCTION guard.client_id() IS
  'Tenant of the request: app.client_id for trusted roles, else JWT app_metadata.client_id, else registry_guard.default_client_id; NULL when none';
CREATE FUNCTION guard.tenant_source() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_tenant_source';
COMMENT ON FUNCTION guard.tenant_source() IS
  'Where guard.client_id() came from: app.client_id, jwt, default, or NULL';
CREATE FUNCTION guard.api_roles() RETURNS text[]
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_api_roles';
COMMENT ON FUNCTION guard.api_roles() IS
  'Roles of registry_guard.api_roles: their tenant comes only from the JWT, and rls_report checks what they can reach';
CREATE FUNCTION guard.claims_cache_stats(OUT parses bigint, OUT resolves bigint)
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_claims_cache_stats';
COMMENT ON FUNCTION guard.claims_cache_stats() IS
  'This backend''s count of request.jwt.claims parses (one per distinct value) and claim resolutions (one per settings change)';
CREATE FUNCTION guard.uncached_calls(expr pg_node_tree) RETURNS text[]
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_uncached_calls';
COMMENT ON FUNCTION guard.uncached_calls(pg_node_tree) IS
  'Costly calls with constant arguments that a policy expression evaluates once per row (not in a sub-select)';

-- Policy templates. Each applies one access pattern to one table in one call and returns the
-- statements (dry_run => only returns them). Policies a template makes are marked by their
-- comment, so re-applying drops and recreates exactly those and leaves other policies alone.
CREATE FUNCTION guard.rls_apply_statements(target regclass, template text, policies text[], statements text[],
                                           dry_run boolean)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  marker constant text := 'registry_guard template ' || template;
  rel text;
  plan text[] := '{}';
  stmt text;
  clash text;
BEGIN
  SELECT format('%I.%I', n.nspname, c.relname) INTO rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
  SELECT p.polname INTO clash FROM pg_policy p
   WHERE p.polrelid = target AND p.polname = ANY (policies)
     AND obj_description(p.oid, 'pg_policy') IS DISTINCT FROM marker LIMIT 1;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: policy "%" on % exists and was not made by template %', clash, rel, template
      USING HINT = 'Rename or drop that policy, then apply the template again.';
  END IF;
  SELECT coalesce(array_agg(format('DROP POLICY %I ON %s', p.polname, rel) ORDER BY p.polname), '{}') INTO plan
    FROM pg_policy p WHERE p.polrelid = target AND obj_description(p.oid, 'pg_policy') = marker;
  plan := plan || statements;
  FOREACH stmt IN ARRAY plan LOOP
    IF NOT dry_run THEN
      EXECUTE stmt;
    END IF;
    RETURN NEXT stmt || ';';
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION guard.rls_apply_statements(regclass, text, text[], text[], boolean) IS
  'Runs (or with dry_run lists) a policy template''s statements after dropping the policies it made before';

CREATE FUNCTION guard.rls_relation_name(target regclass) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = target
$fn$;

CREATE FUNCTION guard.rls_require_roles(roles text[]) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  missing text;
BEGIN
  SELECT string_agg(r, ', ') INTO missing FROM unnest(roles) r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: role(s) % do not exist', missing
      USING HINT = 'Run the roles migration (anon, authenticated, service_role, registry_reader) first.';
  END IF;
END
$fn$;

CREATE FUNCTION guard.rls_service_write_authenticated_read(target regclass, dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template service_write_authenticated_read');
  update_cols text;
BEGIN
  PERFORM guard.rls_require_roles(ARRAY['anon', 'authenticated', 'service_role']);
  -- Column-level UPDATE of authenticated (rls_self_service's columns) survives the table-level
  -- REVOKE below, which would otherwise clear it too.
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO update_cols
    FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
   WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped
     AND x.privilege_type = 'UPDATE' AND x.grantee = 'authenticated'::regrole;
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'service_write_authenticated_read',
    ARRAY['guard_service_write', 'guard_authenticated_read'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_service_write ON %s AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true)', rel),
    format('COMMENT ON POLICY guard_service_write ON %s IS %s', rel, marker),
    format('CREATE POLICY guard_authenticated_read ON %s AS PERMISSIVE FOR SELECT TO authenticated USING (true)', rel),
    format('COMMENT ON POLICY guard_authenticated_read ON %s IS %s', rel, marker),
    format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO service_role', rel),
    format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON %s FROM service_role', rel),
    format('GRANT SELECT ON %s TO authenticated', rel),
    -- Row-level security does not apply to TRUNCATE, and a table-level UPDATE or DELETE lets
    -- LOCK TABLE take any mode (one API user stops every tenant): authenticated keeps SELECT
    -- and at most column-level UPDATE (rls_self_service's columns).
    format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM authenticated', rel),
    format('REVOKE ALL ON %s FROM anon', rel)]
    || CASE WHEN update_cols IS NULL THEN '{}'::text[]
            ELSE ARRAY[format('GRANT UPDATE (%s) ON %s TO authenticated', update_cols, rel)] END, dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_service_write_authenticated_read(regclass, boolean) IS
  'Template: service_role reads and writes, authenticated reads, anon nothing';

CREATE FUNCTION guard.rls_read_only(target regclass, readers text[] DEFAULT ARRAY['registry_reader'],
                                    dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template read_only');
  who text;
BEGIN
  IF coalesce(cardinality(readers), 0) = 0 THEN
    RAISE EXCEPTION 'registry_guard: rls_read_only needs at least one reader role';
  END IF;
  PERFORM guard.rls_require_roles(readers);
  SELECT string_agg(quote_ident(r), ', ') INTO who FROM unnest(readers) r;
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'read_only', ARRAY['guard_read_only'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_read_only ON %s AS PERMISSIVE FOR SELECT TO %s USING (true)', rel, who),
    format('COMMENT ON POLICY guard_read_only ON %s IS %s', rel, marker),
    format('GRANT SELECT ON %s TO %s', rel, who),
    format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM %s', rel, who)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_read_only(regclass, text[], boolean) IS
  'Template: the given roles (default registry_reader) read every row and write nothing';

CREATE FUNCTION guard.rls_self_service(target regclass, match_column name, editable_columns name[],
                                       match_by text DEFAULT 'uid', dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template self_service');
  match_type regtype;
  predicate text;
  bad text;
  cols text;
BEGIN
  PERFORM guard.rls_require_roles(ARRAY['authenticated']);
  SELECT a.atttypid::regtype INTO match_type FROM pg_attribute a
   WHERE a.attrelid = target AND a.attname = match_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF match_type IS NULL THEN
    RAISE EXCEPTION 'registry_guard: % has no column "%"', rel, match_column;
  END IF;
  IF match_by = 'uid' THEN
    IF match_type <> 'uuid'::regtype THEN
      RAISE EXCEPTION 'registry_guard: %.% is %, but match_by => ''uid'' needs a uuid column', rel, match_column, match_type
        USING HINT = 'Match a uuid column holding the auth user id, or use match_by => ''email''.';
    END IF;
    predicate := format('(%I = guard.uid())', match_column);
  ELSIF match_by = 'email' THEN
    predicate := format('(lower(%I::text) = lower(guard.email()))', match_column);
  ELSE
    RAISE EXCEPTION 'registry_guard: match_by must be ''uid'' or ''email'', not %', quote_literal(match_by);
  END IF;
  IF coalesce(cardinality(editable_columns), 0) = 0 THEN
    RAISE EXCEPTION 'registry_guard: rls_self_service needs the columns a principal may edit';
  END IF;
  IF match_column = ANY (editable_columns) THEN
    RAISE EXCEPTION 'registry_guard: the match column % cannot be editable (a principal could take over another row)', match_column;
  END IF;
  SELECT string_agg(c, ', ') INTO bad FROM unnest(editable_columns) c
   WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: % has no column(s) %', rel, bad;
  END IF;
  SELECT string_agg(quote_ident(c), ', ') INTO cols FROM unnest(editable_columns) c;
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'self_service',
    ARRAY['guard_self_service_read', 'guard_self_service_update'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_self_service_read ON %s AS PERMISSIVE FOR SELECT TO authenticated USING %s', rel, predicate),
    format('COMMENT ON POLICY guard_self_service_read ON %s IS %s', rel, marker),
    format('CREATE POLICY guard_self_service_update ON %s AS PERMISSIVE FOR UPDATE TO authenticated USING %s WITH CHECK %s',
           rel, predicate, predicate),
    format('COMMENT ON POLICY guard_self_service_update ON %s IS %s', rel, marker),
    format('GRANT SELECT ON %s TO authenticated', rel),
    -- Table-level REVOKE also clears earlier column grants, so re-applying narrows the list; the
    -- other table-level writes go too (no RLS for TRUNCATE; UPDATE or DELETE would allow LOCK).
    format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM authenticated', rel),
    format('GRANT UPDATE (%s) ON %s TO authenticated', cols, rel)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_self_service(regclass, name, name[], text, boolean) IS
  'Template: an authenticated principal updates only the listed columns of their own row (match by uid or email)';

CREATE FUNCTION guard.rls_tenant_isolation(target regclass, tenant_column name DEFAULT 'client_id',
                                           dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template tenant_isolation');
  predicate constant text := format('(%I = guard.client_id())', tenant_column);
BEGIN
  IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = tenant_column
                  AND a.attnum > 0 AND NOT a.attisdropped) THEN
    RAISE EXCEPTION 'registry_guard: % has no tenant column "%"', rel, tenant_column
      USING HINT = 'Add the column first (client_id text NOT NULL DEFAULT ''default''), or name the tenant column.';
  END IF;
  -- RESTRICTIVE: ANDed with every permissive policy, so no other template can widen it; a NULL
  -- tenant (none in the request) matches no row.
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'tenant_isolation', ARRAY['guard_tenant_isolation'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_tenant_isolation ON %s AS RESTRICTIVE FOR ALL TO public USING %s WITH CHECK %s',
           rel, predicate, predicate),
    format('COMMENT ON POLICY guard_tenant_isolation ON %s IS %s', rel, marker)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_tenant_isolation(regclass, name, boolean) IS
  'Template: restrictive policy tenant_column = guard.client_id() for reads and writes (no tenant: no rows)';

CREATE FUNCTION guard.rls_remove(target regclass, template text DEFAULT NULL, dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  stmt text;
BEGIN
  FOR stmt IN SELECT format('DROP POLICY %I ON %s', p.polname, rel) FROM pg_policy p
               WHERE p.polrelid = target
                 AND obj_description(p.oid, 'pg_policy') LIKE 'registry_guard template %'
                 AND (template IS NULL OR obj_description(p.oid, 'pg_policy') = 'registry_guard template ' || template)
               ORDER BY p.polname LOOP
    IF NOT dry_run THEN
      EXECUTE stmt;
    END IF;
    RETURN NEXT stmt || ';';
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION guard.rls_remove(regclass, text, boolean) IS
  'Drops the policies made by one template (or all templates) on a table; grants are left as they are';

-- The templates run as their caller (SECURITY INVOKER): ALTER TABLE, CREATE POLICY and GRANT
-- need the table's owner, so a table owner who is not a superuser (Supabase's postgres role)
-- can apply them and nobody else can change a table through them.

-- guard.rls_report() and its probes: sql/src/35_rls_report.sql.

-- ==== end row-level security helpers ====
