-- The audit trail across transaction boundaries: versions buffered by a transaction belong to
-- the (sub)transaction that wrote them, whatever subtransaction is current when they are
-- written out; a backend's first audited statement is written at its end; two-phase commit.
CREATE EXTENSION registry_guard;
CREATE TABLE public.xa(id int PRIMARY KEY, note text);
SELECT audit.enable_tracking('public.xa');

-- A backend's first audited statement (the library is loaded by its trigger, after the
-- statement has started) is written at its end: the next statement of the transaction sees it.
\c
BEGIN;
INSERT INTO public.xa VALUES (1, 'first statement of a backend');
SELECT count(*) AS seen_by_next_statement FROM audit.record_version WHERE record ->> 'id' = '1';
COMMIT;

-- An AFTER trigger whose EXCEPTION block rolls back its subtransaction: the audit trigger's
-- versions of the outer statement (buffered before the subtransaction began) must survive.
CREATE TABLE public.xa_side(n int);
CREATE FUNCTION public.xa_flaky() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO public.xa_side VALUES (NEW.id);
    RAISE EXCEPTION 'undo the side effect';
  EXCEPTION WHEN raise_exception THEN
    NULL;
  END;
  RETURN NULL;
END $$;
CREATE TRIGGER zz_flaky AFTER INSERT OR UPDATE ON public.xa FOR EACH ROW EXECUTE FUNCTION public.xa_flaky();
INSERT INTO public.xa VALUES (2, 'row 2'), (3, 'row 3');
UPDATE public.xa SET note = 'updated' WHERE id IN (2, 3);
SELECT op, record ->> 'id' AS row_id, record ->> 'note' AS note FROM audit.record_version
 WHERE record ->> 'id' IN ('2', '3') ORDER BY row_id, op;
SELECT count(*) AS side_rows FROM public.xa_side;
DROP TRIGGER zz_flaky ON public.xa;

-- A function with an EXCEPTION block: the outer transaction's versions, still buffered when
-- the block's subtransaction starts, survive its rollback; the block's own versions do not.
CREATE FUNCTION public.xa_block(k int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO public.xa VALUES (k, 'inside the block');
    RAISE EXCEPTION 'roll the block back';
  EXCEPTION WHEN raise_exception THEN
    NULL;
  END;
END $$;
CREATE FUNCTION public.xa_outer() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.xa VALUES (4, 'outer, before the block');
  PERFORM public.xa_block(5);
  INSERT INTO public.xa VALUES (6, 'outer, after the block');
END $$;
SELECT public.xa_outer();
SELECT op, record ->> 'id' AS row_id, record ->> 'note' AS note FROM audit.record_version
 WHERE (record ->> 'id')::int BETWEEN 4 AND 6 ORDER BY row_id, op;
-- Savepoints: a rolled-back savepoint takes its versions only.
BEGIN;
INSERT INTO public.xa VALUES (7, 'before savepoint');
SAVEPOINT a;
INSERT INTO public.xa VALUES (8, 'rolled back');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO public.xa VALUES (9, 'released');
RELEASE SAVEPOINT b;
COMMIT;
SELECT op, record ->> 'id' AS row_id FROM audit.record_version WHERE (record ->> 'id')::int BETWEEN 7 AND 9 ORDER BY row_id, op;
-- Every committed row has exactly one INSERT version, no rolled-back one has any.
SELECT (SELECT array_agg(id ORDER BY id) FROM public.xa) AS rows,
       (SELECT array_agg((record ->> 'id')::int ORDER BY (record ->> 'id')::int) FROM audit.record_version
         WHERE op = 'INSERT' AND table_name = 'xa') AS inserted_versions;

-- Two-phase commit: the actor (change_context) row of a prepared transaction exists only if it
-- is committed; after ROLLBACK PREPARED later versions must not point at the vanished row.
BEGIN;
SET LOCAL registry_guard.actor = 'two-phase';
INSERT INTO public.xa VALUES (10, 'prepared, rolled back');
PREPARE TRANSACTION 'rg_xa_1';
ROLLBACK PREPARED 'rg_xa_1';
BEGIN;
SET LOCAL registry_guard.actor = 'two-phase';
INSERT INTO public.xa VALUES (11, 'after rollback prepared');
COMMIT;
BEGIN;
SET LOCAL registry_guard.actor = 'two-phase';
INSERT INTO public.xa VALUES (12, 'prepared, committed');
PREPARE TRANSACTION 'rg_xa_2';
COMMIT PREPARED 'rg_xa_2';
BEGIN;
SET LOCAL registry_guard.actor = 'two-phase';
INSERT INTO public.xa VALUES (13, 'after commit prepared');
COMMIT;
SELECT op, record ->> 'id' AS row_id, actor FROM audit.record_version WHERE (record ->> 'id')::int BETWEEN 10 AND 13 ORDER BY row_id, op;
SELECT count(*) AS versions_without_context FROM audit.version_log l
 WHERE NOT EXISTS (SELECT FROM audit.change_context c WHERE c.id = l.context_id);

DROP TABLE public.xa, public.xa_side;
DROP FUNCTION public.xa_flaky(), public.xa_block(int), public.xa_outer();
DROP EXTENSION registry_guard CASCADE;
