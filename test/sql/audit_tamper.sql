-- Tamper evidence beyond the row triggers: what turns auditing off, or removes history, leaves
-- a record in the hash chain (versions of audit.tracking_log), and the chain is compared with
-- a seal head kept outside the database.
CREATE EXTENSION registry_guard;
CREATE ROLE rg_tamper_owner;
GRANT USAGE ON SCHEMA audit TO rg_tamper_owner;
GRANT EXECUTE ON FUNCTION audit.enable_tracking(regclass), audit.disable_tracking(regclass) TO rg_tamper_owner;
GRANT CREATE ON SCHEMA public TO rg_tamper_owner;
SET ROLE rg_tamper_owner;
CREATE TABLE public.tam(id int PRIMARY KEY, v text);
RESET ROLE;
SET SESSION AUTHORIZATION rg_tamper_owner;
SELECT audit.enable_tracking('public.tam');
RESET SESSION AUTHORIZATION;
ALTER TABLE audit.version_log SET (autovacuum_enabled = false);
ALTER TABLE audit.change_context SET (autovacuum_enabled = false);
ALTER TABLE audit.seal SET (autovacuum_enabled = false);
CREATE FUNCTION pg_temp.events() RETURNS TABLE(event text, table_name text, previous text, session_role name)
LANGUAGE sql AS $$
  SELECT v.record ->> 'event', v.record ->> 'table_name', v.record -> 'detail' ->> 'previous', (v.record ->> 'session_role')::name
    FROM audit.record_version v WHERE v.table_schema = 'audit' AND v.table_name = 'tracking_log' ORDER BY v.id
$$;
SELECT audit.trigger_state('public.tam');

-- 1. Writes under session_replication_role = replica are recorded (the triggers are ALWAYS).
SET session_replication_role = replica;
INSERT INTO public.tam VALUES (1, 'replica-mode write');
RESET session_replication_role;
SELECT op, record FROM audit.record_version WHERE table_name = 'tam' ORDER BY id;

-- 2. The table's owner disables the audit trigger, writes, re-enables it: the write has no
-- version, but both changes of the triggers are recorded, with who did them.
SET SESSION AUTHORIZATION rg_tamper_owner;
ALTER TABLE public.tam DISABLE TRIGGER audit_i_u_d;
INSERT INTO public.tam VALUES (2, 'unaudited');
ALTER TABLE public.tam ENABLE TRIGGER audit_i_u_d;
-- ORIGIN only again: replica-mode writes would escape, which is recorded as well.
ALTER TABLE public.tam ENABLE ALWAYS TRIGGER audit_i_u_d;
-- Dropping a trigger, and turning tracking off and on.
DROP TRIGGER audit_t ON public.tam;
SELECT audit.disable_tracking('public.tam');
SELECT audit.enable_tracking('public.tam');
RESET SESSION AUTHORIZATION;
SELECT audit.trigger_state('public.tam');
SELECT count(*) AS pending_events FROM audit.tracking_event;
-- audit.seal() moves them into the chain (sealed by the next call).
SELECT audit.seal() >= 0 AS sealed;
SELECT audit.seal() > 0 AS sealed;
SELECT * FROM pg_temp.events();
SELECT ok, problem, unsealed FROM audit.verify();
-- The events cannot be removed from the log (append-only), and the pending queue is the
-- owner's alone.
DELETE FROM audit.tracking_log;
SET ROLE rg_tamper_owner;
DELETE FROM audit.tracking_event;
RESET ROLE;

-- 3. A seal head kept outside the database.
SELECT id AS head_id, hash AS head_hash FROM audit.seal_head() \gset
SELECT ok, problem FROM audit.verify(:head_id, :'head_hash');
-- A wrong external hash (the history up to it was rewritten and re-sealed) is found.
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify(:head_id, '\x00'::bytea);
-- Recent versions and their seals removed behind the triggers' back: the chain still verifies
-- on its own, but not against the external head.
INSERT INTO public.tam VALUES (3, 'recent');
SELECT audit.seal() > 0 AS sealed;
SELECT id AS head_id, hash AS head_hash FROM audit.seal_head() \gset
BEGIN;
ALTER TABLE audit.version_log DISABLE TRIGGER append_only;
ALTER TABLE audit.seal DISABLE TRIGGER append_only;
DELETE FROM audit.version_log WHERE id = :head_id;
DELETE FROM audit.seal WHERE id = :head_id;
SELECT ok FROM audit.verify();
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify(:head_id, :'head_hash');
ROLLBACK;

-- 4. Retention is a link of the chain: audit.prune() writes the checkpoint and a retention
-- record naming it (a version in the chain); verify() accepts a checkpoint only with that
-- record, and recomputes the chain from the checkpoint's hash.
SELECT audit.prune(now() + interval '1 day') > 0 AS pruned;
SELECT event, (SELECT count(*) FROM audit.checkpoint) AS checkpoints FROM pg_temp.events() WHERE event = 'retention';
SELECT ok, problem FROM audit.verify();
INSERT INTO public.tam VALUES (4, 'after retention'), (5, 'after retention');
INSERT INTO public.tam VALUES (6, 'after retention');
SELECT audit.seal() > 0 AS sealed;
SELECT id AS head_id, hash AS head_hash FROM audit.seal_head() \gset
SELECT ok FROM audit.verify(:head_id, :'head_hash');

-- Only audit.prune() removes history: not even the owner (a superuser here) opens the
-- retention window, runs prune's steps, or writes a checkpoint or a retention record.
SELECT audit.retention_window(true);
SELECT audit.prune_steps(now() + interval '1 day');
SELECT id AS cut FROM audit.seal ORDER BY id DESC OFFSET 1 LIMIT 1 \gset
SELECT hash AS cut_hash FROM audit.seal WHERE id = :cut \gset
INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (:cut, :'cut_hash', 1, now());
UPDATE audit.checkpoint SET through_id = :cut;
INSERT INTO audit.tracking_log(at, event, detail, session_role, txid)
VALUES (now(), 'retention', jsonb_build_object('through_id', :cut, 'hash', encode(:'cut_hash', 'hex')), 'x', 1);
INSERT INTO audit.tracking_event(event, detail) VALUES ('retention', jsonb_build_object('through_id', :cut));
SELECT count(*) AS checkpoints FROM audit.checkpoint;

-- Forged with those guards disabled (the owner can; README lists it): history removed and a
-- checkpoint inserted by hand, alone, or with a retention record that does not name all of
-- it, or with a hash that does not lead to the next seal, fails verify() and verify() against
-- the seal head kept outside.
CREATE FUNCTION pg_temp.forge(cut bigint, cp_hash bytea, rec_rows bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c timestamptz := '2026-01-01 00:00:00+00';
BEGIN
    ALTER TABLE audit.version_log DISABLE TRIGGER append_only;
    ALTER TABLE audit.seal DISABLE TRIGGER append_only;
    ALTER TABLE audit.checkpoint DISABLE TRIGGER retention_only_by_prune;
    ALTER TABLE audit.tracking_log DISABLE TRIGGER retention_only_by_prune;
    DELETE FROM audit.version_log WHERE id <= cut;
    DELETE FROM audit.seal WHERE id <= cut;
    INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (cut, cp_hash, 1, c);
    IF rec_rows IS NOT NULL THEN
        INSERT INTO audit.tracking_log(at, event, detail, session_role, txid)
        VALUES (now(), 'retention', jsonb_build_object('through_id', cut, 'hash', encode(cp_hash, 'hex'),
                                                       'rows_pruned', rec_rows, 'cutoff', c), SESSION_USER, 1);
    END IF;
END
$$;
-- the checkpoint alone
BEGIN;
SELECT pg_temp.forge(:cut, :'cut_hash', NULL);
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify();
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify(:head_id, :'head_hash');
ROLLBACK;
-- with a retention record that names another number of removed rows
BEGIN;
SELECT pg_temp.forge(:cut, :'cut_hash', 7);
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify(:head_id, :'head_hash');
ROLLBACK;
-- with a matching record, but a hash that is not the chain's
BEGIN;
SELECT pg_temp.forge(:cut, '\x00'::bytea, 1);
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify();
SELECT ok, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify(:head_id, :'head_hash');
ROLLBACK;
SELECT ok FROM audit.verify(:head_id, :'head_hash');

SET client_min_messages = warning;
DROP TABLE public.tam;
DROP EXTENSION registry_guard;
REVOKE CREATE ON SCHEMA public FROM rg_tamper_owner;
DROP ROLE rg_tamper_owner;
