#!/usr/bin/env bash
# The registry on a database prepared as Supabase prepares one (roles, default privileges that
# give anon / authenticated / service_role ALL on every new object in public, the auth schema),
# migrated with `registry-sync migrate`: every privilege the API roles hold on our objects
# equals rls_matrix/supabase_privileges.out; Supabase's security lints
# (test/lib/supabase_security_lints.sql) find nothing; no API role can lock a table for every
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

# ---- Supabase's security advisor. The lints of Supabase's splinter.sql must find nothing at
# ERROR or WARN level but guard.reference (the extension's reference catalog: readable by
# PUBLIC, unreachable without USAGE on schema guard). The newer SECURITY DEFINER lints (0028 /
# 0029: executable by anon / authenticated) find only the one intentional helper of ours, which
# returns the request's own tenant: pinned here so that any new one fails the test.
qa -F ' | ' -f "$repo/test/lib/supabase_security_lints.sql" >"$work/lints" 2>&1
lints=$(grep -E '\| (ERROR|WARN) \|' "$work/lints" | grep -v '_security_definer_function_executable |')
tap_is "$(grep -v '| guard\.' <<<"$lints")" "" "Supabase's security lints report no ERROR or WARN finding on the migrations' objects"
tap_is "$(grep '| guard\.' <<<"$lints")" "rls_disabled_in_public | ERROR | guard.reference" \
  "on the extension's objects: only guard.reference, readable by PUBLIC without row-level security"
tap_is "$(grep '^authenticated_security_definer_function_executable |' "$work/lints" | cut -d'|' -f3 | sed 's/^ //' | tr '\n' ';')" \
  "registry_private.kpi_threshold_versions();" \
  "the only SECURITY DEFINER function authenticated may execute is registry_private.kpi_threshold_versions() (its own tenant's KPI versions)"
tap_is "$(grep -c '^anon_security_definer_function_executable |' "$work/lints")" 0 "anon may execute no SECURITY DEFINER function"
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
