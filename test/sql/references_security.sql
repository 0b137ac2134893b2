-- Reference triggers cannot be turned against the table owners they run as: operators of the
-- caller's search_path never run inside them, and they refuse to run on a table that is not the
-- reference's.
CREATE EXTENSION registry_guard;
SET client_min_messages = notice;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE rg_sec_user;
CREATE TABLE sec_target (id text PRIMARY KEY);
CREATE TABLE sec_source (id text PRIMARY KEY, refs text[]);
CREATE INDEX sec_source_refs ON sec_source USING gin (refs);
INSERT INTO sec_target VALUES ('a'), ('b'), ('c');
INSERT INTO sec_source VALUES ('s0', '{c}');
SELECT guard.add_reference('sec_ref', 'sec_source', 'refs', 'sec_target', on_delete => 'restrict');
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_source, sec_target TO rg_sec_user;
CREATE SCHEMA sec_evil AUTHORIZATION rg_sec_user;

-- A caller's own = and || on text (the key type, and what the row label and the catalog look-up
-- use) must not run as the owner of guard.reference or of the tables.
SET ROLE rg_sec_user;
CREATE FUNCTION sec_evil.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'caller''s = ran (as the caller: %)', current_user OPERATOR(pg_catalog.=) 'rg_sec_user';
  RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE FUNCTION sec_evil.cat(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'caller''s || ran (as the caller: %)', current_user OPERATOR(pg_catalog.=) 'rg_sec_user';
  RETURN pg_catalog.textcat($1, $2);
END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.eq);
CREATE OPERATOR sec_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.cat);
SET search_path = sec_evil, pg_catalog, public;
INSERT INTO sec_source VALUES ('s1', '{a}');
INSERT INTO sec_source VALUES ('s2', '{zz}');
UPDATE sec_source SET refs = '{a,b}' WHERE id OPERATOR(pg_catalog.=) 's1';
DELETE FROM sec_target WHERE id OPERATOR(pg_catalog.=) 'a';
DELETE FROM sec_target WHERE id OPERATOR(pg_catalog.=) 'c';
RESET search_path;
RESET ROLE;
SELECT id, refs FROM sec_source ORDER BY id;

-- A reference's trigger function attached by hand to another table refuses to run (it would
-- read that table's columns as the reference's types).
CREATE TABLE sec_other (n integer, m integer);
CREATE TRIGGER sec_wrong_row AFTER INSERT ON sec_other FOR EACH ROW EXECUTE FUNCTION guard.reference_check_row('sec_ref');
INSERT INTO sec_other VALUES (1, 2);
DROP TRIGGER sec_wrong_row ON sec_other;
CREATE TRIGGER sec_wrong_insert AFTER INSERT ON sec_other REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_check_insert('sec_ref');
INSERT INTO sec_other VALUES (1, 2);
DROP TRIGGER sec_wrong_insert ON sec_other;
CREATE TRIGGER sec_wrong_action AFTER DELETE ON sec_other FOR EACH ROW EXECUTE FUNCTION guard.reference_target_action('sec_ref');
INSERT INTO sec_other VALUES (1, 2);
DELETE FROM sec_other;
DROP TABLE sec_other;
-- The source-side trigger on the target table is refused too (a declared table, the wrong side).
CREATE TRIGGER sec_wrong_side AFTER INSERT ON sec_target FOR EACH ROW EXECUTE FUNCTION guard.reference_check_row('sec_ref');
INSERT INTO sec_target VALUES ('d');
DROP TRIGGER sec_wrong_side ON sec_target;
-- Partitions run the triggers of their parent: fine with its column layout, refused otherwise.
CREATE TABLE sec_parted (k integer PRIMARY KEY, refs text[]) PARTITION BY RANGE (k);
CREATE TABLE sec_parted_1 PARTITION OF sec_parted FOR VALUES FROM (0) TO (10);
CREATE TABLE sec_parted_2 (refs text[], k integer NOT NULL);
ALTER TABLE sec_parted ATTACH PARTITION sec_parted_2 FOR VALUES FROM (10) TO (20);
SELECT guard.add_reference('sec_parted_ref', 'sec_parted', 'refs', 'sec_target', is_deferrable => true);
INSERT INTO sec_parted VALUES (1, '{b}');
UPDATE sec_parted SET refs = '{b,nope}' WHERE k = 1;
INSERT INTO sec_parted VALUES (11, '{b}');
SELECT guard.drop_reference('sec_parted_ref');
DROP TABLE sec_parted;
SELECT 1 AS still_connected;

-- A restrict error shows a referencing row (read as the owner) only to a user who may read it:
-- with row security on the referencing table the row is left out, on the referenced table the
-- key as well, as native foreign keys do.
ALTER TABLE sec_source ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_source_none ON sec_source USING (false);
SET ROLE rg_sec_user;
DELETE FROM sec_target WHERE id = 'c';
RESET ROLE;
ALTER TABLE sec_target ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_target_all ON sec_target USING (true);
SET ROLE rg_sec_user;
DELETE FROM sec_target WHERE id = 'c';
RESET ROLE;
-- The owner (row security does not apply) still sees both.
DELETE FROM sec_target WHERE id = 'c';

-- Marking a reference validated is for the owner of the referencing table only (as VALIDATE
-- CONSTRAINT): not for PUBLIC, and refused to a non-owner even with EXECUTE granted (the
-- reference's triggers prove nothing: every enforced reference has them).
CREATE TABLE sec_nv_target (id text PRIMARY KEY);
CREATE TABLE sec_nv_source (id text PRIMARY KEY, refs text[]);
CREATE INDEX sec_nv_source_refs ON sec_nv_source USING gin (refs);
INSERT INTO sec_nv_source VALUES ('n1', '{missing}');
SELECT guard.add_reference('sec_nv', 'sec_nv_source', 'refs', 'sec_nv_target', not_valid => true);
GRANT USAGE ON SCHEMA guard TO rg_sec_user;
SET SESSION AUTHORIZATION rg_sec_user;
SELECT guard.reference_mark_validated('sec_nv');
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION guard.reference_mark_validated(text) TO rg_sec_user;
SET SESSION AUTHORIZATION rg_sec_user;
SELECT guard.reference_mark_validated('sec_nv');
RESET SESSION AUTHORIZATION;
SELECT name, validated FROM guard.references WHERE name = 'sec_nv';
REVOKE EXECUTE ON FUNCTION guard.reference_mark_validated(text) FROM rg_sec_user;
-- Neither are the other SECURITY DEFINER catalog helpers.
SET SESSION AUTHORIZATION rg_sec_user;
SELECT guard.reference_unregister('sec_nv');
SELECT guard.reference_register((SELECT r FROM guard.reference r WHERE name = 'sec_nv'));
RESET SESSION AUTHORIZATION;

-- The truncate guard runs as its owner: attached to a table of one's own it must not tell
-- whether a table one cannot read (sec_nv_source) holds elements. Not for PUBLIC, and refused
-- on a table that is not the reference's target even with EXECUTE granted.
SET SESSION AUTHORIZATION rg_sec_user;
CREATE TABLE sec_evil.probe (id int);
CREATE TRIGGER sec_nv_on_truncate BEFORE TRUNCATE ON sec_evil.probe
  FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_truncate_guard('sec_nv');
TRUNCATE sec_evil.probe;
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION guard.reference_truncate_guard() TO rg_sec_user;
SET SESSION AUTHORIZATION rg_sec_user;
CREATE TRIGGER sec_nv_on_truncate BEFORE TRUNCATE ON sec_evil.probe
  FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_truncate_guard('sec_nv');
TRUNCATE sec_evil.probe;
RESET SESSION AUTHORIZATION;
REVOKE EXECUTE ON FUNCTION guard.reference_truncate_guard() FROM rg_sec_user;
-- The reference's own guard still works.
TRUNCATE sec_nv_target;
REVOKE USAGE ON SCHEMA guard FROM rg_sec_user;

SET client_min_messages = warning;
DROP EXTENSION registry_guard CASCADE;
DROP TABLE sec_source, sec_target, sec_nv_source, sec_nv_target;
DROP SCHEMA sec_evil CASCADE;
DROP ROLE rg_sec_user;
