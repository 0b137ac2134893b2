-- supa_audit 0.3.1 compatibility: the behaviour its users rely on, written from its documented
-- behaviour and its own test expectations (two triggers, record ids, errors, idempotency).
-- Each case of supa_audit's own regress suite has its counterpart here, in our words:
--   enable_idempotent, disable_idempotent           -> "Tracking creates exactly the two triggers"
--   enable_and_disable_tracking                      -> "Only changes made while tracking"
--   simple_insert_update_delete(_truncate)           -> "INSERT, UPDATE, DELETE and TRUNCATE"
--   require_primary_key                              -> "supa_audit's error for a table without"
--   track_table_schema_not_on_search_path            -> "Schemas not on search_path"
--   performance (its workload; timing: bench/audit.sh) -> "supa_audit's benchmark workload"
--   detect_supabase                                  -> the end of this file and audit_supabase.sql
CREATE EXTENSION registry_guard;
CREATE EXTENSION "uuid-ossp";

-- The view has supa_audit's columns, in its order, with its types (auth_* only on Supabase).
SELECT column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'audit' AND table_name = 'record_version' AND ordinal_position <= 10
 ORDER BY ordinal_position;
SELECT enum_range(NULL::audit.operation);

-- Tracking creates exactly the two triggers supa_audit creates; enabling twice is a no-op.
BEGIN;
    CREATE TABLE public.dummy(id int PRIMARY KEY);
    SELECT audit.enable_tracking('public.dummy');
    SELECT audit.enable_tracking('public.dummy');
    SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.dummy'::regclass ORDER BY tgname;
    -- disabling is idempotent too, and a no-op for an untracked table
    SELECT audit.disable_tracking('public.dummy');
    SELECT audit.disable_tracking('public.dummy');
    SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'public.dummy'::regclass;
ROLLBACK;

-- Only changes made while tracking are recorded.
BEGIN;
    CREATE TABLE public.dummy(id int PRIMARY KEY);
    INSERT INTO public.dummy(id) VALUES (1);
    SELECT audit.enable_tracking('public.dummy');
    INSERT INTO public.dummy(id) VALUES (2);
    SELECT audit.disable_tracking('public.dummy');
    INSERT INTO public.dummy(id) VALUES (3);
    SELECT op, table_schema, table_name, record FROM audit.record_version;
ROLLBACK;

-- INSERT, UPDATE, DELETE and TRUNCATE, with record ids remapped to stable small numbers.
BEGIN;
    CREATE TABLE public.members(id int PRIMARY KEY, name text NOT NULL);
    SELECT audit.enable_tracking('public.members');
    INSERT INTO public.members(id, name) VALUES (1, 'foo');
    UPDATE public.members SET name = 'bar' WHERE id = 1;
    DELETE FROM public.members;
    TRUNCATE TABLE public.members;
    WITH remap AS (
        SELECT DISTINCT ON (u.id) u.id, row_number() OVER () stable_id
          FROM audit.record_version arv, unnest(ARRAY[arv.record_id, arv.old_record_id]) u(id)
         ORDER BY u.id ASC
    )
    SELECT r.stable_id AS remapped_record_id, ro.stable_id AS remapped_old_record_id,
           op, table_schema, table_name, record, old_record,
           table_oid = 'public.members'::regclass AS oid_ok, ts = now() AS ts_is_xact_start
      FROM audit.record_version arv
      LEFT JOIN remap r ON arv.record_id = r.id
      LEFT JOIN remap ro ON arv.old_record_id = ro.id
     ORDER BY arv.id;
ROLLBACK;

-- supa_audit's error for a table without a primary key.
BEGIN;
    CREATE TABLE public.dummy(id int);
    SELECT audit.enable_tracking('public.dummy');
ROLLBACK;

-- Schemas not on search_path and names that need quoting.
BEGIN;
    CREATE SCHEMA xyz;
    CREATE TABLE xyz."Members"(id int PRIMARY KEY, name text NOT NULL);
    SELECT audit.enable_tracking('xyz."Members"');
    SET LOCAL search_path = '';
    INSERT INTO xyz."Members" VALUES (1, 'a');
    SELECT op, table_schema, table_name, record FROM audit.record_version;
    SELECT audit.disable_tracking('xyz."Members"');
ROLLBACK;

-- Record ids are supa_audit 0.3.1's: uuid v5 in its namespace over the table oid and the key
-- values (computed here with uuid-ossp, exactly as supa_audit's SQL does), for several key types.
CREATE FUNCTION pg_temp.reference_id(entity_oid oid, pkey_cols text[], rec jsonb) RETURNS uuid
    LANGUAGE sql AS $$
    SELECT CASE WHEN rec IS NULL THEN NULL
                ELSE (SELECT uuid_generate_v5('fd62bc3d-8d6e-43c2-919c-802ba3762271',
                                              (jsonb_build_array(to_jsonb($1)) || jsonb_agg($3 ->> key_))::text)
                        FROM unnest($2) x(key_)) END
$$;
CREATE TABLE public.keyed(
    tenant text, n int, u uuid, at timestamptz, flag boolean, doc jsonb, payload text,
    PRIMARY KEY (tenant, n, u, at, flag));
SELECT audit.enable_tracking('public.keyed');
INSERT INTO public.keyed VALUES
    ('acme', 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-01-02 03:04:05.678+00', true, '{"a": [1, 2]}', 'x'),
    ('Quote "me" \ ünïcode', -42, '00000000-0000-0000-0000-000000000000', 'infinity', false, null, 'y');
UPDATE public.keyed SET n = n + 1000, payload = 'z';
DELETE FROM public.keyed WHERE NOT flag;
SELECT op,
       record_id = pg_temp.reference_id(table_oid, audit.primary_key_columns(table_oid), record) AS record_id_matches,
       old_record_id = pg_temp.reference_id(table_oid, audit.primary_key_columns(table_oid), old_record)
           AS old_record_id_matches
  FROM audit.record_version WHERE table_name = 'keyed' ORDER BY id;
SELECT audit.primary_key_columns('public.keyed'::regclass);
SELECT audit.to_record_id('public.keyed'::regclass, '{tenant,n}', '{"tenant": "acme", "n": 1, "x": 2}')
     = pg_temp.reference_id('public.keyed'::regclass, '{tenant,n}', '{"tenant": "acme", "n": 1, "x": 2}') AS same,
       audit.to_record_id(1, '{id}', '{"id": {"nested": [1, "two", null]}}')
     = pg_temp.reference_id(1, '{id}', '{"id": {"nested": [1, "two", null]}}') AS same_nested,
       audit.to_record_id(1, '{missing}', '{"id": 1}')
     = pg_temp.reference_id(1, '{missing}', '{"id": 1}') AS same_missing_key,
       audit.to_record_id(1, '{id}', NULL) IS NULL AS null_record;
-- Without a key: a random version 4 uuid.
SELECT substr(audit.to_record_id(1, '{}', '{"id": 1}')::text, 15, 1) AS version,
       audit.to_record_id(1, '{}', '{"id": 1}') <> audit.to_record_id(1, '{}', '{"id": 1}') AS random;

-- supa_audit's benchmark workload (INSERT, UPDATE, DELETE, TRUNCATE of one row, round after
-- round in one PL/pgSQL loop and one transaction): one version per statement, none lost or
-- doubled by the buffering. Its timing threshold is not a test here (bench/audit.sh measures).
BEGIN;
    CREATE TABLE public.dummy(id int PRIMARY KEY, body text,
                              description text DEFAULT 'aaaaaaaaaaaaaaaaaaaaaa',
                              created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
    SELECT audit.enable_tracking('public.dummy');
    DO $$
    BEGIN
        FOR op_count IN 0..199 LOOP
            INSERT INTO public.dummy(id, body) VALUES (op_count, op_count::text);
            UPDATE public.dummy SET body = op_count::text || '!' WHERE id = op_count;
            DELETE FROM public.dummy WHERE id = op_count;
            TRUNCATE TABLE public.dummy;
        END LOOP;
    END
    $$;
    SELECT op, count(*), count(DISTINCT record_id) AS records, count(DISTINCT old_record_id) AS old_records
      FROM audit.record_version WHERE table_name = 'dummy' GROUP BY op ORDER BY op;
ROLLBACK;

-- pg_dump includes the audit data: the tables and sequences are extension configuration.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'registry_guard' AND c.relname IN ('version_log', 'record_version_id_seq', 'change_context')
 ORDER BY 1;

DROP TABLE public.keyed;
DROP EXTENSION registry_guard CASCADE;
DROP EXTENSION "uuid-ossp";

-- On Supabase (auth.uid() and auth.role() exist at install time) the view has supa_audit's
-- auth_uid and auth_role columns, filled from the request's JWT claims.
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role' $$;
CREATE EXTENSION registry_guard;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'audit' AND table_name = 'record_version' AND column_name LIKE 'auth%'
 ORDER BY ordinal_position;
CREATE TABLE public.members(id int PRIMARY KEY, name text);
SELECT audit.enable_tracking('public.members');
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "role": "authenticated"}';
INSERT INTO public.members VALUES (1, 'a');
COMMIT;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "not-a-uuid", "role": "service_role"}';
UPDATE public.members SET name = 'b';
COMMIT;
SELECT op, auth_uid, auth_role FROM audit.record_version ORDER BY id;
DROP TABLE public.members;
DROP EXTENSION registry_guard CASCADE;
DROP SCHEMA auth CASCADE;
