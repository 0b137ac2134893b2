-- guard.rls_report() as an attacker's checklist: each case is built on scratch objects and
-- must produce its finding (with a fix). Supabase's own linter (splinter) is the floor: RLS
-- disabled in public, policies without RLS enabled, SECURITY DEFINER views, mutable
-- search_path, exposed auth tables. Beyond it: privileges no policy uses (LOCK surface),
-- views that do not filter by tenant, tenant predicates that do not depend on the request
-- (evaluated for two synthetic tenants and none), SECURITY DEFINER functions that read RLS
-- tables for API roles, and actor settings of the audit that API roles can forge.
CREATE EXTENSION registry_guard;
\set SHOW_CONTEXT never
-- The API roles exist already on a Supabase server: the ones missing are created and noted,
-- and only those are dropped at the end.
CREATE TEMP TABLE rls_a_created_roles (rolname name);
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES ('anon', ''), ('authenticated', ''), ('service_role', ' BYPASSRLS')) v(rolname, attrs) LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.rolname) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname) || r.attrs;
      INSERT INTO rls_a_created_roles VALUES (r.rolname);
    END IF;
  END LOOP;
END $$;
CREATE VIEW report AS SELECT object, severity, finding FROM guard.rls_report();
-- Nothing yet: the extension's own objects are clean.
SELECT * FROM report;

CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE SCHEMA att;
GRANT USAGE ON SCHEMA att TO anon, authenticated, service_role;

-- 1. Splinter's lints.
-- rls_disabled_in_public: no API role holds a privilege yet, but it is in the exposed schema.
CREATE TABLE public.unprotected (id int PRIMARY KEY);
-- policy_exists_rls_disabled
CREATE TABLE att.policy_only (id int PRIMARY KEY, client_id text);
CREATE POLICY meant_to_filter ON att.policy_only USING (client_id = guard.client_id());
-- security_definer_view: over a table without RLS, so no RLS table is bypassed (still a finding).
CREATE TABLE att.lookup (code text PRIMARY KEY);
ALTER TABLE att.lookup ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_codes ON att.lookup FOR SELECT TO anon USING (code IS NOT NULL);
CREATE VIEW att.codes AS SELECT code FROM att.lookup;
GRANT SELECT ON att.codes TO anon;
CREATE TABLE att.settings (key text PRIMARY KEY, value text);
CREATE VIEW att.public_settings AS SELECT key, value FROM att.settings;
GRANT SELECT ON att.public_settings TO anon;
-- function_search_path_mutable (SECURITY INVOKER too)
CREATE FUNCTION att.invoker_unpinned() RETURNS int LANGUAGE sql AS 'SELECT 1';
-- auth_users_exposed (security_invoker does not help: the caller's rights on auth.users decide nothing)
CREATE VIEW att.people WITH (security_invoker = true) AS SELECT id, email FROM auth.users;
GRANT SELECT ON att.people TO authenticated;
SELECT * FROM report ORDER BY object, finding;
DROP TABLE public.unprotected, att.policy_only, att.lookup, att.settings CASCADE;
DROP FUNCTION att.invoker_unpinned();
DROP VIEW att.people;

-- 2. Privileges API roles hold but no policy uses: table-level UPDATE/DELETE/TRUNCATE let the role
-- LOCK the table in ACCESS EXCLUSIVE mode (every tenant waits); TRUNCATE also ignores RLS.
CREATE TABLE att.kpis (client_id text NOT NULL, id text NOT NULL, name text, PRIMARY KEY (client_id, id));
SELECT count(*) > 0 FROM guard.rls_tenant_isolation('att.kpis');
CREATE POLICY read_kpis ON att.kpis FOR SELECT TO authenticated USING (true);
GRANT ALL ON att.kpis TO authenticated;
-- Proof of the LOCK surface: authenticated may lock the whole table.
BEGIN;
SET LOCAL ROLE authenticated;
LOCK TABLE att.kpis IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
-- A view whose UPDATE cannot do anything but lets the role lock the view's tables.
CREATE VIEW att.kpi_names WITH (security_invoker = true) AS
  SELECT client_id, id, upper(name) AS name FROM att.kpis GROUP BY client_id, id, name;
GRANT SELECT, UPDATE ON att.kpi_names TO authenticated;
-- Sequences: setval() resets ids for every tenant; nextval() without INSERT only burns values.
CREATE TABLE att.events (id serial PRIMARY KEY, client_id text NOT NULL);
GRANT USAGE, UPDATE ON SEQUENCE att.events_id_seq TO authenticated;
SELECT * FROM report ORDER BY object, finding;
DROP TABLE att.events;
-- Fixed: only what the policies use; an UPDATE policy with column privileges is no LOCK surface.
REVOKE ALL ON att.kpis FROM authenticated;
GRANT SELECT ON att.kpis TO authenticated;
GRANT UPDATE (name) ON att.kpis TO authenticated;
CREATE POLICY rename_kpis ON att.kpis FOR UPDATE TO authenticated USING (true) WITH CHECK (true);
REVOKE UPDATE ON att.kpi_names FROM authenticated;
SELECT * FROM report ORDER BY object, finding;
-- Table-level UPDATE that a policy uses still lets the role lock the table.
GRANT UPDATE ON att.kpis TO authenticated;
SELECT * FROM report ORDER BY object, finding;
REVOKE UPDATE ON att.kpis FROM authenticated;
GRANT UPDATE (name) ON att.kpis TO authenticated;

-- 3. Views API roles can read that do not filter by tenant: a security_invoker view over a
-- history table without a tenant policy (the table holds every tenant's rows).
CREATE TABLE att.history (id bigint PRIMARY KEY, record jsonb);
GRANT SELECT ON att.history TO authenticated;
CREATE VIEW att.kpi_history WITH (security_invoker = true) AS
  SELECT h.id, h.record ->> 'client_id' AS client_id, h.record ->> 'id' AS kpi_id FROM att.history h;
GRANT SELECT ON att.kpi_history TO authenticated;
-- ... and a tenant-filtered one next to it (not a finding).
CREATE VIEW att.kpi_history_own WITH (security_invoker = true) AS
  SELECT h.id, h.record ->> 'client_id' AS client_id FROM att.history h
   WHERE h.record ->> 'client_id' = guard.client_id();
GRANT SELECT ON att.kpi_history_own TO authenticated;
-- A security_invoker view over the tenant-isolated table: filtered by the table's policies.
CREATE VIEW att.kpi_list WITH (security_invoker = true) AS SELECT client_id, id FROM att.kpis;
GRANT SELECT ON att.kpi_list TO authenticated;
SELECT * FROM report ORDER BY object, finding;
-- Without SELECT on the history table the view fails today, but granting it leaks: still reported.
REVOKE SELECT ON att.history FROM authenticated;
SELECT * FROM report ORDER BY object, finding;
DROP VIEW att.kpi_history, att.kpi_history_own, att.kpi_list;
DROP TABLE att.history;
SELECT * FROM report ORDER BY object, finding;

-- 4. Tenant predicates that do not depend on the request, found by evaluating each policy for two
-- synthetic tenants and no tenant (in a rolled-back subtransaction).
CREATE TABLE att.self_equal (client_id text NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.self_equal ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.self_equal TO authenticated;
CREATE POLICY tenant ON att.self_equal AS RESTRICTIVE USING (client_id = client_id);
CREATE POLICY read_all ON att.self_equal FOR SELECT TO authenticated USING (true);
CREATE TABLE att.coalesced (client_id text NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.coalesced ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.coalesced TO authenticated;
CREATE POLICY own_tenant ON att.coalesced FOR SELECT TO authenticated
  USING (client_id = coalesce(guard.client_id(), client_id));
CREATE TABLE att.not_null (client_id uuid NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.not_null ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.not_null TO authenticated;
CREATE POLICY tenant ON att.not_null AS RESTRICTIVE USING (client_id IS NOT NULL);
CREATE POLICY read_all ON att.not_null FOR SELECT TO authenticated USING (true);
CREATE TABLE att.fixed_tenant (client_id text NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.fixed_tenant ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.fixed_tenant TO authenticated;
CREATE POLICY default_tenant ON att.fixed_tenant FOR SELECT TO authenticated USING (client_id = 'default');
-- Request-dependent predicates: not findings (integer tenant column, a claim read in SQL).
CREATE TABLE att.good_int (client_id int NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.good_int ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.good_int TO authenticated;
CREATE POLICY own_tenant ON att.good_int FOR SELECT TO authenticated USING (client_id::text = guard.client_id());
CREATE TABLE att.good_claim (client_id text NOT NULL, id int PRIMARY KEY);
ALTER TABLE att.good_claim ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON att.good_claim TO authenticated;
CREATE POLICY own_tenant ON att.good_claim FOR SELECT TO authenticated
  USING (client_id = (SELECT current_setting('request.jwt.claims', true)::jsonb #>> '{app_metadata,client_id}'));
SELECT * FROM report ORDER BY object, finding;
-- The evaluation left nothing behind: no role, setting or prepared statement changed.
SELECT current_user, current_setting('request.jwt.claims', true) AS claims,
       (SELECT count(*) FROM pg_prepared_statements) AS prepared;
DROP TABLE att.self_equal, att.coalesced, att.not_null, att.fixed_tenant, att.good_int, att.good_claim;

-- 5. SECURITY DEFINER functions API roles can execute that read RLS-protected tables with the
-- owner's rights (PostgREST exposes them as /rpc).
CREATE FUNCTION public.all_kpis() RETURNS SETOF att.kpis LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog AS 'SELECT * FROM att.kpis';
-- Filtering by the request's tenant inside, or not executable by API roles: not findings.
CREATE FUNCTION public.own_kpis() RETURNS SETOF att.kpis LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog AS 'SELECT * FROM att.kpis WHERE client_id = guard.client_id()';
CREATE FUNCTION public.admin_kpis() RETURNS SETOF att.kpis LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog AS 'SELECT * FROM att.kpis';
REVOKE EXECUTE ON FUNCTION public.admin_kpis() FROM PUBLIC;
SELECT * FROM report ORDER BY object, finding;
DROP FUNCTION public.all_kpis(), public.own_kpis(), public.admin_kpis();

-- 6. Settings the audit trusts. authenticated writes an audited table.
SELECT audit.enable_tracking('att.kpis');
GRANT INSERT ON att.kpis TO authenticated;
CREATE POLICY add_kpis ON att.kpis FOR INSERT TO authenticated WITH CHECK (true);
-- An API role that registry_guard.api_roles does not list chooses its own tenant (app.client_id)
-- and the audit counts it trusted: both are findings.
SET registry_guard.api_roles = 'anon';
SELECT * FROM report WHERE object LIKE 'role %' ORDER BY object, finding;
RESET registry_guard.api_roles;
-- Listed, the finding appears exactly when the audit records what the role claims in
-- registry_guard.actor / sync_run_id / application_name as trusted.
CREATE TEMP TABLE forged AS SELECT NULL::text AS actor, NULL::bigint AS sync_run_id, NULL::text AS app;
DO $$
DECLARE
  refused boolean := false;
BEGIN
  BEGIN
    SET LOCAL ROLE authenticated;
    SET LOCAL request.jwt.claims = '{"app_metadata": {"client_id": "t1"}}';
    SET LOCAL registry_guard.actor = 'registry-sync apply';
    SET LOCAL registry_guard.sync_run_id = '7';
    SET LOCAL application_name = 'registry-sync';
    INSERT INTO att.kpis VALUES ('t1', 'k', 'n');
  EXCEPTION WHEN OTHERS THEN
    refused := true;
  END;
  RESET ROLE;
  RESET application_name;
  IF NOT refused THEN
    UPDATE forged SET (actor, sync_run_id, app) =
      (SELECT c.actor, c.sync_run_id, c.application_name FROM audit.change_context c
        WHERE c.table_name = 'kpis' AND c.db_role = 'authenticated' ORDER BY c.id DESC LIMIT 1);
  END IF;
END $$;
SELECT (actor = 'registry-sync apply' OR sync_run_id = 7 OR app = 'registry-sync') IS TRUE
       = EXISTS (SELECT FROM report WHERE finding LIKE 'authenticated can SET % and the audit trail records %')
         AS reported_exactly_when_trusted
  FROM forged;
DELETE FROM att.kpis;
SELECT audit.disable_tracking('att.kpis');

-- A caller who may not act as the API roles (USAGE on schema guard only) is told what the report
-- could not check, instead of getting a clean report.
CREATE ROLE rls_linter NOLOGIN;
GRANT USAGE ON SCHEMA guard TO rls_linter;
CREATE TABLE att.tenant_rows (client_id text NOT NULL, id int PRIMARY KEY);
SELECT count(*) > 0 FROM guard.rls_tenant_isolation('att.tenant_rows');
CREATE POLICY read_rows ON att.tenant_rows FOR SELECT TO authenticated USING (true);
GRANT SELECT ON att.tenant_rows TO authenticated;
SELECT audit.enable_tracking('att.kpis');
SET ROLE rls_linter;
SELECT object, severity, left(finding, 120) AS finding FROM guard.rls_report() ORDER BY object, finding;
RESET ROLE;
SELECT audit.disable_tracking('att.kpis');
DROP TABLE att.tenant_rows;
REVOKE USAGE ON SCHEMA guard FROM rls_linter;
DROP ROLE rls_linter;

-- Every finding comes with a fix.
SELECT count(*) AS findings_without_fix FROM guard.rls_report() WHERE coalesce(fix, '') = '';

DROP SCHEMA att CASCADE;
DROP SCHEMA auth CASCADE;
DROP VIEW report;
DROP EXTENSION registry_guard CASCADE;
DO $$
DECLARE
  r name;
BEGIN
  FOR r IN SELECT rolname FROM rls_a_created_roles LOOP
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END $$;
