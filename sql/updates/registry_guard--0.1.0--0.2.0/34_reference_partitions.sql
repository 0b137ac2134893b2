-- Partitions get the statement-level reference triggers too (issue 11).
CREATE OR REPLACE FUNCTION guard.reference_drop_trigger(rel regclass, tg text) RETURNS void
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
            WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND d.object_type = 'table' LOOP
    PERFORM guard.reference_sync_partition_triggers(t::regclass);
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_partition ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION guard.reference_on_partition();

CREATE OR REPLACE FUNCTION guard.add_reference(
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
REVOKE ALL ON FUNCTION guard.reference_on_partition() FROM PUBLIC;
-- Partitions of tables referenced or referencing under 0.1.0.
DO $do$
DECLARE
  t regclass;
BEGIN
  FOR t IN SELECT DISTINCT x.rel FROM guard.reference g, LATERAL (VALUES (g.source_table), (g.target_table)) x(rel)
            WHERE NOT g.report_only LOOP
    PERFORM guard.reference_sync_partition_triggers(t);
  END LOOP;
END
$do$;
