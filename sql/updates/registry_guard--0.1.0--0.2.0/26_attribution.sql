-- Actor attribution that cannot be forged (issue 13 item 2): change_context.claimed_attribution
-- holds the attribution settings that were set but not honoured; the view shows it; the hash
-- text of a context leaves the new column out while it is NULL (chains sealed by 0.1.0 verify).
ALTER TABLE audit.change_context ADD COLUMN claimed_attribution jsonb;
CREATE OR REPLACE FUNCTION audit.version_text(l audit.version_log, c audit.change_context) RETURNS text
    LANGUAGE sql STABLE SET search_path = '' SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD'
    SET "IntervalStyle" = 'postgres' SET extra_float_digits = '1' AS $$
    -- Context columns added after 0.1.0 (claimed_attribution) are hashed only when set, so
    -- that the versions sealed before they existed keep their hashes.
    SELECT $1::text OPERATOR(pg_catalog.||)
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
               c.claimed_attribution
          FROM audit.version_log l
          JOIN audit.change_context c ON c.id = l.context_id
    $view$, CASE WHEN supabase THEN 'c.auth_uid, c.jwt_role AS auth_role,' ELSE '' END);
END
$do$;
