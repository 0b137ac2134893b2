-- audit.seal(): a boundary no running transaction can still insert below (issue 11).
-- The next transaction id to be assigned (without assigning one): the seal boundary's clock.
CREATE FUNCTION audit.next_xact_id() RETURNS xid8
    LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'rg_audit_next_xact_id';
REVOKE ALL ON FUNCTION audit.next_xact_id() FROM PUBLIC;

-- Seals new versions into the chain: hash(n) = sha256(hash(n-1) || version_text(n)). Only
-- versions whose transactions have all ended are sealed (ids are handed out before commit,
-- so a lower id can still commit later); when other transactions are running it records a
-- watermark and seals up to it on a later call. Returns how many versions it sealed.
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
-- 0.1.0's watermarks wait for a snapshot's xmax, which a running later transaction can be
-- above: drop them (they only delay sealing; the next seal() records safe ones).
DELETE FROM audit.seal_watermark;
