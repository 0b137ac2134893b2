#!/usr/bin/env bash
# examples/ci/registry-ci.sh, the script examples/ci/github-actions.yml calls, against this
# run's throw-away cluster: the pull-request path (empty database, previous release, schema-only
# production copy, diff in the summary) and the deploy path (check, migrate under lock_timeout,
# apply, smoke checks), and that a failing step stops the deploy before any registry row is written.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
ci=$repo/examples/ci/registry-ci.sh
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
newdb() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }
export REGISTRY_SYNC=$rs REGISTRY=$repo/examples/registry-2026-01 ON_DANGLING=drop MAPPING=$repo/config/registry-mapping.yaml
# The registry repository: the previous release is this repository's migrations; the pull
# request adds one migration (a nullable column: safe) on top.
prev=$repo/migrations
cur=$work/cur; mkdir "$cur"; cp "$repo"/migrations/*.sql "$cur"/
printf -- '-- KPI owners may leave a note for the next review\nalter table public.kpis add column review_note text;\n' >"$cur/20991201000000_kpi_review_note.sql"
# a schema-only copy of "production" (at the previous release, holding rows), as the workflow makes it
prod=cie_prod_$$; newdb "$prod"
"$rs" migrate --dir "$prev" --dbname "$prod" >/dev/null 2>&1
"$rs" apply --registry "$REGISTRY" --mapping "$MAPPING" --on-dangling drop --dbname "$prod" >/dev/null 2>&1
tap_ok "$([ "$(q "$prod" "select count(*) from public.kpis")" -gt 0 ]; echo $?)" "the production stand-in holds registry rows"
{ pg_dump --schema-only -d "$prod"; pg_dump --data-only --schema=supabase_migrations -d "$prod"; } >"$work/prod-schema.sql"

# ---- pull request path
out=$(cd "$work" && MIGRATIONS=$cur PREVIOUS_MIGRATIONS=$prev PROD_SCHEMA=$work/prod-schema.sql SUMMARY=$work/pr.md "$ci" pr 2>"$work/pr.err"); rc=$?
tap_is "$rc" 0 "pr: every step passes for this repository's migrations and the example registry"
[ "$rc" = 0 ] || tail -20 "$work/pr.err" | sed 's/^/# /'
summary=$(cat "$work/pr.md")
for s in "validate the registry: ok" "migrate --check (empty database): ok" "migrate (from the previous release): ok" \
         "migrate --check (production schema): ok" "apply --dry-run: the diff this PR makes (ci_prod): ok"; do
  tap_like "$summary" "### ${s//(/\\(}" "pr summary: $s"
done
tap_like "$summary" "kpis: [0-9]+ added" "the job summary shows apply's diff per table"
tap_is "$(psql -X -Atq -d postgres -c "select count(*) from pg_database where datname like 'ci\_%'")" 0 "pr drops its throw-away databases"

# a pull request adding an unsafe migration fails at migrate --check, naming file:line
bad=$work/bad; mkdir "$bad"; cp "$cur"/*.sql "$bad"/
printf 'create index kpis_name_idx on public.kpis (name);\n' >"$bad/20991231000000_index.sql"
out=$(cd "$work" && MIGRATIONS=$bad PROD_SCHEMA=$work/prod-schema.sql SUMMARY=$work/bad.md "$ci" pr 2>&1); rc=$?
tap_is "$rc" 1 "pr: an unsafe migration fails the check (exit 1)"
tap_like "$(cat "$work/bad.md")" "Stopped at: migrate --check \(production schema\)" "at the production-schema check"
tap_like "$(cat "$work/bad.md")" "20991231000000_index.sql:1: index: " "naming file:line and the rule"

# ---- deploy path, onto a copy of production (PG* variables name the target)
target=cie_target_$$; newdb "$target"
"$rs" migrate --dir "$prev" --dbname "$target" >/dev/null 2>&1
kpis_before=$(q "$target" "select count(*) from public.kpis")
# a migration that needs a lock someone else holds: lock_timeout ends it, apply never runs
PGAPPNAME=cie_lock_holder psql -X -q -d "$target" -c "begin; lock table public.kpis in access share mode; select pg_sleep(30); commit" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do [ "$(q "$target" "select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'kpis' and l.granted and l.pid <> pg_backend_pid()")" -gt 0 ] && break; sleep 0.1; done
out=$(cd "$work" && PGDATABASE=$target MIGRATIONS=$cur LOCK_TIMEOUT_SECONDS=1 SUMMARY=$work/locked.md "$ci" deploy 2>&1); rc=$?
q "$target" "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'cie_lock_holder'" >/dev/null
wait "$holder" 2>/dev/null
tap_ok "$([ "$rc" != 0 ]; echo $?)" "deploy: a migration blocked by a held lock fails (lock_timeout), exit $rc"
tap_like "$(cat "$work/locked.md")" "Stopped at: migrate \(lock_timeout 1s\)" "it stops at the migrate step"
tap_like "$out" "lock timeout" "naming the lock timeout"
tap_is "$(q "$target" "select count(*) from public.kpis")" "$kpis_before" "no registry row was written"
tap_is "$(q "$target" "select count(*) from registry_sync.sync_runs where command = 'apply' and started_at > now() - interval '1 minute'" 2>/dev/null || echo 0)" 0 "apply did not run"

# (as the workflow does: the target named by DATABASE_URL only)
out=$(cd "$work" && DATABASE_URL="postgresql:///$target?host=$PGHOST&port=$PGPORT" PGDATABASE=no_such_db MIGRATIONS=$cur SUMMARY=$work/deploy.md "$ci" deploy 2>&1); rc=$?
tap_is "$rc" 0 "deploy: passes once the lock is gone (target given as DATABASE_URL)"
[ "$rc" = 0 ] || grep -A8 "^== migrate" <<<"$out" | sed "s/^/# /"
summary=$(cat "$work/deploy.md")
for s in "migrate --check: ok" "migrate (lock_timeout 5s): ok" "apply: ok" "smoke: apply is idempotent: ok" "smoke: registry tables hold rows: ok"; do
  tap_like "$summary" "### ${s//(/\\(}" "deploy summary: $s"
done
tap_is "$("$rs" status --fail-on-pending --dir "$cur" --dbname "$target" >/dev/null 2>&1; echo $?)" 0 "the target is fully migrated"

# a deploy whose registry is invalid stops before migrating
broken=$work/broken; cp -R "$REGISTRY" "$broken"; printf 'kpis:\n  - id: [unclosed\n' >"$broken/kpi_registry.yaml"
bad_m=$work/bad_m; mkdir "$bad_m"; cp "$cur"/*.sql "$bad_m"/
printf 'create table public.ci_new (id int);\n' >"$bad_m/20991231000001_new.sql"
out=$(cd "$work" && PGDATABASE=$target REGISTRY=$broken MIGRATIONS=$bad_m SUMMARY=$work/broken.md "$ci" deploy 2>&1); rc=$?
tap_is "$rc" 1 "deploy: an invalid registry fails validation (exit 1)"
tap_is "$(q "$target" "select count(*) from supabase_migrations.schema_migrations where version = '20991231000001'")" 0 "before any migration ran"

# this repository's own history: from the 25 November release every later file passes the
# check (the watermark type change carries its allow-destructive marker) ...
old=$work/old; mkdir "$old"; cp "$repo"/migrations/202611251*.sql "$old"/
olddb=cie_old_$$; newdb "$olddb"
"$rs" migrate --dir "$old" --dbname "$olddb" >/dev/null 2>&1
out=$("$rs" migrate --check --dir "$repo/migrations" --dbname "$olddb" 2>&1); rc=$?
tap_is "$rc" 0 "from the 25 November migrations, migrate --check accepts this repository's later files ($out)"
# ... and without the marker the same change is flagged
unmarked=$work/unmarked; mkdir "$unmarked"; cp "$repo"/migrations/*.sql "$unmarked"/
sed -i '/registry-sync: allow-destructive/d' "$unmarked"/20261130120000_watermark_timestamptz.sql
out=$("$rs" migrate --check --dir "$unmarked" --dbname "$olddb" 2>&1); rc=$?
tap_is "$rc" 1 "the same history with the watermark file's marker removed is refused"
tap_like "$out" "20261130120000_watermark_timestamptz.sql:5: destructive: ALTER TABLE registry_sync.watermarks ALTER COLUMN value TYPE" \
  "the unmarked watermark type change is named with file:line"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $olddb" >/dev/null 2>&1

out=$("$ci" 2>&1); rc=$?
tap_is "$rc" 2 "no mode is a usage error (exit 2)"
for d in "$prod" "$target"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done
tap_done
