-- guard.rls_report() as an attacker's checklist (sql/src/35_rls_report.sql): the 0.1.0 report is
-- replaced by the probes and the report of 0.2.0 (same signature, now VOLATILE: it runs probes).
DROP FUNCTION guard.rls_report();

-- ==== guard.rls_report(): the RLS lint as an attacker's checklist (schema guard) ====
-- One row per thing an API user could exploit, with its fix. Supabase's database linter
-- (splinter, the dashboard's security advisor) is the floor: RLS disabled in public, policies
-- on a table without RLS, SECURITY DEFINER views, functions with a mutable search_path, auth
-- tables exposed through views. Beyond it: privileges API roles hold that no policy uses (the
-- LOCK surface), views that API roles can read that do not filter by tenant, tenant predicates
-- that do not depend on the request, SECURITY DEFINER functions that read RLS tables for API
-- roles, and actor settings of the audit trail that API roles can forge.
--
-- Two checks run code rather than read the catalog: each tenant policy is evaluated for two
-- synthetic tenants and none (guard.rls_probe_policy), and a write to a scratch audited table
-- shows whether the audit trusts the actor settings an API role set
-- (guard.rls_probe_audit_trust). Both run as the API role inside a subtransaction that is
-- rolled back, so the caller must be allowed to SET ROLE to it (a superuser, or a member of the
-- API roles such as Supabase's postgres); otherwise the finding says what could not be checked.

-- The API roles the report checks: registry_guard.api_roles, plus Supabase's anon and
-- authenticated and every role the API gateway's login role (authenticator) can switch to,
-- except BYPASSRLS roles (service_role: a trusted backend). listed = in registry_guard.api_roles.
CREATE FUNCTION guard.rls_api_roles(OUT role_oid oid, OUT role_name name, OUT listed boolean, OUT via text)
  RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT r.oid, r.rolname, r.rolname = ANY (guard.api_roles()),
         CASE WHEN r.rolname = ANY (guard.api_roles()) THEN 'registry_guard.api_roles'
              WHEN r.rolname IN ('anon', 'authenticated') THEN 'Supabase''s role for API requests'
              ELSE 'the API gateway''s login role authenticator can switch to it' END
    FROM pg_roles r
   WHERE r.rolname = ANY (guard.api_roles())
      OR (NOT r.rolbypassrls AND NOT r.rolsuper
          AND (r.rolname IN ('anon', 'authenticated')
               OR EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member
                           WHERE m.roleid = r.oid AND a.rolname = 'authenticator')))
$fn$;
COMMENT ON FUNCTION guard.rls_api_roles() IS
  'Roles guard.rls_report() treats as API roles: registry_guard.api_roles, anon, authenticated and the roles authenticator can switch to (not BYPASSRLS)';

-- Evaluates the clauses of one policy that name the tenant column for rows of two synthetic
-- tenants (A, B) under requests of tenant A, tenant B and no tenant (JWT app_metadata.client_id
-- and app.client_id set, registry_guard.default_client_id cleared when allowed), as an API role
-- the policy applies to (else the first role it names). Each clause is PREPAREd by the caller
-- (names resolve as when the policy was made) and EXECUTEd as that role in a subtransaction that
-- is rolled back. verdict: tenant (a row passes for its own tenant only), leaks (a row passes for
-- another tenant or without one), constant (the same result for every request: it does not
-- depend on the request), unknown (constant, but a sub-select reads data the probe did not
-- make), error (detail says why).
CREATE FUNCTION guard.rls_probe_policy(policy oid, tenant_column name DEFAULT 'client_id')
  RETURNS TABLE (clause text, probe_role name, verdict text, detail text)
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  pol record;
  rel text;
  tenant_type oid;
  tenant_attnum int2;
  tenants text[];
  stmt constant text := 'rg_rls_probe_' || policy;
  expr pg_node_tree;
  results text[];
  res boolean;
  foreign_pass text[];
BEGIN
  SELECT p.polname, p.polrelid, p.polroles, p.polqual, p.polwithcheck, c.relname, n.nspname INTO pol
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE p.oid = policy;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  rel := format('%I.%I', pol.nspname, pol.relname);
  SELECT a.atttypid, a.attnum INTO tenant_type, tenant_attnum FROM pg_attribute a
   WHERE a.attrelid = pol.polrelid AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF tenant_type IS NULL THEN
    RETURN;
  END IF;
  tenants := CASE WHEN tenant_type = 'uuid'::regtype
                    THEN ARRAY['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b2']
                  WHEN (SELECT t.typcategory FROM pg_type t WHERE t.oid = tenant_type) = 'N'
                    THEN ARRAY['900000001', '900000002']
                  ELSE ARRAY['rls-report-tenant-a', 'rls-report-tenant-b'] END;
  SELECT a.role_name INTO probe_role FROM guard.rls_api_roles() a JOIN pg_roles r ON r.oid = a.role_oid
   WHERE NOT r.rolbypassrls
     AND (pol.polroles @> ARRAY[0::oid]
          OR EXISTS (SELECT FROM unnest(pol.polroles) pr WHERE pg_has_role(a.role_oid, pr, 'MEMBER')))
   ORDER BY a.role_name LIMIT 1;
  IF probe_role IS NULL THEN
    SELECT r.rolname INTO probe_role FROM pg_roles r
     WHERE r.oid = ANY (pol.polroles) AND NOT r.rolbypassrls AND NOT r.rolsuper ORDER BY r.rolname LIMIT 1;
  END IF;
  IF probe_role IS NULL THEN
    RETURN;  -- only BYPASSRLS roles (or none): the policy is never applied
  END IF;
  FOR i IN 1..2 LOOP
    expr := CASE i WHEN 1 THEN pol.polqual ELSE pol.polwithcheck END;
    CONTINUE WHEN expr IS NULL OR expr::text !~ format(':varno 1 :varattno %s ', tenant_attnum);
    clause := CASE i WHEN 1 THEN 'USING' ELSE 'WITH CHECK' END;
    verdict := NULL;
    detail := NULL;
    results := '{}';
    BEGIN
      EXECUTE format('PREPARE %I(text) AS SELECT (%s)::boolean FROM (SELECT (pg_catalog.jsonb_populate_record('
                     'NULL::%s, pg_catalog.jsonb_build_object(%L, $1))).*) AS %I',
                     stmt, pg_get_expr(expr, pol.polrelid), rel, tenant_column, pol.relname);
      BEGIN
        BEGIN
          PERFORM set_config('registry_guard.default_client_id', '', true);
        EXCEPTION WHEN insufficient_privilege THEN
          NULL;  -- not a superuser: a configured default tenant stands in for "no tenant"
        END;
        PERFORM set_config('role', probe_role, true);
        FOR row_tenant IN 1..2 LOOP
          FOR request IN 1..3 LOOP
            PERFORM set_config('request.jwt.claims',
                               CASE WHEN request <= 2
                                    THEN json_build_object('role', probe_role, 'app_metadata',
                                                           json_build_object('client_id', tenants[request]))
                                    ELSE json_build_object('role', probe_role) END::text, true);
            PERFORM set_config('app.client_id', CASE WHEN request <= 2 THEN tenants[request] ELSE '' END, true);
            EXECUTE format('EXECUTE %I(%L)', stmt, tenants[row_tenant]) INTO res;
            results := results || coalesce(res::text, 'null');
          END LOOP;
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'RGRB0';
      EXCEPTION WHEN SQLSTATE 'RGRB0' THEN
        NULL;  -- rolled back: role and settings are the caller's again
      END;
      EXECUTE format('DEALLOCATE %I', stmt);
    EXCEPTION WHEN OTHERS THEN
      verdict := 'error';
      detail := SQLERRM;
      IF EXISTS (SELECT FROM pg_prepared_statements s WHERE s.name = stmt) THEN
        EXECUTE format('DEALLOCATE %I', stmt);
      END IF;
      RETURN NEXT;
      CONTINUE;
    END;
    -- results: row of tenant A for requests A, B, none; then row of tenant B for A, B, none.
    foreign_pass := ARRAY[]::text[];
    IF results[2] = 'true' OR results[4] = 'true' THEN
      foreign_pass := foreign_pass || 'a request of another tenant'::text;
    END IF;
    IF results[3] = 'true' OR results[6] = 'true' THEN
      foreign_pass := foreign_pass || 'a request without a tenant'::text;
    END IF;
    IF cardinality(foreign_pass) > 0 THEN
      verdict := 'leaks';
      detail := CASE WHEN results = ARRAY['true', 'true', 'true', 'true', 'true', 'true']
                     THEN 'it holds for every row whatever the request''s tenant, and without one'
                     ELSE 'a row of one tenant passes for ' || array_to_string(foreign_pass, ' and for ') END;
    ELSIF results[1] = ALL (results) AND expr::text LIKE '%{SUBLINK %' THEN
      verdict := 'unknown';
      detail := 'the same result for every request; its sub-select reads data';
    ELSIF results[1] = ALL (results) THEN
      verdict := 'constant';
      detail := format('it is %s for rows of every tenant whatever the request''s tenant', results[1]);
    ELSE
      verdict := 'tenant';
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION guard.rls_probe_policy(oid, name) IS
  'Evaluates a policy''s tenant clauses for two synthetic tenants and none as an API role (rolled back): tenant, leaks, constant, unknown or error';

-- Whether the audit trail records, as facts, the actor settings an API role set: in a rolled-back
-- subtransaction, a scratch temporary table is tracked, the role sets registry_guard.actor,
-- registry_guard.sync_run_id and application_name and inserts a row, and the recorded context is
-- read back. trusted lists the settings recorded as set; problem says why it could not be checked.
CREATE FUNCTION guard.rls_probe_audit_trust(api_role name, OUT trusted text[], OUT problem text)
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  claim constant text := 'guard.rls_report probe';
  claimed_run constant bigint := 9223372036854775807;
  caller constant name := current_user;
  probe regclass;
  ctx record;
  refused boolean := false;
BEGIN
  trusted := ARRAY[]::text[];
  BEGIN
    CREATE TEMP TABLE rg_rls_report_audit_probe (id int PRIMARY KEY);
    probe := 'pg_temp.rg_rls_report_audit_probe'::regclass;
    PERFORM audit.enable_tracking(probe);
    EXECUTE format('GRANT INSERT ON %s TO %I', probe, api_role);
    BEGIN
      PERFORM set_config('role', api_role, true);
      PERFORM set_config('registry_guard.actor', claim, true);
      PERFORM set_config('registry_guard.sync_run_id', claimed_run::text, true);
      PERFORM set_config('application_name', claim, true);
      EXECUTE format('INSERT INTO %s VALUES (1)', probe);
      PERFORM set_config('role', caller, true);
    EXCEPTION WHEN OTHERS THEN
      refused := true;  -- the role may not set them, or the audit refused the write: not trusted
    END;
    IF NOT refused THEN
      SELECT c.actor, c.sync_run_id, c.application_name INTO ctx
        FROM audit.change_context c WHERE c.table_oid = probe ORDER BY c.id DESC LIMIT 1;
      IF ctx.actor = claim THEN
        trusted := trusted || 'registry_guard.actor'::text;
      END IF;
      IF ctx.sync_run_id = claimed_run THEN
        trusted := trusted || 'registry_guard.sync_run_id'::text;
      END IF;
      IF ctx.application_name = claim THEN
        trusted := trusted || 'application_name'::text;
      END IF;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'RGRB0';
  EXCEPTION WHEN SQLSTATE 'RGRB0' THEN
    NULL;  -- rolled back: no table, no version, role and settings are the caller's again
  WHEN OTHERS THEN
    trusted := ARRAY[]::text[];
    problem := SQLERRM;
  END;
END
$fn$;
COMMENT ON FUNCTION guard.rls_probe_audit_trust(name) IS
  'Which actor settings (registry_guard.actor, sync_run_id, application_name) the audit records as set by the given role (rolled-back probe)';

-- The report. "Reachable" means an API role has USAGE on the schema and a privilege on the
-- relation, i.e. PostgREST can expose it. Schemas Supabase manages itself are left to Supabase,
-- as its linter does.
CREATE FUNCTION guard.rls_report()
  RETURNS TABLE (object text, severity text, finding text, fix text)
  LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
WITH api AS MATERIALIZED (
  SELECT a.role_oid AS oid, a.role_name AS rolname, a.listed, a.via, r.rolbypassrls
    FROM guard.rls_api_roles() a JOIN pg_roles r ON r.oid = a.role_oid
), rels AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relowner, n.oid AS nsp, n.nspname,
         format('%I.%I', n.nspname, c.relname) AS name,
         CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                        ELSE 'table' END AS kind,
         EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
           AS ext_member,
         (SELECT a.attnum FROM pg_attribute a
           WHERE a.attrelid = c.oid AND a.attname = 'client_id' AND a.attnum > 0 AND NOT a.attisdropped) AS tenant_attnum,
         c.relkind = 'v' AND EXISTS (SELECT FROM unnest(c.reloptions) o
                                      WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on',
                                                         'security_invoker=1', 'security_invoker=yes')) AS invoker
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
), reach AS (
  SELECT rels.oid, api.oid AS role, api.rolname
    FROM rels CROSS JOIN api
   WHERE has_schema_privilege(api.oid, rels.nsp, 'USAGE')
     AND (has_any_column_privilege(api.oid, rels.oid, 'SELECT, INSERT, UPDATE')
          OR has_table_privilege(api.oid, rels.oid, 'DELETE, TRUNCATE'))
), reach_roles AS (
  SELECT reach.oid, string_agg(reach.rolname, ', ' ORDER BY reach.rolname) AS roles FROM reach GROUP BY reach.oid
), owners_bypass AS (  -- (role, table): row-level security does not apply to role on table
  SELECT r.oid AS role, t.oid AS tbl
    FROM pg_roles r CROSS JOIN rels t
   WHERE t.relkind IN ('r', 'p') AND t.relrowsecurity
     AND (r.rolsuper OR r.rolbypassrls OR (r.oid = t.relowner AND NOT t.relforcerowsecurity))
), pols AS MATERIALIZED (
  SELECT p.oid, p.polname, p.polrelid, p.polcmd, p.polpermissive, p.polroles, p.polqual, p.polwithcheck,
         rels.name AS relname, rels.relrowsecurity, format('policy %I on %s', p.polname, rels.name) AS label,
         coalesce(p.polqual::text ~ format(':varno 1 :varattno %s ', rels.tenant_attnum), false) AS using_tenant,
         coalesce(p.polwithcheck::text ~ format(':varno 1 :varattno %s ', rels.tenant_attnum), false) AS check_tenant
    FROM pg_policy p JOIN rels ON rels.oid = p.polrelid
), probes AS MATERIALIZED (
  SELECT p.oid AS polid, x.clause, x.probe_role, x.verdict, x.detail
    FROM pols p CROSS JOIN LATERAL guard.rls_probe_policy(p.oid) x
   WHERE p.relrowsecurity AND (p.using_tenant OR p.check_tenant)
), pol_tenant AS (  -- policies whose every clause compares the tenant column with the request's tenant
  SELECT p.oid
    FROM pols p
   WHERE (p.polqual IS NULL OR EXISTS (SELECT FROM probes x WHERE x.polid = p.oid AND x.clause = 'USING'
                                                                AND x.verdict IN ('tenant', 'unknown')))
     AND (p.polwithcheck IS NULL OR EXISTS (SELECT FROM probes x WHERE x.polid = p.oid AND x.clause = 'WITH CHECK'
                                                                    AND x.verdict IN ('tenant', 'unknown')))
     AND (p.polqual IS NOT NULL OR p.polwithcheck IS NOT NULL)
), isolated AS (  -- tenant tables every API role sees one tenant of
  SELECT r.oid
    FROM rels r
   WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity AND r.tenant_attnum IS NOT NULL
     AND (-- a restrictive policy for every command and every API role ...
          EXISTS (SELECT FROM pols p JOIN pol_tenant k ON k.oid = p.oid
                   WHERE p.polrelid = r.oid AND NOT p.polpermissive AND p.polcmd = '*' AND p.polqual IS NOT NULL
                     AND NOT EXISTS (SELECT FROM api
                                      WHERE NOT api.rolbypassrls AND NOT p.polroles @> ARRAY[0::oid]
                                        AND NOT EXISTS (SELECT FROM unnest(p.polroles) pr
                                                         WHERE pg_has_role(api.oid, pr, 'MEMBER'))))
          -- ... or a tenant comparison in every permissive policy that RLS applies to
          OR NOT EXISTS (SELECT FROM pols p
                          WHERE p.polrelid = r.oid AND p.polpermissive
                            AND NOT EXISTS (SELECT FROM pol_tenant k WHERE k.oid = p.oid)
                            AND (p.polroles @> ARRAY[0::oid]
                                 OR EXISTS (SELECT FROM pg_roles pr WHERE pr.oid = ANY (p.polroles) AND NOT pr.rolbypassrls))))
), privs AS (  -- table-level privileges of API roles RLS applies to, and whether a permissive policy uses them
  SELECT r.oid, r.name, r.kind, r.relkind, r.relrowsecurity, a.rolname, pr.priv,
         EXISTS (SELECT FROM pols p
                  WHERE p.polrelid = r.oid AND p.polpermissive AND p.polcmd IN ('*', pr.cmd)
                    AND (p.polroles @> ARRAY[0::oid]
                         OR EXISTS (SELECT FROM unnest(p.polroles) x WHERE pg_has_role(a.oid, x, 'MEMBER')))) AS used,
         CASE r.relkind WHEN 'v' THEN pg_relation_is_updatable(r.oid, true) ELSE 0 END AS updatable
    FROM rels r CROSS JOIN api a
    CROSS JOIN (VALUES ('SELECT', 'r'::"char"), ('INSERT', 'a'), ('UPDATE', 'w'), ('DELETE', 'd'),
                       ('TRUNCATE', NULL), ('REFERENCES', NULL), ('TRIGGER', NULL)) pr(priv, cmd)
   WHERE NOT a.rolbypassrls AND r.relkind IN ('r', 'p', 'v', 'm')
     AND has_schema_privilege(a.oid, r.nsp, 'USAGE') AND has_table_privilege(a.oid, r.oid, pr.priv)
), vbase AS (  -- relations each view reads
  SELECT DISTINCT rw.ev_class AS view, d.refobjid AS base
    FROM pg_rewrite rw
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
   WHERE d.refobjid <> rw.ev_class
), tenant_views AS (  -- views API roles can read that hold tenant rows and do not call guard.client_id()
  SELECT v.oid, v.name, v.kind, v.invoker, v.relowner, x.roles,
         v.tenant_attnum IS NOT NULL AND NOT EXISTS (SELECT FROM vbase b JOIN rels t ON t.oid = b.base
                                                      WHERE b.view = v.oid AND t.tenant_attnum IS NOT NULL) AS derives_tenant
    FROM rels v JOIN reach_roles x ON x.oid = v.oid
   WHERE v.relkind IN ('v', 'm')
     AND (v.tenant_attnum IS NOT NULL
          OR EXISTS (SELECT FROM vbase b JOIN rels t ON t.oid = b.base WHERE b.view = v.oid AND t.tenant_attnum IS NOT NULL))
     AND NOT EXISTS (SELECT FROM pg_rewrite rw
                       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                       AND d.refclassid = 'pg_proc'::regclass
                      WHERE rw.ev_class = v.oid AND d.refobjid = 'guard.client_id()'::regprocedure)
), unfiltered AS (  -- (view, base) pairs through which rows of every tenant reach the view
  SELECT v.oid, v.name, v.kind, v.invoker, v.roles, t.oid AS base, t.name AS base_name,
         EXISTS (SELECT FROM reach x WHERE x.oid = v.oid AND has_any_column_privilege(x.role, t.oid, 'SELECT'))
           AS readable
    FROM tenant_views v JOIN vbase b ON b.view = v.oid JOIN rels t ON t.oid = b.base
   WHERE (t.tenant_attnum IS NOT NULL OR v.derives_tenant)
     -- views with their owner's rights (and materialized views over RLS tables) are findings of their own
     AND (v.invoker OR (v.kind = 'materialized view' AND NOT t.relrowsecurity))
     AND NOT (t.oid IN (SELECT oid FROM isolated)
              AND (v.invoker OR NOT EXISTS (SELECT FROM owners_bypass o WHERE o.role = v.relowner AND o.tbl = t.oid)))
), findings AS (
  -- Supabase linter: rls_disabled_in_public (and any table API roles can reach without RLS)
  SELECT r.kind || ' ' || r.name, 'error',
         format('%s can reach this table and row-level security is disabled: they see and change every row', x.roles),
         format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY and apply a template (e.g. SELECT guard.rls_service_write_authenticated_read(%L)), or REVOKE ALL ON %s FROM %s',
                r.name, r.name, r.name, x.roles)
    FROM rels r JOIN reach_roles x ON x.oid = r.oid
   WHERE r.relkind IN ('r', 'p', 'f') AND NOT r.relrowsecurity
  UNION ALL
  SELECT r.kind || ' ' || r.name, 'error',
         'table in schema public (exposed by the Data API) without row-level security: no API role holds a privilege on it now, but one GRANT (such as Supabase''s default privileges) exposes every row',
         format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY (without a policy only the owner and BYPASSRLS roles see rows), or move it to a schema the API does not expose',
                r.name)
    FROM rels r
   WHERE r.relkind IN ('r', 'p') AND r.nspname = 'public' AND NOT r.relrowsecurity AND NOT r.ext_member
     AND NOT EXISTS (SELECT FROM reach_roles x WHERE x.oid = r.oid)
  UNION ALL
  -- Supabase linter: policy_exists_rls_disabled
  SELECT r.kind || ' ' || r.name, 'warning',
         format('policies %s exist but row-level security is disabled: they are not applied',
                (SELECT string_agg(quote_ident(p.polname), ', ' ORDER BY p.polname) FROM pols p WHERE p.polrelid = r.oid)),
         format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY (or drop the policies if the table is meant to be open)', r.name)
    FROM rels r
   WHERE r.relkind IN ('r', 'p') AND NOT r.relrowsecurity AND NOT r.ext_member
     AND EXISTS (SELECT FROM pols p WHERE p.polrelid = r.oid)
  UNION ALL
  -- Supabase linter: rls_enabled_no_policy
  SELECT r.kind || ' ' || r.name, 'warning',
         'row-level security is enabled but the table has no policy: every role but the owner and BYPASSRLS roles is denied every row',
         format('add the policies meant for this table (guard.rls_* templates), or DISABLE ROW LEVEL SECURITY and REVOKE access if only the owner may use %s', r.name)
    FROM rels r
   WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.oid)
  UNION ALL
  -- Supabase linter: auth_rls_initplan
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
  -- Supabase linter: function_search_path_mutable
  SELECT format('function %s', f.oid::regprocedure), 'warning',
         CASE WHEN f.prosecdef
              THEN 'SECURITY DEFINER function without a pinned search_path: a caller can make it resolve names to objects they created'
              ELSE 'function without a pinned search_path: it resolves names through its caller''s search_path, so a caller''s objects can stand in for the ones it means' END,
         format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp (and schema-qualify the names it uses)', f.oid::regprocedure)
    FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
   WHERE f.prokind IN ('f', 'p')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'auth', 'storage', 'realtime', 'extensions', 'graphql',
                           'graphql_public', 'pgbouncer', 'pgsodium', 'pgsodium_masks', 'vault', 'net', 'cron', 'pgtle',
                           'supabase_functions', 'supabase_migrations')
     AND n.nspname !~ '^pg_(toast|temp_)'
     AND (f.prosecdef OR NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid
                                                              AND d.deptype = 'e'))
     AND NOT EXISTS (SELECT FROM unnest(f.proconfig) s WHERE s LIKE 'search\_path=%')
  UNION ALL
  -- Supabase linter: security_definer_view (and materialized views over RLS tables)
  SELECT v.kind || ' ' || v.name, 'error',
         CASE WHEN t.tables IS NOT NULL
              THEN format('%s can read this %s, which reads %s with its owner''s rights: their row-level security policies do not apply to the caller',
                          x.roles, v.kind, t.tables)
              ELSE format('%s can read this view, which reads its tables with its owner''s rights (a SECURITY DEFINER view): no row-level security policy added to them later will apply to the caller',
                          x.roles) END,
         CASE WHEN v.relkind = 'v' THEN format('ALTER VIEW %s SET (security_invoker = true)', v.name)
              ELSE format('REVOKE SELECT ON %s FROM %s (a materialized view cannot apply the caller''s policies)', v.name, x.roles) END
    FROM rels v JOIN reach_roles x ON x.oid = v.oid
   CROSS JOIN LATERAL (SELECT string_agg(DISTINCT b.name, ', ') AS tables
                         FROM vbase vb JOIN rels b ON b.oid = vb.base
                        WHERE vb.view = v.oid AND b.relkind IN ('r', 'p') AND b.relrowsecurity) t
   WHERE ((v.relkind = 'v' AND NOT v.invoker AND NOT v.ext_member) OR (v.relkind = 'm' AND t.tables IS NOT NULL))
     AND EXISTS (SELECT FROM reach y WHERE y.oid = v.oid AND has_any_column_privilege(y.role, v.oid, 'SELECT'))
  UNION ALL
  -- Supabase linter: auth_users_exposed (any auth table, through any view or directly)
  SELECT v.kind || ' ' || v.name, 'error',
         format('%s can read this %s, which exposes %s (Supabase Auth''s own data: e-mail addresses, phone numbers, metadata of every user)',
                x.roles, v.kind, string_agg(DISTINCT t.name, ', ')),
         format('REVOKE SELECT ON %s FROM %s; keep what the API needs in a table of your own with row-level security', v.name, x.roles)
    FROM rels v JOIN reach_roles x ON x.oid = v.oid
    JOIN vbase b ON b.view = v.oid JOIN rels t ON t.oid = b.base AND t.nspname = 'auth'
   WHERE v.relkind IN ('v', 'm') AND v.nspname <> 'auth'
   GROUP BY v.kind, v.name, x.roles
  UNION ALL
  SELECT r.kind || ' ' || r.name, 'error',
         format('%s can read this table of Supabase Auth directly', x.roles),
         format('REVOKE ALL ON %s FROM %s', r.name, x.roles)
    FROM rels r JOIN reach_roles x ON x.oid = r.oid
   WHERE r.nspname = 'auth' AND r.relkind IN ('r', 'p')
  UNION ALL
  -- LOCK surface: table-level privileges no policy uses (views: privileges the view cannot use)
  SELECT p.kind || ' ' || p.name,
         CASE WHEN p.priv IN ('UPDATE', 'DELETE', 'TRUNCATE') THEN 'error' ELSE 'warning' END,
         format('%s holds %s on this %s but %s: %s', p.rolname, p.priv, p.kind,
                CASE WHEN p.relkind IN ('v', 'm') THEN format('the %s cannot use it', p.kind)
                     WHEN p.priv IN ('TRUNCATE', 'REFERENCES', 'TRIGGER') THEN 'no policy can use it'
                     ELSE 'no policy lets it use it' END,
                CASE WHEN p.priv = 'TRUNCATE'
                       THEN format('TRUNCATE ignores row-level security, and it lets %s LOCK TABLE %s IN ACCESS EXCLUSIVE MODE so that every reader and writer of every tenant waits',
                                   p.rolname, p.name)
                     WHEN p.priv IN ('UPDATE', 'DELETE')
                       THEN format('it lets %s LOCK TABLE %s IN ACCESS EXCLUSIVE MODE, and every reader and writer of every tenant waits%s',
                                   p.rolname, p.name,
                                   CASE WHEN p.relkind = 'v' THEN ' (locking a view locks the tables it reads)' ELSE '' END)
                     WHEN p.priv = 'INSERT'
                       THEN format('it lets %s take ROW EXCLUSIVE locks on the %s that hold off maintenance and migrations', p.rolname, p.kind)
                     WHEN p.priv = 'SELECT'
                       THEN format('%s sees no row, but may lock the table (ACCESS SHARE), which holds off maintenance and migrations', p.rolname)
                     ELSE 'an API role never needs it' END),
         format('REVOKE %s ON %s FROM %I', p.priv, p.name, p.rolname)
    FROM privs p
   WHERE CASE WHEN p.relkind IN ('r', 'p') THEN p.relrowsecurity AND NOT p.used
              WHEN p.relkind = 'm' THEN p.priv <> 'SELECT'
              ELSE p.priv IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')
                   OR (p.priv = 'UPDATE' AND p.updatable & 4 = 0)
                   OR (p.priv = 'INSERT' AND p.updatable & 8 = 0)
                   OR (p.priv = 'DELETE' AND p.updatable & 16 = 0) END
  UNION ALL
  SELECT p.kind || ' ' || p.name, 'warning',
         format('%s holds table-level UPDATE on this table: a policy lets it update rows, but table-level UPDATE also lets it LOCK TABLE %s IN ACCESS EXCLUSIVE MODE (column privileges do not)',
                p.rolname, p.name),
         format('REVOKE UPDATE ON %s FROM %I; GRANT UPDATE (<the columns it edits>) ON %s TO %I', p.name, p.rolname, p.name, p.rolname)
    FROM privs p
   WHERE p.relkind IN ('r', 'p') AND p.relrowsecurity AND p.used AND p.priv = 'UPDATE'
  UNION ALL
  -- Sequences: setval / nextval by API roles that do not insert into the table a sequence feeds
  SELECT format('sequence %I.%I', n.nspname, c.relname),
         CASE WHEN pr.priv = 'UPDATE' THEN 'error' ELSE 'warning' END,
         CASE WHEN pr.priv = 'UPDATE'
              THEN format('%s holds UPDATE on this sequence: it can setval() it back so that inserts of every tenant fail on duplicate keys', a.rolname)
              ELSE format('%s holds USAGE on this sequence but cannot insert into %s: nextval() lets it use up the sequence''s values',
                          a.rolname, coalesce(format('%I.%I', tn.nspname, t.relname), 'a table fed by it')) END,
         format('REVOKE %s ON SEQUENCE %I.%I FROM %I', pr.priv, n.nspname, c.relname, a.rolname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN api a
    CROSS JOIN (VALUES ('UPDATE'), ('USAGE')) pr(priv)
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                         AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = d.refobjid
    LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
   WHERE c.relkind = 'S' AND NOT a.rolbypassrls
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
     AND has_schema_privilege(a.oid, n.oid, 'USAGE') AND has_sequence_privilege(a.oid, c.oid, pr.priv)
     AND (pr.priv = 'UPDATE' OR t.oid IS NULL OR NOT has_any_column_privilege(a.oid, t.oid, 'INSERT'))
  UNION ALL
  -- Tenant predicates that do not depend on the request (evaluated for two tenants and none)
  SELECT p.label, 'error',
         format('tenant predicate (%s) does not depend on the request: %s (evaluated as %s for rows of two synthetic tenants under requests of each and of none)',
                x.clause, x.detail, x.probe_role),
         format('compare the tenant column with the request''s tenant, e.g. ALTER POLICY %I ON %s %s (client_id = guard.client_id()), or drop it and SELECT guard.rls_tenant_isolation(%L)',
                p.polname, p.relname, x.clause, p.relname)
    FROM probes x JOIN pols p ON p.oid = x.polid
   WHERE x.verdict IN ('leaks', 'constant')
  UNION ALL
  SELECT p.label, 'warning',
         format('could not evaluate the tenant predicate (%s) as %s for synthetic tenants: %s', x.clause, x.probe_role, x.detail),
         'run guard.rls_report() as a superuser (or a member of the API roles), and make sure the policy compares the tenant column with guard.client_id()'
    FROM probes x JOIN pols p ON p.oid = x.polid
   WHERE x.verdict = 'error'
  UNION ALL
  SELECT r.kind || ' ' || r.name, CASE WHEN e.unverified THEN 'warning' ELSE 'error' END,
         CASE WHEN e.unverified
              THEN format('tenant table (column client_id) whose tenant predicate could not be verified (see its policies'' findings): %s may use rows of every tenant', x.roles)
              ELSE format('tenant table (column client_id) without a tenant predicate: a policy lets %s use rows of every tenant', x.roles) END,
         format('SELECT guard.rls_tenant_isolation(%L) (restrictive: client_id = guard.client_id())', r.name)
    FROM rels r JOIN reach_roles x ON x.oid = r.oid
   CROSS JOIN LATERAL (SELECT EXISTS (SELECT FROM probes pb JOIN pols p ON p.oid = pb.polid
                                       WHERE p.polrelid = r.oid AND pb.verdict = 'error') AS unverified) e
   WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity AND r.tenant_attnum IS NOT NULL
     AND r.oid NOT IN (SELECT oid FROM isolated)
  UNION ALL
  -- Views API roles can read that do not filter by tenant
  SELECT u.kind || ' ' || u.name,
         CASE WHEN bool_or(u.readable) OR NOT u.invoker THEN 'error' ELSE 'warning' END,
         format('%s can read this %s, which does not filter by tenant: it reads %s without a tenant policy that applies to the caller%s',
                u.roles, u.kind, string_agg(DISTINCT u.base_name, ', '),
                CASE WHEN bool_or(u.readable) OR NOT u.invoker THEN ', so it shows rows of every tenant'
                     ELSE format(' (it fails today only because %s cannot read them; granting that shows rows of every tenant)', u.roles) END),
         format('filter the view by the request''s tenant (WHERE client_id = guard.client_id(), or join a tenant-isolated table), make it security_invoker over tables with guard.rls_tenant_isolation(), or REVOKE SELECT ON %s FROM %s',
                u.name, u.roles)
    FROM unfiltered u
   GROUP BY u.kind, u.name, u.invoker, u.roles
  UNION ALL
  -- SECURITY DEFINER functions API roles can execute that read RLS tables as their owner
  SELECT format('function %s', f.oid::regprocedure), 'error',
         format('%s can execute this SECURITY DEFINER function, which reads %s with the rights of its owner %s (row-level security does not apply) and does not filter by guard.client_id(): it returns or changes rows of every tenant',
                x.roles, t.tables, pg_get_userbyid(f.proowner)),
         format('ALTER FUNCTION %s SECURITY INVOKER; or filter by the request''s tenant inside; or REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, %s',
                f.oid::regprocedure, f.oid::regprocedure, x.roles)
    FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
   CROSS JOIN LATERAL (SELECT string_agg(api.rolname, ', ' ORDER BY api.rolname) AS roles FROM api
                        WHERE has_schema_privilege(api.oid, n.oid, 'USAGE')
                          AND has_function_privilege(api.oid, f.oid, 'EXECUTE')) x
   CROSS JOIN LATERAL (SELECT string_agg(r.name, ', ' ORDER BY r.name) AS tables
                         FROM rels r JOIN owners_bypass o ON o.tbl = r.oid AND o.role = f.proowner
                        WHERE EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid
                                                               AND d.refclassid = 'pg_class'::regclass AND d.refobjid = r.oid)
                           OR f.prosrc ~* ('\m' || regexp_replace((SELECT relname FROM pg_class WHERE oid = r.oid),
                                                                  '([.*+?^${}()|\[\]\\])', '\\\1', 'g') || '\M')) t
   WHERE f.prosecdef AND x.roles IS NOT NULL AND t.tables IS NOT NULL
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND f.prosrc !~* 'client_id\s*\('
  UNION ALL
  -- API roles that registry_guard.api_roles does not list: they choose their tenant and the audit trusts them
  SELECT format('role %I', a.rolname), 'error',
         format('%s is an API role (%s) but registry_guard.api_roles does not list it: guard.client_id() lets it choose any tenant with SET app.client_id, and the audit trail trusts the actor it claims',
                a.rolname, a.via),
         format('ALTER DATABASE %I SET registry_guard.api_roles = %L (as a superuser; applies to new sessions)', current_database(),
                (SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM api b))
    FROM api a
   WHERE NOT a.listed
  UNION ALL
  -- Actor settings of the audit trail that API roles can forge (only where they write an audited table)
  SELECT format('role %I', w.rolname),
         CASE WHEN t.problem IS NULL THEN 'error' ELSE 'warning' END,
         CASE WHEN t.problem IS NULL
              THEN format('%s can SET %s and the audit trail records %s as the actor of its writes to %s: it can credit its changes to registry-sync or to a sync run',
                          w.rolname, array_to_string(t.trusted, ', '),
                          CASE WHEN cardinality(t.trusted) > 1 THEN 'them' ELSE 'it' END, w.tables)
              ELSE format('could not check whether the audit trail trusts the actor settings %s sets (it writes to %s): %s',
                          w.rolname, w.tables, t.problem) END,
         CASE WHEN t.problem IS NULL
              THEN format('make the audit trail record actor settings from API roles as claims only (registry_guard.api_roles must list %I); until then REVOKE INSERT, UPDATE, DELETE on %s FROM %I',
                          w.rolname, w.tables, w.rolname)
              ELSE 'run guard.rls_report() as a superuser (the check writes to a scratch audited table as the API role and rolls back)' END
    FROM (SELECT a.rolname, string_agg(DISTINCT r.name, ', ') AS tables
            FROM api a CROSS JOIN rels r
           WHERE has_schema_privilege(a.oid, r.nsp, 'USAGE')
             AND (has_any_column_privilege(a.oid, r.oid, 'INSERT, UPDATE') OR has_table_privilege(a.oid, r.oid, 'DELETE'))
             -- audited: the audit trail's row trigger (found in the catalog: callers need no USAGE on schema audit)
             AND EXISTS (SELECT FROM pg_trigger tg JOIN pg_proc tp ON tp.oid = tg.tgfoid
                                                   JOIN pg_namespace tn ON tn.oid = tp.pronamespace
                          WHERE tg.tgrelid = r.oid AND tn.nspname = 'audit' AND tp.proname = 'insert_update_delete_trigger')
           GROUP BY a.rolname) w
   CROSS JOIN LATERAL guard.rls_probe_audit_trust(w.rolname) t
   WHERE cardinality(t.trusted) > 0 OR t.problem IS NOT NULL
)
SELECT * FROM findings f(object, severity, finding, fix) ORDER BY severity, object, finding
$fn$;
COMMENT ON FUNCTION guard.rls_report() IS
  'RLS lint as an attacker''s checklist: one row per finding (object, severity, finding, fix) over every user schema';

-- ==== end guard.rls_report() ====
