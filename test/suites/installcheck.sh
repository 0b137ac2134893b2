#!/usr/bin/env bash
# `make installcheck` (the PGXS habit: check the installed extension on one's own server)
# against a running server that already has the Supabase API roles (anon, authenticated,
# service_role, authenticator) and the registry's registry_reader, with grants that depend on
# them: it passes twice in a row and leaves every role, attribute, membership and grant as it
# found them. Then once more on a server without those roles: none is left behind.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
work=$(mktemp -d)
trap 'pgc_stop; rm -rf "$work"' EXIT
pgc_start rg-installcheck || { tap_ok 1 "a cluster for installcheck starts"; tap_done; }
chmod 777 "$work"

# Everything cluster-wide a test could leave behind or take away: roles with their attributes,
# memberships, and the grants of the API roles in this database.
server_state() {
  psql -X -At -d postgres <<'SQL'
SELECT 'role ' || rolname || ' super=' || rolsuper || ' inherit=' || rolinherit || ' login=' || rolcanlogin
       || ' createrole=' || rolcreaterole || ' bypassrls=' || rolbypassrls || ' config=' || coalesce(array_to_string(rolconfig, ','), '')
  FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname;
SELECT 'member ' || r.rolname || ' in ' || g.rolname
  FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
 WHERE g.rolname !~ '^pg_' ORDER BY 1;
SELECT 'grant ' || grantee || ' ' || privilege_type || ' on ' || table_schema || '.' || table_name
  FROM information_schema.role_table_grants WHERE table_schema = 'supa' ORDER BY 1;
-- (pg_regress keeps its databases, contrib_regression* and isolation_regression*, for a look
-- after the run, and drops them at the start of the next.)
SELECT 'database ' || datname FROM pg_catalog.pg_database
 WHERE datname NOT IN ('template0', 'template1') AND datname !~ '^(contrib|isolation)_regression' ORDER BY 1;
SQL
}

installcheck() {  # installcheck <label>: make installcheck with results kept out of the checkout
  local label=$1 out rc
  rm -rf "$work/regress" "$work/isolation"; mkdir -p "$work/regress" "$work/isolation"
  out=$(make -s installcheck RG_REGRESS_OUT="$work/regress" RG_ISOLATION_OUT="$work/isolation" 2>&1); rc=$?
  tap_is "$rc" 0 "make installcheck $label exits 0"
  [ "$rc" = 0 ] || { echo "$out" | sed 's/^/#   /' | tail -40; cat "$work"/*/regression.diffs 2>/dev/null | sed 's/^/#   /' | head -60; }
  tap_is "$(grep -cE '^# All [0-9]+ tests passed|^ *All [0-9]+ tests passed' <<<"$out")" 2 \
    "make installcheck $label: pg_regress and pg_isolation_regress both report all tests passed"
}

# The server as Supabase sets it up (roles and grants of supabase/postgres' roles.sql, in short).
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' || tap_ok 1 "Supabase roles created"
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
CREATE ROLE registry_reader NOLOGIN;
ALTER ROLE anon SET statement_timeout = '3s';
CREATE SCHEMA supa;
CREATE TABLE supa.todos (id int PRIMARY KEY);
GRANT USAGE ON SCHEMA supa TO anon, authenticated, service_role, registry_reader;
GRANT SELECT ON supa.todos TO anon, authenticated, registry_reader;
GRANT ALL ON supa.todos TO service_role;
SQL
before=$(server_state)
tap_like "$before" "role anon .*config=statement_timeout=3s" "the server has the Supabase API roles before installcheck"
installcheck "(1st run, Supabase roles present)"
tap_is "$(server_state)" "$before" "after the 1st run every role, membership and grant is as found"
installcheck "(2nd run)"
tap_is "$(server_state)" "$before" "after the 2nd run every role, membership and grant is as found"

# Without the API roles: the tests create what they need and drop exactly that.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" -c "DROP SCHEMA supa CASCADE" \
  -c "DROP ROLE authenticator, anon, authenticated, service_role, registry_reader" || tap_ok 1 "roles dropped"
before=$(server_state)
installcheck "(server without the API roles)"
tap_is "$(server_state)" "$before" "on a server without the API roles none is left behind"
tap_done
