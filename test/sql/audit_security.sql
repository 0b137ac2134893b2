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

DROP TABLE public.sec_t;
DROP SCHEMA sec_evil CASCADE;
DROP ROLE rg_sec_user;
DROP EXTENSION registry_guard CASCADE;
