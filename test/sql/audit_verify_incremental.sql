-- Incremental verify: audit.verify_incremental() checks only the versions and seals after the
-- last seal a previous run found good; tampering after it is caught there, tampering before it
-- by the full audit.verify() (registry-sync serve runs both, the full one less often).
CREATE EXTENSION registry_guard;
CREATE TABLE public.inc(id int PRIMARY KEY, v text);
SELECT audit.enable_tracking('public.inc');
CREATE FUNCTION pg_temp.tamper(victim bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE audit.version_log DISABLE TRIGGER append_only;
    UPDATE audit.version_log SET image = image || '{"v": "someone else"}' WHERE id = victim;
    ALTER TABLE audit.version_log ENABLE TRIGGER append_only;
END
$$;
INSERT INTO public.inc SELECT g, 'first ' || g FROM generate_series(1, 20) g;
SELECT audit.seal() AS sealed;

-- The first run has nothing to start from: it verifies the whole chain and remembers its head.
SELECT ok, checked, from_id, problem FROM audit.verify_incremental();
SELECT max(id) AS first_head FROM audit.seal \gset
SELECT seal_id = :first_head AS remembers_head, seal_hash = (SELECT hash FROM audit.seal WHERE id = :first_head) AS with_its_hash
  FROM audit.verify_state;

-- Later runs check only what was sealed since.
UPDATE public.inc SET v = 'second' WHERE id <= 5;
SELECT audit.seal() AS sealed;
SELECT ok, checked, from_id = :first_head AS from_last_verified_seal, problem FROM audit.verify_incremental();
SELECT ok, checked, from_id = (SELECT max(id) FROM audit.seal) AS from_head FROM audit.verify_incremental();
SELECT max(id) AS second_head FROM audit.seal \gset

-- Tampering after the last verified seal: the incremental run finds it.
INSERT INTO public.inc VALUES (21, 'third'), (22, 'third');
SELECT audit.seal() AS sealed;
BEGIN;
SELECT pg_temp.tamper(:second_head + 1);
SELECT ok, first_bad_id - :second_head AS bad_after_head, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
  FROM audit.verify_incremental();
ROLLBACK;

-- Tampering at or before it: not looked at by the incremental run (it is cheap by skipping
-- it), caught by the full verify.
SELECT ok FROM audit.verify_incremental();
BEGIN;
SELECT min(id) AS old_victim FROM audit.version_log \gset
SELECT pg_temp.tamper(:old_victim);
SELECT ok, checked FROM audit.verify_incremental();
SELECT ok, first_bad_id = :old_victim AS names_it, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem FROM audit.verify();
ROLLBACK;

-- "Verified up to" is written only by verify_incremental(): not by hand, not even by the owner
-- (a superuser here).
INSERT INTO audit.verify_state(seal_id, seal_hash) VALUES (1, '\x00');
UPDATE audit.verify_state SET seal_id = seal_id;
DELETE FROM audit.verify_state;
TRUNCATE audit.verify_state;
-- Forged with the trigger disabled (README lists it): a state whose hash is not the chain's at
-- that seal is not used, the whole chain is verified again and the tampering is found.
BEGIN;
SELECT pg_temp.tamper(:old_victim);
ALTER TABLE audit.verify_state DISABLE TRIGGER only_by_verify;
UPDATE audit.verify_state SET seal_id = (SELECT max(id) FROM audit.seal), seal_hash = '\x00';
ALTER TABLE audit.verify_state ENABLE TRIGGER only_by_verify;
SELECT ok, from_id, first_bad_id = :old_victim AS names_it FROM audit.verify_incremental();
ROLLBACK;
-- A state naming a seal that is no longer in the chain is not used either.
BEGIN;
ALTER TABLE audit.verify_state DISABLE TRIGGER only_by_verify;
UPDATE audit.verify_state SET seal_id = seal_id + 1000;
ALTER TABLE audit.verify_state ENABLE TRIGGER only_by_verify;
SELECT ok, from_id FROM audit.verify_incremental();
ROLLBACK;

-- After retention the state is from before the checkpoint: the next run verifies everything.
SELECT audit.prune(now() + interval '1 day') > 0 AS pruned;
SELECT ok, from_id, checked > 0 AS checked_some FROM audit.verify_incremental();
SELECT audit.seal() > 0 AS sealed;
SELECT ok, from_id, checked FROM audit.verify_incremental();
SELECT ok, from_id > 0 AS incremental_again, checked FROM audit.verify_incremental();

-- Not for PUBLIC (it reads the whole trail as its owner); the steps and the state are the
-- owner's alone.
CREATE ROLE rg_inc_nobody;
GRANT USAGE ON SCHEMA audit TO rg_inc_nobody;
SET ROLE rg_inc_nobody;
SELECT * FROM audit.verify_incremental();
SELECT * FROM audit.verify_state;
RESET ROLE;
REVOKE USAGE ON SCHEMA audit FROM rg_inc_nobody;
DROP ROLE rg_inc_nobody;

SET client_min_messages = warning;
DROP TABLE public.inc;
DROP EXTENSION registry_guard;
