-- The audit trail per tenant (issue 11 item 5): version_log.client_id (hashed only when set,
-- so that 0.1.0's sealed versions keep their hashes), shown by the view; audit.tenant_history()
-- for a tenant's administrators; audit.prune() also removes change_context rows no version
-- refers to any more.
ALTER TABLE audit.version_log ADD COLUMN client_id text;
CREATE OR REPLACE FUNCTION audit.version_text(l audit.version_log, c audit.change_context) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD'
    SET "IntervalStyle" = 'postgres' SET extra_float_digits = '1' AS $$
    -- Columns added after 0.1.0 (version_log.client_id, change_context.claimed_attribution)
    -- are hashed only when set, so that the versions sealed before they existed keep their hashes.
    SELECT CASE WHEN ($1).client_id IS NOT NULL THEN $1::text
                ELSE ROW(($1).id, ($1).op, ($1).ts, ($1).context_id, ($1).txid, ($1).record_id,
                         ($1).old_record_id, ($1).image, ($1).old_delta)::text END OPERATOR(pg_catalog.||)
           CASE WHEN ($2).id IS NULL THEN ''
                WHEN ($2).claimed_attribution IS NOT NULL THEN $2::text
                ELSE ROW(($2).id, ($2).table_oid, ($2).table_schema, ($2).table_name, ($2).db_role,
                         ($2).session_role, ($2).application_name, ($2).actor, ($2).sync_run_id, ($2).jwt_sub,
                         ($2).jwt_role, ($2).jwt_email, ($2).jwt_claims, ($2).auth_uid)::text END
$$;
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
        CREATE OR REPLACE VIEW audit.record_version AS
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
               c.jwt_claims,
               c.claimed_attribution,
               l.client_id
          FROM audit.version_log l
          JOIN audit.change_context c ON c.id = l.context_id
    $view$, CASE WHEN supabase THEN 'c.auth_uid, c.jwt_role AS auth_role,' ELSE '' END);
END
$do$;
CREATE OR REPLACE FUNCTION audit.prune(older_than timestamptz) RETURNS bigint
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
    -- Writers hold ROW SHARE on change_context while they use a context id (backends cache
    -- them across transactions): this waits for them, and the contexts left without versions
    -- can then go. retention_window(false) makes every backend forget its cached ids.
    LOCK TABLE audit.change_context IN EXCLUSIVE MODE;
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
    DELETE FROM audit.change_context c
     WHERE NOT EXISTS (SELECT FROM audit.version_log l WHERE l.context_id = c.id);
    PERFORM audit.retention_window(false);
    INSERT INTO audit.checkpoint(through_id, hash, rows_pruned, cutoff) VALUES (through, h, n, older_than);
    RETURN n;
END;
$$;
CREATE FUNCTION audit.tenant_history(since timestamptz DEFAULT NULL, of_table regclass DEFAULT NULL)
    RETURNS TABLE(id bigint, record_id uuid, old_record_id uuid, op audit.operation, ts timestamptz,
                  table_schema name, table_name name, record jsonb, old_record jsonb, changed_columns text[],
                  db_role name, actor text, sync_run_id bigint, jwt_sub text, jwt_role text, jwt_email text,
                  jwt_claims jsonb, client_id text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    tenant text := guard.client_id();
    me text := guard.claim('sub');
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'audit.tenant_history: the request names no tenant'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Call it with a JWT whose app_metadata.client_id names the tenant (trusted roles: SET app.client_id).';
    END IF;
    IF guard.tenant_source() IS DISTINCT FROM 'app.client_id'
       AND guard.claim('app_metadata.tenant_admin') IS DISTINCT FROM 'true' THEN
        RAISE EXCEPTION 'audit.tenant_history: only an administrator of tenant "%" may read its history', tenant
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The JWT must carry app_metadata.tenant_admin = true (set by the auth server, not by the user).';
    END IF;
    RETURN QUERY
    SELECT v.id, v.record_id, v.old_record_id, v.op, v.ts, v.table_schema, v.table_name, v.record, v.old_record,
           v.changed_columns, v.db_role, v.actor, v.sync_run_id, v.jwt_sub, v.jwt_role, v.jwt_email,
           CASE WHEN me IS NOT NULL AND v.jwt_sub = me THEN v.jwt_claims END, v.client_id
      FROM audit.record_version v
     WHERE v.client_id = tenant
       AND (since IS NULL OR v.ts >= since)
       AND (of_table IS NULL OR (v.table_schema, v.table_name) =
            (SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = of_table))
     ORDER BY v.id;
END;
$$;
REVOKE ALL ON FUNCTION audit.tenant_history(timestamptz, regclass) FROM PUBLIC;
