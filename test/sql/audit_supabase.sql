-- On Supabase (auth.uid() and auth.role() exist when the extension is created) the versions
-- carry auth_uid / auth_role, taken from those functions as supa_audit's column defaults do
-- (its test detect_supabase: stubs returning constants, no JWT at all). They are evaluated
-- once per statement, as the audit tables' owner; a sub that is not a UUID gives a NULL
-- auth_uid instead of auth.uid()'s cast error.
CREATE SCHEMA auth;
CREATE TABLE auth.calls(n int);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth.calls VALUES (1);
    RETURN '76f99606-1b3f-41d1-806d-358b34db3b32'::uuid;
END $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql AS $$ SELECT 'anon' $$;
CREATE EXTENSION registry_guard;
-- supa_audit's columns, auth_uid and auth_role included.
SELECT id, record_id, old_record_id, op, ts, table_oid, table_schema, table_name, record, old_record,
       auth_uid, auth_role
  FROM audit.record_version;
CREATE TABLE public.xyz(id int PRIMARY KEY);
SELECT audit.enable_tracking('public.xyz'::regclass);
INSERT INTO public.xyz(id) VALUES (1);
SELECT op, auth_uid, auth_role FROM audit.record_version;

-- Once per statement: a three-row INSERT calls auth.uid() once.
TRUNCATE auth.calls;
INSERT INTO public.xyz(id) VALUES (2), (3), (4);
SELECT count(*) AS auth_uid_calls FROM auth.calls;

-- Supabase's real definitions read the JWT (legacy setting first, then the claims).
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "role": "authenticated"}';
INSERT INTO public.xyz(id) VALUES (5);
COMMIT;
-- A service token's sub is not a UUID: auth.uid() would fail; the version records NULL.
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "service-worker", "role": "service_role"}';
INSERT INTO public.xyz(id) VALUES (6);
COMMIT;
-- No JWT: both NULL.
INSERT INTO public.xyz(id) VALUES (7);
SELECT record ->> 'id' AS id, auth_uid, auth_role, jwt_sub FROM audit.record_version WHERE (record ->> 'id')::int >= 5 ORDER BY id;

DROP TABLE public.xyz;
DROP EXTENSION registry_guard;
DROP SCHEMA auth CASCADE;
