#!/usr/bin/env bash
# Privileges as a test on a migrated database: migrations/*.sql applied in order (psql, one
# transaction per file), then every SECURITY DEFINER function and every relation of the
# schemas audit, guard and registry_sync (the last exists only after the migrations) with its
# grants, compared with privileges_migrated/expected.txt; and nothing of them reachable by
# PUBLIC or the API roles except what is listed there. test/sql/privileges.sql does the same for
# a bare CREATE EXTENSION. A new grant changes the list and must be reviewed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/test/lib/tap.sh"
db=privileges_migrated_$$
psql -X -q -d postgres -c "CREATE DATABASE $db" || { tap_ok 1 "create database"; tap_done; }
work=$(mktemp -d)
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; rm -rf "$work"' EXIT
failed=""
for f in $(ls "$repo"/migrations/*.sql | sort); do
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -1 -f "$f" >/dev/null 2>"$work/err" || { failed=$(basename "$f"); break; }
done
tap_is "$failed" "" "every migration applies ($(head -c 300 "$work/err" 2>/dev/null))"

psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$here/privileges_migrated/acl.sql" > "$work/acl.txt" 2>"$work/err"
tap_ok $? "the privileges are listed ($(head -c 300 "$work/err"))"
diff -u "$here/privileges_migrated/expected.txt" "$work/acl.txt" > "$work/acl.diff"
st=$?
tap_ok $st "the privileges equal privileges_migrated/expected.txt ($(wc -l < "$work/acl.txt") objects)"
[ $st = 0 ] && [ -n "${RG_SHOW_ACL:-}" ] && cat "$work/acl.txt"
[ $st = 0 ] || { sed 's/^/#   /' "$work/acl.diff" | head -60; [ -n "${RG_ACCEPT_ACL:-}" ] && cp "$work/acl.txt" "$here/privileges_migrated/expected.txt"; }

# Nothing in registry_sync for PUBLIC or the API roles; no SECURITY DEFINER function of ours for them.
api_hits=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SELECT string_agg(x, ', ' ORDER BY x) FROM (
  SELECT 'relation ' || c.oid::regclass || ' to ' || r AS x
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
         unnest(ARRAY['public', 'anon', 'authenticated']) r
   WHERE n.nspname = 'registry_sync' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
     AND (r = 'public' OR EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r))
     AND (has_table_privilege(r, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
          OR (c.relkind = 'S' AND has_sequence_privilege(r, c.oid, 'USAGE, SELECT, UPDATE')))
  UNION ALL
  SELECT 'schema registry_sync to ' || r FROM unnest(ARRAY['public', 'anon', 'authenticated']) r
   WHERE (r = 'public' OR EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r))
     AND has_schema_privilege(r, 'registry_sync', 'USAGE')
  UNION ALL
  SELECT 'definer ' || p.oid::regprocedure || ' to ' || r
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace,
         unnest(ARRAY['public', 'anon', 'authenticated']) r
   WHERE n.nspname IN ('audit', 'guard', 'registry_sync') AND p.prosecdef
     AND (r = 'public' OR EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r))
     AND has_function_privilege(r, p.oid, 'EXECUTE')) h
SQL
)
tap_is "$api_hits" "" "registry_sync and our SECURITY DEFINER functions are out of reach of PUBLIC, anon and authenticated"
tap_done
