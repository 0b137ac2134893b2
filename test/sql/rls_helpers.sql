-- RLS claim helpers: sources, fail-closed NULLs, malformed claims, legacy settings, caching,
-- and which roles may choose a tenant with app.client_id.
CREATE EXTENSION registry_guard;
\set SHOW_CONTEXT never
CREATE ROLE rls_h_anon NOLOGIN;
CREATE ROLE rls_h_authenticated NOLOGIN;
CREATE ROLE rls_h_authenticator NOLOGIN NOINHERIT IN ROLE rls_h_anon, rls_h_authenticated;
CREATE ROLE rls_h_backend NOLOGIN;
GRANT USAGE ON SCHEMA guard TO rls_h_anon, rls_h_authenticated, rls_h_authenticator, rls_h_backend;
-- This file's API roles (the default is anon, authenticated).
SET registry_guard.api_roles = 'rls_h_anon, rls_h_authenticated';
SELECT guard.api_roles();

-- Nothing set: every helper is NULL, so `col = guard.uid()` matches no row.
SELECT guard.uid(), guard.role(), guard.email(), guard.jwt(), guard.claim('sub'), guard.client_id(),
       guard.tenant_source();

-- PostgREST's request.jwt.claims.
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "role": "authenticated",
  "email": "ann@example.com", "aud": "authenticated", "exp": 1767225600,
  "app_metadata": {"provider": "email", "client_id": "acme", "groups": ["finance", "ops"]},
  "user_metadata": {"verified": true, "nick": null}}', false) IS NOT NULL AS set;
SELECT guard.uid(), guard.role(), guard.email(), guard.client_id(), guard.tenant_source();
SELECT guard.jwt() ->> 'aud' AS aud, pg_typeof(guard.jwt()) AS jwt_type;
SELECT guard.claim('app_metadata.client_id') AS client, guard.claim('app_metadata.groups.1') AS group_1,
       guard.claim('app_metadata.groups') AS groups, guard.claim('exp') AS exp,
       guard.claim('user_metadata.verified') AS verified, guard.claim('user_metadata.nick') IS NULL AS null_claim,
       guard.claim('app_metadata.groups.7') IS NULL AS past_end, guard.claim('email.x') IS NULL AS into_scalar,
       guard.claim('nope') IS NULL AS missing;
-- A path given per row (not a constant) is looked up per row.
SELECT p, guard.claim(p) FROM unnest(ARRAY['role', 'aud', 'app_metadata.provider', 'missing']) p;

-- A sub that is not a UUID gives uid NULL (sub itself stays readable); empty strings are absent.
SELECT set_config('request.jwt.claims', '{"sub": "service-account-7", "role": "service_role", "email": ""}', false) IS NOT NULL AS set;
SELECT guard.uid() IS NULL AS uid_null, guard.claim('sub') AS sub, guard.role(), guard.email() IS NULL AS email_null;

-- Empty claims are no claims.
SET request.jwt.claims = '';
SELECT guard.uid(), guard.role(), guard.jwt(), guard.client_id();

-- Malformed claims: a clear error, never a row.
SET request.jwt.claims = '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "role": ';
SELECT guard.uid();
SELECT guard.client_id();
SET request.jwt.claims = '["not", "an", "object"]';
SELECT guard.role();
SET request.jwt.claims = '{"sub": "a\u0000b"}';
SELECT guard.claim('sub');
CREATE TABLE rls_h_docs (id int PRIMARY KEY, owner uuid);
INSERT INTO rls_h_docs VALUES (1, '8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f');
SET request.jwt.claims = 'garbage';
SELECT count(*) FROM rls_h_docs WHERE owner = guard.uid();
RESET request.jwt.claims;

-- Legacy PostgREST settings (request.jwt.claim.*) are read, and win as in Supabase's auth.uid().
SET request.jwt.claim.sub = '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
SET request.jwt.claim.role = 'authenticated';
SET request.jwt.claim.email = 'legacy@example.com';
SELECT guard.uid(), guard.role(), guard.email(), guard.jwt() IS NULL AS no_claims_json;
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "role": "anon"}', false) IS NOT NULL AS set;
SELECT guard.uid(), guard.role();
RESET request.jwt.claim.sub;
RESET request.jwt.claim.role;
RESET request.jwt.claim.email;
SELECT guard.uid(), guard.role();

-- Transaction-local claims (set_config(..., true), as PostgREST sets them) end with the
-- transaction: the next request on a pooled connection does not inherit them.
RESET request.jwt.claims;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f"}', true) IS NOT NULL AS set;
SELECT guard.uid();
COMMIT;
SELECT guard.uid() IS NULL AS gone_after_commit;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f"}', true) IS NOT NULL AS set;
SELECT guard.uid() IS NOT NULL AS set_in_transaction;
ROLLBACK;
SELECT guard.uid() IS NULL AS gone_after_rollback;

-- Caching: parsed once per distinct value, resolved once per change, not per row.
CREATE TEMP TABLE rls_h_stats AS SELECT * FROM guard.claims_cache_stats();
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SELECT count(*) FILTER (WHERE guard.uid() IS NOT NULL AND guard.client_id() = 'acme' AND guard.claim('sub') IS NOT NULL)
  FROM generate_series(1, 5000);
SELECT s.parses - o.parses AS parses, s.resolves - o.resolves AS resolves
  FROM guard.claims_cache_stats() s, rls_h_stats o;
-- Setting the same value again re-resolves (the setting changed) but does not re-parse.
SELECT set_config('request.jwt.claims', '{"sub": "8f2f0f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SELECT count(*) FILTER (WHERE guard.client_id() = 'acme') FROM generate_series(1, 5000);
SELECT s.parses - o.parses AS parses, s.resolves - o.resolves AS resolves
  FROM guard.claims_cache_stats() s, rls_h_stats o;
-- A change within one statement is seen by the next call (the cache follows the setting).
SELECT i, set_config('request.jwt.claims', format('{"app_metadata": {"client_id": "t%s"}}', i), false) IS NOT NULL AS set,
       guard.client_id()
  FROM generate_series(1, 3) i;

-- Tenant: trusted backend roles choose it with app.client_id; API roles (and their members)
-- get it only from the signed claim, since any role can SET app.client_id.
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SET app.client_id = 'globex';
SELECT current_user, guard.client_id(), guard.tenant_source();
SET ROLE rls_h_backend;
SELECT current_user, guard.client_id(), guard.tenant_source();
SET ROLE rls_h_authenticated;
SELECT current_user, guard.client_id(), guard.tenant_source();
SET ROLE rls_h_authenticator;
SELECT current_user, guard.client_id(), guard.tenant_source();
SET ROLE rls_h_anon;
SET request.jwt.claims = '{"role": "anon"}';
SELECT current_user, guard.client_id() IS NULL AS no_tenant, guard.tenant_source() IS NULL AS no_source;
-- A default tenant is an explicit, superuser-only choice.
SET registry_guard.default_client_id = 'default';
RESET ROLE;
SET registry_guard.default_client_id = 'default';
SET ROLE rls_h_anon;
SELECT guard.client_id(), guard.tenant_source();
RESET ROLE;
RESET registry_guard.default_client_id;
RESET app.client_id;
SELECT guard.client_id() IS NULL AS no_tenant;
-- A SECURITY DEFINER function owned by a trusted role does not make an API request trusted:
-- trust needs both the current and the SET ROLE user outside the API roles.
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"client_id": "acme"}}', false) IS NOT NULL AS set;
SET app.client_id = 'globex';
CREATE FUNCTION rls_h_tenant_as_owner() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog AS $$ BEGIN RETURN current_user || ': ' || guard.client_id(); END $$;
ALTER FUNCTION rls_h_tenant_as_owner() OWNER TO rls_h_backend;
SET ROLE rls_h_backend;
SELECT rls_h_tenant_as_owner();
SET ROLE rls_h_authenticated;
SELECT rls_h_tenant_as_owner();
RESET ROLE;
DROP FUNCTION rls_h_tenant_as_owner();
RESET app.client_id;
-- Membership changes are seen at once (the trust cache follows pg_auth_members).
SET app.client_id = 'globex';
SET ROLE rls_h_backend;
SELECT guard.client_id();
RESET ROLE;
GRANT rls_h_authenticated TO rls_h_backend;
SET ROLE rls_h_backend;
SELECT guard.client_id(), guard.tenant_source() AS untrusted_now_source;
RESET ROLE;
-- Parallel workers see the leader's claims, settings and roles (the helpers are PARALLEL SAFE).
RESET ROLE;
REVOKE rls_h_authenticated FROM rls_h_backend;
CREATE TABLE rls_h_par (id int, client_id text);
INSERT INTO rls_h_par SELECT i, CASE WHEN i % 4 = 0 THEN 'acme' ELSE 'globex' END FROM generate_series(1, 1000) i;
GRANT SELECT ON rls_h_par TO rls_h_authenticated, rls_h_backend;
SET force_parallel_mode = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rls_h_par WHERE client_id = guard.client_id();
SET ROLE rls_h_backend;
SELECT guard.client_id() AS leader, count(*), min(client_id) FROM rls_h_par WHERE client_id = guard.client_id();
SET ROLE rls_h_authenticated;
SELECT guard.client_id() AS leader, count(*), min(client_id) FROM rls_h_par WHERE client_id = guard.client_id();
RESET ROLE;
RESET force_parallel_mode;
DROP TABLE rls_h_par;
-- A non-superuser cannot widen the API role list.
SET ROLE rls_h_backend;
SET registry_guard.api_roles = '';
RESET ROLE;
SET registry_guard.api_roles = 'rls_h_anon, "bad';

RESET app.client_id;
RESET request.jwt.claims;
RESET registry_guard.api_roles;
DROP TABLE rls_h_docs;
DROP EXTENSION registry_guard CASCADE;
DROP ROLE rls_h_authenticator, rls_h_backend, rls_h_anon, rls_h_authenticated;
