-- Partitions get the statement-level audit_t trigger (TRUNCATE) too (issue 11).
-- TRUNCATE of a partition is audited too: audit_t is a statement trigger, which PostgreSQL
-- does not clone to partitions (the row trigger audit_i_u_d is cloned). Creates audit_t on
-- every partition in the tree of `root` below a table that has it, and drops it from tables
-- that are no longer below one (DETACH PARTITION, disable_tracking) and are not tracked
-- themselves (no audit.tracked_table row).
CREATE FUNCTION audit.sync_partition_triggers(root regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
    p regclass;
BEGIN
    FOR p IN SELECT t.relid FROM pg_catalog.pg_partition_tree($1) t
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid
              WHERE c.relispartition
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger g
                                 WHERE g.tgrelid OPERATOR(pg_catalog.=) t.relid AND g.tgname OPERATOR(pg_catalog.=) 'audit_t')
                AND EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(t.relid) a
                              JOIN pg_catalog.pg_trigger g ON g.tgrelid OPERATOR(pg_catalog.=) a.relid
                             WHERE a.relid OPERATOR(pg_catalog.<>) t.relid AND g.tgname OPERATOR(pg_catalog.=) 'audit_t'
                               AND g.tgfoid OPERATOR(pg_catalog.=) 'audit.truncate_trigger()'::pg_catalog.regprocedure)
              ORDER BY t.level LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_t AFTER TRUNCATE ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION audit.truncate_trigger()', p);
    END LOOP;
    FOR p IN SELECT g.tgrelid::pg_catalog.regclass FROM pg_catalog.pg_trigger g
              WHERE g.tgname OPERATOR(pg_catalog.=) 'audit_t'
                AND g.tgfoid OPERATOR(pg_catalog.=) 'audit.truncate_trigger()'::pg_catalog.regprocedure
                -- kept where it or an ancestor is tracked (has a tracked_table row and audit_t)
                AND NOT EXISTS (SELECT FROM (SELECT g.tgrelid AS relid
                                               UNION SELECT x.relid FROM pg_catalog.pg_partition_ancestors(g.tgrelid) x) a
                                  JOIN audit.tracked_table tt ON tt.table_id OPERATOR(pg_catalog.=) a.relid
                                  JOIN pg_catalog.pg_trigger h ON h.tgrelid OPERATOR(pg_catalog.=) a.relid
                                 WHERE h.tgname OPERATOR(pg_catalog.=) 'audit_t'
                                   AND h.tgfoid OPERATOR(pg_catalog.=) 'audit.truncate_trigger()'::pg_catalog.regprocedure) LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER audit_t ON %s', p);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION audit.sync_partition_triggers(regclass) FROM PUBLIC;

-- Partitions created (CREATE TABLE ... PARTITION OF), attached or detached later.
-- SECURITY DEFINER: it runs on DDL of any role, which need not be able to call the above.
CREATE FUNCTION audit.on_partition_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    t oid;
BEGIN
    IF pg_catalog.to_regclass('audit.tracked_table') IS NULL THEN RETURN; END IF;
    FOR t IN SELECT DISTINCT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d
              WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.objsubid OPERATOR(pg_catalog.=) 0 AND d.object_type OPERATOR(pg_catalog.=) 'table' LOOP
        PERFORM audit.sync_partition_triggers(t::pg_catalog.regclass);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION audit.on_partition_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER audit_on_partition_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION audit.on_partition_ddl();

CREATE OR REPLACE FUNCTION audit.enable_tracking(regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    kind "char";
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = $1;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'audit.enable_tracking: relation with OID % does not exist', $1::oid
            USING HINT = 'Pass the table name, e.g. audit.enable_tracking(''public.kpis'').';
    END IF;
    PERFORM audit.check_may_manage($1, 'audit.enable_tracking');
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'audit.enable_tracking: % is not a table (it is a %)', $1,
            CASE kind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                      WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation of kind ' OPERATOR(pg_catalog.||) kind::text END
            USING HINT = 'Only ordinary and partitioned tables can be tracked; track the table(s) behind it.';
    END IF;
    IF audit.primary_key_columns($1) = ARRAY[]::text[] THEN
        -- supa_audit's exact message, so its users' expectations hold.
        RAISE EXCEPTION 'Table % can not be audited because it has no primary key', $1;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = 'audit_i_u_d') THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_i_u_d AFTER INSERT OR UPDATE OR DELETE ON %s
            FOR EACH ROW EXECUTE FUNCTION audit.insert_update_delete_trigger()', $1);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = 'audit_t') THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_t AFTER TRUNCATE ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION audit.truncate_trigger()', $1);
    END IF;
    INSERT INTO audit.tracked_table(table_id) VALUES ($1) ON CONFLICT (table_id) DO NOTHING;
    PERFORM audit.sync_partition_triggers($1);  -- audit_t on its partitions
END;
$$;

CREATE OR REPLACE FUNCTION audit.disable_tracking(regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    -- A no-op for an untracked table (as in supa_audit). The ignore list is kept, so that
    -- re-enabling never stores a secret column by accident.
    PERFORM audit.check_may_manage($1, 'audit.disable_tracking');
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_i_u_d ON %s', $1);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_t ON %s', $1);
    PERFORM audit.sync_partition_triggers($1);  -- and from its partitions
END;
$$;

-- Partitions of tables tracked by 0.1.0.
DO $do$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT tt.table_id FROM audit.tracked_table tt
               JOIN pg_catalog.pg_class c ON c.oid = tt.table_id WHERE c.relkind = 'p' LOOP
        PERFORM audit.sync_partition_triggers(t);
    END LOOP;
END
$do$;
