#!/usr/bin/env bash
# Disaster-recovery drill, logical (managed Supabase has no file access): pg_dump of the
# registry, audit, guard, registry_sync and supabase_migrations schemas and pg_restore
# --disable-triggers into a new, empty cluster, every command run from
# docs/runbooks/restore-logical.md. Checks: no pending or edited migration, every table's row
# count and checksum, audit chain and seal head, references, RLS policies and grants equal to
# the source's; then what a logical restore changes: new table OIDs, so a row's next version
# has a new record_id, while audit.history() still finds its whole history; sealing continues.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
. test/lib/runbook.sh
. test/lib/dr.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-drl.XXXXXX"); chmod 755 "$work"
dst_root=
trap 'pgc_stop; [ -n "$dst_root" ] && PGC_ROOT=$dst_root pgc_stop; rm -rf "$work"' EXIT
step() {  # step NAME CMD...: runs CMD, one TAP line; its output as diagnostics when it fails
  local name=$1 s; shift
  "$@" >"$work/out" 2>&1; s=$?
  tap_ok $s "$name"
  [ $s = 0 ] || tail -20 "$work/out" | sed 's/^/#   /'
  return $s
}
mkdir -p "$work/bin"; ln -s "$rs" "$work/bin/registry-sync"
export PATH="$work/bin:$PATH" RGSYNC_MAPPING=$repo/config/registry-mapping.yaml

# Target: a new, empty cluster (like a new project); source: the live registry.
pgc_start rg-drl-dst >/dev/null || { echo "not ok 1 - cannot start the target cluster"; exit 1; }
export RESTORE_DB="host=$PGHOST port=$PGPORT dbname=postgres user=postgres"
dst_root=$PGC_ROOT
pgc_start rg-drl-src >/dev/null || { echo "not ok 1 - cannot start the source cluster"; exit 1; }
D=(-d "$RESTORE_DB")

reg=$work/registry; mkdir -p "$reg"; cp examples/registry-2026-01/*.yaml "$reg"/
cp test/fixtures/hr/users.csv "$work/users.csv"
sed "s|file: /var/lib/registry-sync/hr/users.csv|file: $work/users.csv|" config/hr-csv.yaml >"$work/hr.yaml"
step "registry-sync migrate" "$rs" migrate --dir migrations
step "registry-sync apply of the sample registry" "$rs" apply --registry "$reg" --on-dangling=drop
step "registry-sync hr from CSV" "$rs" hr --mapping "$work/hr.yaml"
sed -i '0,/green_threshold: 0.10/s//green_threshold: 0.12/' "$reg/kpi_registry.yaml"
step "apply of an edit" "$rs" apply --registry "$reg" --on-dangling=drop
dr_seal_all; tap_ok $? "audit sealed"
rows_src=$(dr_rows); sec_src=$(dr_security)
head_src=$(psql -X -At -c "SELECT * FROM audit.seal_head()")
refs_sql="SELECT reference || ' ' || source_key || ' ' || missing_element FROM guard.validate_references() ORDER BY 1"
refs_src=$(psql -X -At -c "$refs_sql")
tap_like "$rows_src" "^public\.kpis [0-9]+ [0-9a-f]{32}" "row checksums of the source recorded"
tap_like "$sec_src" "policy public\.kpis .*authenticated" "its RLS policies and grants recorded"

export DUMP=$work/registry.dump
rb_use docs/runbooks/restore-logical.md
step "pg_dump of the registry schemas (runbook block logical-dump)" rb_run logical-dump
step "the dump lists the registry's data (runbook block logical-list)" rb_run logical-list
tap_like "$(cat "$work/out")" "TABLE DATA audit version_log" "the audit log is in the dump"
tap_like "$(cat "$work/out")" "TABLE DATA supabase_migrations schema_migrations" "and the migration history"
step "roles created in the new cluster (runbook block logical-roles)" rb_run logical-roles "${D[@]}"
step "pg_restore --disable-triggers (runbook block logical-restore)" rb_run logical-restore
step "runbook block logical-verify passes" rb_run logical-verify
tap_like "$(cat "$work/out")" "audit chain ok: true" "and reports the audit chain ok"
tap_like "$(cat "$work/out")" "enforced reference violations: 0" "and no enforced reference violated"
tap_like "$(cat "$work/out")" "rls_report findings above info: $(psql -X -At -c "SELECT count(*) FROM guard.rls_report() WHERE severity <> 'info'")\$" \
  "and counts as many guard.rls_report() findings as on the source"
tap_like "$(cat "$work/out")" "restore verified: .* equals the manifest .* audit seal head and chain" "and verify-restore confirms the manifest taken with the dump"

step "no pending or edited migration on the restored database" "$rs" status --fail-on-pending --dir migrations --database-url "$RESTORE_DB"
tap_is "$(dr_rows "${D[@]}")" "$rows_src" "every table's row count and checksum equals the source's"
tap_is "$(psql -X -At "${D[@]}" -c "SELECT ok::text || ' unsealed=' || unsealed FROM audit.verify()")" "true unsealed=0" "audit.verify() ok"
tap_is "$(psql -X -At "${D[@]}" -c "SELECT * FROM audit.seal_head()")" "$head_src" "audit.seal_head() equals the source's"
tap_is "$(psql -X -At "${D[@]}" -c "$refs_sql")" "$refs_src" "references validate as in the source (the same report-only findings)"
diff <(echo "$sec_src") <(dr_security "${D[@]}") | head -20; tap_is "$(dr_security "${D[@]}")" "$sec_src" "RLS flags, policies and grants equal the source's"
tap_is "$(psql -X -At "${D[@]}" -c "SELECT count(*) FROM guard.rls_report() WHERE severity <> 'info'")" \
  "$(psql -X -At -c "SELECT count(*) FROM guard.rls_report() WHERE severity <> 'info'")" "guard.rls_report() finds what it finds in the source"

# What a logical restore changes.
oid_src=$(psql -X -At -c "SELECT 'public.kpis'::regclass::oid")
oid_dst=$(psql -X -At "${D[@]}" -c "SELECT 'public.kpis'::regclass::oid")
[ -n "$oid_dst" ] && [ "$oid_src" != "$oid_dst" ]; tap_ok $? "the restored table has a new OID ($oid_src -> $oid_dst)"
upd="UPDATE public.kpis SET description = 'after restore' WHERE id = 'gross_revenue'"
psql -X -q -c "$upd"; psql -X -q "${D[@]}" -c "$upd"
new_sql="SELECT record_id FROM audit.record_version WHERE table_name = 'kpis' ORDER BY id DESC LIMIT 1"
old_sql="SELECT record_id FROM audit.record_version WHERE table_name = 'kpis' AND record->>'id' = 'gross_revenue' ORDER BY id LIMIT 1"
tap_is "$(psql -X -At "${D[@]}" -c "$old_sql")" "$(psql -X -At -c "$old_sql")" "versions from before the restore keep their record_id"
new_dst=$(psql -X -At "${D[@]}" -c "$new_sql")
[ -n "$new_dst" ] && [ "$new_dst" != "$(psql -X -At -c "$new_sql")" ]
tap_ok $? "a version written after the restore has a new record_id for the same row"
tap_is "$(psql -X -At "${D[@]}" -c "SELECT count(DISTINCT record_id) || ' ' || count(*) FROM audit.history('public', 'kpis', '{\"client_id\": \"default\", \"id\": \"gross_revenue\"}')")" \
  "2 $(psql -X -At -c "SELECT count(*) FROM audit.history('public', 'kpis', '{\"client_id\": \"default\", \"id\": \"gross_revenue\"}')")" \
  "audit.history() by schema, table and key finds the versions under both record_ids"
dr_seal_all "${D[@]}"; tap_ok $? "sealing continues on the restored database"
tap_is "$(psql -X -At "${D[@]}" -c "SELECT ok FROM audit.verify()")" t "and the chain still verifies"
out=$(cd "$repo" && "$rs" apply --registry "$reg" --on-dangling=drop --database-url "$RESTORE_DB" 2>&1)
tap_like "$out" "applied: 1 row\(s\) written" "the first apply after the restore compares in full and rewrites only the row edited since"

# verify-restore names every difference: rows changed, added and removed, a table dropped and
# one created, a migration recorded, an audit version tampered with behind the triggers' back.
out=$("$rs" verify-restore --manifest "$DUMP.manifest.json" --database-url "$RESTORE_DB" 2>&1); rc=$?
tap_is "$rc" 1 "after writes to the restored database verify-restore exits 1"
tap_like "$out" "table public.kpis: 20 rows as in the manifest, but their content differs" "it names the changed KPI table"
tap_like "$out" "audit seal head: id [0-9]+ .*, the manifest has id [0-9]+" "and the moved seal head"
psql -X -q "${D[@]}" -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
DELETE FROM public.council_preset_members WHERE position = 1;
CREATE TABLE registry_sync.stray (id int);
DROP TABLE registry_sync.watermarks;
INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('29991231000000', 'not_in_the_manifest');
SET session_replication_role = replica;
ALTER TABLE audit.version_log DISABLE TRIGGER USER;
UPDATE audit.version_log SET image = image || '{"name": "tampered"}' WHERE id = (SELECT min(id) FROM audit.version_log);
SQL
tap_ok $? "the restored database is damaged in five more ways"
out=$("$rs" verify-restore --manifest "$DUMP.manifest.json" --database-url "$RESTORE_DB" 2>&1); rc=$?
tap_is "$rc" 1 "verify-restore exits 1"
tap_like "$out" "table public.council_preset_members: [0-9]+ rows, the manifest has 24" "names the table that lost rows"
tap_like "$out" "table registry_sync.stray: not in the manifest \(0 rows\)" "names the table that is not in the manifest"
tap_like "$out" "table registry_sync.watermarks: missing" "names the dropped table"
tap_like "$out" "migration 29991231000000: applied here, not in the manifest" "names the migration not in the manifest"
tap_like "$out" "audit.verify\(\): the chain does not verify \(first bad version [0-9]+" "names the first tampered audit version"
tap_like "$out" "table audit.version_log: [0-9]+ rows as in the manifest, but their content differs|table audit.version_log: [0-9]+ rows, the manifest" "and the audit log's checksum"
tap_like "$(tail -1 <<<"$out")" "restore differs from the manifest .*: [0-9]+ difference\(s\)" "and ends with the number of differences"

# Usage errors name the file.
out=$("$rs" verify-restore --manifest "$work/nope.json" --database-url "$RESTORE_DB" 2>&1); rc=$?
tap_is "$rc" 2 "a missing manifest file is a usage error (exit 2)"
tap_like "$out" "nope.json: cannot read the manifest" "naming the file"
echo '{"tables": {}}' >"$work/other.json"
out=$("$rs" verify-restore --manifest "$work/other.json" --database-url "$RESTORE_DB" 2>&1); rc=$?
tap_is "$rc" 2 "a JSON file that is not a manifest is a usage error"
tap_like "$out" "other.json: not a registry-sync manifest" "naming the file"
out=$("$rs" manifest --database-url "$RESTORE_DB" 2>&1); rc=$?
tap_is "$rc" 2 "manifest without --out is a usage error"

# A role that row-level security filters gets an error, not a manifest of the rows it may see.
psql -X -q -c "CREATE ROLE rg_manifest_reader LOGIN" -c "GRANT pg_read_all_data TO rg_manifest_reader" >/dev/null
out=$("$rs" manifest --user rg_manifest_reader --out "$work/reader.json" 2>&1); rc=$?
tap_is "$rc" 3 "manifest as a role subject to row-level security is refused (exit 3)"
tap_like "$out" "row-level security policy for table" "naming the table"
[ ! -e "$work/reader.json" ]; tap_ok $? "and writes no manifest"
# A BYPASSRLS reader without EXECUTE on audit.verify() (not for PUBLIC) gets one: the seal head
# without the chain check, said so.
psql -X -q -c "ALTER ROLE rg_manifest_reader BYPASSRLS" >/dev/null
out=$("$rs" manifest --user rg_manifest_reader --out "$work/reader.json" 2>&1); rc=$?
tap_is "$rc" 0 "manifest as a read-only role without EXECUTE on audit.verify() works"
tap_like "$out" "may not execute audit.verify\(\); the manifest records the seal head without a chain check" "and says what it left out"
out=$("$rs" verify-restore --manifest "$work/reader.json" 2>&1); rc=$?
tap_is "$rc" 0 "verify-restore accepts that manifest for the database it came from ($(tail -1 <<<"$out"))"
tap_done
