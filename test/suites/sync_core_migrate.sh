#!/usr/bin/env bash
# registry-sync migrate / status / repair against the check cluster: from empty, re-run,
# concurrent runs, edited files, dry run, CLI-applied history, failing files, missing
# privileges, unavailable extensions, and adoption of January 2026 databases.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
db_prefix=sc_mig_$$
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql_error() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1 >/dev/null; }  # the error of a statement
newdb() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }
migrations=$repo/migrations
nfiles=$(ls "$migrations"/*.sql | wc -l)

# ---- command line
out=$("$rs" migrate --help 2>&1); rc=$?
tap_is "$rc" 0 "migrate --help exits 0"
tap_like "$out" "^examples:" "migrate --help shows examples"
out=$("$rs" status --dir "$work/nowhere" 2>&1); rc=$?
tap_is "$rc" 2 "a missing migrations directory is a usage error (exit 2)"
tap_like "$out" "migrations directory '$work/nowhere' not found" "naming the directory"
out=$("$rs" migrate --no-such-flag 2>&1); rc=$?
tap_is "$rc" 2 "an unknown flag is a usage error (exit 2)"
mkdir "$work/dup"; echo "select 1;" > "$work/dup/0001_a.sql"; echo "select 2;" > "$work/dup/0001_b.sql"
out=$("$rs" status --dir "$work/dup" 2>&1); rc=$?
tap_is "$rc" 1 "two files with one version are refused (exit 1)"
tap_like "$out" "two migrations share version 0001" "naming the version"

# ---- from empty
db=${db_prefix}_fresh; newdb "$db"
out=$("$rs" migrate --dir "$migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "migrate on an empty database exits 0"
tap_is "$(grep -c '^applied .*\.sql' <<<"$out")" "$nfiles" "migrate applies every file once"
tap_is "$(q "$db" "select count(*) from supabase_migrations.schema_migrations")" "$nfiles" "history has one row per file"
tap_is "$(q "$db" "select count(*) from supabase_migrations.schema_migrations h join supabase_migrations.registry_sync_checksums c using (version) where h.name is not null and cardinality(h.statements) > 0 and length(c.checksum) = 64")" \
  "$nfiles" "each row has name, statements and a sha256 checksum"
tap_is "$(q "$db" "select string_agg(c, ',' order by c) from (select table_name::text c from information_schema.tables where table_schema='public' and table_type='BASE TABLE') t")" \
  "business_glossary_terms,business_processes,consulting_personas,council_preset_members,council_presets,data_products,kpis,principal_directory,principal_profiles,registry_documents" \
  "the nine registry tables and the principal directory exist"
tap_is "$(q "$db" "select string_agg(column_name || ':' || data_type, ',' order by column_name) from information_schema.columns where table_name='principal_profiles' and column_name in ('employee_id','email','manager_id','status','hr_source','hr_created','last_hr_sync_at','auth_user_id')")" \
  "auth_user_id:uuid,email:text,employee_id:text,hr_created:boolean,hr_source:text,last_hr_sync_at:timestamp with time zone,manager_id:text,status:text" \
  "principal_profiles has the HR and auth columns with their types"
tap_is "$(q "$db" "select count(*) from pg_tables where schemaname='registry_sync' and tablename in ('sync_runs','watermarks')")" 2 "registry_sync.sync_runs and watermarks exist"
q "$db" "insert into principal_profiles (id, name, employee_id) values ('a','A','E1')" >/dev/null
# (by the error, not psql's exit status: any mistake in the statement would exit 1 too)
tap_like "$(sql_error "$db" "insert into principal_profiles (id, name, employee_id) values ('b','B','E1')")" \
  'duplicate key value violates unique constraint "principal_profiles_employee_id_key"' "employee_id is unique when present"
tap_is "$(q "$db" "insert into principal_profiles (id, name, employee_id) values ('b','B',null), ('b2','B2',null) returning id" | tr '\n' ' ')" "b b2 " \
  "profiles without employee_id do not collide"
tap_like "$(sql_error "$db" "insert into principal_profiles (id, name, status) values ('c','C','gone')")" \
  'violates check constraint "principal_profiles_status_check"' "status accepts only active/inactive"
tap_is "$(q "$db" "insert into principal_profiles (id, name, status) values ('c','C','inactive') returning status")" inactive "status accepts inactive"
q "$db" "update principal_profiles set name='A2', updated_at = '2000-01-01' where id='a'" >/dev/null
tap_is "$(q "$db" "select updated_at > now() - interval '1 hour' from principal_profiles where id='a'")" t "updated_at trigger sets the time on update"
tap_is "$(q "$db" "select count(*) from pg_indexes where schemaname='public' and indexdef like '%USING gin (business_process_ids)%' or indexdef like '%USING gin (related_business_processes)%'")" 3 \
  "GIN indexes on the three array reference columns"
tap_is "$(q "$db" "set enable_seqscan=off; explain (costs off) select id from principal_profiles where to_tsvector('english'::regconfig, principal_profiles_search_text(name, title, description, responsibilities)) @@ to_tsquery('english','ebit')" | grep -c principal_profiles_search_idx)" 1 \
  "the full-text index covers name, title, description and responsibilities"
tap_like "$(sql_error "$db" "insert into council_preset_members (preset_id, persona_id, position) values ('nope','nobody',1)")" \
  'violates foreign key constraint "council_preset_members_(preset|persona)_fkey"' "council_preset_members has native foreign keys"
tap_is "$(q "$db" "select has_schema_privilege('public', 'registry_sync', 'usage')")" f "registry_sync is not reachable by PUBLIC"

tap_is "$(q "$db" "select count(*) filter (where audit.is_tracked(c.oid::regclass)) || '/' || count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' and c.relname <> 'principal_directory'")" "9/9" \
  "audit tracking is enabled on every registry table (principal_directory is a copy of principal_profiles' directory columns)"
q "$db" "insert into kpis (id, name, domain, data_product_id, thresholds) values ('gr', 'GR', 'Finance', 'FI', '[{\"comparison_type\": \"yoy\", \"green_threshold\": 0.1, \"yellow_threshold\": 0, \"red_threshold\": -0.05, \"inverse_logic\": false}, {\"comparison_type\": \"mom\", \"green_threshold\": 0.05, \"yellow_threshold\": 0, \"red_threshold\": -0.03, \"inverse_logic\": false}]')" >/dev/null
q "$db" "update kpis set name = 'GR2' where id = 'gr'" >/dev/null
q "$db" "update kpis set thresholds = '[{\"comparison_type\": \"yoy\", \"green_threshold\": 0.12, \"yellow_threshold\": 0.01, \"red_threshold\": -0.04, \"inverse_logic\": true}]' where id = 'gr'" >/dev/null
tap_is "$(q "$db" "select string_agg(concat_ws(':', kpi_id, comparison_type, green_threshold, yellow_threshold, red_threshold, inverse_logic, effective_to is null), ' ' order by version_id, comparison_type) from kpi_threshold_history")" \
  "gr:mom:0.05:0:-0.03:f:f gr:yoy:0.1:0:-0.05:f:f gr:yoy:0.12:0.01:-0.04:t:t" \
  "kpi_threshold_history: one period per threshold change (a name change starts none), the latest still in force"
q "$db" "delete from kpis where id = 'gr'" >/dev/null
tap_is "$(q "$db" "select count(*) from kpi_threshold_history where effective_to is null")" 0 "kpi_threshold_history: a delete ends the period"

# ---- re-run is a no-op
before=$(q "$db" "select string_agg(version || c.applied_at::text, ',' order by version) from supabase_migrations.registry_sync_checksums c")
out=$("$rs" migrate --dir "$migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "second migrate exits 0"
tap_like "$out" "database is up to date" "second migrate says up to date"
tap_is "$(q "$db" "select string_agg(version || c.applied_at::text, ',' order by version) from supabase_migrations.registry_sync_checksums c")" "$before" "second migrate changes no history row"

out=$("$rs" status --dir "$migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "status exits 0"
tap_like "$out" "summary: $nfiles applied, 0 pending, 0 unavailable, 0 edited" "status counts every file as applied"
tap_like "$out" "features unavailable: none" "status says no feature is unavailable"

# ---- dry run
db=${db_prefix}_dry; newdb "$db"
out=$("$rs" migrate --dry-run --dir "$migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "dry run exits 0"
tap_is "$(grep -c '^would apply' <<<"$out")" "$nfiles" "dry run lists every pending file"
tap_is "$(q "$db" "select count(*) from pg_namespace where nspname in ('supabase_migrations','registry_sync')")" 0 "dry run creates nothing (not even the history table)"
out=$("$rs" status --dir "$migrations" --dbname "$db" --fail-on-pending 2>&1); rc=$?
tap_is "$rc" 1 "status --fail-on-pending exits 1 on a database that is behind"
tap_like "$out" "0 applied, $nfiles pending" "status shows everything pending"

# ---- concurrent runs: both wait on the lock, then exactly one applies
db=${db_prefix}_conc; newdb "$db"
key="('x' || substr(encode(sha256('registry-sync migrate'::bytea), 'hex'), 1, 16))::bit(64)::bigint"
mkfifo "$work/hold"
( psql -X -q -d "$db" -c "select pg_advisory_lock($key)" -c "\\! cat $work/hold >/dev/null" -c "select pg_advisory_unlock($key)" >/dev/null ) &
holder=$!
for _ in $(seq 1 50); do [ "$(q "$db" "select count(*) from pg_locks where locktype='advisory' and granted")" = 1 ] && break; sleep 0.1; done
"$rs" migrate --dir "$migrations" --dbname "$db" >"$work/c1.out" 2>&1 & p1=$!
"$rs" migrate --dir "$migrations" --dbname "$db" >"$work/c2.out" 2>&1 & p2=$!
for _ in $(seq 1 100); do [ "$(q "$db" "select count(*) from pg_locks where locktype='advisory' and not granted")" = 2 ] && break; sleep 0.1; done
tap_is "$(q "$db" "select count(*) from pg_locks where locktype='advisory' and not granted")" 2 "two concurrent migrate runs wait on the advisory lock"
echo > "$work/hold"; wait "$holder"
wait "$p1"; r1=$?; wait "$p2"; r2=$?
tap_is "$r1,$r2" "0,0" "both concurrent runs exit 0"
tap_is "$(cat "$work/c1.out" "$work/c2.out" | grep -c '^applied .*\.sql')" "$nfiles" "together they applied each file exactly once"
tap_is "$(q "$db" "select count(*), count(distinct version) from supabase_migrations.schema_migrations")" "$nfiles|$nfiles" "history has no duplicate"

# ---- edited applied file: refused, named, then accepted by repair
db=${db_prefix}_edit; newdb "$db"
cp -r "$migrations" "$work/mig"
"$rs" migrate --dir "$work/mig" --dbname "$db" >/dev/null 2>&1
edited=$(ls "$work/mig" | sed -n 2p); version=${edited%%_*}
printf '\n-- an edit after the fact\n' >> "$work/mig/$edited"
printf -- '-- a new file\ncreate table public.sc_after_edit (id int);\n' > "$work/mig/29990101000000_after_edit.sql"
out=$("$rs" migrate --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "migrate refuses when an applied file was edited (exit 1)"
tap_like "$out" "$edited" "the refusal names the edited file"
tap_like "$out" "registry-sync repair" "the refusal says how to accept the edit"
tap_is "$(q "$db" "select to_regclass('public.sc_after_edit') is null")" t "nothing later was applied"
out=$("$rs" status --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "status exits 1 when a file was edited"
tap_like "$out" "edited +$edited" "status marks the file as edited"
out=$("$rs" repair "$version" --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "repair accepts the edited file"
tap_is "$(q "$db" "select c.checksum = '$(sha256sum "$work/mig/$edited" | cut -d' ' -f1)' and c.repaired_at is not null from supabase_migrations.registry_sync_checksums c where version = '$version'")" t \
  "repair records the new checksum"
out=$("$rs" migrate --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "after repair migrate runs again"
tap_is "$(q "$db" "select to_regclass('public.sc_after_edit') is not null")" t "and applies the later file"
out=$("$rs" repair 29990101000001 --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 2 "repair of an unknown version is a usage error"

# ---- versions applied by the Supabase CLI (no checksum row): compared by statements
q "$db" "delete from supabase_migrations.registry_sync_checksums where version = '29990101000000'" >/dev/null
out=$("$rs" migrate --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "a CLI-applied version with the same statements is accepted"
tap_is "$(q "$db" "select count(*) from supabase_migrations.registry_sync_checksums where version = '29990101000000'")" 1 "and its checksum is backfilled"
q "$db" "delete from supabase_migrations.registry_sync_checksums where version = '29990101000000'; update supabase_migrations.schema_migrations set statements = array['create table public.sc_after_edit (id bigint)'] where version = '29990101000000'" >/dev/null
out=$("$rs" migrate --dir "$work/mig" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "a CLI-applied version whose statements differ is refused"
tap_like "$out" "29990101000000_after_edit.sql.*statements differ" "naming the file and the reason"
rm -rf "$work/mig"

# ---- a failing file is rolled back whole; earlier files stay
db=${db_prefix}_fail; newdb "$db"
mkdir "$work/bad"
printf 'create table public.sc_ok (id int);\n' > "$work/bad/1000_ok.sql"
printf -- '-- two statements; the second fails\ncreate table public.sc_half (id int);\n\ninsert into public.sc_missing values (1);\n' > "$work/bad/1001_broken.sql"
out=$("$rs" migrate --dir "$work/bad" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "a failing migration exits 1"
tap_like "$out" "1001_broken.sql:4: statement 2 of 2 failed: .*sc_missing" "the error names file, line and statement"
tap_is "$(q "$db" "select to_regclass('public.sc_ok') is not null, to_regclass('public.sc_half') is null")" "t|t" "the earlier file stays, the failing file leaves no table"
tap_is "$(q "$db" "select string_agg(version, ',') from supabase_migrations.schema_migrations")" 1000 "only the earlier file is recorded"

# ---- a file needing an extension the server does not have is skipped and reported
printf -- '-- registry-sync: requires-extension sc_no_such_extension\n-- registry-sync: feature the test feature\ncreate extension sc_no_such_extension;\n' > "$work/bad/1001_broken.sql"
printf 'create table public.sc_later (id int);\n' > "$work/bad/1002_later.sql"
out=$("$rs" migrate --dir "$work/bad" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 0 "migrate skips a file whose extension is unavailable (exit 0)"
tap_like "$out" "skipped 1001_broken.sql: needs extension sc_no_such_extension" "with a notice naming the extension"
tap_is "$(q "$db" "select to_regclass('public.sc_later') is not null")" t "later files still apply"
out=$("$rs" status --dir "$work/bad" --dbname "$db" 2>&1)
tap_like "$out" "feature unavailable: the test feature" "status lists the unavailable feature"
tap_like "$out" "^summary: 2 applied, 0 pending, 1 unavailable, 0 edited$" "status counts the file as unavailable"

# ---- missing privileges
db=${db_prefix}_priv; newdb "$db"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP ROLE IF EXISTS sc_weak_$$" -c "CREATE ROLE sc_weak_$$ LOGIN" >/dev/null
q "$db" "revoke create on schema public from public" >/dev/null
out=$("$rs" migrate --dir "$migrations" --dbname "$db" --user "sc_weak_$$" 2>&1); rc=$?
tap_is "$rc" 3 "migrate as a role without CREATE privileges exits 3"
tap_like "$out" "permission denied.*lacks a privilege" "and says a privilege is missing"
tap_is "$(q "$db" "select count(*) from pg_namespace where nspname = 'supabase_migrations'")" 0 "nothing was created"

# ---- adoption of January 2026 databases (with and without the CLI's history rows)
for with_history in 1 0; do
  db=${db_prefix}_legacy$with_history; newdb "$db"
  (cd test/fixtures/legacy-2026-01 && psql -X -q -v ON_ERROR_STOP=1 -v with_history=$with_history -d "$db" -f load.sql >/dev/null)
  snapshot="select string_agg(t || ':' || n || ':' || h, ' ' order by t) from (
    select 'glossary' t, count(*) n, md5(string_agg(x::text, '|' order by x.id)) h from (select id, term, definition, aliases, tags, metadata, created_at from business_glossary_terms) x
    union all select 'processes', count(*), md5(string_agg(x::text, '|' order by x.id)) from (select id, name, domain, description, owner_role, stakeholder_roles, display_name, tags, metadata, created_at, updated_at from business_processes) x
    union all select 'principals', count(*), md5(string_agg(x::text, '|' order by x.id)) from (select id, name, title, first_name, last_name, role, department, source, description, responsibilities, business_process_ids, default_filters, typical_timeframes, principal_groups, persona_profile, preferences, permissions, time_frame, communication, metadata, created_at, updated_at from principal_profiles) x
    union all select 'kpis', count(*), md5(string_agg(x::text, '|' order by x.id)) from (select id, name, domain, description, unit, data_product_id, view_name, business_process_ids, sql_query, filters, thresholds, dimensions, tags, synonyms, owner_role, stakeholder_roles, metadata, created_at, updated_at from kpis) x
    union all select 'products', count(*), md5(string_agg(x::text, '|' order by x.id)) from (select id, name, domain, description, owner, version, related_business_processes, tags, metadata, tables, views, yaml_contract_path, output_path, last_updated, reviewed, language, documentation, created_at, updated_at from data_products) x) s"
  before=$(q "$db" "$snapshot")
  tap_like "$before" "glossary:11:.* kpis:20:.* principals:4:.* processes:31:.* products:7:" "legacy$with_history: the January database holds the 73 rows"
  out=$("$rs" status --dir "$migrations" --dbname "$db" 2>&1)
  tap_like "$out" "will adopt the existing January 2026 tables" "legacy$with_history: status announces the adoption"
  out=$("$rs" migrate --dir "$migrations" --dbname "$db" 2>&1); rc=$?
  tap_is "$rc" 0 "legacy$with_history: migrate adopts the database (exit 0)"
  tap_like "$out" "adopted the January 2026 schema" "legacy$with_history: migrate says it adopted"
  tap_is "$(q "$db" "$snapshot")" "$before" "legacy$with_history: every row is unchanged (values and timestamps)"
  tap_is "$(q "$db" "select count(*) from principal_profiles where status = 'active' and not hr_created and hr_source is null")" 4 \
    "legacy$with_history: old profiles get the HR defaults"
  tap_is "$(q "$db" "select count(*) from pg_trigger where tgname = 'update_business_glossary_terms_updated_at'")" 1 \
    "legacy$with_history: the glossary gains its updated_at trigger"
  tap_like "$(q "$db" "select indexdef from pg_indexes where indexname = 'principal_profiles_search_idx'")" "principal_profiles_search_text" \
    "legacy$with_history: the name+title search index is replaced by the four-column one"
  out=$("$rs" status --dir "$migrations" --dbname "$db" 2>&1)
  tap_like "$out" "summary: $nfiles applied, 0 pending" "legacy$with_history: status shows everything applied"
  if [ "$with_history" = 1 ]; then
    tap_like "$out" "legacy +0001_business_glossary +January 2026 migration" "legacy1: status shows the CLI's January versions as superseded"
  fi
  out=$("$rs" migrate --dir "$migrations" --dbname "$db" 2>&1)
  tap_like "$out" "database is up to date" "legacy$with_history: a second migrate is a no-op"
done

# ---- a database whose tables do not match the January shape is refused untouched
db=${db_prefix}_odd; newdb "$db"
q "$db" "create table public.kpis (id text primary key, name text, thresholds text)" >/dev/null
out=$("$rs" migrate --dir "$migrations" --dbname "$db" 2>&1); rc=$?
tap_is "$rc" 1 "migrate refuses to adopt tables that do not match (exit 1)"
tap_like "$out" "public.kpis: column thresholds is text, expected jsonb" "naming each mismatch"
tap_is "$(q "$db" "select count(*) from pg_namespace where nspname = 'supabase_migrations'")" 0 "and changes nothing"

for d in fresh dry conc edit fail priv legacy1 legacy0 odd; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${db_prefix}_$d" >/dev/null 2>&1; done
psql -X -q -d postgres -c "DROP ROLE IF EXISTS sc_weak_$$" >/dev/null 2>&1
tap_done
