-- Policy templates: one call per table, dry run, idempotent re-apply that leaves other
-- policies alone, and what each template lets the PostgREST roles do.
CREATE EXTENSION registry_guard;
\set SHOW_CONTEXT never
-- The API roles the templates name exist already on a Supabase server: the ones missing are
-- created and noted, and only those are dropped at the end.
CREATE TEMP TABLE rls_t_created_roles (rolname name);
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES ('anon', ''), ('authenticated', ''), ('service_role', ' BYPASSRLS'),
                                 ('registry_reader', '')) v(rolname, attrs) LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.rolname) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname) || r.attrs;
      INSERT INTO rls_t_created_roles VALUES (r.rolname);
    END IF;
  END LOOP;
END $$;
CREATE SCHEMA rls_t;
GRANT USAGE ON SCHEMA rls_t TO anon, authenticated, service_role, registry_reader;
CREATE TABLE rls_t.principals (
  client_id text NOT NULL DEFAULT 'default', id text NOT NULL, name text NOT NULL, auth_user_id uuid, email text,
  preferences jsonb, communication jsonb, default_filters jsonb, role text, PRIMARY KEY (client_id, id));
-- Supabase grants everything on new tables to the API roles; the templates narrow it.
GRANT ALL ON rls_t.principals TO anon, authenticated, service_role;
INSERT INTO rls_t.principals VALUES
  ('acme', 'cfo', 'Ann', '8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f', 'Ann@Example.com', '{}', '{}', '{}', 'CFO'),
  ('acme', 'coo', 'Bob', '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', 'bob@example.com', '{}', '{}', '{}', 'COO'),
  ('globex', 'cfo', 'Gil', 'aaaaaaaa-5a4b-4c3d-9e2f-1a2b3c4d5e6f', 'gil@example.com', '{}', '{}', '{}', 'CFO');

-- Dry run: the statements, nothing applied.
SELECT * FROM guard.rls_service_write_authenticated_read('rls_t.principals', dry_run => true);
SELECT count(*) AS policies, bool_or(relrowsecurity) AS rls FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.oid = 'rls_t.principals'::regclass GROUP BY c.oid;

-- Apply all four patterns; a policy of the user's own is left alone.
CREATE POLICY my_own ON rls_t.principals FOR SELECT TO registry_reader USING (role = 'CFO');
SELECT count(*) AS statements FROM guard.rls_service_write_authenticated_read('rls_t.principals');
SELECT count(*) AS statements FROM guard.rls_read_only('rls_t.principals');
SELECT * FROM guard.rls_self_service('rls_t.principals', 'auth_user_id',
  ARRAY['preferences', 'communication', 'default_filters'], dry_run => true);
SELECT count(*) AS statements FROM guard.rls_self_service('rls_t.principals', 'auth_user_id',
  ARRAY['preferences', 'communication', 'default_filters']);
SELECT * FROM guard.rls_tenant_isolation('rls_t.principals');
CREATE TEMP VIEW rls_t_policies AS
  SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies
   WHERE schemaname = 'rls_t' AND tablename = 'principals' ORDER BY policyname;
SELECT * FROM rls_t_policies;

-- Re-applying replaces the template's own policies only: the same set afterwards.
CREATE TEMP TABLE rls_t_before AS SELECT * FROM rls_t_policies;
SELECT * FROM guard.rls_service_write_authenticated_read('rls_t.principals');
SELECT count(*) FROM guard.rls_tenant_isolation('rls_t.principals');
SELECT count(*) FROM guard.rls_self_service('rls_t.principals', 'auth_user_id',
  ARRAY['preferences', 'communication', 'default_filters']);
SELECT count(*) AS changed FROM ((TABLE rls_t_before EXCEPT TABLE rls_t_policies) UNION ALL
                                 (TABLE rls_t_policies EXCEPT TABLE rls_t_before)) d;

-- The GRANT ALL above (Supabase's default privileges) is narrowed to what the policies use,
-- whatever the order the templates ran in: no table-level write for authenticated (LOCK TABLE
-- in a mode that stops other tenants needs one), no TRUNCATE for anyone; the self-service
-- columns stay updatable.
SELECT has_table_privilege('authenticated', 'rls_t.principals', 'UPDATE') AS authenticated_table_update,
       has_table_privilege('authenticated', 'rls_t.principals', 'TRUNCATE') AS authenticated_truncate,
       has_table_privilege('service_role', 'rls_t.principals', 'TRUNCATE') AS service_role_truncate,
       has_column_privilege('authenticated', 'rls_t.principals', 'preferences', 'UPDATE') AS authenticated_updates_preferences;
BEGIN;
SET LOCAL ROLE authenticated;
LOCK TABLE rls_t.principals IN SHARE MODE;
ROLLBACK;

-- A policy of the same name that the template did not make is not replaced.
CREATE TABLE rls_t.other (id int PRIMARY KEY, client_id text);
CREATE POLICY guard_tenant_isolation ON rls_t.other USING (true);
SELECT * FROM guard.rls_tenant_isolation('rls_t.other');
-- Mistakes are named.
SELECT * FROM guard.rls_tenant_isolation('rls_t.other', 'tenant');
SELECT * FROM guard.rls_self_service('rls_t.principals', 'email', ARRAY['preferences']);
SELECT * FROM guard.rls_self_service('rls_t.principals', 'auth_user_id', ARRAY['prefs', 'name']);
SELECT * FROM guard.rls_self_service('rls_t.principals', 'auth_user_id', ARRAY['auth_user_id']);
SELECT * FROM guard.rls_self_service('rls_t.principals', 'auth_user_id', ARRAY['name'], match_by => 'phone');
SELECT * FROM guard.rls_read_only('rls_t.principals', ARRAY['no_such_role']);

-- What the roles can do now (PostgREST: SET ROLE + request.jwt.claims).
-- authenticated, tenant acme, principal Ann: reads acme's rows only, edits only her own
-- preferences; the other columns and other rows are out of reach.
SET ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "role": "authenticated",
  "email": "ann@example.com", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SELECT client_id, id, name FROM rls_t.principals ORDER BY 1, 2;
UPDATE rls_t.principals SET preferences = '{"theme": "dark"}' WHERE id = 'cfo' RETURNING client_id, id, preferences;
UPDATE rls_t.principals SET preferences = '{"theme": "dark"}' WHERE id = 'coo' RETURNING client_id, id, preferences;
UPDATE rls_t.principals SET name = 'Anne' WHERE id = 'cfo';
UPDATE rls_t.principals SET auth_user_id = NULL WHERE id = 'cfo';
INSERT INTO rls_t.principals (client_id, id, name) VALUES ('acme', 'cto', 'Cy');
DELETE FROM rls_t.principals;
TRUNCATE rls_t.principals;
-- No tenant claim: nothing (fail closed), even with app.client_id set by the caller.
SET app.client_id = 'acme';
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "role": "authenticated"}', false) IS NOT NULL AS set;
SELECT count(*) FROM rls_t.principals;
RESET app.client_id;
-- anon: no access at all.
SET ROLE anon;
SELECT set_config('request.jwt.claims', '{"role": "anon", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SELECT count(*) FROM rls_t.principals;
-- service_role (BYPASSRLS) writes.
SET ROLE service_role;
INSERT INTO rls_t.principals (client_id, id, name) VALUES ('globex', 'cto', 'Gus') RETURNING client_id, id;
-- registry_reader (trusted backend role): reads the tenant it selects, writes nothing.
SET ROLE registry_reader;
SET app.client_id = 'globex';
SELECT client_id, id FROM rls_t.principals ORDER BY 1, 2;
UPDATE rls_t.principals SET name = 'x';
RESET app.client_id;
SELECT count(*) FROM rls_t.principals;
RESET ROLE;
RESET request.jwt.claims;

-- Self-service matched by email (case-insensitive).
SELECT count(*) FROM guard.rls_self_service('rls_t.principals', 'email', ARRAY['preferences'], match_by => 'email');
SELECT has_column_privilege('authenticated', 'rls_t.principals', 'preferences', 'UPDATE') AS prefs,
       has_column_privilege('authenticated', 'rls_t.principals', 'communication', 'UPDATE') AS comms_revoked;
SET ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "email": "ANN@example.com",
  "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
UPDATE rls_t.principals SET preferences = '{"lang": "de"}' RETURNING id, preferences;
RESET ROLE;
RESET request.jwt.claims;

-- Removing a template's policies leaves the others.
SELECT * FROM guard.rls_remove('rls_t.principals', 'self_service');
SELECT policyname FROM rls_t_policies;
SELECT count(*) AS dropped FROM guard.rls_remove('rls_t.principals');
SELECT policyname FROM rls_t_policies;
-- Templates run as their caller: a table's owner may apply them (no superuser needed), others
-- cannot change the table through them.
CREATE ROLE rls_t_owner NOLOGIN;
CREATE ROLE rls_t_stranger NOLOGIN;
GRANT USAGE ON SCHEMA guard TO rls_t_owner, rls_t_stranger;
GRANT USAGE, CREATE ON SCHEMA rls_t TO rls_t_owner, rls_t_stranger;
SET ROLE rls_t_owner;
CREATE TABLE rls_t.owned (client_id text NOT NULL, id text PRIMARY KEY);
SELECT count(*) AS statements FROM guard.rls_tenant_isolation('rls_t.owned');
SET ROLE rls_t_stranger;
SELECT count(*) FROM guard.rls_tenant_isolation('rls_t.owned');
SELECT count(*) FROM guard.rls_remove('rls_t.owned');
RESET ROLE;
DROP TABLE rls_t.owned;
REVOKE ALL ON SCHEMA rls_t FROM rls_t_owner, rls_t_stranger;
REVOKE ALL ON SCHEMA guard FROM rls_t_owner, rls_t_stranger;
DROP ROLE rls_t_owner, rls_t_stranger;

DROP SCHEMA rls_t CASCADE;
DROP EXTENSION registry_guard CASCADE;
DO $$
DECLARE
  r name;
BEGIN
  FOR r IN SELECT rolname FROM rls_t_created_roles LOOP
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END $$;
