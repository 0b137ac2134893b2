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
    id             bigint PRIMARY KEY DEFAULT pg_catalog.nextval('audit.record_version_id_seq'),
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
CREATE INDEX version_log_ts ON audit.version_log USING brin(ts);

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
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'audit.enable_tracking: % is not a table (it is a %)', $1,
            CASE kind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                      WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation of kind ' || kind END
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
    pk text[] := audit.primary_key_columns($1);
BEGIN
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
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_i_u_d ON %s', $1);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS audit_t ON %s', $1);
END;
$$;

CREATE FUNCTION audit.is_tracked(regclass) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT pg_catalog.count(*) = 2 FROM pg_catalog.pg_trigger
     WHERE tgrelid = $1 AND tgname IN ('audit_i_u_d', 'audit_t')
$$;
-- @@AUDIT_MORE@@
-- ==== end audit trail ====

-- ==== references (schema guard) ====

-- ==== end references ====

-- ==== row-level security helpers (schema guard) ====

-- ==== end row-level security helpers ====
