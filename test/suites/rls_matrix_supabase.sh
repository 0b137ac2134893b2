#!/usr/bin/env bash
# The registry on a database prepared as Supabase prepares one (roles, default privileges that
# give anon / authenticated / service_role ALL on every new object in public, the auth schema),
# migrated with `registry-sync migrate`: every privilege the API roles hold on our objects
# equals rls_matrix/supabase_privileges.out; Supabase's security lints
# (test/lib/supabase_security_lints.sql, with the schemas PostgREST serves) find nothing at
# ERROR or WARN and each of them fires on a scratch object made to break it; no API role can lock a table for every
# tenant; and the persona x table x operation matrix gives exactly what it gives on plain
# PostgreSQL (rls_matrix/matrix.out). Runs its own cluster: Supabase's roles are cluster-wide.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/test/lib/tap.sh"
. "$repo/test/lib/pgcluster.sh"
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); chmod 755 "$work"
trap 'pgc_stop; rm -rf "$work"' EXIT
pgc_start rls-supabase >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
db=registry
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
qa() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE $db" || { tap_ok 1 "create database"; tap_done; }

q -f "$repo/test/fixtures/supabase/prepare.sql" >/dev/null
tap_ok $? "the database is prepared as Supabase prepares one"
tap_is "$(qa -c "CREATE TABLE public.sb_probe (id int)" -c "SELECT has_table_privilege('anon', 'public.sb_probe', 'TRUNCATE')" -c "DROP TABLE public.sb_probe")" \
  "t" "its default privileges give anon ALL (TRUNCATE included) on a new table in public"

out=$("$rs" migrate --dir "$repo/migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "registry-sync migrate applies every migration"
[ "$rc" = 0 ] || echo "$out" | tail -20 | sed 's/^#/#   /'

# ---- least privilege: the full list of what the API roles hold
q -f "$repo/test/lib/api_privileges.sql" >"$work/privileges" 2>&1
if diff -u "$here/rls_matrix/supabase_privileges.out" "$work/privileges" >"$work/privileges.diff"; then
  tap_ok 0 "every privilege of anon, authenticated, service_role and registry_reader equals rls_matrix/supabase_privileges.out"
else
  tap_ok 1 "every privilege of anon, authenticated, service_role and registry_reader equals rls_matrix/supabase_privileges.out"
  cp "$work/privileges" "$here/rls_matrix/supabase_privileges.result"
  head -80 "$work/privileges.diff" | sed 's/^/#   /'
fi

# ---- Supabase's security advisor: every SECURITY lint of Supabase's linter (splinter),
# test/lib/supabase_security_lints.sql, run as the dashboard runs it: in a transaction with
# pgrst.db_schemas set to the schemas PostgREST serves (authenticator's setting).
lint() {  # lint EXPOSED [psql args before the lints]: findings as "name | level | object"
  local exposed=$1; shift
  psql -X -q -At -F ' | ' -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN" "$@" \
       -c "SET LOCAL pgrst.db_schemas = '$exposed'" -f "$repo/test/lib/supabase_security_lints.sql" -c "ROLLBACK" 2>&1
}
exposed=$(qa -c "SELECT substr(c, length('pgrst.db_schemas=') + 1) FROM pg_db_role_setting s, unnest(s.setconfig) c
                 WHERE s.setrole = 'authenticator'::regrole AND s.setdatabase = 0 AND c LIKE 'pgrst.db\_schemas=%'")
tap_is "$exposed" "public, graphql_public" "PostgREST serves public and graphql_public (authenticator's pgrst.db_schemas, as in a new Supabase project)"
lint "$exposed" >"$work/lints"
tap_is "$(cat "$work/lints")" "" "Supabase's security lints report nothing (no ERROR, WARN or INFO finding) on the migrated database"
# Beyond what the advisor looks at: with every schema of ours served by PostgREST, what would
# be reported is the extension's reference catalog (readable by PUBLIC so that table owners
# can declare references; without USAGE on guard no API role reaches it) and the one SECURITY
# DEFINER function authenticated may execute, which returns its own tenant's KPI versions.
lint "public, graphql_public, guard, audit, registry_sync, registry_private" | grep -vE '\| INFO \|' >"$work/lints_all"
tap_is "$(cat "$work/lints_all")" \
  "authenticated_security_definer_function_executable | WARN | registry_private.kpi_threshold_versions()
rls_disabled_in_public | ERROR | guard.reference" \
  "with every schema of ours exposed: only guard.reference and registry_private.kpi_threshold_versions()"

# Each lint can fail: scratch objects that break one lint each (and near misses that must not
# be reported), in a transaction that is rolled back.
lint "public, graphql_public, lint_exposed, pgmq_public" -f "$here/rls_matrix/lint_violations.sql" \
  | grep -E '(lint_|pgmq\.|citext|storage bucket)' >"$work/violations"
if diff -u "$here/rls_matrix/lint_violations.out" "$work/violations" >"$work/violations.diff"; then
  tap_ok 0 "on scratch objects the lints report exactly rls_matrix/lint_violations.out"
else
  tap_ok 1 "on scratch objects the lints report exactly rls_matrix/lint_violations.out"
  head -60 "$work/violations.diff" | sed 's/^/#   /'
fi
implemented=$(grep -c '^  -- 00[0-9][0-9] ' "$repo/test/lib/supabase_security_lints.sql")
tap_is "$(cut -d'|' -f1 "$work/violations" | sed 's/ *$//' | sort -u | tr '\n' ' ')" \
  "anon_security_definer_function_executable auth_users_exposed authenticated_security_definer_function_executable extension_in_public extension_versions_outdated fkey_to_auth_unique foreign_table_in_api function_search_path_mutable insecure_queue_exposed_in_api materialized_view_in_api pg_graphql_anon_table_exposed pg_graphql_authenticated_table_exposed policy_exists_rls_disabled public_bucket_allows_listing rls_disabled_in_public rls_enabled_no_policy rls_policy_always_true rls_policy_null_auth_disjunct rls_references_user_metadata security_definer_view sensitive_columns_exposed unsupported_reg_types " \
  "every one of the 22 security lints fires on its scratch object ($implemented lint sections in the file)"
tap_is "$implemented" 19 "the lint file has 19 sections (0002 ... 0030; 0016/0017, 0026/0027, 0028/0029 share one), all in that list"
tap_is "$(qa -c "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'registry_guard'")" "extensions" \
  "registry_guard is recorded in schema extensions (not public)"

# ---- the lock-out: as PostgREST connects (authenticator, SET LOCAL ROLE), per API role and table
tables=$(qa -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')")
locks=""
for role in anon authenticated registry_reader; do
  for t in $tables; do
    for mode in "ACCESS EXCLUSIVE" "EXCLUSIVE" "SHARE ROW EXCLUSIVE" "SHARE"; do
      if [ "$role" = registry_reader ]; then login=postgres; else login=authenticator; fi
      r=$(psql -X -q -At -U "$login" -d "$db" -c "BEGIN" -c "SET LOCAL ROLE $role" -c "SET LOCAL lock_timeout = '2s'" \
               -c "LOCK TABLE public.$t IN $mode MODE" -c "ROLLBACK" 2>&1)
      case "$r" in *"permission denied"*) ;; *) locks+="$role locks $t in $mode mode: ${r:-granted}"$'\n' ;; esac
    done
  done
done
tap_is "$locks" "" "no table or view of public can be locked by anon, authenticated or registry_reader in a mode that blocks other tenants' writes"
# service_role (the backend key, BYPASSRLS) keeps table-level UPDATE and DELETE and so can lock
# a table; it cannot TRUNCATE (docs/security.md says why, and must change with this).
as_service() { psql -X -q -At -U authenticator -d "$db" -c "BEGIN" -c "SET LOCAL ROLE service_role" -c "SET LOCAL lock_timeout = '2s'" -c "$1" -c "ROLLBACK" 2>&1; }
tap_is "$(as_service "LOCK TABLE public.kpis IN ACCESS EXCLUSIVE MODE")" "" "service_role can LOCK public.kpis IN ACCESS EXCLUSIVE MODE (as docs/security.md states)"
tap_like "$(as_service "TRUNCATE public.kpis")" "permission denied for table kpis" "service_role cannot TRUNCATE public.kpis"

# ---- the same persona x table x operation matrix as on plain PostgreSQL
q -f "$here/rls_matrix/single_tenant.sql" >/dev/null && q -f "$here/rls_matrix/tenants.sql" >/dev/null
tap_ok $? "the single-tenant and the two client tenants' rows load"
q -f "$here/rls_matrix/matrix.sql" >"$work/matrix.result" 2>&1
if diff -u "$here/rls_matrix/matrix.out" "$work/matrix.result" >"$work/matrix.diff"; then
  tap_ok 0 "persona x table x operation matrix matches rls_matrix/matrix.out (as on plain PostgreSQL)"
else
  tap_ok 1 "persona x table x operation matrix matches rls_matrix/matrix.out (as on plain PostgreSQL)"
  head -60 "$work/matrix.diff" | sed 's/^/#   /'
fi
. "$here/rls_matrix/copy_cells.sh"
copy_cells "$db" >"$work/copy.result" 2>&1
if diff -u "$here/rls_matrix/copy.out" "$work/copy.result" >"$work/copy.diff"; then
  tap_ok 0 "COPY per API role and table matches rls_matrix/copy.out (as on plain PostgreSQL)"
else
  tap_ok 1 "COPY per API role and table matches rls_matrix/copy.out (as on plain PostgreSQL)"
  head -40 "$work/copy.diff" | sed 's/^/#   /'
fi
tap_done
