-- The audit trail per tenant: versions of tables with a client_id column carry it; a tenant's
-- administrator reads its own tenant's history through audit.tenant_history() (as PostgREST
-- calls it: login authenticator, SET ROLE authenticated, the signed claims), never another
-- tenant's versions nor other users' raw claims. Retention also removes change_context rows.
CREATE EXTENSION registry_guard;
CREATE ROLE rg_ten_anon NOLOGIN;
CREATE ROLE rg_ten_authenticated NOLOGIN;
CREATE ROLE rg_ten_authenticator NOLOGIN NOINHERIT IN ROLE rg_ten_anon, rg_ten_authenticated;
CREATE ROLE rg_ten_console NOLOGIN;
SET registry_guard.api_roles = 'rg_ten_anon, rg_ten_authenticated';
CREATE TABLE public.ten_kpis(client_id text, id text, name text, PRIMARY KEY (client_id, id));
CREATE TABLE public.ten_plain(id text PRIMARY KEY);
SELECT audit.enable_tracking('public.ten_kpis');
SELECT audit.enable_tracking('public.ten_plain');
ALTER TABLE audit.version_log SET (autovacuum_enabled = false);
ALTER TABLE audit.change_context SET (autovacuum_enabled = false);
ALTER TABLE audit.seal SET (autovacuum_enabled = false);
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "11111111-1111-1111-1111-111111111111", "email": "ana@acme.example", "secret_note": "ana-only"}';
INSERT INTO public.ten_kpis VALUES ('acme', 'k1', 'Revenue');
COMMIT;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "22222222-2222-2222-2222-222222222222", "email": "bo@acme.example", "secret_note": "bo-only"}';
UPDATE public.ten_kpis SET name = 'Net revenue' WHERE id = 'k1';
COMMIT;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "33333333-3333-3333-3333-333333333333", "email": "cy@globex.example"}';
INSERT INTO public.ten_kpis VALUES ('globex', 'k1', 'Globex secret KPI');
DELETE FROM public.ten_kpis WHERE client_id = 'globex';
COMMIT;
INSERT INTO public.ten_plain VALUES ('x');
SELECT op, table_name, client_id FROM audit.record_version ORDER BY id;

-- Not for PUBLIC; the operator grants it to the API role.
GRANT USAGE ON SCHEMA audit TO rg_ten_authenticated, rg_ten_console;
SET SESSION AUTHORIZATION rg_ten_authenticator;
BEGIN;
SET LOCAL ROLE rg_ten_authenticated;
SELECT count(*) FROM audit.tenant_history();
ROLLBACK;
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION audit.tenant_history(timestamptz, regclass) TO rg_ten_authenticated, rg_ten_console;

-- Ana, administrator of acme: acme's versions only; her own raw claims, not Bo's.
SET SESSION AUTHORIZATION rg_ten_authenticator;
BEGIN;
SET LOCAL ROLE rg_ten_authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "11111111-1111-1111-1111-111111111111", "role": "authenticated",
  "app_metadata": {"client_id": "acme", "tenant_admin": true}}', true);
-- app.client_id is any role's to SET: it does not switch an API user's tenant.
SET LOCAL app.client_id = 'globex';
SELECT op, table_name, record ->> 'name' AS name, jwt_email, jwt_claims ->> 'secret_note' AS raw_claim, client_id
  FROM audit.tenant_history() ORDER BY id;
SELECT count(*) AS kpis_only FROM audit.tenant_history(of_table => 'public.ten_kpis');
ROLLBACK;
-- Bo (acme, not an administrator) is refused; so is a request without a tenant.
BEGIN;
SET LOCAL ROLE rg_ten_authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "22222222-2222-2222-2222-222222222222", "app_metadata": {"client_id": "acme"}}', true);
SELECT count(*) FROM audit.tenant_history();
ROLLBACK;
BEGIN;
SET LOCAL ROLE rg_ten_authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "22222222-2222-2222-2222-222222222222", "app_metadata": {"tenant_admin": true}}', true);
SELECT count(*) FROM audit.tenant_history();
ROLLBACK;
-- Cy, administrator of globex: globex's versions only.
BEGIN;
SET LOCAL ROLE rg_ten_authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "33333333-3333-3333-3333-333333333333", "app_metadata": {"client_id": "globex", "tenant_admin": true}}', true);
SELECT op, record ->> 'name' AS name, old_record ->> 'name' AS old_name, client_id FROM audit.tenant_history() ORDER BY id;
ROLLBACK;
RESET SESSION AUTHORIZATION;
-- A trusted backend role (the admin console) selects the tenant with app.client_id.
SET SESSION AUTHORIZATION rg_ten_console;
BEGIN;
SET LOCAL app.client_id = 'globex';
SELECT count(*) AS globex_versions FROM audit.tenant_history();
ROLLBACK;
RESET SESSION AUTHORIZATION;
-- The trail itself stays closed to them.
SET ROLE rg_ten_authenticated;
SELECT count(*) FROM audit.record_version;
RESET ROLE;

-- Retention removes the change_context rows no version refers to any more; a backend that
-- cached one of them records its next change under a new context.
SELECT count(*) AS contexts_before FROM audit.change_context;
SELECT audit.seal() > 0 AS sealed;
SELECT audit.prune(now() + interval '1 day') AS pruned;
SELECT count(*) AS contexts_after FROM audit.change_context;
INSERT INTO public.ten_plain VALUES ('y');
SELECT op, table_name, record ->> 'event' AS event, record -> 'detail' ->> 'rows_pruned' AS rows_pruned,
       CASE WHEN table_name = 'ten_plain' THEN record END AS record, db_role IS NOT NULL AS has_context
  FROM audit.record_version ORDER BY id;
SELECT audit.seal() AS sealed_after_prune;
SELECT ok, problem FROM audit.verify();

DROP TABLE public.ten_kpis, public.ten_plain;
REVOKE USAGE ON SCHEMA audit FROM rg_ten_authenticated, rg_ten_console;
DROP EXTENSION registry_guard;
DROP ROLE rg_ten_authenticator, rg_ten_anon, rg_ten_authenticated, rg_ten_console;
