#!/usr/bin/env bash
# guard.rls_report() on the registry as it runs on Supabase: a database prepared as Supabase
# prepares one (test/fixtures/supabase/prepare.sql: its roles, authenticator, default privileges
# giving the API roles ALL on every new object in public, the auth schema), migrated with
# `registry-sync migrate`. The report must be empty there, and must find each attacker's way in
# when it is put back on that database (the issue-13 findings: a table-level UPDATE that lets
# authenticated lock a table for every tenant, the default privileges on the audit trail's view,
# a tenant predicate that holds without a tenant, a SECURITY DEFINER function in public that
# returns every tenant's rows, an API role missing from registry_guard.api_roles).
# Runs its own cluster: Supabase's roles are cluster-wide.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/test/lib/tap.sh"
. "$repo/test/lib/pgcluster.sh"
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
trap 'pgc_stop' EXIT
pgc_start rls-report-supabase >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
db=registry
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
qa() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
report() { qa -F ' | ' -c "SELECT object, severity, finding FROM guard.rls_report()" 2>&1 || echo "guard.rls_report() failed"; }
psql -X -q -d postgres -c "CREATE DATABASE $db" || { tap_ok 1 "create database"; tap_done; }

q -f "$repo/test/fixtures/supabase/prepare.sql" >/dev/null
tap_ok $? "the database is prepared as Supabase prepares one"
out=$("$rs" migrate --dir "$repo/migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "registry-sync migrate applies every migration"
[ "$rc" = 0 ] || echo "$out" | tail -20 | sed 's/^/#   /'

got=$(report)
tap_is "$got" "" "guard.rls_report() has no finding on the registry migrated over Supabase's default privileges"
[ -z "$got" ] || echo "$got" | cut -c1-300 | sed 's/^/#   /'

# Each way in, put back one at a time (and taken out again): the report names it.
finds() {  # finds <description> <grep pattern> <sql to break> <sql to repair>
  local desc=$1 pattern=$2 break_sql=$3 repair_sql=$4 got
  q -c "$break_sql" >/dev/null
  got=$(report)
  tap_like "$got" "$pattern" "$desc"
  q -c "$repair_sql" >/dev/null
}
finds "authenticated's table-level UPDATE on kpis: LOCK TABLE for every tenant" \
  'table public\.kpis \| error \| authenticated holds UPDATE on this table but no policy lets it use it: it lets authenticated LOCK TABLE public\.kpis IN ACCESS EXCLUSIVE MODE' \
  "GRANT UPDATE ON public.kpis TO authenticated" "REVOKE UPDATE ON public.kpis FROM authenticated"
finds "the default privileges on the audit trail's view: every tenant's thresholds, and a LOCK" \
  'view public\.kpi_threshold_history \| error \| anon holds UPDATE on this view but the view cannot use it' \
  "GRANT ALL ON public.kpi_threshold_history TO anon" "REVOKE ALL ON public.kpi_threshold_history FROM anon"
tap_is "$(report)" "" "... and the view's grant restored leaves no finding"
finds "a tenant predicate that holds without a tenant (client_id = coalesce(guard.client_id(), client_id))" \
  'policy widened on public\.business_processes \| error \| tenant predicate \(USING\) does not depend on the request: a row of one tenant passes for a request without a tenant' \
  "ALTER POLICY guard_tenant_isolation ON public.business_processes RENAME TO widened;
   ALTER POLICY widened ON public.business_processes USING (client_id = coalesce(guard.client_id(), client_id))" \
  "DROP POLICY widened ON public.business_processes; SELECT guard.rls_tenant_isolation('public.business_processes')"
finds "a SECURITY DEFINER function in public (EXECUTE by default privileges) returning every tenant's KPIs" \
  'function public\.all_kpis\(\) \| error \| anon, authenticated can execute this SECURITY DEFINER function, which reads public\.kpis' \
  "CREATE FUNCTION public.all_kpis() RETURNS SETOF public.kpis LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS 'SELECT * FROM public.kpis'" \
  "DROP FUNCTION public.all_kpis()"
finds "an API role that authenticator switches to, missing from registry_guard.api_roles" \
  'role partner_api \| error \| partner_api is an API role \(the API gateway.s login role authenticator can switch to it\) but registry_guard.api_roles does not list it' \
  "CREATE ROLE partner_api NOLOGIN; GRANT partner_api TO authenticator" "DROP ROLE partner_api"
tap_is "$(report)" "" "repaired, the report is empty again"

# Supabase's linter is the floor: on scratch objects in public (which Supabase's default
# privileges open to the API roles), every finding of its lints for RLS disabled in public,
# policies without RLS, SECURITY DEFINER views, a mutable search_path and exposed auth tables
# (test/lib/supabase_security_lints.sql) names an object guard.rls_report() reports too.
q >/dev/null <<'SQL'
CREATE TABLE public.floor_open (id int PRIMARY KEY);
CREATE TABLE public.floor_policy (id int PRIMARY KEY);
CREATE POLICY meant ON public.floor_policy USING (true);
CREATE VIEW public.floor_view AS SELECT 1 AS one;
CREATE VIEW public.floor_users AS SELECT id, email FROM auth.users;
CREATE FUNCTION public.floor_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
SQL
floor_lints='^(auth_users_exposed|policy_exists_rls_disabled|security_definer_view|function_search_path_mutable|rls_disabled_in_public)$'
lints=$(qa -F '|' -f "$repo/test/lib/supabase_security_lints.sql" | awk -F'|' -v re="$floor_lints" '$1 ~ re && $3 ~ /floor_/ {print $1 "|" $3}' | sort)
tap_is "$(echo "$lints" | cut -d'|' -f1 | tr '\n' ' ')" \
  "auth_users_exposed function_search_path_mutable policy_exists_rls_disabled rls_disabled_in_public rls_disabled_in_public security_definer_view security_definer_view " \
  "Supabase's lints find the seven floor cases"
objects=$(qa -c "SELECT object FROM guard.rls_report()" 2>&1)
missing=""
while IFS='|' read -r lint obj; do
  key=${obj%%(*}
  grep -qE " ${key//./\\.}(\(|$)" <<<"$objects" || missing+="$lint $obj; "
done <<<"$lints"
tap_is "$missing" "" "guard.rls_report() reports every object those lints report"
tap_done
