-- Tamper evidence (issue 11 item 4): audit triggers are ALWAYS (replica-mode writes are
-- recorded); changes of a tracked table's audit triggers are recorded by an event trigger and
-- moved into the chain by audit.seal() (versions of audit.tracking_log); audit.prune() writes a
-- retention record into the chain and verify() accepts a checkpoint only with it;
-- audit.verify(expected_id, expected_hash) compares with a seal head kept outside.
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

SELECT pg_catalog.pg_extension_config_dump('audit.tracking_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracking_log_id_seq', '');

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
    -- Registered before the ALTER below: audit.on_partition_ddl keeps audit_t only on tracked
    -- tables, and audit.on_ddl starts watching the table's triggers (a re-enabled table's
    -- change is recorded).
    INSERT INTO audit.tracked_table(table_id) VALUES ($1) ON CONFLICT (table_id) DO NOTHING;
    -- ALWAYS: writes under session_replication_role = replica are recorded too.
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_i_u_d, ENABLE ALWAYS TRIGGER audit_t', $1);
    PERFORM audit.sync_partition_triggers($1);  -- audit_t on its partitions
END;
$$;

CREATE FUNCTION audit.trigger_state(regclass) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT CASE WHEN pg_catalog.count(*) < 2 THEN 'dropped'
                WHEN pg_catalog.bool_or(t.tgenabled OPERATOR(pg_catalog.=) ANY (ARRAY['D', 'R']::"char"[])) THEN 'disabled'
                WHEN pg_catalog.bool_or(t.tgenabled OPERATOR(pg_catalog.=) 'O') THEN 'enabled except in replica mode'
                ELSE 'enabled' END
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid OPERATOR(pg_catalog.=) $1::oid AND t.tgname OPERATOR(pg_catalog.=) ANY (ARRAY['audit_i_u_d', 'audit_t']::name[])
$$;

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
REVOKE ALL ON FUNCTION audit.on_ddl() FROM PUBLIC;

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.tracking_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
ALTER TABLE audit.tracking_log ENABLE ALWAYS TRIGGER append_only;
CREATE TRIGGER audit_i_u_d AFTER INSERT OR UPDATE OR DELETE ON audit.tracking_log
    FOR EACH ROW EXECUTE FUNCTION audit.insert_update_delete_trigger();
CREATE TRIGGER audit_t AFTER TRUNCATE ON audit.tracking_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.truncate_trigger();
INSERT INTO audit.tracked_table(table_id) VALUES ('audit.tracking_log');
ALTER TABLE audit.tracking_log ENABLE ALWAYS TRIGGER audit_i_u_d, ENABLE ALWAYS TRIGGER audit_t;
SELECT pg_catalog.pg_extension_config_dump('audit.tracked_table', 'WHERE table_id <> ''audit.tracking_log''::regclass');

CREATE OR REPLACE FUNCTION audit.sync_partition_triggers(root regclass) RETURNS void
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

-- Tables tracked under 0.1.0: their audit triggers become ALWAYS; the state is recorded.
DO $do$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT tt.table_id FROM audit.tracked_table tt WHERE tt.table_id <> 'audit.tracking_log'::regclass LOOP
        IF audit.trigger_state(t) <> 'dropped' THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_i_u_d, ENABLE ALWAYS TRIGGER audit_t', t);
            -- and the audit_t of its partitions (created by 32_audit_partitions as ORIGIN)
            EXECUTE coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_t;', g.tgrelid::regclass), ' ')
                                FROM pg_catalog.pg_partition_tree(t) pt JOIN pg_catalog.pg_trigger g ON g.tgrelid = pt.relid
                               WHERE pt.relid <> t::oid AND g.tgname = 'audit_t'), '');
        END IF;
        INSERT INTO audit.tracking_state(table_id, state, armed)
        VALUES (t, audit.trigger_state(t), audit.trigger_state(t) = 'enabled')
        ON CONFLICT (table_id) DO UPDATE SET state = excluded.state, armed = excluded.armed;
    END LOOP;
END
$do$;

CREATE OR REPLACE FUNCTION audit.seal() RETURNS bigint
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

CREATE OR REPLACE FUNCTION audit.prune(older_than timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    sealed_max bigint;
    through bigint;
    last_checkpoint bigint;
    h bytea;
    n bigint;
BEGIN
    IF older_than IS NULL THEN
        RAISE EXCEPTION 'audit.prune: the cut-off must not be NULL' USING HINT = 'e.g. audit.prune(now() - interval ''2 years'')';
    END IF;
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;
    -- Writers hold ROW SHARE on change_context while they use a context id (backends cache
    -- them across transactions): this waits for them, and the contexts left without versions
    -- can then go. retention_window(false) makes every backend forget its cached ids.
    LOCK TABLE audit.change_context IN EXCLUSIVE MODE;
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
    PERFORM audit.retention_window(true);
    DELETE FROM audit.version_log l WHERE l.id <= through;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM audit.seal s WHERE s.id <= through;
    DELETE FROM audit.change_context c
     WHERE NOT EXISTS (SELECT FROM audit.version_log l WHERE l.context_id = c.id);
    PERFORM audit.retention_window(false);
    INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (through, h, n, older_than);
    -- The retention itself becomes a version in the chain: verify() accepts a checkpoint only
    -- with its record, so rows inserted into audit.checkpoint by hand are found out.
    INSERT INTO audit.tracking_log(at, event, detail, session_role, txid)
    VALUES (pg_catalog.clock_timestamp(), 'retention',
            pg_catalog.jsonb_build_object('through_id', through, 'hash', pg_catalog.encode(h, 'hex'),
                                          'rows_pruned', n, 'cutoff', older_than),
            SESSION_USER, pg_catalog.txid_current());
    RETURN n;
END;
$$;

CREATE OR REPLACE FUNCTION audit.verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text,
                             OUT unsealed bigint) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    start_id bigint;
    prev bytea;
    head bigint;
    r record;
BEGIN
    checked := 0;
    SELECT c.through_id, c.hash INTO start_id, prev FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    start_id := coalesce(start_id, 0);
    prev := coalesce(prev, '\x'::bytea);
    SELECT max(s.id) INTO head FROM audit.seal s;
    head := greatest(coalesce(head, start_id), start_id);
    SELECT count(*) INTO unsealed FROM audit.version_log l WHERE l.id > head;
    -- A checkpoint counts only with the retention record audit.prune() writes into the chain.
    IF start_id > 0 AND NOT EXISTS (
        SELECT FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
         WHERE l.id > start_id AND c.table_schema = 'audit' AND c.table_name = 'tracking_log' AND l.op = 'INSERT'
           AND l.image ->> 'event' = 'retention'
           AND l.image -> 'detail' ->> 'through_id' = start_id::text
           AND l.image -> 'detail' ->> 'hash' = pg_catalog.encode(prev, 'hex')) THEN
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
    FOR r IN SELECT coalesce(l.id, s.id) AS id, l.id IS NOT NULL AS has_row, s.id IS NOT NULL AS has_seal,
                    s.hash, CASE WHEN l.id IS NOT NULL THEN audit.version_text(l, c) END AS t
               FROM (SELECT * FROM audit.version_log v WHERE v.id > start_id AND v.id <= head) l
               FULL JOIN (SELECT * FROM audit.seal x WHERE x.id > start_id) s ON s.id = l.id
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
            problem := pg_catalog.format('version %s was changed: its content no longer matches its seal', r.id);
            RETURN;
        END IF;
        checked := checked + 1;
    END LOOP;
    ok := true;
END;
$$;

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

-- A retention checkpoint made by 0.1.0 gets its record in the chain now.
INSERT INTO audit.tracking_log(at, event, detail, session_role, txid)
SELECT pg_catalog.clock_timestamp(), 'retention',
       pg_catalog.jsonb_build_object('through_id', c.through_id, 'hash', pg_catalog.encode(c.hash, 'hex'),
                                     'rows_pruned', c.rows_pruned, 'cutoff', c.cutoff, 'recorded', 'at the upgrade to 0.2.0'),
       SESSION_USER, pg_catalog.txid_current()
  FROM (SELECT * FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1) c;

CREATE EVENT TRIGGER audit_on_ddl ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'DROP TRIGGER', 'ALTER TRIGGER', 'DROP TABLE')
    EXECUTE FUNCTION audit.on_ddl();
