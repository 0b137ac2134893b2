-- Partitioned tables: the statement-level triggers of the audit trail (TRUNCATE) and of array
-- references (the INSERT check of the referencing table, the TRUNCATE guard of the referenced
-- one) are not cloned to partitions by PostgreSQL (row triggers are). They are created on every
-- partition, also on partitions created or attached later, and removed when one is detached.
CREATE EXTENSION registry_guard;
CREATE TABLE public.pkpi(id text NOT NULL, region int NOT NULL, bps text[], PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE public.pkpi_1 PARTITION OF public.pkpi FOR VALUES IN (1);
CREATE TABLE public.pkpi_2 PARTITION OF public.pkpi FOR VALUES IN (2) PARTITION BY LIST (id);
CREATE TABLE public.pkpi_2a PARTITION OF public.pkpi_2 FOR VALUES IN ('a');
CREATE TABLE public.tproc(id text PRIMARY KEY) PARTITION BY LIST (id);
CREATE TABLE public.tproc_p PARTITION OF public.tproc FOR VALUES IN ('p1', 'p2');
CREATE TABLE public.tproc_q PARTITION OF public.tproc FOR VALUES IN ('q1');
INSERT INTO public.tproc VALUES ('p1'), ('p2'), ('q1');
SELECT audit.enable_tracking('public.pkpi');
SELECT guard.add_reference('pkpi_tproc', 'public.pkpi', 'bps', 'public.tproc');

-- TRUNCATE of a partition is audited (one TRUNCATE version for the partition truncated).
INSERT INTO public.pkpi VALUES ('k1', 1, '{p1}');
TRUNCATE public.pkpi_1;
SELECT op, table_name FROM audit.record_version WHERE op = 'TRUNCATE' ORDER BY id;
-- A direct INSERT into a partition is checked like one through the parent.
INSERT INTO public.pkpi_1 VALUES ('k2', 1, '{nope}');
INSERT INTO public.pkpi_2a VALUES ('a', 2, '{p1,nope2}');
INSERT INTO public.pkpi VALUES ('k3', 1, '{nope3}');
INSERT INTO public.pkpi_1 VALUES ('k4', 1, '{p2}');
-- TRUNCATE of a partition of the referenced table is refused while elements point into it.
TRUNCATE public.tproc_p;
TRUNCATE public.tproc_q;
SELECT * FROM guard.validate_references();

-- Partitions created or attached later get the triggers too.
CREATE TABLE public.pkpi_3 PARTITION OF public.pkpi FOR VALUES IN (3);
CREATE TABLE public.pkpi_4(id text NOT NULL, region int NOT NULL, bps text[], PRIMARY KEY (id, region));
ALTER TABLE public.pkpi ATTACH PARTITION public.pkpi_4 FOR VALUES IN (4);
CREATE TABLE public.tproc_r PARTITION OF public.tproc FOR VALUES IN ('r1');
INSERT INTO public.pkpi_3 VALUES ('k5', 3, '{nope5}');
INSERT INTO public.pkpi_4 VALUES ('k6', 4, '{nope6}');
INSERT INTO public.pkpi_4 VALUES ('k7', 4, '{p1}');
TRUNCATE public.pkpi_4;
INSERT INTO public.tproc VALUES ('r1');
INSERT INTO public.pkpi_3 VALUES ('k8', 3, '{r1}');
TRUNCATE public.tproc_r;
SELECT op, table_name FROM audit.record_version WHERE op = 'TRUNCATE' ORDER BY id;
SELECT c.relname AS partition, string_agg(t.tgname, ', ' ORDER BY t.tgname) AS statement_triggers
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 WHERE c.relispartition AND c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND t.tgparentid = 0
 GROUP BY c.relname ORDER BY 1;

-- A detached partition is an ordinary table again: it keeps none of them.
ALTER TABLE public.pkpi DETACH PARTITION public.pkpi_4;
INSERT INTO public.pkpi_4 VALUES ('k9', 4, '{anything}');
TRUNCATE public.pkpi_4;
SELECT count(*) AS triggers_left_on_detached FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'public.pkpi_4'::regclass AND NOT tgisinternal;

-- Dropping the reference and disabling tracking remove them from the partitions as well.
SELECT guard.drop_reference('pkpi_tproc');
SELECT audit.disable_tracking('public.pkpi');
SELECT c.relname, t.tgname AS triggers_left FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2;

DROP TABLE public.pkpi, public.pkpi_4, public.tproc;
DROP EXTENSION registry_guard CASCADE;
