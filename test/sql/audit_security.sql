-- Review findings on the audit trail's security: what the C++ triggers and the SECURITY
-- DEFINER functions must never let an unprivileged role do.
CREATE EXTENSION registry_guard;
CREATE ROLE rg_sec_user;

-- 1. search_path: the trigger reads audit.tracked_table as its owner; a caller's search_path
-- with an operator of its own in front of pg_catalog must not run the caller's code there.
CREATE SCHEMA sec_evil;
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
CREATE FUNCTION sec_evil.eq(regclass, regclass) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'sec_evil.eq ran as %', CASE WHEN current_user = 'rg_sec_user' THEN 'the caller' ELSE 'another role' END;
    RETURN $1::oid OPERATOR(pg_catalog.=) $2::oid;
END $$;
CREATE OPERATOR sec_evil.= (FUNCTION = sec_evil.eq, LEFTARG = regclass, RIGHTARG = regclass);
CREATE TABLE public.sec_t(id int PRIMARY KEY, secret text);
SELECT audit.enable_tracking('public.sec_t', ARRAY['secret']);
GRANT INSERT ON public.sec_t TO rg_sec_user;
SET ROLE rg_sec_user;
SET search_path = sec_evil, pg_catalog;
INSERT INTO public.sec_t VALUES (1, 's3cr3t');
RESET search_path;
RESET ROLE;
SELECT record FROM audit.record_version WHERE table_name = 'sec_t' ORDER BY id;

-- 2. Partitioned tables: the triggers fire on the partitions, the ignore list belongs to the
-- parent. A secret column is never stored, also after the list changes in this backend.
CREATE TABLE public.sec_p(id int, region text, secret text, note text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE public.sec_p_eu PARTITION OF public.sec_p FOR VALUES IN ('eu');
SELECT audit.enable_tracking('public.sec_p', ARRAY['secret']);
INSERT INTO public.sec_p VALUES (1, 'eu', 'p4ss', 'a');
SELECT audit.set_ignored_columns('public.sec_p', ARRAY['secret', 'note']);
UPDATE public.sec_p SET secret = 'p4ss2', note = 'b', id = 2;
-- A partition attached later is covered too.
CREATE TABLE public.sec_p_us(id int, region text, secret text, note text, PRIMARY KEY (id, region));
ALTER TABLE public.sec_p ATTACH PARTITION public.sec_p_us FOR VALUES IN ('us');
INSERT INTO public.sec_p VALUES (3, 'us', 'p4ss3', 'c');
SELECT table_name, op, record, old_record FROM audit.record_version WHERE table_name LIKE 'sec_p%' ORDER BY id;
-- Audit triggers without settings fail closed (which columns are secret is unknown).
CREATE TABLE public.sec_bare(id int PRIMARY KEY, secret text);
CREATE TRIGGER audit_i_u_d AFTER INSERT OR UPDATE OR DELETE ON public.sec_bare
    FOR EACH ROW EXECUTE FUNCTION audit.insert_update_delete_trigger();
INSERT INTO public.sec_bare VALUES (1, 'x');

-- 3. A renamed ignored column: writes are refused, and the error names the column.
CREATE TABLE public.sec_ren(id int PRIMARY KEY, password_hash_of_the_account_holder text);
SELECT audit.enable_tracking('public.sec_ren', ARRAY['password_hash_of_the_account_holder']);
ALTER TABLE public.sec_ren RENAME COLUMN password_hash_of_the_account_holder TO pw;
INSERT INTO public.sec_ren VALUES (1, 'x');

-- 4. Managing tracking: only for the table's owner (session user), and not for PUBLIC at
-- all (the functions are SECURITY DEFINER). Even with USAGE on schema audit and EXECUTE
-- granted, a non-owner can neither empty the ignore list nor turn auditing off.
GRANT USAGE ON SCHEMA audit TO rg_sec_user;
GRANT CREATE ON SCHEMA sec_evil TO rg_sec_user;
SET SESSION AUTHORIZATION rg_sec_user;
SELECT audit.set_ignored_columns('public.sec_t', '{}');
SELECT audit.disable_tracking('public.sec_t');
SELECT audit.enable_tracking('public.sec_t');
SELECT audit.enable_tracking('public.sec_t', '{}');
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION audit.set_ignored_columns(regclass, text[]), audit.disable_tracking(regclass),
    audit.enable_tracking(regclass), audit.enable_tracking(regclass, text[]) TO rg_sec_user;
SET SESSION AUTHORIZATION rg_sec_user;
SELECT audit.set_ignored_columns('public.sec_t', '{}');
SELECT audit.disable_tracking('public.sec_t');
SELECT audit.enable_tracking('public.sec_t', '{}');
-- Its own table: allowed.
CREATE TABLE sec_evil.mine(id int PRIMARY KEY, secret text);
SELECT audit.enable_tracking('sec_evil.mine', ARRAY['secret']);
SELECT audit.disable_tracking('sec_evil.mine');
RESET SESSION AUTHORIZATION;
SELECT audit.is_tracked('public.sec_t') AS still_tracked, ignored_columns FROM audit.tracked_table
 WHERE table_id = 'public.sec_t'::regclass;

DROP TABLE public.sec_t, public.sec_p, public.sec_bare, public.sec_ren;
-- 6. The trigger's cached settings of dropped tables are freed (at the end of a transaction).
SELECT 1 AS after_drop;
SELECT count(*) AS relation_entries_left FROM pg_catalog.pg_backend_memory_contexts
 WHERE name = 'registry_guard audit relation';
DROP SCHEMA sec_evil CASCADE;
DROP EXTENSION registry_guard CASCADE;
DROP ROLE rg_sec_user;

-- 7. A missing audit table is reported with a hint that keeps the audit data (restore it from a
-- backup), never one to reinstall the extension (DROP EXTENSION destroys the trail).
CREATE EXTENSION registry_guard;
CREATE TABLE public.sec_h(id int PRIMARY KEY);
SELECT audit.enable_tracking('public.sec_h');
\c -
BEGIN;
ALTER EXTENSION registry_guard DROP TABLE audit.tracked_table;
DROP TABLE audit.tracked_table;
INSERT INTO public.sec_h VALUES (1);
ROLLBACK;
DROP TABLE public.sec_h;
DROP EXTENSION registry_guard CASCADE;
