-- guard.rls_report(): no findings for the extension's own objects and a well-set-up table; one
-- finding per problem on a deliberately bad schema; clean again once fixed with the templates.
CREATE EXTENSION registry_guard;
\set SHOW_CONTEXT never
-- The API roles the templates name exist already on a Supabase server: the ones missing are
-- created and noted, and only those are dropped at the end.
CREATE TEMP TABLE rls_r_created_roles (rolname name);
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES ('anon', ''), ('authenticated', ''), ('service_role', ' BYPASSRLS'),
                                 ('registry_reader', '')) v(rolname, attrs) LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.rolname) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname) || r.attrs;
      INSERT INTO rls_r_created_roles VALUES (r.rolname);
    END IF;
  END LOOP;
END $$;
SELECT * FROM guard.rls_report();

CREATE SCHEMA rls_r;
GRANT USAGE ON SCHEMA rls_r TO anon, authenticated, service_role;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
-- A good table: templates applied.
CREATE TABLE rls_r.good (client_id text NOT NULL DEFAULT 'default', id text NOT NULL, owner uuid, prefs jsonb,
                         PRIMARY KEY (client_id, id));
GRANT ALL ON rls_r.good TO anon, authenticated, service_role;
SELECT count(*) > 0 FROM guard.rls_service_write_authenticated_read('rls_r.good');
SELECT count(*) > 0 FROM guard.rls_self_service('rls_r.good', 'owner', ARRAY['prefs']);
SELECT count(*) > 0 FROM guard.rls_tenant_isolation('rls_r.good');
-- Wrapped helper calls run once per statement: not a finding.
CREATE POLICY wrapped ON rls_r.good FOR SELECT TO authenticated USING (owner = (SELECT auth.uid()));
-- A view that applies the caller's policies, and a table the API roles cannot reach.
CREATE VIEW rls_r.good_view WITH (security_invoker = true) AS SELECT id FROM rls_r.good;
GRANT SELECT ON rls_r.good_view TO authenticated;
CREATE TABLE rls_r.internal (id int);
CREATE FUNCTION rls_r.pinned() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT 1';
SELECT * FROM guard.rls_report();

-- The bad schema: one of each problem.
CREATE TABLE rls_r.open_table (id int PRIMARY KEY);
GRANT SELECT ON rls_r.open_table TO anon;
CREATE TABLE rls_r.column_grant (id int PRIMARY KEY, secret text);
GRANT SELECT (id) ON rls_r.column_grant TO authenticated;
CREATE TABLE rls_r.no_policy (id int PRIMARY KEY);
ALTER TABLE rls_r.no_policy ENABLE ROW LEVEL SECURITY;
CREATE TABLE rls_r.per_row (id int PRIMARY KEY, owner uuid, tag text);
ALTER TABLE rls_r.per_row ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON rls_r.per_row TO authenticated;
CREATE POLICY by_owner ON rls_r.per_row FOR SELECT TO authenticated
  USING (owner = auth.uid() AND tag = current_setting('app.tag', true) AND owner = guard.uid());
CREATE TABLE rls_r.anon_open (id int PRIMARY KEY);
ALTER TABLE rls_r.anon_open ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON rls_r.anon_open TO anon;
CREATE POLICY anon_read ON rls_r.anon_open FOR SELECT TO anon USING (true);
CREATE POLICY anyone_insert ON rls_r.anon_open FOR INSERT WITH CHECK (true);
CREATE FUNCTION rls_r.unpinned() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
CREATE VIEW rls_r.leaky_view AS SELECT id, owner FROM rls_r.good;
GRANT SELECT ON rls_r.leaky_view TO anon, authenticated;
CREATE MATERIALIZED VIEW rls_r.leaky_matview AS SELECT id FROM rls_r.good;
GRANT SELECT ON rls_r.leaky_matview TO authenticated;
CREATE TABLE rls_r.tenant_open (client_id text NOT NULL DEFAULT 'default', id text NOT NULL, PRIMARY KEY (client_id, id));
ALTER TABLE rls_r.tenant_open ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON rls_r.tenant_open TO authenticated;
CREATE POLICY read_all ON rls_r.tenant_open FOR SELECT TO authenticated USING (true);
-- A tenant condition inside every permissive policy also isolates: not a finding.
CREATE TABLE rls_r.tenant_inline (client_id text NOT NULL, id text NOT NULL, PRIMARY KEY (client_id, id));
ALTER TABLE rls_r.tenant_inline ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON rls_r.tenant_inline TO authenticated;
CREATE POLICY read_own_tenant ON rls_r.tenant_inline FOR SELECT TO authenticated USING (client_id = guard.client_id());
SELECT * FROM guard.rls_report();

-- Fixed with the templates (and the usual statements), the report is clean again.
ALTER TABLE rls_r.open_table ENABLE ROW LEVEL SECURITY;
SELECT count(*) > 0 FROM guard.rls_service_write_authenticated_read('rls_r.open_table');
SELECT count(*) > 0 FROM guard.rls_service_write_authenticated_read('rls_r.column_grant');
SELECT count(*) > 0 FROM guard.rls_read_only('rls_r.no_policy');
ALTER POLICY by_owner ON rls_r.per_row USING (owner = (SELECT auth.uid()) AND tag = (SELECT current_setting('app.tag', true)));
DROP POLICY anon_read ON rls_r.anon_open;
DROP POLICY anyone_insert ON rls_r.anon_open;
SELECT count(*) > 0 FROM guard.rls_service_write_authenticated_read('rls_r.anon_open');
ALTER FUNCTION rls_r.unpinned() SET search_path = pg_catalog, pg_temp;
ALTER VIEW rls_r.leaky_view SET (security_invoker = true);
REVOKE SELECT ON rls_r.leaky_matview FROM authenticated;
SELECT count(*) > 0 FROM guard.rls_tenant_isolation('rls_r.tenant_open');
SELECT * FROM guard.rls_report();

-- The API roles checked are a setting (superuser only).
SET registry_guard.api_roles = 'registry_reader';
GRANT USAGE ON SCHEMA rls_r TO registry_reader;
GRANT SELECT ON rls_r.internal TO registry_reader;
SELECT object, severity FROM guard.rls_report();
RESET registry_guard.api_roles;

DROP SCHEMA rls_r CASCADE;
DROP SCHEMA auth CASCADE;
DROP EXTENSION registry_guard CASCADE;
DO $$
DECLARE
  r name;
BEGIN
  FOR r IN SELECT rolname FROM rls_r_created_roles LOOP
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END $$;
