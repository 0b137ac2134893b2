-- Retention as a link of the chain (issue 11 item 4): audit.prune() is C and opens the retention
-- window only around audit.prune_steps(); audit.retention_window() is gone (its C symbol refuses,
-- for databases still on 0.1.0); checkpoints and retention records are refused outside prune();
-- verify() checks that the retention record names the whole checkpoint; seal() and prune() take
-- change_context before seal (no deadlock between them).
DROP FUNCTION audit.retention_window(boolean);
-- A checkpoint, and the retention record that ties it into the chain, are written only by
-- audit.prune() (its C code opens the window; no SQL function does). Not ALWAYS: restoring a
-- dump of a pruned database needs session_replication_role = replica or --disable-triggers.
CREATE FUNCTION audit.refuse_forged_retention() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_refuse_forged_retention';
CREATE TRIGGER retention_only_by_prune BEFORE INSERT OR UPDATE ON audit.checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();
CREATE TRIGGER retention_only_by_prune BEFORE INSERT ON audit.tracking_log
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();
CREATE TRIGGER retention_only_by_prune BEFORE INSERT ON audit.tracking_event
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_forged_retention();

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

CREATE OR REPLACE FUNCTION audit.verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text,
                             OUT unsealed bigint) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    start_id bigint;
    prev bytea;
    head bigint;
    cp audit.checkpoint;
    r record;
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
            IF checked = 0 AND start_id > 0 THEN
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
-- Auditors get it with GRANT EXECUTE (it reads the whole trail as its owner).
REVOKE ALL ON FUNCTION audit.verify() FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION audit.prune(older_than timestamptz) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = '' AS 'MODULE_PATHNAME', 'rg_audit_prune';
REVOKE ALL ON FUNCTION audit.prune(timestamptz) FROM PUBLIC;
