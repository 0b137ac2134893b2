-- ==== audit trail (schema audit) ====
-- A drop-in superset of supa_audit 0.3.1. audit.record_version is a view over compact storage:
-- audit.version_log holds one row image per version (the new row, or the old one for DELETE)
-- plus, for UPDATE, only the old values of the changed columns; who/where (table names, JWT
-- claims, roles, settings) lives once per backend in audit.change_context. The triggers are C++.
CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'registry_guard: supa_audit-compatible, tamper-evident audit trail';

CREATE TYPE audit.operation AS ENUM ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE');

-- Who and where: one row per backend and distinct (table, actor) combination, so a bulk
-- statement stores its actor once instead of once per row.
CREATE TABLE audit.change_context(
    id               bigserial PRIMARY KEY,
    table_oid        oid NOT NULL,
    table_schema     name NOT NULL,
    table_name       name NOT NULL,
    db_role          name NOT NULL,
    session_role     name NOT NULL,
    application_name text,
    actor            text,
    sync_run_id      bigint,
    jwt_sub          text,
    jwt_role         text,
    jwt_email        text,
    jwt_claims       jsonb,
    auth_uid         uuid,
    -- Attribution settings that were set but not honoured: from API roles (guard.api_roles() or
    -- their members, as session, SET ROLE or current role) registry_guard.actor,
    -- registry_guard.sync_run_id and application_name; from trusted roles a sync_run_id that
    -- names no running registry_sync.sync_runs row of the session. NULL when none.
    claimed_attribution jsonb
);
CREATE INDEX change_context_table ON audit.change_context(table_schema, table_name);

-- One row per version. Written only by the C++ triggers (bulk inserts at statement end).
CREATE SEQUENCE audit.record_version_id_seq;
CREATE TABLE audit.version_log(
    -- Unique by construction (one nextval per version); indexed with BRIN, not a unique btree:
    -- ids arrive in nearly ascending order, and a btree here costs as much as the version row.
    id             bigint NOT NULL DEFAULT pg_catalog.nextval('audit.record_version_id_seq'),
    op             audit.operation NOT NULL,
    ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    context_id     bigint NOT NULL,
    txid           bigint NOT NULL,
    record_id      uuid,
    old_record_id  uuid,
    -- INSERT/UPDATE: the new row; DELETE: the old row; TRUNCATE: NULL. Ignored columns absent.
    image          jsonb,
    -- UPDATE: old values of the changed (non-ignored) columns; old row = image || old_delta.
    old_delta      jsonb,
    -- The tenant: image->>'client_id' for tables with a client_id column (the new row; the
    -- old one for DELETE), NULL otherwise and for TRUNCATE. audit.tenant_history() reads by it.
    client_id      text
);
ALTER SEQUENCE audit.record_version_id_seq OWNED BY audit.version_log.id;
CREATE INDEX version_log_record_id ON audit.version_log(record_id) WHERE record_id IS NOT NULL;
-- Only DELETEs and key-changing UPDATEs: for a plain UPDATE old_record_id = record_id.
CREATE INDEX version_log_old_record_id ON audit.version_log(old_record_id)
    WHERE old_record_id IS DISTINCT FROM record_id;
-- One BRIN over both (one index to open and update per write; either column alone can use it).
CREATE INDEX version_log_id_ts ON audit.version_log USING brin(id, ts);

-- Per-table settings. regclass so that pg_dump/restore re-resolves the table by name.
CREATE TABLE audit.tracked_table(
    table_id         regclass PRIMARY KEY,
    ignored_columns  text[] NOT NULL DEFAULT '{}'
);

-- Hash chain: one row per sealed version, hash = sha256(previous hash || canonical row text).
CREATE TABLE audit.seal(
    id        bigint PRIMARY KEY,
    hash      bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Retention checkpoints: the chain restarts from the hash of the last pruned row.
CREATE TABLE audit.checkpoint(
    id           bigserial PRIMARY KEY,
    through_id   bigint NOT NULL,
    hash         bytea NOT NULL,
    rows_pruned  bigint NOT NULL,
    cutoff       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Seal boundaries waiting for the transactions that were running when they were taken.
CREATE TABLE audit.seal_watermark(
    through_id bigint NOT NULL,
    wait_xmax  xid8 NOT NULL
);

-- Tamper evidence for what the triggers cannot see. Events (audit triggers of a tracked table
-- dropped, disabled, limited to origin mode, or back; retention) are first written to
-- audit.tracking_event by an event trigger (not dumped: a restore re-creates triggers while its
-- data loads, and must not collide with restored ids), and audit.seal() moves them into
-- audit.tracking_log, a tracked table: each event becomes a version in the hash chain.
CREATE TABLE audit.tracking_event(
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    event        text NOT NULL,
    table_name   text,
    detail       jsonb NOT NULL DEFAULT '{}',
    session_role name NOT NULL DEFAULT SESSION_USER,  -- the login (the functions writing here are SECURITY DEFINER)
    txid         bigint NOT NULL DEFAULT pg_catalog.txid_current()
);
CREATE TABLE audit.tracking_log(
    id           bigserial PRIMARY KEY,
    event_id     bigint,
    at           timestamptz NOT NULL,
    event        text NOT NULL,
    table_name   text,
    detail       jsonb NOT NULL DEFAULT '{}',
    session_role name NOT NULL,
    txid         bigint NOT NULL
);

-- pg_dump includes the audit data (the tables belong to the extension).
SELECT pg_catalog.pg_extension_config_dump('audit.version_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit.record_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit.change_context', '');
SELECT pg_catalog.pg_extension_config_dump('audit.change_context_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracked_table', '');
SELECT pg_catalog.pg_extension_config_dump('audit.seal', '');
SELECT pg_catalog.pg_extension_config_dump('audit.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('audit.checkpoint_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracking_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracking_log_id_seq', '');

-- supa_audit's view of the data: same columns, same values; our additions after them.
-- auth_uid/auth_role exist only where auth.uid()/auth.role() exist (Supabase), as in supa_audit.
DO $do$
DECLARE
    supabase boolean;
BEGIN
    SELECT count(DISTINCT f.proname) = 2 INTO supabase
      FROM pg_catalog.pg_proc f
      JOIN pg_catalog.pg_namespace n ON f.pronamespace = n.oid
      JOIN pg_catalog.pg_type t ON f.prorettype = t.oid
     WHERE (n.nspname, f.proname, t.typname) IN (('auth', 'uid', 'uuid'), ('auth', 'role', 'text'))
       AND f.pronargs = 0;
    EXECUTE pg_catalog.format($view$
        CREATE OR REPLACE VIEW audit.record_version AS
        SELECT l.id,
               l.record_id,
               l.old_record_id,
               l.op,
               l.ts,
               c.table_oid,
               c.table_schema,
               c.table_name,
               CASE WHEN l.op IN ('INSERT', 'UPDATE') THEN l.image END AS record,
               CASE l.op WHEN 'UPDATE' THEN l.image OPERATOR(pg_catalog.||) l.old_delta
                         WHEN 'DELETE' THEN l.image END AS old_record,
               %s
               l.txid,
               CASE WHEN l.op = 'UPDATE' THEN
                   ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(l.old_delta) k ORDER BY k) END
                   AS changed_columns,
               c.db_role,
               c.session_role,
               c.application_name,
               c.actor,
               c.sync_run_id,
               c.jwt_sub,
               c.jwt_role,
               c.jwt_email,
               c.jwt_claims,
               c.claimed_attribution,
               l.client_id
          FROM audit.version_log l
          JOIN audit.change_context c ON c.id = l.context_id
    $view$, CASE WHEN supabase THEN 'c.auth_uid, c.jwt_role AS auth_role,' ELSE '' END);
END
$do$;
COMMENT ON VIEW audit.record_version IS
  'supa_audit-compatible history: one row per INSERT/UPDATE/DELETE/TRUNCATE of a tracked table';

-- SECURITY INVOKER (supa_audit's is DEFINER): it reads only world-readable catalogs.
CREATE FUNCTION audit.primary_key_columns(entity_oid oid) RETURNS text[]
    LANGUAGE sql STABLE SET search_path = '' AS $$
    -- The table's primary key column names in column order ('{}' when it has none).
    SELECT coalesce(pg_catalog.array_agg(pa.attname::text ORDER BY pa.attnum), ARRAY[]::text[])
      FROM pg_catalog.pg_index pi
      JOIN pg_catalog.pg_attribute pa ON pi.indrelid = pa.attrelid AND pa.attnum = ANY(pi.indkey)
     WHERE pi.indrelid = $1 AND pi.indisprimary
$$;

-- UUID v5 over (table oid, key values) in supa_audit's namespace; v4 when there is no key.
CREATE FUNCTION audit.to_record_id(entity_oid oid, pkey_cols text[], rec jsonb) RETURNS uuid
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'rg_audit_to_record_id';

CREATE FUNCTION audit.insert_update_delete_trigger() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_row_trigger';
CREATE FUNCTION audit.truncate_trigger() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_truncate_trigger';

-- Drops the backends' cached settings of one table (ignored columns) after a change.
CREATE FUNCTION audit.invalidate_table_settings(regclass) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'rg_audit_invalidate_table_settings';
REVOKE ALL ON FUNCTION audit.invalidate_table_settings(regclass) FROM PUBLIC;

-- Managing a table's tracking (the SECURITY DEFINER functions below) is for its owner only:
-- otherwise a role that may merely call them could empty an ignore list or switch auditing
-- off. The caller is the session user (current_user is the definer inside them).
CREATE FUNCTION audit.check_may_manage(regclass, caller text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    owner oid;
BEGIN
    SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1;
    IF owner IS NULL THEN
        RAISE EXCEPTION '%: relation with OID % does not exist', caller, $1::oid
            USING HINT = 'Pass the table name, e.g. audit.enable_tracking(''public.kpis'').';
    END IF;
    IF NOT pg_catalog.pg_has_role(SESSION_USER, owner, 'USAGE') THEN
        RAISE EXCEPTION '%: permission denied: % is not owned by role "%"', caller, $1, SESSION_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = pg_catalog.format('Connect as the table''s owner (%s) or a member of it to change its audit tracking.',
                                           owner::regrole);
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION audit.check_may_manage(regclass, text) FROM PUBLIC;

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
    -- ALWAYS, as on the tracked table: a TRUNCATE in replica mode is recorded too. After all
    -- are created: each ALTER TABLE runs the event trigger, which calls this function again.
    FOR p IN SELECT g.tgrelid::pg_catalog.regclass FROM pg_catalog.pg_partition_tree($1) t
               JOIN pg_catalog.pg_trigger g ON g.tgrelid OPERATOR(pg_catalog.=) t.relid
              WHERE t.relid OPERATOR(pg_catalog.<>) $1::oid AND g.tgname OPERATOR(pg_catalog.=) 'audit_t'
                AND g.tgenabled OPERATOR(pg_catalog.=) 'O'
                AND g.tgfoid OPERATOR(pg_catalog.=) 'audit.truncate_trigger()'::pg_catalog.regprocedure LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_t', p);
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
                AND d.objsubid OPERATOR(pg_catalog.=) 0 AND d.object_type OPERATOR(pg_catalog.=) 'table'
                -- CREATE TABLE (... PARTITION OF) and ATTACH/DETACH PARTITION only: other ALTER
                -- TABLEs run in pg_restore's post-data section among the dumped triggers.
                AND (d.command_tag OPERATOR(pg_catalog.=) 'CREATE TABLE' OR guard.ddl_changes_partitions(d.command)) LOOP
        PERFORM audit.sync_partition_triggers(t::pg_catalog.regclass);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION audit.on_partition_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER audit_on_partition_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION audit.on_partition_ddl();

CREATE FUNCTION audit.enable_tracking(regclass) RETURNS void
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
    -- Registered before the ALTER below: audit.on_partition_ddl keeps audit_t only on tracked
    -- tables, and audit.on_ddl starts watching the table's triggers (a re-enabled table's
    -- change is recorded).
    INSERT INTO audit.tracked_table(table_id) VALUES ($1) ON CONFLICT (table_id) DO NOTHING;
    -- ALWAYS: writes under session_replication_role = replica are recorded too.
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_i_u_d, ENABLE ALWAYS TRIGGER audit_t', $1);
    PERFORM audit.sync_partition_triggers($1);  -- audit_t on its partitions
END;
$$;

-- Columns whose values are never stored (secrets, updated_at): an UPDATE changing only them
-- writes no version. Replaces the table's list; '{}' clears it.
CREATE FUNCTION audit.set_ignored_columns(regclass, text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    col text;
    pk text[];
BEGIN
    PERFORM audit.check_may_manage($1, 'audit.set_ignored_columns');
    pk := audit.primary_key_columns($1);
    FOREACH col IN ARRAY coalesce($2, ARRAY[]::text[]) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                        WHERE attrelid = $1 AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: table % has no column "%"', $1, col
                USING HINT = 'Column names are case-sensitive; list existing columns only.';
        END IF;
        IF col = ANY(pk) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: column "%" is part of the primary key of %', col, $1
                USING HINT = 'Key columns identify the record (record_id) and cannot be ignored.';
        END IF;
    END LOOP;
    -- Waits for the transactions writing to the table (and its partitions) and holds off new
    -- ones until commit: a writer that holds the table keeps its cached ignore list for the
    -- rest of its transaction (it processes the invalidation below only when it next locks
    -- the table), so none may still hold it once the new list is in effect.
    EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', $1);
    INSERT INTO audit.tracked_table(table_id, ignored_columns)
         VALUES ($1, coalesce($2, ARRAY[]::text[]))
    ON CONFLICT (table_id) DO UPDATE SET ignored_columns = excluded.ignored_columns;
    PERFORM audit.invalidate_table_settings($1);
END;
$$;

CREATE FUNCTION audit.enable_tracking(regclass, ignored_columns text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    -- Settings first: the triggers must never see the table without its ignore list.
    PERFORM audit.set_ignored_columns($1, $2);
    PERFORM audit.enable_tracking($1);
END;
$$;

CREATE FUNCTION audit.disable_tracking(regclass) RETURNS void
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
-- Not for PUBLIC (SECURITY DEFINER); GRANT EXECUTE to the roles that own tracked tables
-- (e.g. the migration role), which may then manage their own tables only.
REVOKE ALL ON FUNCTION audit.enable_tracking(regclass), audit.enable_tracking(regclass, text[]),
    audit.set_ignored_columns(regclass, text[]), audit.disable_tracking(regclass) FROM PUBLIC;

CREATE FUNCTION audit.is_tracked(regclass) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT pg_catalog.count(*) = 2 FROM pg_catalog.pg_trigger
     WHERE tgrelid = $1 AND tgname IN ('audit_i_u_d', 'audit_t')
$$;
-- The state of a table's audit triggers: 'enabled' (both, ALWAYS), 'enabled except in replica
-- mode' (ORIGIN: writes under session_replication_role = replica are not recorded),
-- 'disabled' (either disabled or REPLICA-only) or 'dropped' (either missing).
CREATE FUNCTION audit.trigger_state(regclass) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT CASE WHEN pg_catalog.count(*) < 2 THEN 'dropped'
                WHEN pg_catalog.bool_or(t.tgenabled OPERATOR(pg_catalog.=) ANY (ARRAY['D', 'R']::"char"[])) THEN 'disabled'
                WHEN pg_catalog.bool_or(t.tgenabled OPERATOR(pg_catalog.=) 'O') THEN 'enabled except in replica mode'
                ELSE 'enabled' END
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid OPERATOR(pg_catalog.=) $1::oid AND t.tgname OPERATOR(pg_catalog.=) ANY (ARRAY['audit_i_u_d', 'audit_t']::name[])
$$;

-- The audit-trigger state of each tracked table as last seen by audit.on_ddl. Not dumped: a
-- restore re-creates the triggers while its data loads, and its states are learnt afresh.
-- armed: the triggers have been complete ('enabled') since the row was made; only then is a
-- change recorded (a restore, or enable_tracking, building the triggers up is not an event).
CREATE TABLE audit.tracking_state(
    table_id regclass PRIMARY KEY,
    state    text NOT NULL,
    armed    boolean NOT NULL
);

-- After DDL that can change triggers: records each tracked table whose audit-trigger state
-- differs from the one last seen. SECURITY DEFINER: it runs for whoever ran the DDL.
CREATE FUNCTION audit.on_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    t record;
BEGIN
    IF pg_catalog.to_regclass('audit.tracking_state') IS NULL OR pg_catalog.to_regclass('audit.tracked_table') IS NULL THEN
        RETURN;
    END IF;
    FOR t IN SELECT tt.table_id AS rel, s.state AS was, s.armed,
                    audit.trigger_state(tt.table_id) AS now,
                    coalesce((SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tt.table_id::oid),
                             'dropped table with OID ' OPERATOR(pg_catalog.||) tt.table_id::oid::text) AS name
               FROM audit.tracked_table tt LEFT JOIN audit.tracking_state s ON s.table_id = tt.table_id LOOP
        IF t.was IS NULL THEN
            INSERT INTO audit.tracking_state(table_id, state, armed) VALUES (t.rel, t.now, t.now = 'enabled');
            CONTINUE;
        END IF;
        CONTINUE WHEN t.now = t.was;
        IF t.armed THEN
            INSERT INTO audit.tracking_event(event, table_name, detail)
            VALUES ('audit triggers ' || t.now, t.name,
                    pg_catalog.jsonb_build_object('previous', t.was, 'command', pg_catalog.current_query(),
                                                  'session_replication_role', pg_catalog.current_setting('session_replication_role')));
        END IF;
        UPDATE audit.tracking_state SET state = t.now, armed = armed OR t.now = 'enabled' WHERE table_id = t.rel;
    END LOOP;
END;
$$;
CREATE EVENT TRIGGER audit_on_ddl ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'DROP TRIGGER', 'ALTER TRIGGER', 'DROP TABLE')
    EXECUTE FUNCTION audit.on_ddl();
REVOKE ALL ON FUNCTION audit.on_ddl() FROM PUBLIC;

-- ---- append-only ----
CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_refuse_change';
-- A checkpoint, and the retention record that ties it into the chain, are written only by
-- audit.prune() (its C code opens the window; no SQL function does). Not ALWAYS: restoring a
-- dump of a pruned database needs session_replication_role = replica or --disable-triggers.
CREATE FUNCTION audit.refuse_forged_retention() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_refuse_forged_retention';
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['version_log', 'change_context', 'seal', 'checkpoint', 'tracking_log'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.%I
            FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', t);
        -- also under session_replication_role = replica
        EXECUTE pg_catalog.format('ALTER TABLE audit.%I ENABLE ALWAYS TRIGGER append_only', t);
    END LOOP;
END
$do$;
CREATE TRIGGER retention_only_by_prune BEFORE INSERT OR UPDATE ON audit.checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();
CREATE TRIGGER retention_only_by_prune BEFORE INSERT ON audit.tracking_log
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();
CREATE TRIGGER retention_only_by_prune BEFORE INSERT ON audit.tracking_event
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();

-- The tracking log is itself tracked: its rows are versions in the chain. Its row in
-- audit.tracked_table comes with CREATE EXTENSION, so a dump leaves it out.
CREATE TRIGGER audit_i_u_d AFTER INSERT OR UPDATE OR DELETE ON audit.tracking_log
    FOR EACH ROW EXECUTE FUNCTION audit.insert_update_delete_trigger();
CREATE TRIGGER audit_t AFTER TRUNCATE ON audit.tracking_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.truncate_trigger();
INSERT INTO audit.tracked_table(table_id) VALUES ('audit.tracking_log');
ALTER TABLE audit.tracking_log ENABLE ALWAYS TRIGGER audit_i_u_d, ENABLE ALWAYS TRIGGER audit_t;
SELECT pg_catalog.pg_extension_config_dump('audit.tracked_table', 'WHERE table_id <> ''audit.tracking_log''::regclass');

-- ---- hash chain ----
-- The text a version is hashed as: its row and its context row, in a fixed output format.
CREATE FUNCTION audit.version_text(l audit.version_log, c audit.change_context) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD'
    SET "IntervalStyle" = 'postgres' SET extra_float_digits = '1' AS $$
    -- Columns added after 0.1.0 (version_log.client_id, change_context.claimed_attribution)
    -- are hashed only when set, so that the versions sealed before they existed keep their hashes.
    SELECT CASE WHEN ($1).client_id IS NOT NULL THEN $1::text
                ELSE ROW(($1).id, ($1).op, ($1).ts, ($1).context_id, ($1).txid, ($1).record_id,
                         ($1).old_record_id, ($1).image, ($1).old_delta)::text END OPERATOR(pg_catalog.||)
           CASE WHEN ($2).id IS NULL THEN ''
                WHEN ($2).claimed_attribution IS NOT NULL THEN $2::text
                ELSE ROW(($2).id, ($2).table_oid, ($2).table_schema, ($2).table_name, ($2).db_role,
                         ($2).session_role, ($2).application_name, ($2).actor, ($2).sync_run_id, ($2).jwt_sub,
                         ($2).jwt_role, ($2).jwt_email, ($2).jwt_claims, ($2).auth_uid)::text END
$$;

-- The next transaction id to be assigned (without assigning one): the seal boundary's clock.
CREATE FUNCTION audit.next_xact_id() RETURNS xid8
    LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'rg_audit_next_xact_id';
REVOKE ALL ON FUNCTION audit.next_xact_id() FROM PUBLIC;

-- Seals new versions into the chain: hash(n) = sha256(hash(n-1) || version_text(n)). Only
-- versions whose transactions have all ended are sealed (ids are handed out before commit,
-- so a lower id can still commit later); when other transactions are running it records a
-- watermark and seals up to it on a later call. Returns how many versions it sealed.
CREATE FUNCTION audit.seal() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    last_id bigint;
    called boolean;
    next_xid xid8;
    snap pg_snapshot;
    boundary bigint;
    through bigint;
    prev bytea;
    r record;
    n bigint := 0;
BEGIN
    -- Lock order: change_context, then seal (as audit.prune()). Moving events below writes a
    -- version, which takes a context lock; taking it first means a seal() in a transaction that
    -- already holds its context lock never waits for seal while prune() holds seal and waits
    -- for the context lock (a deadlock PostgreSQL would break by aborting one of them).
    LOCK TABLE audit.change_context IN ROW SHARE MODE;
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;  -- one sealer at a time; readers are not blocked
    -- Pending tamper-evidence events become versions of audit.tracking_log (in the chain; this
    -- transaction's own versions are sealed by a later call).
    WITH moved AS (DELETE FROM audit.tracking_event e RETURNING e.*)
    INSERT INTO audit.tracking_log(event_id, at, event, table_name, detail, session_role, txid)
    SELECT m.id, m.at, m.event, m.table_name, m.detail, m.session_role, m.txid FROM moved m ORDER BY m.id;
    -- The boundary: no running transaction can still insert a version at or below it.
    -- 1. last_id: the highest id handed out so far.
    -- 2. next_xid, read after it: a transaction takes ids only once it has a transaction id
    --    (it has written the audited row, and nextval() assigns one anyway), so every
    --    transaction that holds an id <= last_id has an xid < next_xid. Later transactions
    --    get ids > last_id.
    -- 3. last_id is sealable once every xid < next_xid has ended: pg_snapshot_xmin (the oldest
    --    xid still running, the caller's own included) has reached next_xid. Not the
    --    snapshot's xmax and xip: xmax is the last *completed* xid + 1, and a running
    --    transaction whose xid is at or above it is not listed in pg_snapshot_xip (a later
    --    xid that took an earlier id and is still open when an earlier one commits).
    -- When that does not hold yet, (last_id, next_xid) is kept as a watermark and sealed by a
    -- later call that finds its condition met (seal() every few seconds, as registry-sync
    -- serve does, seals every version within a call or two of its transaction's end).
    SELECT s.last_value, s.is_called INTO last_id, called FROM audit.record_version_id_seq s;
    IF NOT called THEN last_id := 0; END IF;
    next_xid := audit.next_xact_id();
    snap := pg_catalog.pg_current_snapshot();  -- taken after next_xid was read
    IF pg_catalog.pg_snapshot_xmin(snap) OPERATOR(pg_catalog.>=) next_xid THEN
        boundary := last_id;
    ELSE
        SELECT max(w.through_id) INTO boundary FROM audit.seal_watermark w
         WHERE w.wait_xmax OPERATOR(pg_catalog.<=) pg_catalog.pg_snapshot_xmin(snap);
        INSERT INTO audit.seal_watermark(through_id, wait_xmax) VALUES (last_id, next_xid);
    END IF;
    DELETE FROM audit.seal_watermark w WHERE w.through_id <= coalesce(boundary, 0);

    SELECT s.id, s.hash INTO through, prev FROM audit.seal s ORDER BY s.id DESC LIMIT 1;
    IF through IS NULL THEN
        SELECT c.through_id, c.hash INTO through, prev FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    END IF;
    through := coalesce(through, 0);
    prev := coalesce(prev, '\x'::bytea);
    IF boundary IS NULL OR boundary <= through THEN
        RETURN 0;
    END IF;
    FOR r IN SELECT l.id, audit.version_text(l, c) AS t
               FROM audit.version_log l LEFT JOIN audit.change_context c ON c.id = l.context_id
              WHERE l.id > through AND l.id <= boundary ORDER BY l.id LOOP
        prev := pg_catalog.sha256(prev OPERATOR(pg_catalog.||) pg_catalog.convert_to(r.t, 'UTF8'));
        INSERT INTO audit.seal(id, hash) VALUES (r.id, prev);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION audit.seal() FROM PUBLIC;

-- The chain's head, to keep outside the database (e.g. in the sync run log): a superuser who
-- rewrites history and recomputes the chain is caught by comparing heads.
CREATE FUNCTION audit.seal_head(OUT id bigint, OUT hash bytea) RETURNS record
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT * FROM (SELECT s.id, s.hash FROM audit.seal s ORDER BY s.id DESC LIMIT 1) h
    UNION ALL
    SELECT * FROM (SELECT c.through_id, c.hash FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1) k
    LIMIT 1
$$;

-- The chain walk of verify(): versions and seals in (start_id, head], starting from prev (the
-- hash at start_id: a checkpoint's, or the last seal an incremental verify found good).
CREATE FUNCTION audit.verify_range(start_id bigint, prev bytea, head bigint, after_checkpoint boolean,
                                   OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text)
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    r record;
BEGIN
    checked := 0;
    FOR r IN SELECT coalesce(l.id, s.id) AS id, l.id IS NOT NULL AS has_row, s.id IS NOT NULL AS has_seal,
                    s.hash, CASE WHEN l.id IS NOT NULL THEN audit.version_text(l, c) END AS t
               FROM (SELECT * FROM audit.version_log v WHERE v.id > start_id AND v.id <= head) l
               FULL JOIN (SELECT * FROM audit.seal x WHERE x.id > start_id AND x.id <= head) s ON s.id = l.id
               LEFT JOIN audit.change_context c ON c.id = l.context_id
              ORDER BY 1 LOOP
        IF NOT r.has_seal THEN
            ok := false; first_bad_id := r.id;
            problem := pg_catalog.format('version %s was inserted: it is inside the sealed range but not in the chain', r.id);
            RETURN;
        END IF;
        IF NOT r.has_row THEN
            ok := false; first_bad_id := r.id;
            problem := pg_catalog.format('version %s was deleted: it is in the chain but no longer in audit.version_log', r.id);
            RETURN;
        END IF;
        prev := pg_catalog.sha256(prev OPERATOR(pg_catalog.||) pg_catalog.convert_to(r.t, 'UTF8'));
        IF prev OPERATOR(pg_catalog.<>) r.hash THEN
            ok := false; first_bad_id := r.id;
            IF checked = 0 AND after_checkpoint THEN
                -- The checkpoint is the chain's link to the removed history: its hash must lead to
                -- the first seal after it.
                problem := pg_catalog.format('version %s does not follow from retention checkpoint %s: the checkpoint''s hash is not the chain''s, or the version was changed', r.id, start_id);
            ELSE
                problem := pg_catalog.format('version %s was changed: its content no longer matches its seal', r.id);
            END IF;
            RETURN;
        END IF;
        checked := checked + 1;
    END LOOP;
    ok := true;
END;
$$;
REVOKE ALL ON FUNCTION audit.verify_range(bigint, bytea, bigint, boolean) FROM PUBLIC;

-- Recomputes the chain from the last retention checkpoint and names the first version that
-- was changed, deleted or inserted behind the triggers' back.
CREATE FUNCTION audit.verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text,
                             OUT unsealed bigint) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    start_id bigint;
    prev bytea;
    head bigint;
    cp audit.checkpoint;
BEGIN
    checked := 0;
    SELECT c.* INTO cp FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    start_id := coalesce(cp.through_id, 0);
    prev := coalesce(cp.hash, '\x'::bytea);
    SELECT max(s.id) INTO head FROM audit.seal s;
    head := greatest(coalesce(head, start_id), start_id);
    SELECT count(*) INTO unsealed FROM audit.version_log l WHERE l.id > head;
    -- A checkpoint counts only with the retention record audit.prune() writes into the chain.
    IF start_id > 0 AND NOT EXISTS (
        SELECT FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
         WHERE l.id > start_id AND c.table_schema = 'audit' AND c.table_name = 'tracking_log' AND l.op = 'INSERT'
           AND l.image ->> 'event' = 'retention'
           AND l.image -> 'detail' ->> 'through_id' = start_id::text
           AND l.image -> 'detail' ->> 'hash' = pg_catalog.encode(prev, 'hex')
           AND (l.image -> 'detail' ->> 'rows_pruned')::bigint = cp.rows_pruned
           AND (l.image -> 'detail' ->> 'cutoff')::timestamptz = cp.cutoff
           AND coalesce((l.image -> 'detail' ->> 'checkpoint_id')::bigint, cp.id) = cp.id) THEN
        ok := false;
        first_bad_id := start_id;
        problem := pg_catalog.format('retention checkpoint through version %s has no retention record in the chain: history before it was removed behind audit.prune()''s back', start_id);
        RETURN;
    END IF;
    SELECT min(l.id) INTO first_bad_id FROM audit.version_log l WHERE l.id <= start_id;
    IF first_bad_id IS NOT NULL THEN
        ok := false;
        problem := pg_catalog.format('version %s was inserted: it is older than retention checkpoint %s', first_bad_id, start_id);
        RETURN;
    END IF;
    SELECT r.ok, r.checked, r.first_bad_id, r.problem INTO ok, checked, first_bad_id, problem
      FROM audit.verify_range(start_id, prev, head, start_id > 0) r;
END;
$$;
-- Auditors get it with GRANT EXECUTE (it reads the whole trail as its owner).
REVOKE ALL ON FUNCTION audit.verify() FROM PUBLIC;

-- Incremental verify: only the versions and seals after the last seal a previous run found
-- good. audit.verify_state keeps that seal and its hash; it is written only from
-- audit.verify_incremental() (C opens it, as prune() does retention) and counts only while the
-- chain still has that hash at that seal and no retention happened since. Otherwise the whole
-- chain is verified (from_id 0). Tampering at or before the remembered seal is left to a full
-- audit.verify() on a slower schedule (registry-sync serve's health job runs both).
CREATE TABLE audit.verify_state(
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seal_id       bigint NOT NULL,
    seal_hash     bytea NOT NULL,
    checkpoint_id bigint,
    verified_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE FUNCTION audit.refuse_forged_verify_state() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_refuse_forged_verify_state';
CREATE TRIGGER only_by_verify BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON audit.verify_state
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_forged_verify_state();
CREATE FUNCTION audit.verify_incremental_steps(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint,
                                               OUT problem text, OUT unsealed bigint, OUT from_id bigint) RETURNS record
    LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
    st audit.verify_state;
    cp_id bigint;
    head bigint;
    head_hash bytea;
BEGIN
    -- No seal() while this runs: the head read here is the head verified.
    LOCK TABLE audit.seal IN SHARE MODE;
    SELECT c.id INTO cp_id FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    SELECT s.id, s.hash INTO head, head_hash FROM audit.seal s ORDER BY s.id DESC LIMIT 1;
    SELECT v.* INTO st FROM audit.verify_state v;
    IF st.seal_id IS NOT NULL AND st.checkpoint_id IS NOT DISTINCT FROM cp_id
       AND EXISTS (SELECT FROM audit.seal s WHERE s.id = st.seal_id AND s.hash = st.seal_hash) THEN
        from_id := st.seal_id;
        SELECT count(*) INTO unsealed FROM audit.version_log l WHERE l.id > greatest(head, st.seal_id);
        SELECT r.ok, r.checked, r.first_bad_id, r.problem INTO ok, checked, first_bad_id, problem
          FROM audit.verify_range(st.seal_id, st.seal_hash, greatest(head, st.seal_id), false) r;
    ELSE
        from_id := 0;
        SELECT v.ok, v.checked, v.first_bad_id, v.problem, v.unsealed INTO ok, checked, first_bad_id, problem, unsealed
          FROM audit.verify() v;
    END IF;
    IF ok AND head IS NOT NULL THEN
        INSERT INTO audit.verify_state(seal_id, seal_hash, checkpoint_id) VALUES (head, head_hash, cp_id)
        ON CONFLICT (singleton) DO UPDATE SET seal_id = EXCLUDED.seal_id, seal_hash = EXCLUDED.seal_hash,
                                              checkpoint_id = EXCLUDED.checkpoint_id, verified_at = EXCLUDED.verified_at;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION audit.verify_incremental_steps() FROM PUBLIC;
CREATE FUNCTION audit.verify_incremental(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint,
                                         OUT problem text, OUT unsealed bigint, OUT from_id bigint) RETURNS record
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = '' AS 'MODULE_PATHNAME', 'rg_audit_verify_incremental';
-- Like verify(): for auditors and monitoring roles by GRANT EXECUTE.
REVOKE ALL ON FUNCTION audit.verify_incremental() FROM PUBLIC;

-- verify() and a comparison with a seal head kept outside the database (audit.seal_head()
-- saved earlier): the chain must still hold that hash at that id. Catches a rewritten and
-- re-sealed history, removed recent versions, and a forged checkpoint with a re-computed chain.
CREATE FUNCTION audit.verify(expected_id bigint, expected_hash bytea, OUT ok boolean, OUT checked bigint,
                             OUT first_bad_id bigint, OUT problem text, OUT unsealed bigint) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    h bytea;
    last_checkpoint bigint;
BEGIN
    SELECT v.ok, v.checked, v.first_bad_id, v.problem, v.unsealed INTO ok, checked, first_bad_id, problem, unsealed
      FROM audit.verify() v;
    IF NOT ok OR expected_id IS NULL THEN RETURN; END IF;
    SELECT s.hash INTO h FROM audit.seal s WHERE s.id = expected_id;
    IF h IS NULL THEN
        SELECT c.hash INTO h FROM audit.checkpoint c WHERE c.through_id = expected_id ORDER BY c.id DESC LIMIT 1;
    END IF;
    SELECT max(c.through_id) INTO last_checkpoint FROM audit.checkpoint c;
    IF h IS NULL AND expected_id > coalesce(last_checkpoint, 0) THEN
        ok := false; first_bad_id := expected_id;
        problem := pg_catalog.format('the external seal head %s is no longer in the chain: sealed versions were removed', expected_id);
    ELSIF h IS NULL THEN
        problem := pg_catalog.format('the external seal head %s is older than retention checkpoint %s: only the chain after it was compared',
                                     expected_id, last_checkpoint);
    ELSIF h OPERATOR(pg_catalog.<>) expected_hash THEN
        ok := false; first_bad_id := expected_id;
        problem := pg_catalog.format('seal %s no longer has the external hash: the history up to it was rewritten and re-sealed', expected_id);
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION audit.verify(bigint, bytea) FROM PUBLIC;

-- Retention: removes sealed versions older than the cut-off (a prefix of the chain) and the
-- change_context rows no version refers to any more, and records a checkpoint holding the
-- hash of the last removed version, so verify() still works. audit.prune() (C) opens the
-- retention window only while it runs these steps: called directly they cannot delete.
CREATE FUNCTION audit.prune_steps(older_than timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
    sealed_max bigint;
    through bigint;
    last_checkpoint bigint;
    h bytea;
    n bigint;
    cp bigint;
BEGIN
    IF older_than IS NULL THEN
        RAISE EXCEPTION 'audit.prune: the cut-off must not be NULL' USING HINT = 'e.g. audit.prune(now() - interval ''2 years'')';
    END IF;
    -- Lock order: change_context before seal, as in audit.seal() (a writer holding its context
    -- lock may call seal() while prune() waits for that lock: no deadlock).
    -- Writers hold ROW SHARE on change_context while they use a context id (backends cache
    -- them across transactions): this waits for them, and the contexts left without versions
    -- can then go. audit.prune() makes every backend forget its cached ids.
    LOCK TABLE audit.change_context IN EXCLUSIVE MODE;
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;
    SELECT max(s.id) INTO sealed_max FROM audit.seal s;
    SELECT max(c.through_id) INTO last_checkpoint FROM audit.checkpoint c;
    IF sealed_max IS NULL THEN
        RETURN 0;  -- nothing sealed: only sealed versions are ever removed
    END IF;
    SELECT coalesce(min(l.id) - 1, sealed_max) INTO through
      FROM audit.version_log l WHERE l.id <= sealed_max AND l.ts >= older_than;
    through := least(through, sealed_max);
    SELECT s.id, s.hash INTO through, h FROM audit.seal s WHERE s.id <= through ORDER BY s.id DESC LIMIT 1;
    IF through IS NULL OR through <= coalesce(last_checkpoint, 0) THEN
        RETURN 0;
    END IF;
    DELETE FROM audit.version_log l WHERE l.id <= through;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM audit.seal s WHERE s.id <= through;
    DELETE FROM audit.change_context c
     WHERE NOT EXISTS (SELECT FROM audit.version_log l WHERE l.context_id = c.id);
    INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (through, h, n, older_than)
    RETURNING id INTO cp;
    -- The checkpoint becomes a link of the chain: its retention record is a version (sealed by
    -- the next seal()), and verify() accepts the checkpoint only when that record names all of
    -- it. Both rows are refused outside audit.prune() (trigger retention_only_by_prune).
    INSERT INTO audit.tracking_log(at, event, detail, session_role, txid)
    VALUES (pg_catalog.clock_timestamp(), 'retention',
            pg_catalog.jsonb_build_object('through_id', through, 'hash', pg_catalog.encode(h, 'hex'),
                                          'rows_pruned', n, 'cutoff', older_than, 'checkpoint_id', cp),
            SESSION_USER, pg_catalog.txid_current());
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION audit.prune_steps(timestamptz) FROM PUBLIC;
CREATE FUNCTION audit.prune(older_than timestamptz) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = '' AS 'MODULE_PATHNAME', 'rg_audit_prune';
REVOKE ALL ON FUNCTION audit.prune(timestamptz) FROM PUBLIC;

-- ---- a tenant's own history ----
-- For a tenant's administrators, e.g. through PostgREST: the versions whose client_id is the
-- caller's tenant (guard.client_id(): for API roles only the signed JWT claim
-- app_metadata.client_id counts), never another tenant's, and no other user's raw claims
-- (jwt_claims only for the caller's own changes). A caller whose tenant does not come from
-- app.client_id of a trusted role must carry the signed claim app_metadata.tenant_admin = true.
-- TRUNCATEs (all tenants at once) and versions of tables without client_id are not shown.
-- Not for PUBLIC: GRANT USAGE ON SCHEMA audit and EXECUTE on it to e.g. authenticated.
CREATE FUNCTION audit.tenant_history(since timestamptz DEFAULT NULL, of_table regclass DEFAULT NULL)
    RETURNS TABLE(id bigint, record_id uuid, old_record_id uuid, op audit.operation, ts timestamptz,
                  table_schema name, table_name name, record jsonb, old_record jsonb, changed_columns text[],
                  db_role name, actor text, sync_run_id bigint, jwt_sub text, jwt_role text, jwt_email text,
                  jwt_claims jsonb, client_id text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    tenant text := guard.client_id();
    me text := guard.claim('sub');
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'audit.tenant_history: the request names no tenant'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Call it with a JWT whose app_metadata.client_id names the tenant (trusted roles: SET app.client_id).';
    END IF;
    IF guard.tenant_source() IS DISTINCT FROM 'app.client_id'
       AND guard.claim('app_metadata.tenant_admin') IS DISTINCT FROM 'true' THEN
        RAISE EXCEPTION 'audit.tenant_history: only an administrator of tenant "%" may read its history', tenant
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The JWT must carry app_metadata.tenant_admin = true (set by the auth server, not by the user).';
    END IF;
    RETURN QUERY
    SELECT v.id, v.record_id, v.old_record_id, v.op, v.ts, v.table_schema, v.table_name, v.record, v.old_record,
           v.changed_columns, v.db_role, v.actor, v.sync_run_id, v.jwt_sub, v.jwt_role, v.jwt_email,
           CASE WHEN me IS NOT NULL AND v.jwt_sub = me THEN v.jwt_claims END, v.client_id
      FROM audit.record_version v
     WHERE v.client_id = tenant
       AND (since IS NULL OR v.ts >= since)
       AND (of_table IS NULL OR (v.table_schema, v.table_name) =
            (SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = of_table))
     ORDER BY v.id;
END;
$$;
REVOKE ALL ON FUNCTION audit.tenant_history(timestamptz, regclass) FROM PUBLIC;

-- ---- queries ----
-- Every version of one record, found by schema, table name and key values (not by OID:
-- OIDs change on restore, record ids change when the key columns change, e.g. tenancy).
CREATE FUNCTION audit.history(table_schema text, table_name text, key jsonb)
    RETURNS SETOF audit.record_version
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    cols text[];
BEGIN
    IF key IS NULL OR pg_catalog.jsonb_typeof(key) <> 'object' OR key = '{}'::jsonb THEN
        RAISE EXCEPTION 'audit.history: key must be a JSON object of key column values, got %', coalesce(key::text, 'NULL')
            USING HINT = 'e.g. audit.history(''public'', ''kpis'', ''{"id": "kpi_1"}'')';
    END IF;
    -- Key columns in the table's column order (as supa_audit hashes them) while it exists.
    SELECT pg_catalog.array_agg(k ORDER BY a.attnum NULLS LAST, k) INTO cols
      FROM pg_catalog.jsonb_object_keys(key) k
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))
       AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped;
    IF pg_catalog.array_length(cols, 1) > 8 THEN
        RAISE EXCEPTION 'audit.history: at most 8 key columns, got %', pg_catalog.array_length(cols, 1);
    END IF;
    RETURN QUERY
    WITH oids AS (
        SELECT DISTINCT c.table_oid FROM audit.change_context c WHERE c.table_schema = $1 AND c.table_name = $2
    ), subsets AS (  -- every subset of the key columns: the key the table had at the time
        SELECT ARRAY(SELECT cols[i] FROM pg_catalog.generate_subscripts(cols, 1) i
                      WHERE (m >> (i - 1)) & 1 = 1 ORDER BY i) AS sub
          FROM pg_catalog.generate_series(1, (1 << pg_catalog.array_length(cols, 1)) - 1) m
    ), candidates AS (
        SELECT audit.to_record_id(o.table_oid, s.sub, key) AS rid, s.sub FROM oids o, subsets s
    )
    SELECT DISTINCT ON (v.id) v.*
      FROM candidates cand
      JOIN audit.record_version v
        ON v.record_id = cand.rid
        OR (v.old_record_id = cand.rid AND v.old_record_id IS DISTINCT FROM v.record_id)
     WHERE v.table_schema = $1 AND v.table_name = $2
       AND NOT EXISTS (  -- the version really holds these key values (no subset collision)
           SELECT FROM pg_catalog.unnest(cand.sub) c
            WHERE (CASE WHEN v.record_id = cand.rid THEN v.record ELSE v.old_record END) ->> c
                  IS DISTINCT FROM key ->> c)
     ORDER BY v.id;
END;
$$;

CREATE FUNCTION audit.history(tbl regclass, key jsonb) RETURNS SETOF audit.record_version
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT h.* FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
           audit.history(n.nspname::text, c.relname::text, $2) h
     WHERE c.oid = $1
$$;

-- One record as it was at a point in time (NULL: it did not exist, or was not yet tracked).
CREATE FUNCTION audit.record_as_of(tbl regclass, key jsonb, at timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = '' AS $$
    WITH last AS (
        SELECT h.* FROM audit.history($1, $2) h WHERE h.ts <= $3 ORDER BY h.id DESC LIMIT 1
    )
    SELECT CASE WHEN l.op IN ('INSERT', 'UPDATE')
                 AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_object_keys($2) k
                                  WHERE l.record ->> k IS DISTINCT FROM $2 ->> k)
                 AND NOT EXISTS (SELECT FROM audit.record_version t
                                  WHERE t.op = 'TRUNCATE' AND t.table_schema = l.table_schema
                                    AND t.table_name = l.table_name AND t.id > l.id AND t.ts <= $3)
                THEN l.record END
      FROM last l
$$;

-- A whole table as it was at a point in time, as far as the audit trail knows it (rows
-- never changed while tracked have no version and are not included).
CREATE FUNCTION audit.table_as_of(tbl regclass, at timestamptz) RETURNS SETOF jsonb
    LANGUAGE sql STABLE SET search_path = '' AS $$
    WITH t AS (
        SELECT n.nspname AS s, c.relname AS r FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1
    ), v AS (
        SELECT rv.* FROM audit.record_version rv, t
         WHERE rv.table_schema = t.s AND rv.table_name = t.r AND rv.ts <= $2
    )
    SELECT v.record FROM v
     WHERE v.op IN ('INSERT', 'UPDATE')
       AND NOT EXISTS (SELECT FROM v w WHERE w.id > v.id
                          AND (w.op = 'TRUNCATE' OR w.old_record_id = v.record_id OR w.record_id = v.record_id))
     ORDER BY v.id
$$;

-- What changed between two versions' states (a DELETE's state is "no row"), column by column.
CREATE FUNCTION audit.diff(from_version bigint, to_version bigint)
    RETURNS TABLE(column_name text, old_value jsonb, new_value jsonb)
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    a jsonb;
    b jsonb;
BEGIN
    IF NOT EXISTS (SELECT FROM audit.version_log l WHERE l.id = from_version) THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', from_version;
    END IF;
    IF NOT EXISTS (SELECT FROM audit.version_log l WHERE l.id = to_version) THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', to_version;
    END IF;
    SELECT v.record INTO a FROM audit.record_version v WHERE v.id = from_version;
    SELECT v.record INTO b FROM audit.record_version v WHERE v.id = to_version;
    RETURN QUERY
    SELECT k, a -> k, b -> k
      FROM (SELECT pg_catalog.jsonb_object_keys(coalesce(a, '{}')) UNION
            SELECT pg_catalog.jsonb_object_keys(coalesce(b, '{}'))) keys(k)
     WHERE (a -> k) IS DISTINCT FROM (b -> k)
     ORDER BY k;
END;
$$;

-- What one version changed (old_record -> record).
CREATE FUNCTION audit.diff(version bigint) RETURNS TABLE(column_name text, old_value jsonb, new_value jsonb)
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    v record;
BEGIN
    SELECT rv.record, rv.old_record INTO v FROM audit.record_version rv WHERE rv.id = version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', version;
    END IF;
    RETURN QUERY
    SELECT k, v.old_record -> k, v.record -> k
      FROM (SELECT pg_catalog.jsonb_object_keys(coalesce(v.old_record, '{}')) UNION
            SELECT pg_catalog.jsonb_object_keys(coalesce(v.record, '{}'))) keys(k)
     WHERE (v.old_record -> k) IS DISTINCT FROM (v.record -> k)
     ORDER BY k;
END;
$$;

-- Puts a record back to its state at a version (for a DELETE: as it was before it), by key,
-- as the calling user (its rights and RLS apply). The restore is itself audited. Ignored
-- columns were never stored: they keep their current value (or default, when re-inserted).
CREATE FUNCTION audit.restore(version bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
    v record;
    rec jsonb;
    tbl regclass;
    pk text[];
    cols text[];
    setcols text[];
    current_row jsonb;
    inserted boolean;
BEGIN
    SELECT rv.op, rv.record, rv.old_record, rv.table_schema, rv.table_name INTO v
      FROM audit.record_version rv WHERE rv.id = version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit.restore: version % does not exist', version;
    END IF;
    IF v.op = 'TRUNCATE' THEN
        RAISE EXCEPTION 'audit.restore: version % is a TRUNCATE, which holds no record', version
            USING HINT = 'Restore the records from their own versions (audit.table_as_of shows them).';
    END IF;
    rec := CASE WHEN v.op = 'DELETE' THEN v.old_record ELSE v.record END;
    tbl := pg_catalog.to_regclass(pg_catalog.quote_ident(v.table_schema) || '.' || pg_catalog.quote_ident(v.table_name));
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'audit.restore: table %.% no longer exists', pg_catalog.quote_ident(v.table_schema),
            pg_catalog.quote_ident(v.table_name);
    END IF;
    pk := audit.primary_key_columns(tbl);
    IF pk = ARRAY[]::text[] THEN
        RAISE EXCEPTION 'audit.restore: table % has no primary key to restore by', tbl;
    END IF;
    SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND rec ? a.attname;
    setcols := ARRAY(SELECT c FROM pg_catalog.unnest(cols) c WHERE c <> ALL(pk));
    -- Already in that state: write nothing.
    EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s t WHERE (%s) = (SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r)',
        tbl,
        (SELECT pg_catalog.string_agg('t.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        (SELECT pg_catalog.string_agg('r.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        tbl)
    INTO current_row USING rec;
    IF current_row IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_catalog.unnest(cols) c WHERE (current_row -> c) IS DISTINCT FROM (rec -> c)) THEN
        RETURN 'unchanged';
    END IF;
    EXECUTE pg_catalog.format(
        'INSERT INTO %s AS t (%s) SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r
         ON CONFLICT (%s) DO %s RETURNING (t.xmax = 0)',
        tbl,
        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c),
        (SELECT pg_catalog.string_agg('r.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c),
        tbl,
        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        CASE WHEN pg_catalog.cardinality(setcols) = 0 THEN 'NOTHING'
             ELSE pg_catalog.format('UPDATE SET (%s) = ROW(%s)',
                  (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(setcols) c),
                  (SELECT pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(c), ', ')
                     FROM pg_catalog.unnest(setcols) c)) END)
    INTO inserted USING rec;
    RETURN CASE WHEN inserted THEN 'inserted' ELSE 'updated' END;
END;
$$;
-- ==== end audit trail ====
