-- Policy templates grant exactly what each needs whatever the default privileges were (Supabase
-- gives the API roles ALL on new tables): service_write_authenticated_read and self_service revoke
-- authenticated's table-level writes (LOCK surface) and service_role's TRUNCATE/REFERENCES/TRIGGER.
CREATE OR REPLACE FUNCTION guard.rls_service_write_authenticated_read(target regclass, dry_run boolean DEFAULT false)
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

CREATE OR REPLACE FUNCTION guard.rls_self_service(target regclass, match_column name, editable_columns name[],
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
