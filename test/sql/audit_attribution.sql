-- Actor attribution that cannot be forged. db_role and session_role are facts; the attribution
-- settings (registry_guard.actor, registry_guard.sync_run_id, application_name) are claims any
-- role can SET: honoured only from trusted roles, recorded in claimed_attribution otherwise.
-- A sync_run_id must name a running registry_sync.sync_runs row of the same session.
CREATE EXTENSION registry_guard;
-- Supabase's API roles, and PostgREST's login role, which is a member of them.
CREATE ROLE rg_att_anon NOLOGIN;
CREATE ROLE rg_att_authenticated NOLOGIN;
CREATE ROLE rg_att_authenticator NOLOGIN NOINHERIT IN ROLE rg_att_anon, rg_att_authenticated;
CREATE ROLE rg_att_backend NOLOGIN;
SET registry_guard.api_roles = 'rg_att_anon, rg_att_authenticated';
CREATE TABLE public.att_profiles(id text PRIMARY KEY, name text);
SELECT audit.enable_tracking('public.att_profiles');
INSERT INTO public.att_profiles VALUES ('p1', 'Ana'), ('p2', 'Ben');
GRANT SELECT, UPDATE ON public.att_profiles TO rg_att_authenticated, rg_att_backend;
CREATE VIEW att_versions AS
SELECT v.id, v.op, v.record ->> 'name' AS name, v.db_role, v.session_role, v.actor, v.sync_run_id,
       v.application_name, v.claimed_attribution
  FROM audit.record_version v WHERE v.table_name = 'att_profiles';
CREATE FUNCTION att_last() RETURNS SETOF att_versions LANGUAGE sql AS
  $$ SELECT * FROM att_versions ORDER BY id DESC LIMIT 1 $$;

-- 1. As PostgREST connects: login authenticator, SET ROLE authenticated, the claims it chose.
-- The signed-in user claims to be the sync daemon in a sync run that does not exist.
SET SESSION AUTHORIZATION rg_att_authenticator;
BEGIN;
SET LOCAL ROLE rg_att_authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "role": "authenticated"}', true);
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '7';
SET LOCAL application_name = 'registry-sync';
UPDATE public.att_profiles SET name = 'Ana (forged)' WHERE id = 'p1';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT name, db_role, session_role, actor, sync_run_id, application_name, claimed_attribution FROM att_last();
-- The same from the login role alone (no SET ROLE): it is a member of the API roles.
GRANT UPDATE, SELECT ON public.att_profiles TO rg_att_authenticator;
SET SESSION AUTHORIZATION rg_att_authenticator;
SET registry_guard.actor = 'registry-sync hr';
UPDATE public.att_profiles SET name = 'Ana (login)' WHERE id = 'p1';
RESET registry_guard.actor;
RESET SESSION AUTHORIZATION;
SELECT name, db_role, session_role, actor, claimed_attribution FROM att_last();
-- Through a SECURITY DEFINER function owned by a trusted role: the caller is still an API role.
CREATE FUNCTION public.att_rename(text, text) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = '' AS
  $$ UPDATE public.att_profiles SET name = $2 WHERE id = $1 $$;
GRANT EXECUTE ON FUNCTION public.att_rename(text, text) TO rg_att_authenticated;
SET SESSION AUTHORIZATION rg_att_authenticator;
BEGIN;
SET LOCAL ROLE rg_att_authenticated;
SET LOCAL registry_guard.actor = 'admin';
SELECT public.att_rename('p1', 'Ana (definer)');
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT name, actor, claimed_attribution FROM att_last();

-- 2. A trusted backend role: the actor and application_name are honoured.
SET SESSION AUTHORIZATION rg_att_backend;
BEGIN;
SET LOCAL registry_guard.actor = 'admin console';
SET LOCAL application_name = 'console';
UPDATE public.att_profiles SET name = 'Ben B.' WHERE id = 'p2';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT name, db_role, actor, sync_run_id, application_name, claimed_attribution FROM att_last();

-- 3. sync_run_id from a trusted role. Without registry_sync.sync_runs (migrations not run) no
-- sync run exists: the id is a claim.
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '1';
UPDATE public.att_profiles SET name = 'Ben C.' WHERE id = 'p2';
COMMIT;
SELECT name, actor, sync_run_id, claimed_attribution FROM att_last();
-- With the table (as the migrations create it): only a running run of this session counts.
CREATE SCHEMA registry_sync;
CREATE TABLE registry_sync.sync_runs(id bigserial PRIMARY KEY, kind text NOT NULL, status text NOT NULL DEFAULT 'running',
    backend_pid integer DEFAULT pg_catalog.pg_backend_pid());
INSERT INTO registry_sync.sync_runs(kind) VALUES ('apply');                                   -- 1: running, this session
INSERT INTO registry_sync.sync_runs(kind, status) VALUES ('apply', 'succeeded');              -- 2: finished
INSERT INTO registry_sync.sync_runs(kind, backend_pid) VALUES ('apply', pg_backend_pid() + 1); -- 3: another session
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '1';
UPDATE public.att_profiles SET name = 'Ben D.' WHERE id = 'p2';
COMMIT;
SELECT name, actor, sync_run_id, claimed_attribution FROM att_last();
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '2';
UPDATE public.att_profiles SET name = 'Ben E.' WHERE id = 'p2';
COMMIT;
SELECT name, actor, sync_run_id, claimed_attribution FROM att_last();
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '3';
UPDATE public.att_profiles SET name = 'Ben F.' WHERE id = 'p2';
COMMIT;
SELECT name, actor, sync_run_id, claimed_attribution FROM att_last();
-- Run 1 finishes; the same backend naming it again in a later transaction is not trusted.
UPDATE registry_sync.sync_runs SET status = 'succeeded' WHERE id = 1;
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '1';
UPDATE public.att_profiles SET name = 'Ben G.' WHERE id = 'p2';
COMMIT;
SELECT name, actor, sync_run_id, claimed_attribution FROM att_last();
-- An API role naming a real running run is still only claiming it.
INSERT INTO registry_sync.sync_runs(kind) VALUES ('apply');  -- 4
SET SESSION AUTHORIZATION rg_att_authenticator;
BEGIN;
SET LOCAL ROLE rg_att_authenticated;
SET LOCAL registry_guard.sync_run_id = '4';
UPDATE public.att_profiles SET name = 'Ana (run 4)' WHERE id = 'p1';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT name, sync_run_id, claimed_attribution FROM att_last();
-- A trusted role without USAGE on schema registry_sync (a service key's role) naming a run that
-- is not running: the write is recorded with the run as a claim, not refused with "permission
-- denied for schema registry_sync" (the run is looked up as the audit's owner).
SET SESSION AUTHORIZATION rg_att_backend;
BEGIN;
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '2';
UPDATE public.att_profiles SET name = 'Ben H.' WHERE id = 'p2';
COMMIT;
-- ... and naming the running run of this session, it is honoured.
BEGIN;
SET LOCAL registry_guard.sync_run_id = '4';
UPDATE public.att_profiles SET name = 'Ben I.' WHERE id = 'p2';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT name, db_role, actor, sync_run_id, claimed_attribution FROM att_versions ORDER BY id DESC LIMIT 2;

-- The chain covers the claims (they are part of the context text) and verifies.
SELECT audit.seal() > 0 AS sealed;
SELECT ok, problem FROM audit.verify();

DROP SCHEMA registry_sync CASCADE;
DROP FUNCTION att_last();
DROP VIEW att_versions;
DROP FUNCTION public.att_rename(text, text);
DROP TABLE public.att_profiles;
DROP EXTENSION registry_guard;
DROP ROLE rg_att_authenticator, rg_att_anon, rg_att_authenticated, rg_att_backend;
