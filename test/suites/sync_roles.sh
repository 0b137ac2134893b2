#!/usr/bin/env bash
# registry-sync's own roles (migration …_registry_sync_roles): registry_migrator owns the
# schema and runs migrate; registry_syncer runs apply, hr, export and serve (seal); manifest and
# verify-restore stay with the backup operator. Neither is
# a superuser, has BYPASSRLS or CREATEROLE, nor is an API role. Every registry-sync command is
# run as each role, and what each refuses is shown. Runs its own cluster (roles get LOGIN).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/test/lib/tap.sh"
. "$repo/test/lib/pgcluster.sh"
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); chmod 755 "$work"; serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; pgc_stop; rm -rf "$work"' EXIT
pgc_start sync-roles >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
db=registry
export RGSYNC_MAPPING=$repo/config/registry-mapping.yaml
qa() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
as() { local who=$1; shift; psql -X -q -At -U "$who" -d "$db" -c "$@" 2>&1; }
refused() { case "$1" in *"permission denied"*|*"must be owner"*|*"must be superuser"*|*"must have CREATEROLE"*|*"Only roles with"*|*"row-level security"*) echo refused ;; *) echo "allowed: $1" ;; esac; }
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null || { tap_ok 1 "create database"; tap_done; }

# The administrator's one-time setup (README "Roles for registry-sync"): the extension in its
# schema, the first migrate as a superuser (it creates both roles and hands the objects to
# registry_migrator), then a login for each role.
qa -c "CREATE SCHEMA extensions" -c "CREATE EXTENSION registry_guard WITH SCHEMA extensions" >/dev/null
out=$("$rs" migrate --dir "$repo/migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "the first migrate (as the superuser) applies every migration"
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/#   /'
qa -c "ALTER ROLE registry_migrator LOGIN" -c "ALTER ROLE registry_syncer LOGIN" >/dev/null
tap_is "$(qa -c "SELECT string_agg(format('%s:%s%s%s%s%s', rolname, rolsuper::int, rolbypassrls::int, rolcreaterole::int, rolcreatedb::int, rolreplication::int), ' ' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('registry_migrator', 'registry_syncer')")" \
  "registry_migrator:00000 registry_syncer:00000" "neither role is superuser, BYPASSRLS, CREATEROLE, CREATEDB or REPLICATION"
tap_is "$(qa -c "SELECT count(*) FROM unnest(guard.api_roles()) a JOIN pg_roles r ON r.rolname = a WHERE r.rolname IN ('registry_migrator', 'registry_syncer') OR pg_has_role('registry_migrator', r.oid, 'MEMBER') OR pg_has_role('registry_syncer', r.oid, 'MEMBER')")" \
  0 "neither is an API role nor a member of one (the audit trusts their actor settings)"
tap_is "$(qa -c "SELECT coalesce(string_agg(format('%s %I.%I', c.relkind, n.nspname, c.relname), ', '), 'none') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v', 'S') AND n.nspname IN ('public', 'registry_sync', 'registry_private') AND c.relowner <> 'registry_migrator'::regrole")" \
  "none" "registry_migrator owns every table, view and sequence of public, registry_sync and registry_private"

# ---- registry_migrator runs migrate: a new migration file (a table, its tracking, policies, grants)
mkdir "$work/migrations"; cp "$repo"/migrations/*.sql "$work/migrations/"
cat >"$work/migrations/20991231000000_probe.sql" <<'SQL'
-- A later migration, as registry_migrator runs it: a table with audit tracking and policies.
create table public.probe (client_id text not null default 'default', id text not null, primary key (client_id, id));
select audit.enable_tracking('public.probe'::regclass);
select count(*) from guard.rls_service_write_authenticated_read('public.probe');
select count(*) from guard.rls_tenant_isolation('public.probe');
revoke all on public.probe from public, anon, authenticated, service_role, registry_reader;
grant select on public.probe to authenticated;
grant select, insert, update, delete on public.probe to service_role, registry_syncer;
SQL
cp -r "$work/migrations" "$work/migrations-syncer"
out=$("$rs" migrate --dir "$work/migrations-syncer" --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 3 "registry_syncer cannot migrate (exit 3: privilege failure)"
tap_like "$out" "permission denied for schema public" "naming the missing privilege"
out=$("$rs" migrate --dir "$work/migrations" --dbname "$db" --user registry_migrator 2>&1); rc=$?
tap_is "$rc" 0 "registry_migrator applies a new migration (table, audit tracking, policies, grants)"
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/#   /'
out=$("$rs" status --dir "$work/migrations" --dbname "$db" --user registry_migrator 2>&1); rc=$?
tap_is "$rc" 0 "registry_migrator: status"
out=$("$rs" status --dir "$work/migrations" --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 0 "registry_syncer: status (reads the history)"
echo "-- edited after it was applied" >>"$work/migrations-syncer/20991231000000_probe.sql"
out=$("$rs" repair 20991231000000 --dir "$work/migrations-syncer" --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 3 "registry_syncer cannot repair the history of an edited file (exit 3)"
[ "$rc" = 3 ] || echo "$out" | tail -3 | sed 's/^/#   /'
m=""
m+="create extension: $(refused "$(as registry_migrator "CREATE EXTENSION file_fdw")")"$'\n'
m+="create role: $(refused "$(as registry_migrator "CREATE ROLE probe_role")")"$'\n'
m+="grant itself BYPASSRLS: $(refused "$(as registry_migrator "ALTER ROLE registry_migrator BYPASSRLS")")"$'\n'
m+="disable triggers for the session: $(refused "$(as registry_migrator "SET session_replication_role = replica")")"$'\n'
m+="rewrite the audit trail: $(refused "$(as registry_migrator "UPDATE audit.version_log SET image = NULL")")"$'\n'
m+="set the default tenant: $(refused "$(as registry_migrator "ALTER DATABASE $db SET registry_guard.default_client_id = 'default'")")"
tap_is "$m" "create extension: refused
create role: refused
grant itself BYPASSRLS: refused
disable triggers for the session: refused
rewrite the audit trail: refused
set the default tenant: refused" "registry_migrator refuses superuser work"

# ---- registry_syncer runs apply, export, hr and the seal job
out=$("$rs" apply --registry "$repo/examples/registry-2026-01" --on-dangling=drop --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 0 "registry_syncer: apply into tenant default"
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/#   /'
tap_is "$(qa -c "SELECT count(*) FROM public.kpis WHERE client_id = 'default'")" 20 "the KPIs are written (20 in the YAML)"
tap_is "$(qa -c "SELECT DISTINCT actor || ' run ' || (sync_run_id IS NOT NULL) || ' claimed ' || coalesce(claimed_attribution::text, 'nothing else') FROM audit.record_version WHERE table_name = 'kpis'")" \
  "registry-sync apply run true claimed nothing else" "the audit trusts registry_syncer's actor and sync run"
out=$("$rs" apply --registry "$repo/examples/registry-2026-01" --on-dangling=drop --tenant acme --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 0 "registry_syncer: apply into tenant acme"
tap_is "$(qa -c "SELECT string_agg(client_id || '=' || n, ' ' ORDER BY client_id) FROM (SELECT client_id, count(*) n FROM public.kpis GROUP BY 1) s" | sed 's/=[0-9]*/=n/g')" \
  "acme=n default=n" "each apply wrote its own tenant"
out=$("$rs" apply --registry "$repo/examples/registry-2026-01" --on-dangling=drop --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_like "$out" "0 rows written|nothing to write|unchanged" "a re-apply as registry_syncer writes nothing"
out=$("$rs" export --out "$work/export" --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 0 "registry_syncer: export"
tap_is "$(ls "$work/export" | wc -l | tr -d ' ')" 6 "export writes the six registry files"
cat >"$work/hr.yaml" <<YAML
source: {kind: csv, name: hr-csv, file: $repo/test/fixtures/hr/users.csv}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name, name: "{first_name} {last_name}",
         title: job_title, department: department, email: work_email, manager_id: manager_employee_number}
active: {field: status, values: [Active, Leave]}
create_id_template: "emp_{employee_id}"
YAML
out=$("$rs" hr --mapping "$work/hr.yaml" --allow-mass-deactivation --dbname "$db" --user registry_syncer 2>&1); rc=$?
tap_is "$rc" 0 "registry_syncer: hr"
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/#   /'
tap_is "$(qa -c "SELECT count(*) > 0 FROM public.principal_profiles WHERE hr_source = 'hr-csv' AND client_id = 'default'")" t "HR profiles are written"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/serve.yaml" <<YAML
serve: {listen: "127.0.0.1:$port", migrations_dir: $work/migrations, retry_max_seconds: 1}
jobs:
  seal: {kind: seal, every_seconds: 1}
YAML
"$rs" serve --config "$work/serve.yaml" --dbname "$db" --user registry_syncer >"$work/serve.log" 2>&1 &
serve_pid=$!
sealed=
for _ in $(seq 1 100); do
  sealed=$(qa -c "SELECT count(*) > 0 FROM audit.seal" 2>/dev/null)
  [ "$sealed" = t ] && break; sleep 0.3
done
tap_is "$sealed" t "registry_syncer: serve runs the seal job"
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
tap_is "$ready" 200 "registry_syncer: serve's /readyz (database reachable, migrations current)"
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; serve_pid=

# manifest / verify-restore read every tenant's rows and the whole audit trail: the backup
# operator's work (the role that runs pg_dump), not the daemon's nor the migrator's.
for who in registry_syncer registry_migrator; do
  out=$("$rs" manifest --out "$work/manifest-$who.json" --dbname "$db" --user "$who" 2>&1); rc=$?
  tap_is "$rc" 3 "$who cannot take a backup manifest (exit 3: it may not read the audit trail)"
done

s=""
s+="truncate: $(refused "$(as registry_syncer "TRUNCATE public.kpis")")"$'\n'
s+="alter table: $(refused "$(as registry_syncer "ALTER TABLE public.kpis ADD COLUMN x int")")"$'\n'
s+="create table: $(refused "$(as registry_syncer "CREATE TABLE public.x (id int)")")"$'\n'
s+="drop table: $(refused "$(as registry_syncer "DROP TABLE public.registry_documents")")"$'\n'
s+="create schema: $(refused "$(as registry_syncer "CREATE SCHEMA x")")"$'\n'
s+="delete audit versions: $(refused "$(as registry_syncer "DELETE FROM audit.version_log")")"$'\n'
s+="disable audit tracking: $(refused "$(as registry_syncer "SELECT audit.disable_tracking('public.kpis')")")"$'\n'
s+="drop a reference: $(refused "$(as registry_syncer "SELECT guard.drop_reference('kpis_business_processes')")")"$'\n'
s+="write the directory: $(refused "$(as registry_syncer "DELETE FROM public.principal_directory")")"
tap_is "$s" "truncate: refused
alter table: refused
create table: refused
drop table: refused
create schema: refused
delete audit versions: refused
disable audit tracking: refused
drop a reference: refused
write the directory: refused" "registry_syncer refuses DDL, TRUNCATE and audit or reference changes"
tap_is "$(psql -X -q -At -U registry_syncer -d "$db" -c "SELECT set_config('app.client_id', 'acme', false)" -c "SELECT string_agg(DISTINCT client_id, ',') FROM public.kpis" -c "WITH u AS (UPDATE public.kpis SET name = name WHERE client_id = 'default' RETURNING 1) SELECT 'updated ' || count(*) FROM u" 2>&1 | tail -2 | tr '\n' ' ')" \
  "acme updated 0 " "registry_syncer reads and writes only the tenant it selects (no BYPASSRLS)"
tap_is "$(psql -X -q -At -U registry_syncer -d "$db" -c "SELECT count(*) FROM public.kpis" 2>&1)" 0 "without a tenant it sees no row"
tap_done
