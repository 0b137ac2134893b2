-- Incremental verify (issue 16 item 1): audit.verify_incremental() checks only the versions and
-- seals after the last seal a previous run found good (audit.verify_state, written only by it);
-- verify()'s chain walk moves into audit.verify_range() so both share it.
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

CREATE OR REPLACE FUNCTION audit.verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text,
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
