-- Our additions to the supa_audit model: actors, changed columns, ignored columns, no-op
-- updates, bad input, queries (history, as-of, diff, restore), append-only, hash chain.
CREATE EXTENSION registry_guard;
CREATE TABLE public.kpis(
    id text PRIMARY KEY, name text NOT NULL, tags text[], thresholds jsonb DEFAULT '[]',
    secret text, updated_at timestamptz DEFAULT now(), n int);
SELECT audit.enable_tracking('public.kpis', ARRAY['secret', 'updated_at']);
-- An auto-ANALYZE holds a transaction id, which would (rightly) make audit.seal() wait for it.
ALTER TABLE public.kpis SET (autovacuum_enabled = false);
ALTER TABLE audit.version_log SET (autovacuum_enabled = false);
ALTER TABLE audit.change_context SET (autovacuum_enabled = false);
ALTER TABLE audit.seal SET (autovacuum_enabled = false);

-- Actors: JWT claims (request.jwt.claims), legacy per-claim settings, roles, settings.
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "3b241101-e2bb-4255-8caf-4136c566a962", "role": "authenticated", "email": "ana@example.com"}';
SET LOCAL application_name = 'admin-console';
INSERT INTO public.kpis(id, name, tags, secret) VALUES ('kpi_1', 'Revenue', '{finance}', 's3cr3t');
COMMIT;
BEGIN;
SET LOCAL request.jwt.claims = '{"sub": "service-worker", "role": "service_role"}';
SET LOCAL registry_guard.actor = 'registry-sync apply';
SET LOCAL registry_guard.sync_run_id = '7';
UPDATE public.kpis SET name = 'Net revenue', thresholds = '[{"green": 10}]', secret = 'other' WHERE id = 'kpi_1';
COMMIT;
BEGIN;
SET LOCAL request.jwt.claim.sub = '9f1c8a52-0d6e-4c7e-9d53-0b9a4d7a1f11';
SET LOCAL request.jwt.claim.role = 'authenticated';
UPDATE public.kpis SET n = 1 WHERE id = 'kpi_1';
COMMIT;
SELECT op, record, old_record, changed_columns, jwt_sub, jwt_role, jwt_email, auth_uid_of_sub, actor,
       sync_run_id, application_name, db_role, txid_ok
  FROM (SELECT v.*, c.auth_uid AS auth_uid_of_sub, v.txid > 0 AS txid_ok
          FROM audit.record_version v JOIN audit.version_log l USING (id)
          JOIN audit.change_context c ON c.id = l.context_id) v
 ORDER BY id;

-- Ignored columns are never stored; an UPDATE that changes only them, or nothing, writes no version.
UPDATE public.kpis SET secret = 'rotated', updated_at = now() + interval '1 day';
UPDATE public.kpis SET name = name;
SELECT count(*) AS versions, count(*) FILTER (WHERE record::text LIKE '%s3cr3t%' OR record::text LIKE '%rotated%'
                                                OR old_record::text LIKE '%secret%') AS secrets_stored
  FROM audit.record_version;

-- Malformed claims: the change is refused with a clear error, nothing is written.
SET request.jwt.claims = '{"sub": ';
UPDATE public.kpis SET n = 2;
SET request.jwt.claims = '["not", "an", "object"]';
UPDATE public.kpis SET n = 2;
RESET request.jwt.claims;
SELECT n FROM public.kpis;

-- Bad input to enable/disable tracking.
CREATE VIEW public.kpi_view AS SELECT * FROM public.kpis;
SELECT audit.enable_tracking('public.kpi_view');
SELECT audit.enable_tracking('public.no_such_table');
CREATE TABLE public.nokey(a int);
SELECT audit.enable_tracking('public.nokey');
SELECT audit.enable_tracking('public.kpis');  -- tracking twice: no-op
SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.kpis'::regclass ORDER BY 1;
SELECT audit.set_ignored_columns('public.kpis', ARRAY['no_such_column']);
SELECT audit.set_ignored_columns('public.kpis', ARRAY['id']);
SELECT audit.is_tracked('public.nokey'), audit.is_tracked('public.kpis');
SELECT count(*) AS nothing_half_installed FROM pg_trigger WHERE tgrelid = 'public.nokey'::regclass;

-- Versions of an aborted subtransaction are discarded; COPY is audited.
BEGIN;
INSERT INTO public.kpis(id, name) VALUES ('kpi_2', 'Margin');
SAVEPOINT s;
INSERT INTO public.kpis(id, name) VALUES ('kpi_3', 'Never');
ROLLBACK TO SAVEPOINT s;
COPY public.kpis(id, name, tags) FROM STDIN;
kpi_4	Cost	{finance,cost}
\.
COMMIT;
SELECT op, record ->> 'id' AS id FROM audit.record_version WHERE op = 'INSERT' ORDER BY id;

-- A role without any grant on the audit schema is audited (and cannot read or forge it).
CREATE ROLE rg_editor;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.kpis TO rg_editor;
SET ROLE rg_editor;
UPDATE public.kpis SET n = 5 WHERE id = 'kpi_2';
SELECT count(*) FROM audit.record_version;
INSERT INTO audit.version_log(op, context_id, txid) VALUES ('INSERT', 1, 1);
RESET ROLE;
SELECT db_role, session_role, changed_columns FROM audit.record_version ORDER BY id DESC LIMIT 1;

-- History by schema, table and key values; it survives a key change (record ids change).
UPDATE public.kpis SET id = 'kpi_2b' WHERE id = 'kpi_2';
UPDATE public.kpis SET n = 6 WHERE id = 'kpi_2b';
SELECT op, record ->> 'id' AS id, old_record ->> 'id' AS old_id, changed_columns
  FROM audit.history('public', 'kpis', '{"id": "kpi_2"}');
SELECT op, record ->> 'id' AS id, changed_columns FROM audit.history('public.kpis', '{"id": "kpi_2b"}');
SELECT count(*) FROM audit.history('public', 'kpis', '{"id": "nope"}');
SELECT * FROM audit.history('public', 'kpis', '"kpi_2"');

-- As-of, diff and restore (the restore is audited; ignored columns keep their value).
CREATE TEMP TABLE marks AS SELECT clock_timestamp() AS before_delete;
SELECT pg_sleep(0.01);
DELETE FROM public.kpis WHERE id = 'kpi_1';
SELECT audit.record_as_of('public.kpis', '{"id": "kpi_1"}', (SELECT before_delete FROM marks)) ->> 'name' AS name_then,
       audit.record_as_of('public.kpis', '{"id": "kpi_1"}', now()) AS now_gone;
SELECT t ->> 'id' AS id FROM audit.table_as_of('public.kpis', (SELECT before_delete FROM marks)) t ORDER BY 1;
SELECT * FROM audit.diff((SELECT min(id) FROM audit.history('public.kpis', '{"id": "kpi_1"}')),
                         (SELECT max(id) FILTER (WHERE op = 'UPDATE') FROM audit.history('public.kpis', '{"id": "kpi_1"}')));
SELECT * FROM audit.diff((SELECT max(id) FROM audit.history('public.kpis', '{"id": "kpi_1"}') WHERE op = 'UPDATE'));
SELECT audit.restore((SELECT max(id) FROM audit.history('public.kpis', '{"id": "kpi_1"}') WHERE op = 'DELETE'));
SELECT id, name, n, thresholds, secret FROM public.kpis WHERE id = 'kpi_1';
SELECT audit.restore((SELECT min(id) FROM audit.history('public.kpis', '{"id": "kpi_1"}')));
SELECT audit.restore((SELECT min(id) FROM audit.history('public.kpis', '{"id": "kpi_1"}')));
SELECT op, changed_columns FROM audit.history('public.kpis', '{"id": "kpi_1"}') ORDER BY id DESC LIMIT 2;
SELECT audit.restore(-1);
SELECT * FROM audit.diff(-1);

-- Append-only, even for the superuser owner; also under session_replication_role = replica.
UPDATE audit.version_log SET image = '{}';
DELETE FROM audit.version_log;
TRUNCATE audit.version_log;
DELETE FROM audit.change_context;
SET session_replication_role = replica;
DELETE FROM audit.version_log;
RESET session_replication_role;

-- Sealing, verification and tampering behind the triggers' back.
SELECT audit.seal() > 0 AS sealed, audit.seal() AS sealed_again;
SELECT ok, checked = (SELECT count(*) FROM audit.version_log) AS all_checked, first_bad_id, problem, unsealed FROM audit.verify();
UPDATE public.kpis SET n = 99 WHERE id = 'kpi_4';
SELECT unsealed FROM audit.verify();
SELECT audit.seal();
CREATE TEMP TABLE victim AS SELECT * FROM audit.version_log WHERE id = (SELECT min(id) + 2 FROM audit.version_log);
ALTER TABLE audit.version_log DISABLE TRIGGER append_only;
-- changed
UPDATE audit.version_log SET image = image || '{"name": "forged"}' WHERE id = (SELECT id FROM victim);
SELECT ok, first_bad_id = (SELECT id FROM victim) AS names_victim, regexp_replace(problem, '[0-9]+', 'N') AS problem FROM audit.verify();
UPDATE audit.version_log l SET image = v.image FROM victim v WHERE l.id = v.id;
SELECT ok, problem FROM audit.verify();
-- deleted
DELETE FROM audit.version_log WHERE id = (SELECT id FROM victim);
SELECT ok, first_bad_id = (SELECT id FROM victim) AS names_victim, regexp_replace(problem, '[0-9]+', 'N') AS problem FROM audit.verify();
INSERT INTO audit.version_log SELECT * FROM victim;
SELECT ok FROM audit.verify();
-- inserted: a forged row with an id inside the sealed range (an aborted transaction's gap)
ALTER TABLE audit.version_log ENABLE ALWAYS TRIGGER append_only;
SELECT nextval('audit.record_version_id_seq') AS gap \gset
UPDATE public.kpis SET n = 100 WHERE id = 'kpi_4';
SELECT audit.seal() AS sealed;
ALTER TABLE audit.version_log DISABLE TRIGGER append_only;
INSERT INTO audit.version_log(id, op, ts, context_id, txid, record_id, image)
     SELECT :gap, 'INSERT', ts, context_id, txid, record_id, image FROM victim;
SELECT ok, first_bad_id = :gap AS names_forged, regexp_replace(problem, '[0-9]+', 'N') AS problem FROM audit.verify();
DELETE FROM audit.version_log WHERE id = :gap;
ALTER TABLE audit.version_log ENABLE ALWAYS TRIGGER append_only;
SELECT ok FROM audit.verify();
-- a context row edited to blame someone else is a changed version too
CREATE TEMP TABLE ctx_saved AS SELECT id, jwt_sub FROM audit.change_context WHERE id = (SELECT context_id FROM victim);
ALTER TABLE audit.change_context DISABLE TRIGGER append_only;
UPDATE audit.change_context SET jwt_sub = 'someone-else' WHERE id = (SELECT id FROM ctx_saved);
SELECT ok, regexp_replace(problem, '[0-9]+', 'N') AS problem FROM audit.verify();
UPDATE audit.change_context c SET jwt_sub = s.jwt_sub FROM ctx_saved s WHERE c.id = s.id;
ALTER TABLE audit.change_context ENABLE ALWAYS TRIGGER append_only;
SELECT ok FROM audit.verify();

-- Retention removes the sealed versions older than the cut-off and leaves the chain
-- verifiable from its checkpoint: sealed versions after the cut-off stay, and so do unsealed
-- ones, however old.
SELECT count(*) AS old_sealed FROM audit.version_log \gset
SELECT :old_sealed > 0 AS has_old, unsealed = 0 AS all_sealed FROM audit.verify();
SELECT pg_sleep(0.01) \gset
SELECT clock_timestamp() AS cutoff \gset
SELECT pg_sleep(0.01) \gset
UPDATE public.kpis SET n = 101 WHERE id = 'kpi_4';
UPDATE public.kpis SET n = 102 WHERE id = 'kpi_4';
SELECT audit.seal() AS sealed_after_cutoff;
SELECT audit.prune(:'cutoff') = :old_sealed AS pruned_the_older_only;
-- Kept: the two newer sealed versions and the retention record prune() wrote into the chain.
SELECT count(*) AS kept_newer_sealed FROM audit.version_log;
UPDATE public.kpis SET n = 103 WHERE id = 'kpi_4';
SELECT audit.prune(now() + interval '1 hour') AS pruned_sealed_only;
-- Kept: the unsealed version and both retention records (the first was not sealed yet).
SELECT count(*) AS kept_unsealed FROM audit.version_log;
SELECT audit.seal() > 0;
SELECT ok, checked, problem, unsealed FROM audit.verify();
SELECT through_id > 0 AS has_checkpoint, rows_pruned > 0 AS pruned FROM audit.checkpoint;
SELECT audit.prune(NULL);
DELETE FROM audit.version_log;  -- retention's window closed again

-- Row images are exactly to_jsonb(row), whatever the column types.
CREATE TABLE public.typed(
    id int8 PRIMARY KEY, t text, v varchar(5), s int2, i int4, b boolean, j jsonb, ta text[],
    ta2 text[], num numeric, ts timestamptz, u uuid, d date, f float8, c char(4), ia int[]);
SELECT audit.enable_tracking('public.typed');
INSERT INTO public.typed VALUES
    (1, E'ünï "quoted" \\ tab\t', 'abc', -32768, 2147483647, true, '{"a": [1, {"b": null}], "": 1.50}',
     ARRAY['x', NULL, '', 'ü'], ARRAY[['a', 'b'], ['c', NULL]], 1.500, '2026-01-02 03:04:05.678+00',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-01-31', 1.5e300, 'ab', ARRAY[1, NULL, 3]),
    (-9223372036854775808, '', NULL, 0, 0, false, '"scalar"', '{}', NULL, 'NaN', 'infinity', NULL, NULL,
     'NaN', NULL, '{}'),
    (2, NULL, NULL, NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TEMP TABLE typed_before AS SELECT * FROM public.typed;
SELECT count(*) AS inserts_equal_to_jsonb FROM audit.record_version v JOIN public.typed r ON v.record = to_jsonb(r)
 WHERE v.table_name = 'typed' AND v.op = 'INSERT';
-- Byte for byte, not only equal as jsonb (the trigger writes jsonb's binary format itself;
-- record_image_eq compares the stored bytes): images, and the old values of the changed columns.
CREATE FUNCTION pg_temp.same_bytes(a jsonb, b jsonb) RETURNS boolean LANGUAGE sql
    AS $$ SELECT record_image_eq(ROW(a, 0), ROW(b, 0)) $$;
SELECT count(*) AS inserts_byte_identical
  FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
  JOIN public.typed r ON pg_temp.same_bytes(l.image, to_jsonb(r))
 WHERE c.table_name = 'typed' AND l.op = 'INSERT';
UPDATE public.typed SET t = t || '!', j = j || '{"z": true}', ta = ta || ARRAY['more'];
SELECT l.image ->> 'id' AS id, pg_temp.same_bytes(l.image, to_jsonb(r)) AS image_bytes_equal,
       pg_temp.same_bytes(l.old_delta, (SELECT jsonb_object_agg(o.key, o.value)
                                  FROM jsonb_each((SELECT to_jsonb(tb) FROM pg_temp.typed_before tb WHERE tb.id = r.id)) o
                                 WHERE o.key IN ('t', 'j', 'ta')
                                   AND o.value IS DISTINCT FROM to_jsonb(r) -> o.key)) AS old_delta_bytes_equal
  FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
  JOIN public.typed r ON (l.image ->> 'id')::int8 = r.id
 WHERE c.table_name = 'typed' AND l.op = 'UPDATE' ORDER BY l.id;
SELECT v.record ->> 'id' AS id, v.record = to_jsonb(r) AS image_is_to_jsonb,
       v.old_record = (SELECT to_jsonb(o) FROM pg_temp.typed_before o WHERE o.id = r.id) AS old_image_is_to_jsonb,
       v.changed_columns
  FROM audit.record_version v JOIN public.typed r ON (v.record ->> 'id')::int8 = r.id
 WHERE v.table_name = 'typed' AND v.op = 'UPDATE' ORDER BY v.id;
DROP TABLE public.typed, typed_before;
-- More than JB_OFFSET_STRIDE (32) keys: jsonb stores every 32nd child's end offset instead of
-- its length; keys of different lengths sort by length first. Byte for byte again.
DO $$
BEGIN
    EXECUTE 'CREATE TABLE public.wide(id int PRIMARY KEY, '
         || (SELECT string_agg(pg_catalog.format('%I %s', repeat('c', g % 7 + 1) || g,
                                                 (ARRAY['text', 'int8', 'jsonb', 'text[]', 'bool', 'numeric'])[g % 6 + 1]), ', ')
               FROM generate_series(1, 70) g) || ')';
END $$;
SELECT audit.enable_tracking('public.wide');
INSERT INTO public.wide(id, cc1, ccc2, cccc3, ccccc4, cccccc5, ccccccc6, c7, cc8, ccc9)
VALUES (1, 42, '{"k": [true, null, 2.5]}', '{a,NULL,"b c"}', true, 1.25, 'txt', -7, '"s"', '{}'),
       (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT count(*) AS wide_inserts_byte_identical
  FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
  JOIN public.wide w ON pg_temp.same_bytes(l.image, to_jsonb(w))
 WHERE c.table_name = 'wide' AND l.op = 'INSERT';
UPDATE public.wide SET cc8 = '{"n": 1}', cccc3 = '{z}';
SELECT l.image ->> 'id' AS id, pg_temp.same_bytes(l.image, to_jsonb(w)) AS image_bytes_equal,
       pg_temp.same_bytes(l.old_delta, CASE w.id WHEN 1 THEN jsonb_build_object('cc8', '"s"'::jsonb, 'cccc3', '{a,NULL,"b c"}'::text[])
                                          ELSE jsonb_build_object('cc8', NULL::jsonb, 'cccc3', NULL::text[]) END)
           AS old_delta_bytes_equal
  FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
  JOIN public.wide w ON (l.image ->> 'id')::int = w.id
 WHERE c.table_name = 'wide' AND l.op = 'UPDATE' ORDER BY l.id;
DROP TABLE public.wide;
-- Values stored compressed or out of line (TOAST) are read back whole into the image.
CREATE TABLE public.big(id int PRIMARY KEY, j jsonb, t text, ta text[]);
SELECT audit.enable_tracking('public.big');
INSERT INTO public.big
SELECT 1, jsonb_build_object('many', (SELECT jsonb_agg(g) FROM generate_series(1, 3000) g)),
       repeat('compressible ', 2000),
       ARRAY[(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g), 'x'];
ALTER TABLE public.big ALTER COLUMN t SET STORAGE EXTERNAL;
INSERT INTO public.big
SELECT 2, '"a long scalar"', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g), NULL;
UPDATE public.big SET id = id + 10;
SELECT l.op, l.image ->> 'id' AS id, pg_temp.same_bytes(l.image, to_jsonb(b)) AS image_bytes_equal,
       pg_column_size(l.image) > 2000 AS large
  FROM audit.version_log l JOIN audit.change_context c ON c.id = l.context_id
  JOIN public.big b ON (l.image ->> 'id')::int = b.id
 WHERE c.table_name = 'big' ORDER BY l.id;
DROP TABLE public.big;

DROP TABLE victim, marks, ctx_saved;
DROP TABLE public.kpis, public.nokey CASCADE;
DROP ROLE rg_editor;
DROP EXTENSION registry_guard CASCADE;
