-- Hostile callers (issue 11): reference_mark_validated only for the referencing table's owner;
-- the truncate guard refuses to run on a table that is not its reference's target; SECURITY
-- DEFINER functions and the reference-catalog functions are not for PUBLIC;
-- audit.primary_key_columns is SECURITY INVOKER; audit.verify is not for PUBLIC.
CREATE OR REPLACE FUNCTION guard.reference_truncate_guard() RETURNS trigger
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

CREATE OR REPLACE FUNCTION guard.reference_mark_validated(reference_name text) RETURNS void
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

REVOKE ALL ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean,
    boolean, boolean, name, name), guard.drop_reference(text, boolean), guard.validate_reference(text),
    guard.reference_register(guard.reference), guard.reference_unregister(text),
    guard.reference_mark_validated(text), guard.reference_truncate_guard(), guard.reference_on_sql_drop(),
    guard.reference_on_rename() FROM PUBLIC;

ALTER FUNCTION audit.primary_key_columns(oid) SECURITY INVOKER;
REVOKE ALL ON FUNCTION audit.verify() FROM PUBLIC;
