-- registry_guard 0.1.0: audit trail (schema audit), references and RLS helpers (schema guard).
-- Every object is schema-qualified; no statement depends on search_path.
\echo Use "CREATE EXTENSION registry_guard" to load this file. \quit

CREATE SCHEMA guard;
COMMENT ON SCHEMA guard IS 'registry_guard: references, RLS helpers and operations';

CREATE FUNCTION guard.library_version() RETURNS text
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT AS 'MODULE_PATHNAME', 'rg_library_version';

-- ==== audit trail (schema audit) ====
-- A drop-in superset of supa_audit 0.3.1. audit.record_version is a view over compact storage:
-- audit.version_log holds one row image per version (the new row, or the old one for DELETE)
-- plus, for UPDATE, only the old values of the changed columns; who/where (table names, JWT
-- claims, roles, settings) lives once per backend in audit.change_context. The triggers are C++.
CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'registry_guard: supa_audit-compatible, tamper-evident audit trail';

CREATE TYPE audit.operation AS ENUM ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE');

-- Who and where: one row per backend and distinct (table, actor) combination, so a bulk
-- statement stores its actor once instead of once per row.
CREATE TABLE audit.change_context(
    id               bigserial PRIMARY KEY,
    table_oid        oid NOT NULL,
    table_schema     name NOT NULL,
    table_name       name NOT NULL,
    db_role          name NOT NULL,
    session_role     name NOT NULL,
    application_name text,
    actor            text,
    sync_run_id      bigint,
    jwt_sub          text,
    jwt_role         text,
    jwt_email        text,
    jwt_claims       jsonb,
    auth_uid         uuid
);
CREATE INDEX change_context_table ON audit.change_context(table_schema, table_name);

-- One row per version. Written only by the C++ triggers (bulk inserts at statement end).
CREATE SEQUENCE audit.record_version_id_seq;
CREATE TABLE audit.version_log(
    -- Unique by construction (one nextval per version); indexed with BRIN, not a unique btree:
    -- ids arrive in nearly ascending order, and a btree here costs as much as the version row.
    id             bigint NOT NULL DEFAULT pg_catalog.nextval('audit.record_version_id_seq'),
    op             audit.operation NOT NULL,
    ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    context_id     bigint NOT NULL,
    txid           bigint NOT NULL,
    record_id      uuid,
    old_record_id  uuid,
    -- INSERT/UPDATE: the new row; DELETE: the old row; TRUNCATE: NULL. Ignored columns absent.
    image          jsonb,
    -- UPDATE: old values of the changed (non-ignored) columns; old row = image || old_delta.
    old_delta      jsonb
);
ALTER SEQUENCE audit.record_version_id_seq OWNED BY audit.version_log.id;
CREATE INDEX version_log_record_id ON audit.version_log(record_id) WHERE record_id IS NOT NULL;
-- Only DELETEs and key-changing UPDATEs: for a plain UPDATE old_record_id = record_id.
CREATE INDEX version_log_old_record_id ON audit.version_log(old_record_id)
    WHERE old_record_id IS DISTINCT FROM record_id;
-- One BRIN over both (one index to open and update per write; either column alone can use it).
CREATE INDEX version_log_id_ts ON audit.version_log USING brin(id, ts);

-- Per-table settings. regclass so that pg_dump/restore re-resolves the table by name.
CREATE TABLE audit.tracked_table(
    table_id         regclass PRIMARY KEY,
    ignored_columns  text[] NOT NULL DEFAULT '{}'
);

-- Hash chain: one row per sealed version, hash = sha256(previous hash || canonical row text).
CREATE TABLE audit.seal(
    id        bigint PRIMARY KEY,
    hash      bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Retention checkpoints: the chain restarts from the hash of the last pruned row.
CREATE TABLE audit.checkpoint(
    id           bigserial PRIMARY KEY,
    through_id   bigint NOT NULL,
    hash         bytea NOT NULL,
    rows_pruned  bigint NOT NULL,
    cutoff       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Seal boundaries waiting for the transactions that were running when they were taken.
CREATE TABLE audit.seal_watermark(
    through_id bigint NOT NULL,
    wait_xmax  xid8 NOT NULL
);

-- pg_dump includes the audit data (the tables belong to the extension).
SELECT pg_catalog.pg_extension_config_dump('audit.version_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit.record_version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit.change_context', '');
SELECT pg_catalog.pg_extension_config_dump('audit.change_context_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracked_table', '');
SELECT pg_catalog.pg_extension_config_dump('audit.seal', '');
SELECT pg_catalog.pg_extension_config_dump('audit.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('audit.checkpoint_id_seq', '');

-- supa_audit's view of the data: same columns, same values; our additions after them.
-- auth_uid/auth_role exist only where auth.uid()/auth.role() exist (Supabase), as in supa_audit.
DO $do$
DECLARE
    supabase boolean;
BEGIN
    SELECT count(DISTINCT f.proname) = 2 INTO supabase
      FROM pg_catalog.pg_proc f
      JOIN pg_catalog.pg_namespace n ON f.pronamespace = n.oid
      JOIN pg_catalog.pg_type t ON f.prorettype = t.oid
     WHERE (n.nspname, f.proname, t.typname) IN (('auth', 'uid', 'uuid'), ('auth', 'role', 'text'))
       AND f.pronargs = 0;
    EXECUTE pg_catalog.format($view$
        CREATE VIEW audit.record_version AS
        SELECT l.id,
               l.record_id,
               l.old_record_id,
               l.op,
               l.ts,
               c.table_oid,
               c.table_schema,
               c.table_name,
               CASE WHEN l.op IN ('INSERT', 'UPDATE') THEN l.image END AS record,
               CASE l.op WHEN 'UPDATE' THEN l.image OPERATOR(pg_catalog.||) l.old_delta
                         WHEN 'DELETE' THEN l.image END AS old_record,
               %s
               l.txid,
               CASE WHEN l.op = 'UPDATE' THEN
                   ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(l.old_delta) k ORDER BY k) END
                   AS changed_columns,
               c.db_role,
               c.session_role,
               c.application_name,
               c.actor,
               c.sync_run_id,
               c.jwt_sub,
               c.jwt_role,
               c.jwt_email,
               c.jwt_claims
          FROM audit.version_log l
          JOIN audit.change_context c ON c.id = l.context_id
    $view$, CASE WHEN supabase THEN 'c.auth_uid, c.jwt_role AS auth_role,' ELSE '' END);
END
$do$;
COMMENT ON VIEW audit.record_version IS
  'supa_audit-compatible history: one row per INSERT/UPDATE/DELETE/TRUNCATE of a tracked table';

CREATE FUNCTION audit.primary_key_columns(entity_oid oid) RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
    -- The table's primary key column names in column order ('{}' when it has none).
    SELECT coalesce(pg_catalog.array_agg(pa.attname::text ORDER BY pa.attnum), ARRAY[]::text[])
      FROM pg_catalog.pg_index pi
      JOIN pg_catalog.pg_attribute pa ON pi.indrelid = pa.attrelid AND pa.attnum = ANY(pi.indkey)
     WHERE pi.indrelid = $1 AND pi.indisprimary
$$;

-- UUID v5 over (table oid, key values) in supa_audit's namespace; v4 when there is no key.
CREATE FUNCTION audit.to_record_id(entity_oid oid, pkey_cols text[], rec jsonb) RETURNS uuid
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'rg_audit_to_record_id';

CREATE FUNCTION audit.insert_update_delete_trigger() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_row_trigger';
CREATE FUNCTION audit.truncate_trigger() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_truncate_trigger';

-- Drops the backends' cached settings of one table (ignored columns) after a change.
CREATE FUNCTION audit.invalidate_table_settings(regclass) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'rg_audit_invalidate_table_settings';
REVOKE ALL ON FUNCTION audit.invalidate_table_settings(regclass) FROM PUBLIC;

-- Managing a table's tracking (the SECURITY DEFINER functions below) is for its owner only:
-- otherwise a role that may merely call them could empty an ignore list or switch auditing
-- off. The caller is the session user (current_user is the definer inside them).
CREATE FUNCTION audit.check_may_manage(regclass, caller text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    owner oid;
BEGIN
    SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1;
    IF owner IS NULL THEN
        RAISE EXCEPTION '%: relation with OID % does not exist', caller, $1::oid
            USING HINT = 'Pass the table name, e.g. audit.enable_tracking(''public.kpis'').';
    END IF;
    IF NOT pg_catalog.pg_has_role(SESSION_USER, owner, 'USAGE') THEN
        RAISE EXCEPTION '%: permission denied: % is not owned by role "%"', caller, $1, SESSION_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = pg_catalog.format('Connect as the table''s owner (%s) or a member of it to change its audit tracking.',
                                           owner::regrole);
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION audit.check_may_manage(regclass, text) FROM PUBLIC;

CREATE FUNCTION audit.enable_tracking(regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    kind "char";
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = $1;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'audit.enable_tracking: relation with OID % does not exist', $1::oid
            USING HINT = 'Pass the table name, e.g. audit.enable_tracking(''public.kpis'').';
    END IF;
    PERFORM audit.check_may_manage($1, 'audit.enable_tracking');
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'audit.enable_tracking: % is not a table (it is a %)', $1,
            CASE kind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                      WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation of kind ' OPERATOR(pg_catalog.||) kind::text END
            USING HINT = 'Only ordinary and partitioned tables can be tracked; track the table(s) behind it.';
    END IF;
    IF audit.primary_key_columns($1) = ARRAY[]::text[] THEN
        -- supa_audit's exact message, so its users' expectations hold.
        RAISE EXCEPTION 'Table % can not be audited because it has no primary key', $1;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = 'audit_i_u_d') THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_i_u_d AFTER INSERT OR UPDATE OR DELETE ON %s
            FOR EACH ROW EXECUTE FUNCTION audit.insert_update_delete_trigger()', $1);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = 'audit_t') THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER audit_t AFTER TRUNCATE ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION audit.truncate_trigger()', $1);
    END IF;
    INSERT INTO audit.tracked_table(table_id) VALUES ($1) ON CONFLICT (table_id) DO NOTHING;
END;
$$;

-- Columns whose values are never stored (secrets, updated_at): an UPDATE changing only them
-- writes no version. Replaces the table's list; '{}' clears it.
CREATE FUNCTION audit.set_ignored_columns(regclass, text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    col text;
    pk text[];
BEGIN
    PERFORM audit.check_may_manage($1, 'audit.set_ignored_columns');
    pk := audit.primary_key_columns($1);
    FOREACH col IN ARRAY coalesce($2, ARRAY[]::text[]) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                        WHERE attrelid = $1 AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: table % has no column "%"', $1, col
                USING HINT = 'Column names are case-sensitive; list existing columns only.';
        END IF;
        IF col = ANY(pk) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: column "%" is part of the primary key of %', col, $1
                USING HINT = 'Key columns identify the record (record_id) and cannot be ignored.';
        END IF;
    END LOOP;
    INSERT INTO audit.tracked_table(table_id, ignored_columns)
         VALUES ($1, coalesce($2, ARRAY[]::text[]))
    ON CONFLICT (table_id) DO UPDATE SET ignored_columns = excluded.ignored_columns;
    PERFORM audit.invalidate_table_settings($1);
END;
$$;

CREATE FUNCTION audit.enable_tracking(regclass, ignored_columns text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    -- Settings first: the triggers must never see the table without its ignore list.
    PERFORM audit.set_ignored_columns($1, $2);
    PERFORM audit.enable_tracking($1);
END;
$$;

CREATE FUNCTION audit.disable_tracking(regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    -- A no-op for an untracked table (as in supa_audit). The ignore list is kept, so that
    -- re-enabling never stores a secret column by accident.
    PERFORM audit.check_may_manage($1, 'audit.disable_tracking');
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_i_u_d ON %s', $1);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_t ON %s', $1);
END;
$$;
-- Not for PUBLIC (SECURITY DEFINER); GRANT EXECUTE to the roles that own tracked tables
-- (e.g. the migration role), which may then manage their own tables only.
REVOKE ALL ON FUNCTION audit.enable_tracking(regclass), audit.enable_tracking(regclass, text[]),
    audit.set_ignored_columns(regclass, text[]), audit.disable_tracking(regclass) FROM PUBLIC;

CREATE FUNCTION audit.is_tracked(regclass) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT pg_catalog.count(*) = 2 FROM pg_catalog.pg_trigger
     WHERE tgrelid = $1 AND tgname IN ('audit_i_u_d', 'audit_t')
$$;
-- ---- append-only ----
CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rg_audit_refuse_change';
CREATE FUNCTION audit.retention_window(boolean) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'rg_audit_retention_window';
REVOKE ALL ON FUNCTION audit.retention_window(boolean) FROM PUBLIC;
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['version_log', 'change_context', 'seal', 'checkpoint'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.%I
            FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', t);
        -- also under session_replication_role = replica
        EXECUTE pg_catalog.format('ALTER TABLE audit.%I ENABLE ALWAYS TRIGGER append_only', t);
    END LOOP;
END
$do$;

-- ---- hash chain ----
-- The text a version is hashed as: its row and its context row, in a fixed output format.
CREATE FUNCTION audit.version_text(l audit.version_log, c audit.change_context) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD'
    SET "IntervalStyle" = 'postgres' SET extra_float_digits = '1' AS $$
    SELECT $1::text OPERATOR(pg_catalog.||) coalesce($2::text, '')
$$;

-- Seals new versions into the chain: hash(n) = sha256(hash(n-1) || version_text(n)). Only
-- versions whose transactions have all ended are sealed (ids are handed out before commit,
-- so a lower id can still commit later); when other transactions are running it records a
-- watermark and seals up to it on a later call. Returns how many versions it sealed.
CREATE FUNCTION audit.seal() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    last_id bigint;
    called boolean;
    snap pg_snapshot;
    own xid8;
    boundary bigint;
    through bigint;
    prev bytea;
    r record;
    n bigint := 0;
BEGIN
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;  -- one sealer at a time; readers are not blocked
    SELECT s.last_value, s.is_called INTO last_id, called FROM audit.record_version_id_seq s;
    IF NOT called THEN last_id := 0; END IF;
    -- Taken after reading the sequence: every id <= last_id belongs to a transaction that has
    -- ended or is listed in this snapshot (the trigger has an xid before it takes ids).
    snap := pg_catalog.pg_current_snapshot();
    own := pg_catalog.pg_current_xact_id_if_assigned();
    IF own IS NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_snapshot_xip(snap)) THEN
        boundary := last_id;
    ELSE
        SELECT max(w.through_id) INTO boundary FROM audit.seal_watermark w
         WHERE w.wait_xmax OPERATOR(pg_catalog.<=) pg_catalog.pg_snapshot_xmin(snap)
           AND (own IS NULL OR w.wait_xmax OPERATOR(pg_catalog.<=) own);
        INSERT INTO audit.seal_watermark(through_id, wait_xmax) VALUES (last_id, pg_catalog.pg_snapshot_xmax(snap));
    END IF;
    DELETE FROM audit.seal_watermark w WHERE w.through_id <= coalesce(boundary, 0);

    SELECT s.id, s.hash INTO through, prev FROM audit.seal s ORDER BY s.id DESC LIMIT 1;
    IF through IS NULL THEN
        SELECT c.through_id, c.hash INTO through, prev FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    END IF;
    through := coalesce(through, 0);
    prev := coalesce(prev, '\x'::bytea);
    IF boundary IS NULL OR boundary <= through THEN
        RETURN 0;
    END IF;
    FOR r IN SELECT l.id, audit.version_text(l, c) AS t
               FROM audit.version_log l LEFT JOIN audit.change_context c ON c.id = l.context_id
              WHERE l.id > through AND l.id <= boundary ORDER BY l.id LOOP
        prev := pg_catalog.sha256(prev OPERATOR(pg_catalog.||) pg_catalog.convert_to(r.t, 'UTF8'));
        INSERT INTO audit.seal(id, hash) VALUES (r.id, prev);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION audit.seal() FROM PUBLIC;

-- The chain's head, to keep outside the database (e.g. in the sync run log): a superuser who
-- rewrites history and recomputes the chain is caught by comparing heads.
CREATE FUNCTION audit.seal_head(OUT id bigint, OUT hash bytea) RETURNS record
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT * FROM (SELECT s.id, s.hash FROM audit.seal s ORDER BY s.id DESC LIMIT 1) h
    UNION ALL
    SELECT * FROM (SELECT c.through_id, c.hash FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1) k
    LIMIT 1
$$;

-- Recomputes the chain from the last retention checkpoint and names the first version that
-- was changed, deleted or inserted behind the triggers' back.
CREATE FUNCTION audit.verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT problem text,
                             OUT unsealed bigint) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    start_id bigint;
    prev bytea;
    head bigint;
    r record;
BEGIN
    checked := 0;
    SELECT c.through_id, c.hash INTO start_id, prev FROM audit.checkpoint c ORDER BY c.id DESC LIMIT 1;
    start_id := coalesce(start_id, 0);
    prev := coalesce(prev, '\x'::bytea);
    SELECT max(s.id) INTO head FROM audit.seal s;
    head := greatest(coalesce(head, start_id), start_id);
    SELECT count(*) INTO unsealed FROM audit.version_log l WHERE l.id > head;
    SELECT min(l.id) INTO first_bad_id FROM audit.version_log l WHERE l.id <= start_id;
    IF first_bad_id IS NOT NULL THEN
        ok := false;
        problem := pg_catalog.format('version %s was inserted: it is older than retention checkpoint %s', first_bad_id, start_id);
        RETURN;
    END IF;
    FOR r IN SELECT coalesce(l.id, s.id) AS id, l.id IS NOT NULL AS has_row, s.id IS NOT NULL AS has_seal,
                    s.hash, CASE WHEN l.id IS NOT NULL THEN audit.version_text(l, c) END AS t
               FROM (SELECT * FROM audit.version_log v WHERE v.id > start_id AND v.id <= head) l
               FULL JOIN (SELECT * FROM audit.seal x WHERE x.id > start_id) s ON s.id = l.id
               LEFT JOIN audit.change_context c ON c.id = l.context_id
              ORDER BY 1 LOOP
        IF NOT r.has_seal THEN
            ok := false; first_bad_id := r.id;
            problem := pg_catalog.format('version %s was inserted: it is inside the sealed range but not in the chain', r.id);
            RETURN;
        END IF;
        IF NOT r.has_row THEN
            ok := false; first_bad_id := r.id;
            problem := pg_catalog.format('version %s was deleted: it is in the chain but no longer in audit.version_log', r.id);
            RETURN;
        END IF;
        prev := pg_catalog.sha256(prev OPERATOR(pg_catalog.||) pg_catalog.convert_to(r.t, 'UTF8'));
        IF prev OPERATOR(pg_catalog.<>) r.hash THEN
            ok := false; first_bad_id := r.id;
            problem := pg_catalog.format('version %s was changed: its content no longer matches its seal', r.id);
            RETURN;
        END IF;
        checked := checked + 1;
    END LOOP;
    ok := true;
END;
$$;

-- Retention: removes sealed versions older than the cut-off (a prefix of the chain) and
-- records a checkpoint holding the hash of the last removed one, so verify() still works.
CREATE FUNCTION audit.prune(older_than timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    sealed_max bigint;
    through bigint;
    last_checkpoint bigint;
    h bytea;
    n bigint;
BEGIN
    IF older_than IS NULL THEN
        RAISE EXCEPTION 'audit.prune: the cut-off must not be NULL' USING HINT = 'e.g. audit.prune(now() - interval ''2 years'')';
    END IF;
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;
    SELECT max(s.id) INTO sealed_max FROM audit.seal s;
    SELECT max(c.through_id) INTO last_checkpoint FROM audit.checkpoint c;
    IF sealed_max IS NULL THEN
        RETURN 0;  -- nothing sealed: only sealed versions are ever removed
    END IF;
    SELECT coalesce(min(l.id) - 1, sealed_max) INTO through
      FROM audit.version_log l WHERE l.id <= sealed_max AND l.ts >= older_than;
    through := least(through, sealed_max);
    SELECT s.id, s.hash INTO through, h FROM audit.seal s WHERE s.id <= through ORDER BY s.id DESC LIMIT 1;
    IF through IS NULL OR through <= coalesce(last_checkpoint, 0) THEN
        RETURN 0;
    END IF;
    PERFORM audit.retention_window(true);
    DELETE FROM audit.version_log l WHERE l.id <= through;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM audit.seal s WHERE s.id <= through;
    PERFORM audit.retention_window(false);
    INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (through, h, n, older_than);
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION audit.prune(timestamptz) FROM PUBLIC;

-- ---- queries ----
-- Every version of one record, found by schema, table name and key values (not by OID:
-- OIDs change on restore, record ids change when the key columns change, e.g. tenancy).
CREATE FUNCTION audit.history(table_schema text, table_name text, key jsonb)
    RETURNS SETOF audit.record_version
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    cols text[];
BEGIN
    IF key IS NULL OR pg_catalog.jsonb_typeof(key) <> 'object' OR key = '{}'::jsonb THEN
        RAISE EXCEPTION 'audit.history: key must be a JSON object of key column values, got %', coalesce(key::text, 'NULL')
            USING HINT = 'e.g. audit.history(''public'', ''kpis'', ''{"id": "kpi_1"}'')';
    END IF;
    -- Key columns in the table's column order (as supa_audit hashes them) while it exists.
    SELECT pg_catalog.array_agg(k ORDER BY a.attnum NULLS LAST, k) INTO cols
      FROM pg_catalog.jsonb_object_keys(key) k
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))
       AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped;
    IF pg_catalog.array_length(cols, 1) > 8 THEN
        RAISE EXCEPTION 'audit.history: at most 8 key columns, got %', pg_catalog.array_length(cols, 1);
    END IF;
    RETURN QUERY
    WITH oids AS (
        SELECT DISTINCT c.table_oid FROM audit.change_context c WHERE c.table_schema = $1 AND c.table_name = $2
    ), subsets AS (  -- every subset of the key columns: the key the table had at the time
        SELECT ARRAY(SELECT cols[i] FROM pg_catalog.generate_subscripts(cols, 1) i
                      WHERE (m >> (i - 1)) & 1 = 1 ORDER BY i) AS sub
          FROM pg_catalog.generate_series(1, (1 << pg_catalog.array_length(cols, 1)) - 1) m
    ), candidates AS (
        SELECT audit.to_record_id(o.table_oid, s.sub, key) AS rid, s.sub FROM oids o, subsets s
    )
    SELECT DISTINCT ON (v.id) v.*
      FROM candidates cand
      JOIN audit.record_version v
        ON v.record_id = cand.rid
        OR (v.old_record_id = cand.rid AND v.old_record_id IS DISTINCT FROM v.record_id)
     WHERE v.table_schema = $1 AND v.table_name = $2
       AND NOT EXISTS (  -- the version really holds these key values (no subset collision)
           SELECT FROM pg_catalog.unnest(cand.sub) c
            WHERE (CASE WHEN v.record_id = cand.rid THEN v.record ELSE v.old_record END) ->> c
                  IS DISTINCT FROM key ->> c)
     ORDER BY v.id;
END;
$$;

CREATE FUNCTION audit.history(tbl regclass, key jsonb) RETURNS SETOF audit.record_version
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT h.* FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
           audit.history(n.nspname::text, c.relname::text, $2) h
     WHERE c.oid = $1
$$;

-- One record as it was at a point in time (NULL: it did not exist, or was not yet tracked).
CREATE FUNCTION audit.record_as_of(tbl regclass, key jsonb, at timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = '' AS $$
    WITH last AS (
        SELECT h.* FROM audit.history($1, $2) h WHERE h.ts <= $3 ORDER BY h.id DESC LIMIT 1
    )
    SELECT CASE WHEN l.op IN ('INSERT', 'UPDATE')
                 AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_object_keys($2) k
                                  WHERE l.record ->> k IS DISTINCT FROM $2 ->> k)
                 AND NOT EXISTS (SELECT FROM audit.record_version t
                                  WHERE t.op = 'TRUNCATE' AND t.table_schema = l.table_schema
                                    AND t.table_name = l.table_name AND t.id > l.id AND t.ts <= $3)
                THEN l.record END
      FROM last l
$$;

-- A whole table as it was at a point in time, as far as the audit trail knows it (rows
-- never changed while tracked have no version and are not included).
CREATE FUNCTION audit.table_as_of(tbl regclass, at timestamptz) RETURNS SETOF jsonb
    LANGUAGE sql STABLE SET search_path = '' AS $$
    WITH t AS (
        SELECT n.nspname AS s, c.relname AS r FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1
    ), v AS (
        SELECT rv.* FROM audit.record_version rv, t
         WHERE rv.table_schema = t.s AND rv.table_name = t.r AND rv.ts <= $2
    )
    SELECT v.record FROM v
     WHERE v.op IN ('INSERT', 'UPDATE')
       AND NOT EXISTS (SELECT FROM v w WHERE w.id > v.id
                          AND (w.op = 'TRUNCATE' OR w.old_record_id = v.record_id OR w.record_id = v.record_id))
     ORDER BY v.id
$$;

-- What changed between two versions' states (a DELETE's state is "no row"), column by column.
CREATE FUNCTION audit.diff(from_version bigint, to_version bigint)
    RETURNS TABLE(column_name text, old_value jsonb, new_value jsonb)
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    a jsonb;
    b jsonb;
BEGIN
    IF NOT EXISTS (SELECT FROM audit.version_log l WHERE l.id = from_version) THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', from_version;
    END IF;
    IF NOT EXISTS (SELECT FROM audit.version_log l WHERE l.id = to_version) THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', to_version;
    END IF;
    SELECT v.record INTO a FROM audit.record_version v WHERE v.id = from_version;
    SELECT v.record INTO b FROM audit.record_version v WHERE v.id = to_version;
    RETURN QUERY
    SELECT k, a -> k, b -> k
      FROM (SELECT pg_catalog.jsonb_object_keys(coalesce(a, '{}')) UNION
            SELECT pg_catalog.jsonb_object_keys(coalesce(b, '{}'))) keys(k)
     WHERE (a -> k) IS DISTINCT FROM (b -> k)
     ORDER BY k;
END;
$$;

-- What one version changed (old_record -> record).
CREATE FUNCTION audit.diff(version bigint) RETURNS TABLE(column_name text, old_value jsonb, new_value jsonb)
    LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
    v record;
BEGIN
    SELECT rv.record, rv.old_record INTO v FROM audit.record_version rv WHERE rv.id = version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit.diff: version % does not exist', version;
    END IF;
    RETURN QUERY
    SELECT k, v.old_record -> k, v.record -> k
      FROM (SELECT pg_catalog.jsonb_object_keys(coalesce(v.old_record, '{}')) UNION
            SELECT pg_catalog.jsonb_object_keys(coalesce(v.record, '{}'))) keys(k)
     WHERE (v.old_record -> k) IS DISTINCT FROM (v.record -> k)
     ORDER BY k;
END;
$$;

-- Puts a record back to its state at a version (for a DELETE: as it was before it), by key,
-- as the calling user (its rights and RLS apply). The restore is itself audited. Ignored
-- columns were never stored: they keep their current value (or default, when re-inserted).
CREATE FUNCTION audit.restore(version bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$
DECLARE
    v record;
    rec jsonb;
    tbl regclass;
    pk text[];
    cols text[];
    setcols text[];
    current_row jsonb;
    inserted boolean;
BEGIN
    SELECT rv.op, rv.record, rv.old_record, rv.table_schema, rv.table_name INTO v
      FROM audit.record_version rv WHERE rv.id = version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit.restore: version % does not exist', version;
    END IF;
    IF v.op = 'TRUNCATE' THEN
        RAISE EXCEPTION 'audit.restore: version % is a TRUNCATE, which holds no record', version
            USING HINT = 'Restore the records from their own versions (audit.table_as_of shows them).';
    END IF;
    rec := CASE WHEN v.op = 'DELETE' THEN v.old_record ELSE v.record END;
    tbl := pg_catalog.to_regclass(pg_catalog.quote_ident(v.table_schema) || '.' || pg_catalog.quote_ident(v.table_name));
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'audit.restore: table %.% no longer exists', pg_catalog.quote_ident(v.table_schema),
            pg_catalog.quote_ident(v.table_name);
    END IF;
    pk := audit.primary_key_columns(tbl);
    IF pk = ARRAY[]::text[] THEN
        RAISE EXCEPTION 'audit.restore: table % has no primary key to restore by', tbl;
    END IF;
    SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND rec ? a.attname;
    setcols := ARRAY(SELECT c FROM pg_catalog.unnest(cols) c WHERE c <> ALL(pk));
    -- Already in that state: write nothing.
    EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s t WHERE (%s) = (SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r)',
        tbl,
        (SELECT pg_catalog.string_agg('t.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        (SELECT pg_catalog.string_agg('r.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        tbl)
    INTO current_row USING rec;
    IF current_row IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_catalog.unnest(cols) c WHERE (current_row -> c) IS DISTINCT FROM (rec -> c)) THEN
        RETURN 'unchanged';
    END IF;
    EXECUTE pg_catalog.format(
        'INSERT INTO %s AS t (%s) SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r
         ON CONFLICT (%s) DO %s RETURNING (t.xmax = 0)',
        tbl,
        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c),
        (SELECT pg_catalog.string_agg('r.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c),
        tbl,
        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(pk) c),
        CASE WHEN pg_catalog.cardinality(setcols) = 0 THEN 'NOTHING'
             ELSE pg_catalog.format('UPDATE SET (%s) = ROW(%s)',
                  (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(setcols) c),
                  (SELECT pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(c), ', ')
                     FROM pg_catalog.unnest(setcols) c)) END)
    INTO inserted USING rec;
    RETURN CASE WHEN inserted THEN 'inserted' ELSE 'updated' END;
END;
$$;
-- ==== end audit trail ====

-- ==== references (schema guard) ====
-- Element-wise foreign keys on array columns (and tenant-scoped ones): one row per declared
-- reference. The C++ triggers (extension/references_*.cpp) read it; pg_dump dumps its rows
-- (pg_extension_config_dump) and the triggers on user tables, so a restore keeps both.
CREATE TABLE guard.reference (
  name text PRIMARY KEY CHECK (name ~ '^[^"]{1,48}$'),
  source_table regclass NOT NULL,
  source_column name NOT NULL,
  target_table regclass NOT NULL,
  target_column name NOT NULL,
  tenant_column name,          -- in the source table; NULL = not tenant-scoped
  target_tenant_column name,   -- in the target table; set iff tenant_column is
  on_delete text NOT NULL DEFAULT 'no action' CHECK (on_delete IN ('no action', 'restrict', 'cascade', 'set null')),
  on_update text NOT NULL DEFAULT 'no action' CHECK (on_update IN ('no action', 'restrict', 'cascade', 'set null')),
  is_deferrable boolean NOT NULL DEFAULT false,
  initially_deferred boolean NOT NULL DEFAULT false,
  report_only boolean NOT NULL DEFAULT false,
  validated boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((tenant_column IS NULL) = (target_tenant_column IS NULL)),
  CHECK (is_deferrable OR NOT initially_deferred)
);
COMMENT ON TABLE guard.reference IS
  'Declared element-wise references (array foreign keys). Change only through guard.add_reference / guard.drop_reference.';
SELECT pg_catalog.pg_extension_config_dump('guard.reference', '');
REVOKE ALL ON guard.reference FROM PUBLIC;
GRANT SELECT ON guard.reference TO PUBLIC;

-- True when column col of rel is the first key column of a GIN index (target-side checks use it).
CREATE FUNCTION guard.reference_has_gin_index(rel regclass, col name) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = c.relam
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = rel AND am.amname = 'gin' AND a.attname = col AND i.indpred IS NULL)
$$;

CREATE VIEW guard.references AS
SELECT r.name, r.source_table, r.source_column, r.target_table, r.target_column, r.tenant_column,
       r.target_tenant_column, r.on_delete, r.on_update, r.is_deferrable, r.initially_deferred,
       CASE WHEN r.report_only THEN 'report-only' ELSE 'enforced' END AS mode, r.validated,
       CASE WHEN NOT r.report_only THEN guard.reference_has_gin_index(r.source_table, r.source_column) END AS has_gin_index,
       r.created_at
  FROM guard.reference r;
COMMENT ON VIEW guard.references IS 'Declared references (array foreign keys) with their mode and whether the GIN index exists.';
GRANT SELECT ON guard.references TO PUBLIC;

-- C++ trigger functions (extension/references_check.cpp, references_actions.cpp).
CREATE FUNCTION guard.reference_check_insert() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_check_insert';
COMMENT ON FUNCTION guard.reference_check_insert() IS
  'Statement trigger on a referencing table: checks every element of the inserted rows at once.';
CREATE FUNCTION guard.reference_check_row() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_check_row';
COMMENT ON FUNCTION guard.reference_check_row() IS
  'Row constraint trigger on a referencing table (updates; inserts of deferrable references).';
CREATE FUNCTION guard.reference_target_action() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'rg_reference_target_action';
COMMENT ON FUNCTION guard.reference_target_action() IS
  'Row constraint trigger on a referenced table: ON DELETE / ON UPDATE action of a reference.';

-- A referenced table cannot be truncated while referencing rows hold elements (as native FKs).
-- SECURITY DEFINER: the truncating user needs no access to schema guard or the referencing table.
CREATE FUNCTION guard.reference_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  hit boolean;
BEGIN
  SELECT * INTO r FROM guard.reference WHERE name = TG_ARGV[0];
  IF NOT FOUND THEN RETURN NULL; END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s s WHERE s.%I IS NOT NULL AND pg_catalog.cardinality(s.%I) > 0)',
                 r.source_table, r.source_column, r.source_column) INTO hit;
  IF hit THEN
    RAISE EXCEPTION 'cannot truncate a table referenced in a foreign key constraint'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = format('Table %s references %s through reference "%s".', r.source_table, r.target_table, r.name),
            HINT = format('Empty the array column %s.%I first, or drop the reference with guard.drop_reference(%L).',
                          r.source_table, r.source_column, r.name);
  END IF;
  RETURN NULL;
END $$;

-- The violations of one reference in existing data: (source key, missing element).
-- MATCH SIMPLE: NULL arrays, NULL elements and rows whose tenant column is NULL pass.
CREATE FUNCTION guard.reference_violations(ref guard.reference)
RETURNS TABLE (source_key jsonb, missing_element text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  key_expr text;
  elems text;
  tenant_cond text := '';
  is_array boolean;
BEGIN
  SELECT 'pg_catalog.jsonb_build_object(' ||
         string_agg(format('%L, s.%I', a.attname, a.attname), ', ' ORDER BY k.ord) || ')'
    INTO key_expr
    FROM pg_catalog.pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = ref.source_table AND i.indisprimary;
  key_expr := coalesce(key_expr, 'pg_catalog.jsonb_build_object(''ctid'', s.ctid::text)');
  SELECT t.typcategory = 'A' INTO is_array
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
   WHERE a.attrelid = ref.source_table AND a.attname = ref.source_column AND NOT a.attisdropped;
  IF is_array IS NULL THEN
    RAISE EXCEPTION 'column "%" of reference "%" no longer exists in table %', ref.source_column, ref.name, ref.source_table
      USING ERRCODE = 'undefined_column', HINT = format('Drop it with guard.drop_reference(%L) and declare it again.', ref.name);
  END IF;
  elems := CASE WHEN is_array THEN format('pg_catalog.unnest(s.%I) WITH ORDINALITY AS e(v, ord)', ref.source_column)
                ELSE format('(SELECT s.%I, 1) AS e(v, ord)', ref.source_column) END;
  IF ref.tenant_column IS NOT NULL THEN
    tenant_cond := format(' AND s.%I IS NOT NULL', ref.tenant_column);
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT %s, e.v::text FROM %s s CROSS JOIN LATERAL %s'
    ' WHERE e.v IS NOT NULL%s AND NOT EXISTS (SELECT 1 FROM %s t WHERE t.%I = e.v%s)'
    ' ORDER BY s.ctid, e.ord',
    key_expr, ref.source_table, elems, tenant_cond, ref.target_table, ref.target_column,
    CASE WHEN ref.tenant_column IS NULL THEN ''
         ELSE format(' AND t.%I = s.%I', ref.target_tenant_column, ref.tenant_column) END);
END $$;

-- Every violation of every declared reference (or of the one named): a health check.
CREATE FUNCTION guard.validate_references(reference_name text DEFAULT NULL)
RETURNS TABLE (reference text, source_table regclass, source_key jsonb, missing_element text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  IF reference_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM guard.reference g WHERE g.name = reference_name) THEN
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  FOR r IN SELECT * FROM guard.reference g WHERE reference_name IS NULL OR g.name = reference_name ORDER BY g.name LOOP
    RETURN QUERY SELECT r.name, r.source_table, v.source_key, v.missing_element FROM guard.reference_violations(r) v;
  END LOOP;
END $$;
COMMENT ON FUNCTION guard.validate_references(text) IS
  'Every element (or scalar value) that has no target row, for all declared references, enforced or report-only.';

-- Raises 23503 listing every violation of ref (used when declaring and validating).
CREATE FUNCTION guard.reference_raise_violations(ref guard.reference, action text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  total bigint := 0;
  listing text := '';
  v record;
BEGIN
  FOR v IN SELECT * FROM guard.reference_violations(ref) LOOP
    total := total + 1;
    IF total <= 1000 THEN
      listing := listing || format(E'\n  row %s: element %s is not present in table %s', v.source_key, v.missing_element, ref.target_table);
    END IF;
  END LOOP;
  IF total > 0 THEN
    RAISE EXCEPTION '% reference "%" failed: % has % element(s) not present in %',
                    action, ref.name, ref.source_table, total, ref.target_table
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = 'Violations:' || listing || CASE WHEN total > 1000 THEN format(E'\n  ... and %s more', total - 1000) ELSE '' END,
            HINT = 'Fix the data, or declare the reference with not_valid => true and list the violations with guard.validate_references().';
  END IF;
END $$;

-- Catalog changes go through the SECURITY DEFINER helpers below, so that table owners who are not
-- superusers (Supabase's postgres role) can declare references while guard.reference stays
-- read-only for everyone else. Authority: for an enforced reference, its triggers — which only a
-- role allowed to create triggers on both tables can create — must exist (register) or be gone
-- (unregister); otherwise the login role must act for the referencing table's owner (API logins
-- such as PostgREST's authenticator do not).
CREATE FUNCTION guard.reference_trigger_count(r guard.reference) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT count(*) FROM pg_catalog.pg_trigger t
   WHERE t.tgargs = pg_catalog.convert_to(r.name, 'UTF8') || '\x00'::bytea
     AND t.tgfoid IN ('guard.reference_check_row()'::regprocedure, 'guard.reference_check_insert()'::regprocedure,
                      'guard.reference_target_action()'::regprocedure, 'guard.reference_truncate_guard()'::regprocedure)
     AND ((t.tgrelid = r.source_table AND t.tgname IN (r.name, r.name || '_insert'))
          OR (t.tgrelid = r.target_table AND t.tgname IN (r.name || '_on_delete', r.name || '_on_update', r.name || '_on_truncate')))
$$;

CREATE FUNCTION guard.reference_login_owns(r guard.reference) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT pg_catalog.pg_has_role(session_user, c.relowner, 'USAGE') FROM pg_catalog.pg_class c WHERE c.oid = r.source_table
$$;

CREATE FUNCTION guard.reference_register(r guard.reference) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT (CASE WHEN r.report_only THEN coalesce(guard.reference_login_owns(r), false)
               ELSE guard.reference_trigger_count(r) >= 4 END) THEN
    RAISE EXCEPTION 'permission denied to declare reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege', HINT = 'Declare references with guard.add_reference() as the owner of the tables.';
  END IF;
  INSERT INTO guard.reference VALUES (r.*);
END $$;

CREATE FUNCTION guard.reference_unregister(reference_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF NOT (CASE WHEN r.report_only THEN coalesce(guard.reference_login_owns(r), false)
               ELSE guard.reference_trigger_count(r) = 0 END) THEN
    RAISE EXCEPTION 'permission denied to drop reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege', HINT = 'Drop references with guard.drop_reference() as the owner of the tables.';
  END IF;
  DELETE FROM guard.reference g WHERE g.name = reference_name;
END $$;

CREATE FUNCTION guard.reference_mark_validated(reference_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF NOT coalesce(guard.reference_login_owns(r), false) AND guard.reference_trigger_count(r) = 0 THEN
    RAISE EXCEPTION 'permission denied to validate reference "%" on %', r.name, r.source_table
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE guard.reference g SET validated = true WHERE g.name = reference_name;
END $$;

-- True when target has a non-deferrable, non-partial unique index on exactly key_cols (any order).
CREATE FUNCTION guard.reference_target_key_exists(target regclass, key_cols name[]) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_index i
     WHERE i.indrelid = target AND i.indisunique AND i.indimmediate AND i.indisvalid
       AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = pg_catalog.cardinality(key_cols)
       AND (SELECT pg_catalog.array_agg(a.attname ORDER BY a.attname) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1]))
           = (SELECT pg_catalog.array_agg(c ORDER BY c) FROM pg_catalog.unnest(key_cols) c))
$$;

-- Drops trigger tg of rel if it is there (without DROP TRIGGER IF EXISTS's notice).
CREATE FUNCTION guard.reference_drop_trigger(rel regclass, tg text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = rel AND t.tgname = tg) THEN
    EXECUTE format('DROP TRIGGER %I ON %s', tg, rel);
  END IF;
END $$;

-- Declares reference reference_name: every element of source_table.source_column must exist in
-- target_table.target_column (a unique key), within the same tenant when tenant_column is given.
CREATE FUNCTION guard.add_reference(
  reference_name text, source_table regclass, source_column name, target_table regclass,
  target_column name DEFAULT 'id', on_delete text DEFAULT 'no action', on_update text DEFAULT 'no action',
  is_deferrable boolean DEFAULT false, initially_deferred boolean DEFAULT false, not_valid boolean DEFAULT false,
  report_only boolean DEFAULT false, tenant_column name DEFAULT NULL, target_tenant_column name DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  src_type oid; src_elem oid; src_is_array boolean;
  src_base oid; base_kind "char"; base_next oid;
  tgt_type oid;
  src_tenant_type oid; tgt_tenant_type oid;
  key_cols name[];
  n_violations bigint;
  src_cols text;
  deferral text;
BEGIN
  IF reference_name IS NULL OR reference_name !~ '^[^"]{1,48}$' THEN
    RAISE EXCEPTION 'invalid reference name %', coalesce(quote_literal(reference_name), 'NULL')
      USING ERRCODE = 'invalid_name', HINT = 'Use 1 to 48 characters without double quotes; trigger names are derived from it.';
  END IF;
  IF EXISTS (SELECT 1 FROM guard.reference g WHERE g.name = reference_name) THEN
    RAISE EXCEPTION 'reference "%" already exists', reference_name USING ERRCODE = 'duplicate_object';
  END IF;
  on_delete := lower(trim(coalesce(on_delete, 'no action')));
  on_update := lower(trim(coalesce(on_update, 'no action')));
  IF on_delete NOT IN ('no action', 'restrict', 'cascade', 'set null') OR on_update NOT IN ('no action', 'restrict', 'cascade', 'set null') THEN
    RAISE EXCEPTION 'invalid action for reference "%": on_delete %, on_update %', reference_name, quote_literal(on_delete), quote_literal(on_update)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are ''no action'', ''restrict'', ''cascade'' and ''set null''.';
  END IF;
  IF initially_deferred AND NOT is_deferrable THEN
    RAISE EXCEPTION 'reference "%" cannot be initially deferred without being deferrable', reference_name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass is_deferrable => true as well.';
  END IF;
  IF (tenant_column IS NULL) AND (target_tenant_column IS NOT NULL) THEN
    RAISE EXCEPTION 'reference "%": target_tenant_column needs tenant_column', reference_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF tenant_column IS NOT NULL THEN target_tenant_column := coalesce(target_tenant_column, tenant_column); END IF;

  -- As ALTER TABLE ... ADD FOREIGN KEY: no concurrent writes while we check and create triggers.
  EXECUTE format('LOCK TABLE %s, %s IN SHARE ROW EXCLUSIVE MODE', source_table, target_table);

  SELECT a.atttypid INTO src_type FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = source_table AND a.attname = source_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF src_type IS NULL THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', source_column, source_table USING ERRCODE = 'undefined_column';
  END IF;
  SELECT a.atttypid INTO tgt_type FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = target_table AND a.attname = target_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF tgt_type IS NULL THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', target_column, target_table USING ERRCODE = 'undefined_column';
  END IF;
  src_base := src_type;
  LOOP  -- a domain over an array is an array
    SELECT t.typtype, t.typbasetype INTO base_kind, base_next FROM pg_catalog.pg_type t WHERE t.oid = src_base;
    EXIT WHEN base_kind <> 'd';
    src_base := base_next;
  END LOOP;
  SELECT t.typcategory = 'A' AND t.typelem <> 0, t.typelem INTO src_is_array, src_elem
    FROM pg_catalog.pg_type t WHERE t.oid = src_base;
  IF NOT src_is_array THEN
    IF NOT report_only THEN
      RAISE EXCEPTION 'column %.% is not an array', source_table, source_column
        USING ERRCODE = 'wrong_object_type',
              HINT = format('Use a native foreign key: ALTER TABLE %s ADD FOREIGN KEY (%I) REFERENCES %s (%I); or declare the reference with report_only => true.',
                            source_table, source_column, target_table, target_column);
    END IF;
    src_elem := src_type;
  END IF;
  IF src_elem <> tgt_type THEN
    RAISE EXCEPTION 'element type % of %.% does not match type % of %.%',
                    format_type(src_elem, NULL), source_table, source_column, format_type(tgt_type, NULL), target_table, target_column
      USING ERRCODE = 'datatype_mismatch', HINT = 'The array''s element type must be the type of the target key column.';
  END IF;
  IF tenant_column IS NOT NULL THEN
    SELECT a.atttypid INTO src_tenant_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source_table AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT a.atttypid INTO tgt_tenant_type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = target_table AND a.attname = target_tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF src_tenant_type IS NULL OR tgt_tenant_type IS NULL THEN
      RAISE EXCEPTION 'tenant column "%" of % or "%" of % does not exist', tenant_column, source_table, target_tenant_column, target_table
        USING ERRCODE = 'undefined_column';
    END IF;
    IF src_tenant_type <> tgt_tenant_type THEN
      RAISE EXCEPTION 'tenant columns %.% and %.% have different types', source_table, tenant_column, target_table, target_tenant_column
        USING ERRCODE = 'datatype_mismatch';
    END IF;
  END IF;
  -- The target key must be a non-deferrable unique key without predicate, as for native FKs.
  key_cols := CASE WHEN tenant_column IS NULL THEN ARRAY[target_column] ELSE ARRAY[target_tenant_column, target_column] END;
  IF NOT guard.reference_target_key_exists(target_table, key_cols) THEN
    RAISE EXCEPTION 'there is no unique constraint matching given keys for referenced table %', target_table
      USING ERRCODE = 'invalid_foreign_key',
            HINT = format('Add a primary key or unique constraint on %s (%s).', target_table, array_to_string(key_cols, ', '));
  END IF;
  IF report_only AND (on_delete <> 'no action' OR on_update <> 'no action' OR is_deferrable) THEN
    RAISE EXCEPTION 'report-only reference "%" takes no actions and is not deferrable', reference_name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A report-only reference installs no triggers; guard.validate_references() reports it.';
  END IF;

  r := ROW(reference_name, source_table, source_column, target_table, target_column, tenant_column, target_tenant_column,
           on_delete, on_update, is_deferrable, initially_deferred, report_only, NOT not_valid OR report_only, now());
  IF report_only THEN
    SELECT count(*) INTO n_violations FROM guard.reference_violations(r);
    IF n_violations > 0 THEN
      RAISE NOTICE 'report-only reference "%": % element(s) of %.% are not present in %', reference_name, n_violations, source_table, source_column, target_table
        USING HINT = format('SELECT * FROM guard.validate_references(%L) lists them.', reference_name);
    END IF;
  ELSIF NOT not_valid THEN
    PERFORM guard.reference_raise_violations(r, 'adding');
  END IF;
  IF report_only THEN
    PERFORM guard.reference_register(r);
    RETURN;
  END IF;

  src_cols := format('%I', source_column) || CASE WHEN tenant_column IS NULL THEN '' ELSE format(', %I', tenant_column) END;
  deferral := CASE WHEN NOT is_deferrable THEN 'NOT DEFERRABLE'
                   WHEN initially_deferred THEN 'DEFERRABLE INITIALLY DEFERRED' ELSE 'DEFERRABLE INITIALLY IMMEDIATE' END;
  IF is_deferrable THEN
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OF %s ON %s %s FOR EACH ROW EXECUTE FUNCTION guard.reference_check_row(%L)',
                   reference_name, src_cols, source_table, deferral, reference_name);
  ELSE
    -- Inserts are checked once per statement over the transition table; updates per changed row.
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS rg_new_rows FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_check_insert(%L)',
                   reference_name || '_insert', source_table, reference_name);
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE OF %s ON %s NOT DEFERRABLE FOR EACH ROW WHEN (%s) EXECUTE FUNCTION guard.reference_check_row(%L)',
                   reference_name, src_cols, source_table,
                   format('OLD.%I IS DISTINCT FROM NEW.%I', source_column, source_column)
                   || CASE WHEN tenant_column IS NULL THEN '' ELSE format(' OR OLD.%I IS DISTINCT FROM NEW.%I', tenant_column, tenant_column) END,
                   reference_name);
  END IF;
  -- Target side: as native FKs, only NO ACTION follows the reference's deferrability.
  EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER DELETE ON %s %s FOR EACH ROW EXECUTE FUNCTION guard.reference_target_action(%L)',
                 reference_name || '_on_delete', target_table,
                 CASE WHEN on_delete = 'no action' THEN deferral ELSE 'NOT DEFERRABLE' END, reference_name);
  EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE OF %s ON %s %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION guard.reference_target_action(%L)',
                 reference_name || '_on_update',
                 format('%I', target_column) || CASE WHEN tenant_column IS NULL THEN '' ELSE format(', %I', target_tenant_column) END,
                 target_table, CASE WHEN on_update = 'no action' THEN deferral ELSE 'NOT DEFERRABLE' END,
                 format('OLD.%I IS DISTINCT FROM NEW.%I', target_column, target_column)
                 || CASE WHEN tenant_column IS NULL THEN '' ELSE format(' OR OLD.%I IS DISTINCT FROM NEW.%I', target_tenant_column, target_tenant_column) END,
                 reference_name);
  EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION guard.reference_truncate_guard(%L)',
                 reference_name || '_on_truncate', target_table, reference_name);
  PERFORM guard.reference_register(r);
  IF NOT guard.reference_has_gin_index(source_table, source_column) THEN
    RAISE NOTICE 'reference "%": no GIN index on %.%; deletes and key updates in % will scan %',
                 reference_name, source_table, source_column, target_table, source_table
      USING HINT = format('CREATE INDEX ON %s USING gin (%I);', source_table, source_column);
  END IF;
END $$;
COMMENT ON FUNCTION guard.add_reference(text, regclass, name, regclass, name, text, text, boolean, boolean, boolean, boolean, name, name) IS
  'Declares an element-wise foreign key from an array column (or a report-only reference from any column).';

-- Drops a reference: its triggers and its catalog row.
CREATE FUNCTION guard.drop_reference(reference_name text, if_exists boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name;
  IF NOT FOUND THEN
    IF if_exists THEN
      RAISE NOTICE 'reference "%" does not exist, skipping', reference_name;
      RETURN;
    END IF;
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  IF NOT r.report_only THEN
    PERFORM guard.reference_drop_trigger(r.source_table, r.name);
    IF NOT r.is_deferrable THEN
      PERFORM guard.reference_drop_trigger(r.source_table, r.name || '_insert');
    END IF;
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_delete');
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_update');
    PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_truncate');
  END IF;
  PERFORM guard.reference_unregister(reference_name);
END $$;

-- Checks a NOT VALID reference against all existing rows and marks it validated.
CREATE FUNCTION guard.validate_reference(reference_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
BEGIN
  SELECT * INTO r FROM guard.reference g WHERE g.name = reference_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reference "%" does not exist', reference_name
      USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM guard.references lists the declared references.';
  END IF;
  EXECUTE format('LOCK TABLE %s, %s IN SHARE ROW EXCLUSIVE MODE', r.source_table, r.target_table);
  PERFORM guard.reference_raise_violations(r, 'validating');
  PERFORM guard.reference_mark_validated(reference_name);
END $$;

-- Dropping a referencing or referenced table, or the referencing column, drops its references
-- (as dropping a table or an FK column drops native FKs): the catalog row goes, and so do the
-- triggers left on the other table. Dropping the unique key a reference needs raises a WARNING
-- (not an error, unlike native FKs: a key change such as (id) -> (client_id, id) drops the old
-- key before the reference can be declared again on the new one).
-- SECURITY DEFINER: it runs on every DROP in the database, also for roles without access to
-- schema guard; it only removes references of tables or columns that are being dropped.
CREATE FUNCTION guard.reference_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r guard.reference;
  dropped oid[];
  dropped_columns text[];
  keys_touched boolean;
BEGIN
  IF to_regclass('guard.reference') IS NULL THEN RETURN; END IF;
  SELECT array_agg(o.objid) FILTER (WHERE o.objsubid = 0),
         array_agg(o.object_identity) FILTER (WHERE o.object_type = 'table column'),
         bool_or(o.object_type IN ('index', 'table column', 'table constraint'))
    INTO dropped, dropped_columns, keys_touched
    FROM pg_catalog.pg_event_trigger_dropped_objects() o
   WHERE o.classid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_constraint'::regclass);
  dropped := coalesce(dropped, '{}');
  dropped_columns := coalesce(dropped_columns, '{}');
  FOR r IN SELECT * FROM guard.reference g
            WHERE g.source_table::oid = ANY (dropped) OR g.target_table::oid = ANY (dropped)
               OR g.source_table::text || '.' || quote_ident(g.source_column) = ANY (dropped_columns)
               OR g.source_table::text || '.' || quote_ident(g.tenant_column) = ANY (dropped_columns) LOOP
    IF NOT r.report_only AND NOT r.source_table::oid = ANY (dropped) THEN
      PERFORM guard.reference_drop_trigger(r.source_table, r.name);
      PERFORM guard.reference_drop_trigger(r.source_table, r.name || '_insert');
    END IF;
    IF NOT r.report_only AND NOT r.target_table::oid = ANY (dropped) THEN
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_delete');
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_update');
      PERFORM guard.reference_drop_trigger(r.target_table, r.name || '_on_truncate');
    END IF;
    DELETE FROM guard.reference g WHERE g.name = r.name;
    RAISE NOTICE 'drop cascades to reference "%"', r.name;
  END LOOP;
  IF NOT coalesce(keys_touched, false) THEN RETURN; END IF;
  FOR r IN SELECT * FROM guard.reference g WHERE NOT g.report_only LOOP
    IF NOT guard.reference_target_key_exists(r.target_table,
         CASE WHEN r.tenant_column IS NULL THEN ARRAY[r.target_column]
              ELSE ARRAY[r.target_tenant_column, r.target_column] END) THEN
      RAISE WARNING 'reference "%" has lost the unique key of % it needs', r.name, r.target_table
        USING DETAIL = 'Its checks still look elements up by the old key columns, which may now match several rows.',
              HINT = format('Declare it again on the new key: guard.drop_reference(%L), then guard.add_reference(...) (e.g. with tenant_column).', r.name);
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_sql_drop ON sql_drop EXECUTE FUNCTION guard.reference_on_sql_drop();

-- Renaming a column a reference names updates the catalog (it stores names, so that dump and
-- restore keep working). ALTER TABLE ... RENAME COLUMN renames one column per command: the
-- stored name that no longer exists in that table is the renamed one.
CREATE FUNCTION guard.reference_on_rename() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c record;
  new_name name;
BEGIN
  IF to_regclass('guard.reference') IS NULL THEN RETURN; END IF;
  FOR c IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() d
            WHERE d.command_tag = 'ALTER TABLE' AND d.object_type = 'table column' AND d.objsubid > 0 LOOP
    SELECT a.attname INTO new_name FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = c.objid AND a.attnum = c.objsubid AND NOT a.attisdropped;
    CONTINUE WHEN new_name IS NULL;
    UPDATE guard.reference g SET source_column = new_name
     WHERE g.source_table = c.objid::regclass AND g.source_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.source_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET tenant_column = new_name
     WHERE g.source_table = c.objid::regclass AND g.tenant_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.tenant_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET target_column = new_name
     WHERE g.target_table = c.objid::regclass AND g.target_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.target_column AND NOT a.attisdropped);
    UPDATE guard.reference g SET target_tenant_column = new_name
     WHERE g.target_table = c.objid::regclass AND g.target_tenant_column <> new_name
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.objid AND a.attname = g.target_tenant_column AND NOT a.attisdropped);
  END LOOP;
END $$;
CREATE EVENT TRIGGER guard_reference_on_rename ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
  EXECUTE FUNCTION guard.reference_on_rename();

-- ==== end references ====

-- ==== row-level security helpers (schema guard) ====
-- Policies call these helpers without USAGE on schema guard (names are resolved when the policy
-- is created). To call them directly from API roles (e.g. in SECURITY INVOKER functions behind
-- PostgREST), GRANT USAGE ON SCHEMA guard to those roles; guard.rls_report() then also checks
-- what else in schema guard they can reach.
-- Claim helpers (extension/rls_claims.cpp). STABLE: they read settings that do not change within
-- a statement; PARALLEL SAFE: workers receive the leader's settings and role. Each returns NULL
-- when its source is unset or empty, so a policy comparing with it fails closed; malformed
-- request.jwt.claims raises an error.
CREATE FUNCTION guard.uid() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_uid';
COMMENT ON FUNCTION guard.uid() IS
  'JWT sub as uuid (legacy request.jwt.claim.sub first, then request.jwt.claims); NULL when absent or not a UUID';
CREATE FUNCTION guard.role() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_role';
COMMENT ON FUNCTION guard.role() IS 'JWT role claim (legacy request.jwt.claim.role first); NULL when absent';
CREATE FUNCTION guard.email() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_email';
COMMENT ON FUNCTION guard.email() IS 'JWT email claim (legacy request.jwt.claim.email first); NULL when absent';
CREATE FUNCTION guard.jwt() RETURNS jsonb
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_jwt';
COMMENT ON FUNCTION guard.jwt() IS 'request.jwt.claims as jsonb; NULL when unset';
CREATE FUNCTION guard.claim(path text) RETURNS text
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_claim';
COMMENT ON FUNCTION guard.claim(text) IS
  'Claim at a dotted path of request.jwt.claims (e.g. app_metadata.client_id, groups.0) as text; NULL when absent';
CREATE FUNCTION guard.client_id() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_client_id';
COMMENT ON FUNCTION guard.client_id() IS
  'Tenant of the request: app.client_id for trusted roles, else JWT app_metadata.client_id, else registry_guard.default_client_id; NULL when none';
CREATE FUNCTION guard.tenant_source() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_tenant_source';
COMMENT ON FUNCTION guard.tenant_source() IS
  'Where guard.client_id() came from: app.client_id, jwt, default, or NULL';
CREATE FUNCTION guard.api_roles() RETURNS text[]
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_api_roles';
COMMENT ON FUNCTION guard.api_roles() IS
  'Roles of registry_guard.api_roles: their tenant comes only from the JWT, and rls_report checks what they can reach';
CREATE FUNCTION guard.claims_cache_stats(OUT parses bigint, OUT resolves bigint)
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_claims_cache_stats';
COMMENT ON FUNCTION guard.claims_cache_stats() IS
  'This backend''s count of request.jwt.claims parses (one per distinct value) and claim resolutions (one per settings change)';
CREATE FUNCTION guard.uncached_calls(expr pg_node_tree) RETURNS text[]
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'rg_uncached_calls';
COMMENT ON FUNCTION guard.uncached_calls(pg_node_tree) IS
  'Costly calls with constant arguments that a policy expression evaluates once per row (not in a sub-select)';

-- Policy templates. Each applies one access pattern to one table in one call and returns the
-- statements (dry_run => only returns them). Policies a template makes are marked by their
-- comment, so re-applying drops and recreates exactly those and leaves other policies alone.
CREATE FUNCTION guard.rls_apply_statements(target regclass, template text, policies text[], statements text[],
                                           dry_run boolean)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  marker constant text := 'registry_guard template ' || template;
  rel text;
  plan text[] := '{}';
  stmt text;
  clash text;
BEGIN
  SELECT format('%I.%I', n.nspname, c.relname) INTO rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
  SELECT p.polname INTO clash FROM pg_policy p
   WHERE p.polrelid = target AND p.polname = ANY (policies)
     AND obj_description(p.oid, 'pg_policy') IS DISTINCT FROM marker LIMIT 1;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: policy "%" on % exists and was not made by template %', clash, rel, template
      USING HINT = 'Rename or drop that policy, then apply the template again.';
  END IF;
  SELECT coalesce(array_agg(format('DROP POLICY %I ON %s', p.polname, rel) ORDER BY p.polname), '{}') INTO plan
    FROM pg_policy p WHERE p.polrelid = target AND obj_description(p.oid, 'pg_policy') = marker;
  plan := plan || statements;
  FOREACH stmt IN ARRAY plan LOOP
    IF NOT dry_run THEN
      EXECUTE stmt;
    END IF;
    RETURN NEXT stmt || ';';
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION guard.rls_apply_statements(regclass, text, text[], text[], boolean) IS
  'Runs (or with dry_run lists) a policy template''s statements after dropping the policies it made before';

CREATE FUNCTION guard.rls_relation_name(target regclass) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = target
$fn$;

CREATE FUNCTION guard.rls_require_roles(roles text[]) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  missing text;
BEGIN
  SELECT string_agg(r, ', ') INTO missing FROM unnest(roles) r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: role(s) % do not exist', missing
      USING HINT = 'Run the roles migration (anon, authenticated, service_role, registry_reader) first.';
  END IF;
END
$fn$;

CREATE FUNCTION guard.rls_service_write_authenticated_read(target regclass, dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template service_write_authenticated_read');
BEGIN
  PERFORM guard.rls_require_roles(ARRAY['anon', 'authenticated', 'service_role']);
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'service_write_authenticated_read',
    ARRAY['guard_service_write', 'guard_authenticated_read'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_service_write ON %s AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true)', rel),
    format('COMMENT ON POLICY guard_service_write ON %s IS %s', rel, marker),
    format('CREATE POLICY guard_authenticated_read ON %s AS PERMISSIVE FOR SELECT TO authenticated USING (true)', rel),
    format('COMMENT ON POLICY guard_authenticated_read ON %s IS %s', rel, marker),
    format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO service_role', rel),
    format('GRANT SELECT ON %s TO authenticated', rel),
    -- TRUNCATE is not subject to RLS; INSERT/DELETE are never allowed to API users here
    -- (UPDATE is left to rls_self_service's column grants, RLS denies it otherwise).
    format('REVOKE INSERT, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM authenticated', rel),
    format('REVOKE ALL ON %s FROM anon', rel)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_service_write_authenticated_read(regclass, boolean) IS
  'Template: service_role reads and writes, authenticated reads, anon nothing';

CREATE FUNCTION guard.rls_read_only(target regclass, readers text[] DEFAULT ARRAY['registry_reader'],
                                    dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template read_only');
  who text;
BEGIN
  IF coalesce(cardinality(readers), 0) = 0 THEN
    RAISE EXCEPTION 'registry_guard: rls_read_only needs at least one reader role';
  END IF;
  PERFORM guard.rls_require_roles(readers);
  SELECT string_agg(quote_ident(r), ', ') INTO who FROM unnest(readers) r;
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'read_only', ARRAY['guard_read_only'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_read_only ON %s AS PERMISSIVE FOR SELECT TO %s USING (true)', rel, who),
    format('COMMENT ON POLICY guard_read_only ON %s IS %s', rel, marker),
    format('GRANT SELECT ON %s TO %s', rel, who),
    format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM %s', rel, who)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_read_only(regclass, text[], boolean) IS
  'Template: the given roles (default registry_reader) read every row and write nothing';

CREATE FUNCTION guard.rls_self_service(target regclass, match_column name, editable_columns name[],
                                       match_by text DEFAULT 'uid', dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template self_service');
  match_type regtype;
  predicate text;
  bad text;
  cols text;
BEGIN
  PERFORM guard.rls_require_roles(ARRAY['authenticated']);
  SELECT a.atttypid::regtype INTO match_type FROM pg_attribute a
   WHERE a.attrelid = target AND a.attname = match_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF match_type IS NULL THEN
    RAISE EXCEPTION 'registry_guard: % has no column "%"', rel, match_column;
  END IF;
  IF match_by = 'uid' THEN
    IF match_type <> 'uuid'::regtype THEN
      RAISE EXCEPTION 'registry_guard: %.% is %, but match_by => ''uid'' needs a uuid column', rel, match_column, match_type
        USING HINT = 'Match a uuid column holding the auth user id, or use match_by => ''email''.';
    END IF;
    predicate := format('(%I = guard.uid())', match_column);
  ELSIF match_by = 'email' THEN
    predicate := format('(lower(%I::text) = lower(guard.email()))', match_column);
  ELSE
    RAISE EXCEPTION 'registry_guard: match_by must be ''uid'' or ''email'', not %', quote_literal(match_by);
  END IF;
  IF coalesce(cardinality(editable_columns), 0) = 0 THEN
    RAISE EXCEPTION 'registry_guard: rls_self_service needs the columns a principal may edit';
  END IF;
  IF match_column = ANY (editable_columns) THEN
    RAISE EXCEPTION 'registry_guard: the match column % cannot be editable (a principal could take over another row)', match_column;
  END IF;
  SELECT string_agg(c, ', ') INTO bad FROM unnest(editable_columns) c
   WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'registry_guard: % has no column(s) %', rel, bad;
  END IF;
  SELECT string_agg(quote_ident(c), ', ') INTO cols FROM unnest(editable_columns) c;
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'self_service',
    ARRAY['guard_self_service_read', 'guard_self_service_update'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_self_service_read ON %s AS PERMISSIVE FOR SELECT TO authenticated USING %s', rel, predicate),
    format('COMMENT ON POLICY guard_self_service_read ON %s IS %s', rel, marker),
    format('CREATE POLICY guard_self_service_update ON %s AS PERMISSIVE FOR UPDATE TO authenticated USING %s WITH CHECK %s',
           rel, predicate, predicate),
    format('COMMENT ON POLICY guard_self_service_update ON %s IS %s', rel, marker),
    format('GRANT SELECT ON %s TO authenticated', rel),
    -- Table-level REVOKE also clears earlier column grants, so re-applying narrows the list.
    format('REVOKE UPDATE ON %s FROM authenticated', rel),
    format('GRANT UPDATE (%s) ON %s TO authenticated', cols, rel)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_self_service(regclass, name, name[], text, boolean) IS
  'Template: an authenticated principal updates only the listed columns of their own row (match by uid or email)';

CREATE FUNCTION guard.rls_tenant_isolation(target regclass, tenant_column name DEFAULT 'client_id',
                                           dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  marker constant text := quote_literal('registry_guard template tenant_isolation');
  predicate constant text := format('(%I = guard.client_id())', tenant_column);
BEGIN
  IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = tenant_column
                  AND a.attnum > 0 AND NOT a.attisdropped) THEN
    RAISE EXCEPTION 'registry_guard: % has no tenant column "%"', rel, tenant_column
      USING HINT = 'Add the column first (client_id text NOT NULL DEFAULT ''default''), or name the tenant column.';
  END IF;
  -- RESTRICTIVE: ANDed with every permissive policy, so no other template can widen it; a NULL
  -- tenant (none in the request) matches no row.
  RETURN QUERY SELECT guard.rls_apply_statements(target, 'tenant_isolation', ARRAY['guard_tenant_isolation'], ARRAY[
    format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel),
    format('CREATE POLICY guard_tenant_isolation ON %s AS RESTRICTIVE FOR ALL TO public USING %s WITH CHECK %s',
           rel, predicate, predicate),
    format('COMMENT ON POLICY guard_tenant_isolation ON %s IS %s', rel, marker)], dry_run);
END
$fn$;
COMMENT ON FUNCTION guard.rls_tenant_isolation(regclass, name, boolean) IS
  'Template: restrictive policy tenant_column = guard.client_id() for reads and writes (no tenant: no rows)';

CREATE FUNCTION guard.rls_remove(target regclass, template text DEFAULT NULL, dry_run boolean DEFAULT false)
  RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant text := guard.rls_relation_name(target);
  stmt text;
BEGIN
  FOR stmt IN SELECT format('DROP POLICY %I ON %s', p.polname, rel) FROM pg_policy p
               WHERE p.polrelid = target
                 AND obj_description(p.oid, 'pg_policy') LIKE 'registry_guard template %'
                 AND (template IS NULL OR obj_description(p.oid, 'pg_policy') = 'registry_guard template ' || template)
               ORDER BY p.polname LOOP
    IF NOT dry_run THEN
      EXECUTE stmt;
    END IF;
    RETURN NEXT stmt || ';';
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION guard.rls_remove(regclass, text, boolean) IS
  'Drops the policies made by one template (or all templates) on a table; grants are left as they are';

-- The templates run as their caller (SECURITY INVOKER): ALTER TABLE, CREATE POLICY and GRANT
-- need the table's owner, so a table owner who is not a superuser (Supabase's postgres role)
-- can apply them and nobody else can change a table through them.

-- The RLS lint: one row per finding. "Reachable" means an API role (registry_guard.api_roles)
-- has USAGE on the schema and a privilege on the relation, i.e. PostgREST can expose it.
CREATE FUNCTION guard.rls_report()
  RETURNS TABLE (object text, severity text, finding text, fix text)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
WITH api AS (
  SELECT r.oid, r.rolname FROM pg_roles r WHERE r.rolname = ANY (guard.api_roles())
), rels AS (
  SELECT c.oid, c.relkind, c.relrowsecurity, c.reloptions, n.oid AS nsp,
         format('%I.%I', n.nspname, c.relname) AS name,
         CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                        ELSE 'table' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
), reach AS (
  SELECT rels.oid, string_agg(api.rolname, ', ' ORDER BY api.rolname) AS roles
    FROM rels CROSS JOIN api
   WHERE has_schema_privilege(api.oid, rels.nsp, 'USAGE')
     AND (has_any_column_privilege(api.oid, rels.oid, 'SELECT, INSERT, UPDATE')
          OR has_table_privilege(api.oid, rels.oid, 'DELETE, TRUNCATE'))
   GROUP BY rels.oid
), pols AS (
  SELECT p.*, rels.name AS relname, format('policy %I on %s', p.polname, rels.name) AS label
    FROM pg_policy p JOIN rels ON rels.oid = p.polrelid
), findings AS (
  SELECT r.kind || ' ' || r.name, 'error',
         format('%s can reach this table and row-level security is disabled: they see and change every row', x.roles),
         format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY and apply a template (e.g. SELECT guard.rls_service_write_authenticated_read(%L)), or REVOKE ALL ON %s FROM %s',
                r.name, r.name, r.name, x.roles)
    FROM rels r JOIN reach x ON x.oid = r.oid
   WHERE r.relkind IN ('r', 'p', 'f') AND NOT r.relrowsecurity
  UNION ALL
  SELECT r.kind || ' ' || r.name, 'warning',
         'row-level security is enabled but the table has no policy: every role but the owner and BYPASSRLS roles is denied every row',
         format('add the policies meant for this table (guard.rls_* templates), or DISABLE ROW LEVEL SECURITY and REVOKE access if only the owner may use %s', r.name)
    FROM rels r
   WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.oid)
  UNION ALL
  SELECT p.label, 'warning',
         format('evaluates %s once per row although the result is the same for every row', array_to_string(c.calls, ', ')),
         'wrap each call in a sub-select, e.g. (SELECT auth.uid()), or use the cached C helpers guard.uid() / guard.client_id() / guard.claim()'
    FROM pols p
   CROSS JOIN LATERAL (SELECT ARRAY(SELECT DISTINCT u FROM unnest(coalesce(guard.uncached_calls(p.polqual), '{}')
                                                           || coalesce(guard.uncached_calls(p.polwithcheck), '{}')) u
                                    ORDER BY 1) AS calls) c
   WHERE cardinality(c.calls) > 0
  UNION ALL
  SELECT p.label, CASE WHEN p.polcmd = 'r' THEN 'warning' ELSE 'error' END,
         format('permissive policy for anon with %s (true): every anonymous caller may %s every row',
                CASE WHEN p.polqual IS NULL THEN 'WITH CHECK' ELSE 'USING' END,
                CASE p.polcmd WHEN 'r' THEN 'read' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete'
                              ELSE 'read and change' END),
         format('restrict the policy to authenticated or give it a real condition (ALTER POLICY %I ON %s ...)', p.polname, p.relname)
    FROM pols p
   WHERE p.polpermissive
     AND (p.polroles @> ARRAY[0::oid] OR p.polroles && ARRAY(SELECT oid FROM pg_roles WHERE rolname = 'anon'))
     AND (pg_get_expr(p.polqual, p.polrelid) = 'true'
          OR (p.polqual IS NULL AND pg_get_expr(p.polwithcheck, p.polrelid) = 'true'))
  UNION ALL
  SELECT format('function %s', f.oid::regprocedure), 'warning',
         'SECURITY DEFINER function without a pinned search_path: a caller can make it resolve names to objects they created',
         format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp (and schema-qualify the names it uses)', f.oid::regprocedure)
    FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
   WHERE f.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND NOT EXISTS (SELECT FROM unnest(f.proconfig) s WHERE s LIKE 'search\_path=%')
  UNION ALL
  SELECT v.kind || ' ' || v.name, 'error',
         format('%s can read this %s, which reads %s with its owner''s rights: their row-level security policies do not apply to the caller',
                x.roles, v.kind, (SELECT string_agg(DISTINCT format('%I.%I', tn.nspname, t.relname), ', ')
                                    FROM pg_rewrite rw
                                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                                    AND d.refclassid = 'pg_class'::regclass
                                    JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
                                   WHERE rw.ev_class = v.oid AND t.oid <> v.oid AND t.relrowsecurity)),
         CASE WHEN v.relkind = 'v' THEN format('ALTER VIEW %s SET (security_invoker = true)', v.name)
              ELSE format('REVOKE SELECT ON %s FROM %s (a materialized view cannot apply the caller''s policies)', v.name, x.roles) END
    FROM rels v JOIN reach x ON x.oid = v.oid
   WHERE v.relkind IN ('v', 'm')
     AND (v.relkind = 'm' OR NOT EXISTS (SELECT FROM unnest(v.reloptions) o
                                          WHERE split_part(o, '=', 1) = 'security_invoker'
                                            AND split_part(o, '=', 2)::boolean))
     AND EXISTS (SELECT FROM pg_rewrite rw
                   JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                   AND d.refclassid = 'pg_class'::regclass
                   JOIN pg_class t ON t.oid = d.refobjid
                  WHERE rw.ev_class = v.oid AND t.oid <> v.oid AND t.relrowsecurity)
  UNION ALL
  SELECT r.kind || ' ' || r.name, 'error',
         format('tenant table (column %I) without a tenant predicate: a policy lets %s use rows of every tenant', a.attname, x.roles),
         format('SELECT guard.rls_tenant_isolation(%L) (restrictive: %I = guard.client_id())', r.name, a.attname)
    FROM rels r JOIN reach x ON x.oid = r.oid
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attname = 'client_id' AND a.attnum > 0 AND NOT a.attisdropped
   WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity
     -- isolated by a restrictive policy for every role and command ...
     AND NOT EXISTS (SELECT FROM pg_policy p
                      WHERE p.polrelid = r.oid AND NOT p.polpermissive AND p.polcmd = '*' AND p.polroles = ARRAY[0::oid]
                        AND p.polqual::text ~ format(':varno 1 :varattno %s ', a.attnum)
                        AND (p.polwithcheck IS NULL OR p.polwithcheck::text ~ format(':varno 1 :varattno %s ', a.attnum)))
     -- ... or by a tenant condition in every permissive policy that RLS applies to
     AND EXISTS (SELECT FROM pg_policy p
                  WHERE p.polrelid = r.oid AND p.polpermissive
                    AND (p.polroles @> ARRAY[0::oid]
                         OR EXISTS (SELECT FROM pg_roles pr WHERE pr.oid = ANY (p.polroles) AND NOT pr.rolbypassrls))
                    AND ((p.polqual IS NOT NULL AND p.polqual::text !~ format(':varno 1 :varattno %s ', a.attnum))
                         OR (p.polwithcheck IS NOT NULL AND p.polwithcheck::text !~ format(':varno 1 :varattno %s ', a.attnum))))
)
SELECT * FROM findings f(object, severity, finding, fix) ORDER BY severity, object, finding
$fn$;
COMMENT ON FUNCTION guard.rls_report() IS
  'RLS lint: one row per finding (object, severity, finding, fix) over every user schema';

-- ==== end row-level security helpers ====
