-- The partition event triggers act on CREATE TABLE and ATTACH/DETACH PARTITION only (issue 11):
-- other ALTER TABLEs run in pg_restore's post-data section among the dumped triggers.
-- Whether an ALTER TABLE command reported to an event trigger attaches or detaches a partition.
CREATE FUNCTION guard.ddl_changes_partitions(pg_ddl_command) RETURNS boolean
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'rg_ddl_changes_partitions';
REVOKE ALL ON FUNCTION guard.ddl_changes_partitions(pg_ddl_command) FROM PUBLIC;

CREATE OR REPLACE FUNCTION audit.on_partition_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    t oid;
BEGIN
    IF pg_catalog.to_regclass('audit.tracked_table') IS NULL THEN RETURN; END IF;
    FOR t IN SELECT DISTINCT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d
              WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.objsubid OPERATOR(pg_catalog.=) 0 AND d.object_type OPERATOR(pg_catalog.=) 'table'
                -- CREATE TABLE (... PARTITION OF) and ATTACH/DETACH PARTITION only: other ALTER
                -- TABLEs run in pg_restore's post-data section among the dumped triggers.
                AND (d.command_tag OPERATOR(pg_catalog.=) 'CREATE TABLE' OR guard.ddl_changes_partitions(d.command)) LOOP
        PERFORM audit.sync_partition_triggers(t::pg_catalog.regclass);
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION guard.reference_on_partition() RETURNS event_trigger
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
