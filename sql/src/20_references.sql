
-- ==== references (schema guard) ====
-- Element-wise foreign keys on array columns (and tenant-scoped ones): one row per declared
-- reference. The C++ triggers (extension/references/*.cpp) read it; pg_dump dumps its rows
-- (pg_extension_config_dump) and the triggers on user tables, so a restore keeps both.
CREATE TABLE guard.reference (
  name text PRIMARY KEY CHECK (name ~ '^[^"]{1,48}$'),
  source_table regclass NOT NULL,
  source_column name NOT NULL,
  target_table regclass NOT NULL,
  target_column name NOT NULL,
  tenant_column name,          -- in the source table; NULL = not tenant-scoped
  target_tenant_column name,   -- in the target table; set iff tenant_column is
  on_delete text NOT NULL DEFAULT 'no action' CHECK (on_delete IN ('no action', 'restrict', 'cascade', 'set null')),
  on_update text NOT NULL DEFAULT 'no action' CHECK (on_update IN ('no action', 'restrict', 'cascade', 'set null')),
  is_deferrable boolean NOT NULL DEFAULT false,
  initially_deferred boolean NOT NULL DEFAULT false,
  report_only boolean NOT NULL DEFAULT false,
  validated boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((tenant_column IS NULL) = (target_tenant_column IS NULL)),
  CHECK (is_deferrable OR NOT initially_deferred)
);
COMMENT ON TABLE guard.reference IS
  'Declared element-wise references (array foreign keys). Change only through guard.add_reference / guard.drop_reference.';
SELECT pg_catalog.pg_extension_config_dump('guard.reference', '');
REVOKE ALL ON guard.reference FROM PUBLIC;
GRANT SELECT ON guard.reference TO PUBLIC;

-- True when column col of rel is the first key column of a GIN index (target-side checks use it).
CREATE FUNCTION guard.reference_has_gin_index(rel regclass, col name) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = c.relam
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = rel AND am.amname = 'gin' AND a.attname = col AND i.indpred IS NULL)
$$;

CREATE VIEW guard.references AS
SELECT r.name, r.source_table, r.source_column, r.target_table, r.target_column, r.tenant_column,
       r.target_tenant_column, r.on_delete, r.on_update, r.is_deferrable, r.initially_deferred,
       CASE WHEN r.report_only THEN 'report-only' ELSE 'enforced' END AS mode, r.validated,
       CASE WHEN NOT r.report_only THEN guard.reference_has_gin_index(r.source_table, r.source_column) END AS has_gin_index,
       r.created_at
  FROM guard.reference r;
COMMENT ON VIEW guard.references IS 'Declared references (array foreign keys) with their mode and whether the GIN index exists.';
GRANT SELECT ON guard.references TO PUBLIC;

-- C++ trigger functions (extension/references/references_check.cpp, references_actions.cpp).
CREATE FUNCTION guard.reference_check_insert() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_check_insert';
COMMENT ON FUNCTION guard.reference_check_insert() IS
  'Statement trigger on a referencing table: checks every element of the inserted rows at once.';
CREATE FUNCTION guard.reference_check_row() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_check_row';
COMMENT ON FUNCTION guard.reference_check_row() IS
  'Row constraint trigger on a referencing table (updates; inserts of deferrable references).';
CREATE FUNCTION guard.reference_target_action() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_target_action';
COMMENT ON FUNCTION guard.reference_target_action() IS
  'Row constraint trigger on a referenced table: ON DELETE / ON UPDATE action of a reference.';

-- A referenced table cannot be truncated while referencing rows hold elements (as native FKs).
-- SECURITY DEFINER: the truncating user needs no access to schema guard or the referencing table.
CREATE FUNCTION guard.reference_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  hit boolean;
BEGIN
  SELECT * INTO r FROM guard.reference WHERE name = TG_ARGV[0];
  IF NOT FOUND THEN RETURN NULL; END IF;
  -- Only as the reference's own trigger on its target table (or a partition of it): attached by
  -- hand to another table it would tell whoever truncates that table whether the referencing
  -- table holds elements.
  IF TG_NAME <> r.name || '_on_truncate'
     OR (TG_RELID <> r.target_table::oid
         AND r.target_table::oid NOT IN (SELECT a.relid::oid FROM pg_catalog.pg_partition_ancestors(TG_RELID) a)) THEN
    RAISE EXCEPTION 'trigger "%" on % is not the truncate guard of reference "%"', TG_NAME, TG_RELID::regclass, r.name
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Drop the trigger (DROP TRIGGER %I ON %s); guard.add_reference() creates the guards it needs.',
                          TG_NAME, TG_RELID::regclass);
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s s WHERE s.%I IS NOT NULL AND pg_catalog.cardinality(s.%I) > 0)',
                 r.source_table, r.source_column, r.source_column) INTO hit;
  IF hit THEN
    RAISE EXCEPTION 'cannot truncate a table referenced in a foreign key constraint'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = format('Table %s references %s through reference "%s".', r.source_table, r.target_table, r.name),
            HINT = format('Empty the array column %s.%I first, or drop the reference with guard.drop_reference(%L).',
                          r.source_table, r.source_column, r.name);
  END IF;
  RETURN NULL;
END $$;

-- The violations of one reference in existing data: (source key, missing element).
-- MATCH SIMPLE: NULL arrays, NULL elements and rows whose tenant column is NULL pass.
CREATE FUNCTION guard.reference_violations(ref guard.reference)
RETURNS TABLE (source_key jsonb, missing_element text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  key_expr text;
  elems text;
  tenant_cond text := '';
  is_array boolean;
BEGIN
  SELECT 'pg_catalog.jsonb_build_object(' ||
         string_agg(format('%L, s.%I', a.attname, a.attname), ', ' ORDER BY k.ord) || ')'
    INTO key_expr
    FROM pg_catalog.pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = ref.source_table AND i.indisprimary;
  key_expr := coalesce(key_expr, 'pg_catalog.jsonb_build_object(''ctid'', s.ctid::text)');
  SELECT t.typcategory = 'A' INTO is_array
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
   WHERE a.attrelid = ref.source_table AND a.attname = ref.source_column AND NOT a.attisdropped;
  IF is_array IS NULL THEN
    RAISE EXCEPTION 'column "%" of reference "%" no longer exists in table %', ref.source_column, ref.name, ref.source_table
      USING ERRCODE = 'undefined_column', HINT = format('Drop it with guard.drop_reference(%L) and declare it again.', ref.name);
  END IF;
  elems := CASE WHEN is_array THEN format('pg_catalog.unnest(s.%I) WITH ORDINALITY AS e(v, ord)', ref.source_column)
                ELSE format('(SELECT s.%I, 1) AS e(v, ord)', ref.source_column) END;
  IF ref.tenant_column IS NOT NULL THEN
    tenant_cond := format(' AND s.%I IS NOT NULL', ref.tenant_column);
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT %s, e.v::text FROM %s s CROSS JOIN LATERAL %s'
    ' WHERE e.v IS NOT NULL%s AND NOT EXISTS (SELECT 1 FROM %s t WHERE t.%I = e.v%s)'
    ' ORDER BY s.ctid, e.ord',
    key_expr, ref.source_table, elems, tenant_cond, ref.target_table, ref.target_column,
    CASE WHEN ref.tenant_column IS NULL THEN ''
         ELSE format(' AND t.%I = s.%I', ref.target_tenant_column, ref.tenant_column) END);
END $$;

-- Every violation of every declared reference (or of the one named): a health check.
CREATE FUNCTION guard.validate_references(reference_name text DEFAULT NULL)
RETURNS TABLE (reference text, source_table regclass, source_key jsonb, missing_element text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  IF reference_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM guard.reference g WHERE g.name = reference_name) THEN
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  FOR r IN SELECT * FROM guard.reference g WHERE reference_name IS NULL OR g.name = reference_name ORDER BY g.name LOOP
    RETURN QUERY SELECT r.name, r.source_table, v.source_key, v.missing_element FROM guard.reference_violations(r) v;
  END LOOP;
END $$;
COMMENT ON FUNCTION guard.validate_references(text) IS
  'Every element (or scalar value) that has no target row, for all declared references, enforced or report-only.';

-- Raises 23503 listing every violation of ref (used when declaring and validating).
CREATE FUNCTION guard.reference_raise_violations(ref guard.reference, action text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  total bigint := 0;
  listing text := '';
  v record;
BEGIN
  FOR v IN SELECT * FROM guard.reference_violations(ref) LOOP
    total := total + 1;
    IF total <= 1000 THEN
      listing := listing || format(E'\n  row %s: element %s is not present in table %s', v.source_key, v.missing_element, ref.target_table);
    END IF;
  END LOOP;
  IF total > 0 THEN
    RAISE EXCEPTION '% reference "%" failed: % has % element(s) not present in %',
                    action, ref.name, ref.source_table, total, ref.target_table
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = 'Violations:' || listing || CASE WHEN total > 1000 THEN format(E'\n  ... and %s more', total - 1000) ELSE '' END,
            HINT = 'Fix the data, or declare the reference with not_valid => true and list the violations with guard.validate_references().';
  END IF;
END $$;

-- Catalog changes go through the SECURITY DEFINER helpers below, so that table owners who are not
-- superusers (Supabase's postgres role) can declare references while guard.reference stays
-- read-only for everyone else. Authority: for an enforced reference, its triggers — which only a
-- role allowed to create triggers on both tables can create — must exist (register) or be gone
-- (unregister); otherwise the login role must act for the referencing table's owner (API logins
-- such as PostgREST's authenticator do not).
CREATE FUNCTION guard.reference_trigger_count(r guard.reference) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT count(*) FROM pg_catalog.pg_trigger t
   WHERE t.tgargs = pg_catalog.convert_to(r.name, 'UTF8') || '\x00'::bytea
     AND t.tgfoid IN ('guard.reference_check_row()'::regprocedure, 'guard.reference_check_insert()'::regprocedure,
                      'guard.reference_target_action()'::regprocedure, 'guard.reference_truncate_guard()'::regprocedure)
     AND ((t.tgrelid = r.source_table AND t.tgname IN (r.name, r.name || '_insert'))
          OR (t.tgrelid = r.target_table AND t.tgname IN (r.name || '_on_delete', r.name || '_on_update', r.name || '_on_truncate')))
$$;

CREATE FUNCTION guard.reference_login_owns(r guard.reference) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT pg_catalog.pg_has_role(session_user, c.relowner, 'USAGE') FROM pg_catalog.pg_class c WHERE c.oid = r.source_table
$$;

CREATE FUNCTION guard.reference_register(r guard.reference) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT (CASE WHEN r.report_only THEN coalesce(guard.reference_login_owns(r), false)
               ELSE guard.reference_trigger_count(r) >= 4 END) THEN
    RAISE EXCEPTION 'permission denied to declare reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege', HINT = 'Declare references with guard.add_reference() as the owner of the tables.';
  END IF;
  INSERT INTO guard.reference VALUES (r.*);
END $$;

CREATE FUNCTION guard.reference_unregister(reference_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF NOT (CASE WHEN r.report_only THEN coalesce(guard.reference_login_owns(r), false)
               ELSE guard.reference_trigger_count(r) = 0 END) THEN
    RAISE EXCEPTION 'permission denied to drop reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege', HINT = 'Drop references with guard.drop_reference() as the owner of the tables.';
  END IF;
  DELETE FROM guard.reference g WHERE g.name = reference_name;
END $$;

CREATE FUNCTION guard.reference_mark_validated(reference_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  -- As VALIDATE CONSTRAINT: for the owner of the referencing table only (the triggers prove
  -- nothing here: every enforced reference has them).
  IF NOT coalesce(guard.reference_login_owns(r), false) THEN
    RAISE EXCEPTION 'permission denied to validate reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Validate references with guard.validate_reference() as the owner of the referencing table.';
  END IF;
  UPDATE guard.reference g SET validated = true WHERE g.name = reference_name;
END $$;

-- True when target has a non-deferrable, non-partial unique index on exactly key_cols (any order).
CREATE FUNCTION guard.reference_target_key_exists(target regclass, key_cols name[]) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_index i
     WHERE i.indrelid = target AND i.indisunique AND i.indimmediate AND i.indisvalid
       AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = pg_catalog.cardinality(key_cols)
       AND (SELECT pg_catalog.array_agg(a.attname ORDER BY a.attname) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1]))
           = (SELECT pg_catalog.array_agg(c ORDER BY c) FROM pg_catalog.unnest(key_cols) c))
$$;

-- Drops trigger tg of rel if it is there (without DROP TRIGGER IF EXISTS's notice).
CREATE FUNCTION guard.reference_drop_trigger(rel regclass, tg text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  p regclass;
BEGIN
  -- rel first: dropping a row trigger there drops its clones on the partitions; statement
  -- triggers were created on each partition (guard.reference_sync_partition_triggers).
  FOR p IN SELECT t.relid FROM (SELECT rel::oid AS relid, 0 AS level
                                 UNION SELECT x.relid, x.level FROM pg_catalog.pg_partition_tree(rel) x) t
            ORDER BY t.level LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p AND t.tgname = tg AND t.tgparentid = 0) THEN
      EXECUTE format('DROP TRIGGER %I ON %s', tg, p);
    END IF;
  END LOOP;
END $$;

-- Statement-level triggers are not cloned to partitions (row triggers are): without these a
-- direct INSERT into a partition of a referencing table skipped the check, and TRUNCATE of a
-- partition of a referenced table the guard. Creates <name>_insert (non-deferrable references)
-- on every partition in the tree of `root` below a referencing table and <name>_on_truncate
-- below a referenced one; drops them from tables no longer below their table (DETACH).
-- SECURITY INVOKER (as guard.reference_drop_trigger): it can only create and drop triggers the
-- caller could; guard.add_reference() calls it as the tables' owner.
CREATE FUNCTION guard.reference_sync_partition_triggers(root regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  p regclass;
  r guard.reference;
  t record;
BEGIN
  FOR p IN SELECT pt.relid FROM pg_catalog.pg_partition_tree(root) pt
             JOIN pg_catalog.pg_class c ON c.oid = pt.relid WHERE c.relispartition ORDER BY pt.level LOOP
    FOR r IN SELECT g.* FROM guard.reference g
              WHERE NOT g.report_only
                AND (g.source_table::oid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(p) a WHERE a.relid <> p)
                  OR g.target_table::oid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(p) a WHERE a.relid <> p)) LOOP
      -- Only once the reference's own trigger is on its table: pg_restore adds the partitions'
      -- triggers itself, after constraints (ALTER TABLE, which fires this) and the catalog rows.
      IF NOT r.is_deferrable
         AND r.source_table::oid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(p) a)
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = r.source_table AND g.tgname = r.name || '_insert')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = p AND g.tgname = r.name || '_insert') THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS rg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_check_insert(%L)',
                       r.name || '_insert', p, r.name);
      END IF;
      IF r.target_table::oid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(p) a)
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = r.target_table AND g.tgname = r.name || '_on_truncate')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = p AND g.tgname = r.name || '_on_truncate') THEN
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_truncate_guard(%L)',
                       r.name || '_on_truncate', p, r.name);
      END IF;
    END LOOP;
  END LOOP;
  FOR t IN SELECT g.tgrelid::regclass AS rel, g.tgname FROM pg_catalog.pg_trigger g
             JOIN guard.reference ref ON g.tgargs = pg_catalog.convert_to(ref.name, 'UTF8') || '\x00'::bytea
            WHERE (g.tgfoid = 'guard.reference_check_insert()'::regprocedure AND g.tgname = ref.name || '_insert'
                   AND ref.source_table::oid <> g.tgrelid
                   AND ref.source_table::oid NOT IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(g.tgrelid) a))
               OR (g.tgfoid = 'guard.reference_truncate_guard()'::regprocedure AND g.tgname = ref.name || '_on_truncate'
                   AND ref.target_table::oid <> g.tgrelid
                   AND ref.target_table::oid NOT IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(g.tgrelid) a)) LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
  END LOOP;
END $$;

-- Partitions created (CREATE TABLE ... PARTITION OF), attached or detached later.
-- SECURITY DEFINER, as guard.reference_on_sql_drop(): it runs on DDL of any role.
CREATE FUNCTION guard.reference_on_partition() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  t oid;
BEGIN
  IF to_regclass('guard.reference') IS NULL THEN RETURN; END IF;
  FOR t IN SELECT DISTINCT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d
            WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND d.object_type = 'table'
              -- CREATE TABLE (... PARTITION OF) and ATTACH/DETACH PARTITION only (see audit.on_partition_ddl)
              AND (d.command_tag = 'CREATE TABLE' OR guard.ddl_changes_partitions(d.command)) LOOP
    PERFORM guard.reference_sync_partition_triggers(t::regclass);
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_partition ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION guard.reference_on_partition();

-- Declares reference reference_name: every element of source_table.source_column must exist in
-- target_table.target_column (a unique key), within the same tenant when tenant_column is given.
CREATE FUNCTION guard.add_reference(
  reference_name text, source_table regclass, source_column name, target_table regclass,
  target_column name DEFAULT 'id', on_delete text DEFAULT 'no action', on_update text DEFAULT 'no action',
  is_deferrable boolean DEFAULT false, initially_deferred boolean DEFAULT false, not_valid boolean DEFAULT false,
  report_only boolean DEFAULT false, tenant_column name DEFAULT NULL, target_tenant_column name DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  src_type oid; src_elem oid; src_is_array boolean;
  src_base oid; base_kind "char"; base_next oid;
  tgt_type oid;
  src_tenant_type oid; tgt_tenant_type oid;
  key_cols name[];
  n_violations bigint;
  src_cols text;
  deferral text;
BEGIN
  IF reference_name IS NULL OR reference_name !~ '^[^"]{1,48}$' THEN
    RAISE EXCEPTION 'invalid reference name %', coalesce(quote_literal(reference_name), 'NULL')
      USING ERRCODE = 'invalid_name', HINT = 'Use 1 to 48 characters without double quotes; trigger names are derived from it.';
  END IF;
  IF EXISTS (SELECT 1 FROM guard.reference g WHERE g.name = reference_name) THEN
    RAISE EXCEPTION 'reference "%" already exists', reference_name USING ERRCODE = 'duplicate_object';
  END IF;
  on_delete := lower(trim(coalesce(on_delete, 'no action')));
  on_update := lower(trim(coalesce(on_update, 'no action')));
  IF on_delete NOT IN ('no action', 'restrict', 'cascade', 'set null') OR on_update NOT IN ('no action', 'restrict', 'cascade', 'set null') THEN
    RAISE EXCEPTION 'invalid action for reference "%": on_delete %, on_update %', reference_name, quote_literal(on_delete), quote_literal(on_update)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are ''no action'', ''restrict'', ''cascade'' and ''set null''.';
  END IF;
  IF initially_deferred AND NOT is_deferrable THEN
    RAISE EXCEPTION 'reference "%" cannot be initially deferred without being deferrable', reference_name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass is_deferrable => true as well.';
  END IF;
  IF (tenant_column IS NULL) AND (target_tenant_column IS NOT NULL) THEN
    RAISE EXCEPTION 'reference "%": target_tenant_column needs tenant_column', reference_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF tenant_column IS NOT NULL THEN target_tenant_column := coalesce(target_tenant_column, tenant_column); END IF;

  -- As ALTER TABLE ... ADD FOREIGN KEY: no concurrent writes while we check and create triggers.
  EXECUTE format('LOCK TABLE %s, %s IN SHARE ROW EXCLUSIVE MODE', source_table, target_table);

  SELECT a.atttypid INTO src_type FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = source_table AND a.attname = source_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF src_type IS NULL THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', source_column, source_table USING ERRCODE = 'undefined_column';
  END IF;
  SELECT a.atttypid INTO tgt_type FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = target_table AND a.attname = target_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF tgt_type IS NULL THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', target_column, target_table USING ERRCODE = 'undefined_column';
  END IF;
  src_base := src_type;
  LOOP  -- a domain over an array is an array
    SELECT t.typtype, t.typbasetype INTO base_kind, base_next FROM pg_catalog.pg_type t WHERE t.oid = src_base;
    EXIT WHEN base_kind <> 'd';
    src_base := base_next;
  END LOOP;
  SELECT t.typcategory = 'A' AND t.typelem <> 0, t.typelem INTO src_is_array, src_elem
    FROM pg_catalog.pg_type t WHERE t.oid = src_base;
  IF NOT src_is_array THEN
    IF NOT report_only THEN
      RAISE EXCEPTION 'column %.% is not an array', source_table, source_column
        USING ERRCODE = 'wrong_object_type',
              HINT = format('Use a native foreign key: ALTER TABLE %s ADD FOREIGN KEY (%I) REFERENCES %s (%I); or declare the reference with report_only => true.',
                            source_table, source_column, target_table, target_column);
    END IF;
    src_elem := src_type;
  END IF;
  IF src_elem <> tgt_type THEN
    RAISE EXCEPTION 'element type % of %.% does not match type % of %.%',
                    format_type(src_elem, NULL), source_table, source_column, format_type(tgt_type, NULL), target_table, target_column
      USING ERRCODE = 'datatype_mismatch', HINT = 'The array''s element type must be the type of the target key column.';
  END IF;
  IF tenant_column IS NOT NULL THEN
    SELECT a.atttypid INTO src_tenant_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source_table AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT a.atttypid INTO tgt_tenant_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = target_table AND a.attname = target_tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF src_tenant_type IS NULL OR tgt_tenant_type IS NULL THEN
      RAISE EXCEPTION 'tenant column "%" of % or "%" of % does not exist', tenant_column, source_table, target_tenant_column, target_table
        USING ERRCODE = 'undefined_column';
    END IF;
    IF src_tenant_type <> tgt_tenant_type THEN
      RAISE EXCEPTION 'tenant columns %.% and %.% have different types', source_table, tenant_column, target_table, target_tenant_column
        USING ERRCODE = 'datatype_mismatch';
    END IF;
  END IF;
  -- The target key must be a non-deferrable unique key without predicate, as for native FKs.
  key_cols := CASE WHEN tenant_column IS NULL THEN ARRAY[target_column] ELSE ARRAY[target_tenant_column, target_column] END;
  IF NOT guard.reference_target_key_exists(target_table, key_cols) THEN
    RAISE EXCEPTION 'there is no unique constraint matching given keys for referenced table %', target_table
      USING ERRCODE = 'invalid_foreign_key',
            HINT = format('Add a primary key or unique constraint on %s (%s).', target_table, array_to_string(key_cols, ', '));
  END IF;
  IF report_only AND (on_delete <> 'no action' OR on_update <> 'no action' OR is_deferrable) THEN
    RAISE EXCEPTION 'report-only reference "%" takes no actions and is not deferrable', reference_name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A report-only reference installs no triggers; guard.validate_references() reports it.';
  END IF;

  r := ROW(reference_name, source_table, source_column, target_table, target_column, tenant_column, target_tenant_column,
           on_delete, on_update, is_deferrable, initially_deferred, report_only, NOT not_valid OR report_only, now());
  IF report_only THEN
    SELECT count(*) INTO n_violations FROM guard.reference_violations(r);
    IF n_violations > 0 THEN
      RAISE NOTICE 'report-only reference "%": % element(s) of %.% are not present in %', reference_name, n_violations, source_table, source_column, target_table
        USING HINT = format('SELECT * FROM guard.validate_references(%L) lists them.', reference_name);
    END IF;
  ELSIF NOT not_valid THEN
    PERFORM guard.reference_raise_violations(r, 'adding');
  END IF;
  IF report_only THEN
    PERFORM guard.reference_register(r);
    RETURN;
  END IF;

  src_cols := format('%I', source_column) || CASE WHEN tenant_column IS NULL THEN '' ELSE format(', %I', tenant_column) END;
  deferral := CASE WHEN NOT is_deferrable THEN 'NOT DEFERRABLE'
                   WHEN initially_deferred THEN 'DEFERRABLE INITIALLY DEFERRED' ELSE 'DEFERRABLE INITIALLY IMMEDIATE' END;
  IF is_deferrable THEN
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OF %s ON %s %s FOR EACH ROW EXECUTE FUNCTION guard.reference_check_row(%L)',
                   reference_name, src_cols, source_table, deferral, reference_name);
  ELSE
    -- Inserts are checked once per statement over the transition table; updates per changed row.
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS rg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_check_insert(%L)',
                   reference_name || '_insert', source_table, reference_name);
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE OF %s ON %s NOT DEFERRABLE FOR EACH ROW WHEN (%s) EXECUTE FUNCTION guard.reference_check_row(%L)',
                   reference_name, src_cols, source_table,
                   format('OLD.%I IS DISTINCT FROM NEW.%I', source_column, source_column)
                   || CASE WHEN tenant_column IS NULL THEN '' ELSE format(' OR OLD.%I IS DISTINCT FROM NEW.%I', tenant_column, tenant_column) END,
                   reference_name);
  END IF;
  -- Target side: as native FKs, only NO ACTION follows the reference's deferrability.
  EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER DELETE ON %s %s FOR EACH ROW EXECUTE FUNCTION guard.reference_target_action(%L)',
                 reference_name || '_on_delete', target_table,
                 CASE WHEN on_delete = 'no action' THEN deferral ELSE 'NOT DEFERRABLE' END, reference_name);
  EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE OF %s ON %s %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION guard.reference_target_action(%L)',
                 reference_name || '_on_update',
                 format('%I', target_column) || CASE WHEN tenant_column IS NULL THEN '' ELSE format(', %I', target_tenant_column) END,
                 target_table, CASE WHEN on_update = 'no action' THEN deferral ELSE 'NOT DEFERRABLE' END,
                 format('OLD.%I IS DISTINCT FROM NEW.%I', target_column, target_column)
                 || CASE WHEN tenant_column IS NULL THEN '' ELSE format(' OR OLD.%I IS DISTINCT FROM NEW.%I', target_tenant_column, target_tenant_column) END,
                 reference_name);
  EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_truncate_guard(%L)',
                 reference_name || '_on_truncate', target_table, reference_name);
  PERFORM guard.reference_register(r);
  PERFORM guard.reference_sync_partition_triggers(source_table);  -- statement triggers on partitions
  PERFORM guard.reference_sync_partition_triggers(target_table);
  IF NOT guard.reference_has_gin_index(source_table, source_column) THEN
    RAISE NOTICE 'reference "%": no GIN index on %.%; deletes and key updates in % will scan %',
                 reference_name, source_table, source_column, target_table, source_table
      USING HINT = format('CREATE INDEX ON %s USING gin (%I);', source_table, source_column);
  END IF;
END $$;
COMMENT ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean, boolean, boolean, name, name) IS
  'Declares an element-wise foreign key from an array column (or a report-only reference from any column).';

-- Drops a reference: its triggers and its catalog row.
CREATE FUNCTION guard.drop_reference(reference_name text, if_exists boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name;
  IF NOT FOUND THEN
    IF if_exists THEN
      RAISE NOTICE 'reference "%" does not exist, skipping', reference_name;
      RETURN;
    END IF;
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  IF NOT r.report_only THEN
    PERFORM guard.reference_drop_trigger(r.source_table, r.name);
    IF NOT r.is_deferrable THEN
      PERFORM guard.reference_drop_trigger(r.source_table, r.name || '_insert');
    END IF;
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_delete');
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_update');
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_truncate');
  END IF;
  PERFORM guard.reference_unregister(reference_name);
END $$;

-- Checks a NOT VALID reference against all existing rows and marks it validated.
CREATE FUNCTION guard.validate_reference(reference_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  EXECUTE format('LOCK TABLE %s, %s IN SHARE ROW EXCLUSIVE MODE', r.source_table, r.target_table);
  PERFORM guard.reference_raise_violations(r, 'validating');
  PERFORM guard.reference_mark_validated(reference_name);
END $$;

-- Dropping a referencing or referenced table, or the referencing column, drops its references
-- (as dropping a table or an FK column drops native FKs): the catalog row goes, and so do the
-- triggers left on the other table. Dropping the unique key a reference needs raises a WARNING
-- (not an error, unlike native FKs: a key change such as (id) -> (client_id, id) drops the old
-- key before the reference can be declared again on the new one).
-- SECURITY DEFINER: it runs on every DROP in the database, also for roles without access to
-- schema guard; it only removes references of tables or columns that are being dropped.
CREATE FUNCTION guard.reference_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  dropped oid[];
  dropped_columns text[];
  keys_touched boolean;
BEGIN
  IF to_regclass('guard.reference') IS NULL THEN RETURN; END IF;
  SELECT array_agg(o.objid) FILTER (WHERE o.objsubid = 0),
         array_agg(o.object_identity) FILTER (WHERE o.object_type = 'table column'),
         bool_or(o.object_type IN ('index', 'table column', 'table constraint'))
    INTO dropped, dropped_columns, keys_touched
    FROM pg_catalog.pg_event_trigger_dropped_objects() o
   WHERE o.classid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_constraint'::regclass);
  dropped := coalesce(dropped, '{}');
  dropped_columns := coalesce(dropped_columns, '{}');
  FOR r IN SELECT * FROM guard.reference g
            WHERE g.source_table::oid = ANY (dropped) OR g.target_table::oid = ANY (dropped)
               OR g.source_table::text || '.' || quote_ident(g.source_column) = ANY (dropped_columns)
               OR g.source_table::text || '.' || quote_ident(g.tenant_column) = ANY (dropped_columns) LOOP
    IF NOT r.report_only AND NOT r.source_table::oid = ANY (dropped) THEN
      PERFORM guard.reference_drop_trigger(r.source_table, r.name);
      PERFORM guard.reference_drop_trigger(r.source_table, r.name || '_insert');
    END IF;
    IF NOT r.report_only AND NOT r.target_table::oid = ANY (dropped) THEN
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_delete');
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_update');
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_truncate');
    END IF;
    DELETE FROM guard.reference g WHERE g.name = r.name;
    RAISE NOTICE 'drop cascades to reference "%"', r.name;
  END LOOP;
  IF NOT coalesce(keys_touched, false) THEN RETURN; END IF;
  FOR r IN SELECT * FROM guard.reference g WHERE NOT g.report_only LOOP
    IF NOT guard.reference_target_key_exists(r.target_table,
         CASE WHEN r.tenant_column IS NULL THEN ARRAY[r.target_column]
              ELSE ARRAY[r.target_tenant_column, r.target_column] END) THEN
      RAISE WARNING 'reference "%" has lost the unique key of % it needs', r.name, r.target_table
        USING DETAIL = 'Its checks still look elements up by the old key columns, which may now match several rows.',
              HINT = format('Declare it again on the new key: guard.drop_reference(%L), then guard.add_reference(...) (e.g. with tenant_column).', r.name);
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_sql_drop ON sql_drop EXECUTE FUNCTION guard.reference_on_sql_drop();

-- Renaming a column a reference names updates the catalog (it stores names, so that dump and
-- restore keep working). ALTER TABLE ... RENAME COLUMN renames one column per command: the
-- stored name that no longer exists in that table is the renamed one.
CREATE FUNCTION guard.reference_on_rename() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c record;
  new_name name;
BEGIN
  IF to_regclass('guard.reference') IS NULL THEN RETURN; END IF;
  FOR c IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() d
            WHERE d.command_tag = 'ALTER TABLE' AND d.object_type = 'table column' AND d.objsubid > 0 LOOP
    SELECT a.attname INTO new_name FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = c.objid AND a.attnum = c.objsubid AND NOT a.attisdropped;
    CONTINUE WHEN new_name IS NULL;
    UPDATE guard.reference g SET source_column = new_name
     WHERE g.source_table = c.objid::regclass AND g.source_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.source_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET tenant_column = new_name
     WHERE g.source_table = c.objid::regclass AND g.tenant_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.tenant_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET target_column = new_name
     WHERE g.target_table = c.objid::regclass AND g.target_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.target_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET target_tenant_column = new_name
     WHERE g.target_table = c.objid::regclass AND g.target_tenant_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.target_tenant_column AND NOT a.attisdropped);
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_rename ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
  EXECUTE FUNCTION guard.reference_on_rename();

-- Not for PUBLIC: the SECURITY DEFINER functions (triggers fire without EXECUTE; creating one
-- needs it) and the functions that change the reference catalog. Roles that declare references
-- (table owners, the migration role) get them with:
--   GRANT EXECUTE ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text,
--     boolean, boolean, boolean, boolean, name, name), guard.drop_reference(text, boolean),
--     guard.validate_reference(text), guard.reference_register(guard.reference),
--     guard.reference_unregister(text), guard.reference_mark_validated(text),
--     guard.reference_truncate_guard() TO <role>;
REVOKE ALL ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean,
    boolean, boolean, name, name), guard.drop_reference(text, boolean), guard.validate_reference(text),
    guard.reference_register(guard.reference), guard.reference_unregister(text),
    guard.reference_mark_validated(text), guard.reference_truncate_guard(), guard.reference_on_sql_drop(),
    guard.reference_on_rename(), guard.reference_on_partition() FROM PUBLIC;

-- ==== end references ====
