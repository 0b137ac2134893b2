-- Element-wise foreign keys on array columns: declaration, checks, errors, actions, validation.
CREATE EXTENSION registry_guard;
SET client_min_messages = notice;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE processes (id text PRIMARY KEY, name text);
CREATE TABLE kpis (id text PRIMARY KEY, business_process_ids text[], data_product_id text);
CREATE INDEX kpis_bp_gin ON kpis USING gin (business_process_ids);
INSERT INTO processes VALUES ('p1', 'one'), ('p2', 'two'), ('p3', 'three');
INSERT INTO kpis VALUES ('k1', '{p1,p2}', 'dp1'), ('k2', '{p1,ghost,phantom}', 'dp_x'), ('k3', NULL, NULL);

-- Declaring over violating data fails and lists every violation.
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes');
SELECT count(*) AS declared FROM guard.reference;

-- Declaration errors say what is wrong.
SELECT guard.add_reference('bad', 'kpis', 'nope', 'processes');
SELECT guard.add_reference('bad', 'kpis', 'data_product_id', 'processes');
SELECT guard.add_reference('bad', 'kpis', 'business_process_ids', 'processes', target_column => 'name');
SELECT guard.add_reference('bad', 'kpis', 'business_process_ids', 'processes', on_delete => 'explode');
SELECT guard.add_reference('bad', 'kpis', 'business_process_ids', 'processes', initially_deferred => true);
SELECT guard.add_reference('bad"name', 'kpis', 'business_process_ids', 'processes');

-- NOT VALID skips existing rows; validate_references() lists them; validate_reference() fails.
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes', not_valid => true);
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes', not_valid => true);
SELECT name, source_table, source_column, target_table, target_column, on_delete, on_update, is_deferrable, mode, validated, has_gin_index
  FROM guard.references;
SELECT * FROM guard.validate_references() ORDER BY source_key::text, missing_element;
SELECT guard.validate_reference('kpis_processes');
UPDATE kpis SET business_process_ids = '{p1}' WHERE id = 'k2';
SELECT guard.validate_reference('kpis_processes');
SELECT validated FROM guard.references WHERE name = 'kpis_processes';
SELECT count(*) AS violations FROM guard.validate_references();

-- MATCH SIMPLE: NULL arrays, NULL elements and empty arrays pass; every other element must exist.
INSERT INTO kpis VALUES ('k4', '{p1,NULL,p2}'), ('k5', '{}'), ('k6', NULL);
-- A multi-row insert is checked once: the first missing element and how many are missing.
INSERT INTO kpis VALUES ('k7', '{p1,x1}'), ('k8', '{x2,p3,x1}');
INSERT INTO kpis VALUES ('k7', '{p3,x9}');
SELECT id FROM kpis WHERE id IN ('k7', 'k8');
-- COPY goes through the same check.
COPY kpis (id, business_process_ids) FROM stdin;
k9	{p2,p3}
\.
COPY kpis (id, business_process_ids) FROM stdin;
k10	{p2,nope}
\.
-- Updates are checked per changed row; updates that leave the array alone are not.
UPDATE kpis SET business_process_ids = business_process_ids || 'zz'::text WHERE id = 'k1';
UPDATE kpis SET data_product_id = 'dp2' WHERE id = 'k1';
UPDATE kpis SET business_process_ids = '{p3}' WHERE id = 'k1';
-- INSERT ... ON CONFLICT DO UPDATE is checked on both paths.
INSERT INTO kpis VALUES ('k1', '{p2,bad}') ON CONFLICT (id) DO UPDATE SET business_process_ids = EXCLUDED.business_process_ids;
INSERT INTO kpis VALUES ('k1', '{p2}') ON CONFLICT (id) DO UPDATE SET business_process_ids = EXCLUDED.business_process_ids;

-- Target side, NO ACTION: deleting or re-keying a referenced row fails naming a referencing row.
DELETE FROM processes WHERE id = 'p3';
UPDATE processes SET id = 'p3b' WHERE id = 'p3';
-- Non-key updates of a referenced row are free; unreferenced rows go.
UPDATE processes SET name = 'THREE' WHERE id = 'p3';
INSERT INTO processes VALUES ('p9', 'nine');
DELETE FROM processes WHERE id = 'p9';
-- TRUNCATE of a referenced table is refused while elements point at it.
TRUNCATE processes;

-- A rolled-back savepoint releases its row locks: later checks look again.
BEGIN;
SAVEPOINT s;
INSERT INTO kpis VALUES ('k20', '{p2}');
ROLLBACK TO SAVEPOINT s;
INSERT INTO kpis VALUES ('k21', '{p2,missing_after_savepoint}');
ROLLBACK;

-- Deletes inside the transaction forget what was verified: the deleted key is checked again.
BEGIN;
INSERT INTO processes VALUES ('p7', 'seven');
INSERT INTO kpis VALUES ('k30', '{p7}');
DELETE FROM kpis WHERE id = 'k30';
DELETE FROM processes WHERE id = 'p7';
INSERT INTO kpis VALUES ('k31', '{p7}');
ROLLBACK;

SELECT guard.drop_reference('kpis_processes');
SELECT guard.drop_reference('kpis_processes');
SELECT guard.drop_reference('kpis_processes', if_exists => true);
SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN ('kpis'::regclass, 'processes'::regclass);

-- ON DELETE CASCADE removes the element; ON UPDATE CASCADE rewrites it to the new key.
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes',
                           on_delete => 'cascade', on_update => 'cascade');
UPDATE processes SET id = 'p2new' WHERE id = 'p2';
SELECT id, business_process_ids FROM kpis ORDER BY id;
DELETE FROM processes WHERE id = 'p1';
SELECT id, business_process_ids FROM kpis ORDER BY id;
SELECT guard.drop_reference('kpis_processes');

-- SET NULL replaces the element with NULL; RESTRICT refuses even if the key comes back.
INSERT INTO processes VALUES ('p1', 'one again');
UPDATE kpis SET business_process_ids = '{p1,p3}' WHERE id = 'k1';
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes',
                           on_delete => 'set null', on_update => 'restrict');
DELETE FROM processes WHERE id = 'p1';
SELECT id, business_process_ids FROM kpis WHERE id = 'k1';
UPDATE processes SET id = 'p3x' WHERE id = 'p3';
SELECT guard.drop_reference('kpis_processes');

-- NO ACTION passes when the key is back by the end of the statement; RESTRICT does not wait.
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes');
WITH gone AS (DELETE FROM processes WHERE id = 'p3' RETURNING *) INSERT INTO processes SELECT * FROM gone;
SELECT guard.drop_reference('kpis_processes');
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes', on_delete => 'restrict');
WITH gone AS (DELETE FROM processes WHERE id = 'p3' RETURNING *) INSERT INTO processes SELECT * FROM gone;
SELECT guard.drop_reference('kpis_processes');

-- DEFERRABLE INITIALLY DEFERRED: rows may come before their targets inside one transaction.
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes',
                           is_deferrable => true, initially_deferred => true);
BEGIN;
INSERT INTO kpis VALUES ('k40', '{p5,p6}');
INSERT INTO processes VALUES ('p5', 'five'), ('p6', 'six');
COMMIT;
BEGIN;
INSERT INTO kpis VALUES ('k41', '{p5,never}');
COMMIT;
-- A deferred row fixed later in the transaction passes (its first version is no longer live).
BEGIN;
INSERT INTO kpis VALUES ('k42', '{never}');
UPDATE kpis SET business_process_ids = '{p5}' WHERE id = 'k42';
COMMIT;
-- Deleting a referenced target is checked at commit too (NO ACTION follows the deferral).
BEGIN;
DELETE FROM processes WHERE id = 'p6';
INSERT INTO processes VALUES ('p6', 'six again');
COMMIT;
BEGIN;
DELETE FROM processes WHERE id = 'p6';
COMMIT;
-- SET CONSTRAINTS makes it immediate.
BEGIN;
SET CONSTRAINTS kpis_processes IMMEDIATE;
INSERT INTO kpis VALUES ('k43', '{not_there}');
ROLLBACK;
SELECT guard.drop_reference('kpis_processes');

-- Report-only (kpis.data_product_id in the registry): nothing is blocked, violations are listed.
CREATE TABLE data_products (id text PRIMARY KEY);
INSERT INTO data_products VALUES ('dp1');
SELECT guard.add_reference('kpis_data_product', 'kpis', 'data_product_id', 'data_products', report_only => true);
INSERT INTO kpis VALUES ('k50', NULL, 'FI_Star_Schema');
SELECT * FROM guard.validate_references('kpis_data_product') ORDER BY source_key::text;
SELECT guard.add_reference('bad', 'kpis', 'data_product_id', 'data_products', report_only => true, on_delete => 'cascade');
SELECT * FROM guard.validate_references('no_such_reference');
SELECT mode FROM guard.references WHERE name = 'kpis_data_product';
SELECT guard.drop_reference('kpis_data_product');

-- Without a GIN index the declaration says so; other element types work the same way.
CREATE TABLE codes (code int PRIMARY KEY);
CREATE TABLE uses (id int PRIMARY KEY, code_list int[]);
INSERT INTO codes VALUES (1), (2);
SELECT guard.add_reference('uses_codes', 'uses', 'code_list', 'codes', target_column => 'code');
INSERT INTO uses VALUES (1, '{1,2}');
INSERT INTO uses VALUES (2, '{2,3}');
CREATE TABLE bad_uses (id int PRIMARY KEY, code_list bigint[]);
SELECT guard.add_reference('bad_uses_codes', 'bad_uses', 'code_list', 'codes', target_column => 'code');

-- The checks see every target row, whatever row-level security shows the inserting user.
CREATE ROLE rg_ref_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON kpis, processes TO rg_ref_user;
ALTER TABLE processes ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_p5 ON processes FOR ALL TO rg_ref_user USING (id = 'p5');
SELECT guard.add_reference('kpis_processes', 'kpis', 'business_process_ids', 'processes');
-- A new session whose first check runs as a role without USAGE on schema guard.
\c -
SET client_min_messages = notice;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET ROLE rg_ref_user;
SELECT count(*) AS visible_processes FROM processes;
INSERT INTO kpis VALUES ('k60', '{p3,p5}');
INSERT INTO kpis VALUES ('k61', '{p3,hidden_nowhere}');
DELETE FROM processes WHERE id = 'p5';
RESET ROLE;
-- Roles without access to schema guard can still drop their tables and truncate referenced ones.
GRANT CREATE ON SCHEMA public TO rg_ref_user;
GRANT TRUNCATE ON processes TO rg_ref_user;
SET ROLE rg_ref_user;
CREATE TABLE own_table (id int);
DROP TABLE own_table;
TRUNCATE processes;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM rg_ref_user;
SELECT guard.drop_reference('kpis_processes');
ALTER TABLE processes DISABLE ROW LEVEL SECURITY;

-- A table owner who is not a superuser declares and drops references (catalog writes go through
-- SECURITY DEFINER helpers); another role can neither forge nor drop them.
CREATE ROLE rg_ref_owner;
CREATE ROLE rg_ref_stranger;
GRANT USAGE ON SCHEMA guard TO rg_ref_owner, rg_ref_stranger;
GRANT CREATE ON SCHEMA public TO rg_ref_owner;
-- Managing references is not for PUBLIC: both get EXECUTE on the functions that do it (the
-- stranger too, to show that the functions themselves refuse it).
GRANT EXECUTE ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean,
    boolean, boolean, name, name), guard.drop_reference(text, boolean), guard.validate_reference(text),
    guard.reference_register(guard.reference), guard.reference_unregister(text), guard.reference_mark_validated(text),
    guard.reference_truncate_guard() TO rg_ref_owner, rg_ref_stranger;
SET ROLE rg_ref_owner;
CREATE TABLE owned_targets (id text PRIMARY KEY);
CREATE TABLE owned_sources (id int PRIMARY KEY, refs text[]);
CREATE INDEX ON owned_sources USING gin (refs);
INSERT INTO owned_targets VALUES ('t1');
SELECT guard.add_reference('owned_refs', 'owned_sources', 'refs', 'owned_targets');
INSERT INTO owned_sources VALUES (1, '{t1}');
INSERT INTO owned_sources VALUES (2, '{t2}');
SET ROLE rg_ref_stranger;
SELECT guard.drop_reference('owned_refs');
SELECT guard.reference_unregister('owned_refs');
SELECT guard.reference_register(ROW('forged', 'owned_sources', 'refs', 'owned_targets', 'id', NULL, NULL,
       'cascade', 'cascade', false, false, false, true, now())::guard.reference);
SET ROLE rg_ref_owner;
SELECT guard.drop_reference('owned_refs');
SELECT count(*) AS owned_references FROM guard.reference WHERE source_table = 'owned_sources'::regclass;
DROP TABLE owned_sources, owned_targets;
RESET ROLE;
REVOKE ALL ON SCHEMA guard FROM rg_ref_owner, rg_ref_stranger;
REVOKE ALL ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean,
    boolean, boolean, name, name), guard.drop_reference(text, boolean), guard.validate_reference(text),
    guard.reference_register(guard.reference), guard.reference_unregister(text), guard.reference_mark_validated(text),
    guard.reference_truncate_guard() FROM rg_ref_owner, rg_ref_stranger;
REVOKE CREATE ON SCHEMA public FROM rg_ref_owner;
DROP ROLE rg_ref_owner, rg_ref_stranger;

-- Tenant-scoped: the element must exist in the target within the same client_id.
CREATE TABLE t_processes (client_id text, id text, PRIMARY KEY (client_id, id));
CREATE TABLE t_profiles (id text PRIMARY KEY, client_id text, business_process_ids text[]);
CREATE INDEX ON t_profiles USING gin (business_process_ids);
INSERT INTO t_processes VALUES ('acme', 'p1'), ('acme', 'p2'), ('globex', 'p1');
SELECT guard.add_reference('t_profiles_processes', 't_profiles', 'business_process_ids', 't_processes',
                           tenant_column => 'client_id');
SELECT guard.add_reference('t_wrong_key', 't_profiles', 'business_process_ids', 'processes', tenant_column => 'client_id');
INSERT INTO t_profiles VALUES ('u1', 'acme', '{p1,p2}'), ('u2', 'globex', '{p1}');
INSERT INTO t_profiles VALUES ('u3', 'globex', '{p1,p2}');
INSERT INTO t_profiles VALUES ('u4', NULL, '{anything}');
UPDATE t_profiles SET client_id = 'globex' WHERE id = 'u1';
DELETE FROM t_processes WHERE client_id = 'globex' AND id = 'p1';
DELETE FROM t_processes WHERE client_id = 'acme' AND id = 'p2';
SELECT guard.drop_reference('t_profiles_processes');
SELECT guard.add_reference('t_profiles_processes', 't_profiles', 'business_process_ids', 't_processes',
                           tenant_column => 'client_id', on_delete => 'cascade', on_update => 'cascade');
DELETE FROM t_processes WHERE client_id = 'acme' AND id = 'p2';
UPDATE t_processes SET id = 'p1renamed' WHERE client_id = 'acme' AND id = 'p1';
UPDATE t_processes SET client_id = 'initech' WHERE client_id = 'globex' AND id = 'p1';
SELECT client_id, id, business_process_ids FROM t_profiles ORDER BY client_id, id;

-- Self-reference: a process may name its parent processes.
CREATE TABLE tree (id text PRIMARY KEY, parents text[]);
SELECT guard.add_reference('tree_parents', 'tree', 'parents', 'tree', on_delete => 'cascade');
INSERT INTO tree VALUES ('root', NULL), ('a', '{root}'), ('b', '{root,a}');
INSERT INTO tree VALUES ('c', '{c}'), ('d', '{c,d}');
DELETE FROM tree WHERE id = 'a';
SELECT * FROM tree ORDER BY id;

-- Renaming a referencing or referenced column follows into the catalog; checks keep working.
ALTER TABLE uses RENAME COLUMN code_list TO codes_used;
ALTER TABLE codes RENAME COLUMN code TO code_no;
SELECT source_column, target_column FROM guard.references WHERE name = 'uses_codes';
INSERT INTO uses VALUES (3, '{1}');
INSERT INTO uses VALUES (4, '{7}');
DELETE FROM codes WHERE code_no = 1;
ALTER TABLE codes RENAME COLUMN code_no TO code;
ALTER TABLE uses RENAME COLUMN codes_used TO code_list;
SELECT * FROM guard.validate_references('uses_codes');

-- Dropping the unique key a reference needs warns; dropping the referencing column (with
-- CASCADE: its triggers depend on it) drops the reference.
BEGIN;
ALTER TABLE codes DROP CONSTRAINT codes_pkey;
ROLLBACK;
ALTER TABLE uses DROP COLUMN code_list;
ALTER TABLE uses DROP COLUMN code_list CASCADE;
SELECT count(*) AS uses_references FROM guard.reference WHERE name = 'uses_codes';
ALTER TABLE uses ADD COLUMN code_list int[];
SELECT guard.add_reference('uses_codes', 'uses', 'code_list', 'codes', target_column => 'code');

-- Dropping a table drops its references and the triggers left on the other table.
DROP TABLE uses;
SELECT name FROM guard.references ORDER BY name;
SELECT count(*) AS triggers_left_on_codes FROM pg_trigger WHERE tgrelid = 'codes'::regclass;
DELETE FROM codes;

-- The catalog is dumped with the database (extension configuration table).
SELECT 'guard.reference'::regclass::oid = ANY (e.extconfig) AS catalog_is_dumped
  FROM pg_extension e WHERE e.extname = 'registry_guard';

SET client_min_messages = warning;
DROP EXTENSION registry_guard CASCADE;
DROP TABLE kpis, processes, data_products, codes, bad_uses, t_processes, t_profiles, tree;
DROP ROLE rg_ref_user;
