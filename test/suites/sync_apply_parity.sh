#!/usr/bin/env bash
# registry-sync apply on the real January 2026 registry: the default run fails listing exactly
# the dangling references of *.dangling.txt and changes nothing; --on-dangling=drop yields
# exactly expected-rows/*.json (every row, every column); a re-apply writes 0 rows.
# Then the same over the second sample registry, examples/registry-contracts (one contract file
# per data product, an older registry file, staging overrides; its own mapping): validate and
# apply --dry-run report exactly the overrides of expected-rows/overrides.txt, apply yields
# exactly its expected-rows/*.json, a re-apply writes 0 rows, and without the declared
# precedence each of those keys is an error naming both places.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_apply_parity
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
R=$SA_FIXTURE

out=$("$SA_BIN" apply --registry "$R" 2>&1); rc=$?
tap_is "$rc" 1 "default apply (--on-dangling=fail) exits 1"
got=$(printf '%s\n' "$out" | sed -n "s/.*error: dangling reference: \([a-z_]*\) '\([^']*\)': [a-z_]* refers to '\([^']*\)'.*/\1|\2|\3/p" | sort)
want=$( { sed -n "s/^Warning: Unknown business process '\(.*\)' for KPI \(.*\)$/kpis|\2|\1/p" "$R"/expected-rows/kpis.dangling.txt
          sed -n "s/^Warning: Unknown business process '\(.*\)' for principal \(.*\)$/principal_profiles|\2|\1/p" "$R"/expected-rows/principal_profiles.dangling.txt; } | sort)
tap_is "$got" "$want" "the failure lists exactly the (table, entry, value) references of *.dangling.txt"
tap_is "$(printf '%s\n' "$got" | wc -l) $(printf '%s\n' "$got" | cut -d'|' -f3 | sort -u | wc -l)" "7 6" "7 references, 6 distinct values"
tap_like "$out" "kpi_registry.yaml:400:9: error: dangling reference: kpis 'travel'" "each reference names file:line:column"
tap_is "$(psql -X -At -c 'SELECT (SELECT count(*) FROM kpis) + (SELECT count(*) FROM business_processes)')" 0 "the failed run wrote nothing"
tap_is "$(psql -X -At -c "SELECT count(*) FROM registry_sync.sync_runs")" 0 "validation failed before the database was touched (no run record)"

out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop 2>&1); rc=$?
tap_is "$rc" 0 "apply --on-dangling=drop succeeds"
tap_is "$(printf '%s\n' "$out" | grep -c 'warning: dropped dangling reference')" 7 "each of the 7 dropped references is reported"
cmp=$(python3 test/tools/compare_expected_rows.py "$R/expected-rows" 2>&1); rc=$?
tap_ok $rc "database rows equal expected-rows/*.json, every column"
[ $rc = 0 ] || printf '#  %s\n' "$cmp" | head -40
tap_is "$(psql -X -At -c "SELECT string_agg(key, ',' ORDER BY key) FROM registry_documents")" "debate_config,kpi_defaults,principal_affinity,roles" \
  "top-level non-list content kept as registry documents"
tap_is "$(psql -X -At -c "SELECT document->'by_data_product_id'->'FI_Star_Schema'->'filters'->>'Version' FROM registry_documents WHERE key = 'kpi_defaults'")" \
  "Actual" "document content is the YAML value"
tap_is "$(psql -X -At -c "SELECT status, counts->'kpis'->>'inserted', jsonb_typeof(file_hashes), length(file_hashes->>'kpi_registry.yaml') FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" \
  "succeeded|20|object|64" "sync_runs records status, counts and the sha256 of each file"

before=$(sa_snapshot $db)
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop --full-diff 2>/dev/null); rc=$?
tap_is "$rc" 0 "re-apply with a full diff succeeds"
tap_like "$out" "applied: 0 row\(s\) written" "a re-apply of unchanged files writes 0 rows"
tap_is "$(sa_snapshot $db)" "$before" "the database is byte-for-byte unchanged (rows and audit versions)"
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop 2>/dev/null)
tap_like "$out" "registry unchanged since sync run" "a second re-apply takes the unchanged-input shortcut"
psql -X -q -c "UPDATE kpis SET unit = 'EUR' WHERE id = 'travel'"
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop 2>/dev/null)
tap_like "$out" "kpis: 0 inserted, 1 updated" "an edit made in the database is seen (no shortcut) and repaired"
tap_is "$(psql -X -At -c "SELECT unit FROM kpis WHERE id = 'travel'")" '$' "the YAML value is back"
psql -X -q -d postgres -c "DROP DATABASE $db"

# ---- the contract-file registry (examples/registry-contracts) through its own mapping
db2=rg_sync_apply_parity_contracts
sa_newdb $db2; tap_ok $? "fresh database for the contract registry"
export PGDATABASE=$db2
C=$SA_REPO/examples/registry-contracts
CM=$C/registry-mapping.yaml
overrides() {  # table|key|winner file:line|overridden file:line, from the run's warnings
  sed -n "s#.*warning: \([a-z_]*\) key '\([^']*\)' from $C/\([^ ]*\) overrides $C/\([^ ]*\) (mapping: .*#\1|\2|\3|\4#p" | sort
}
want=$(grep -v '^#' "$C"/expected-rows/overrides.txt | sort)
out=$("$SA_BIN" validate --registry "$C" --mapping "$CM" 2>&1); rc=$?
tap_is "$rc" 0 "validate of the contract registry succeeds"
tap_is "$(printf '%s\n' "$out" | overrides)" "$want" "validate reports exactly the overrides of overrides.txt, naming both places"
tap_like "$out" "0 error\(s\), 3 warning\(s\); 7 file\(s\), 13 row\(s\)" "7 files (3 contracts, 2 staging overrides) give 13 rows"
out=$("$SA_BIN" apply --registry "$C" --mapping "$CM" --dry-run 2>&1); rc=$?
tap_is "$rc" 0 "apply --dry-run succeeds"
tap_is "$(printf '%s\n' "$out" | overrides)" "$want" "apply --dry-run reports the same overrides"
tap_is "$(psql -X -At -c 'SELECT count(*) FROM data_products')" 0 "the dry run wrote nothing"
out=$("$SA_BIN" apply --registry "$C" --mapping "$CM" 2>&1); rc=$?
tap_is "$rc" 0 "apply of the contract registry succeeds"
tap_is "$(printf '%s\n' "$out" | overrides)" "$want" "apply reports the same overrides"
cmp=$(python3 test/tools/compare_expected_rows.py "$C/expected-rows" 2>&1); rc=$?
tap_ok $rc "database rows equal examples/registry-contracts/expected-rows/*.json, every column"
[ $rc = 0 ] || printf '#  %s\n' "$cmp" | head -40
out=$("$SA_BIN" apply --registry "$C" --mapping "$CM" --full-diff 2>/dev/null); rc=$?
tap_like "$out" "applied: 0 row\(s\) written" "a re-apply of the contract registry writes 0 rows"
# Without the declared precedence the same keys are errors naming both places.
nop=$(mktemp -d); cp -R "$C"/. "$nop"/; chmod -R u+w "$nop"
sed -i '/^    overrides:/d' "$nop"/registry-mapping.yaml
out=$("$SA_BIN" validate --registry "$nop" --mapping "$nop"/registry-mapping.yaml 2>&1); rc=$?
tap_is "$rc" 1 "without overrides: the contract registry does not validate"
got=$(printf '%s\n' "$out" | sed -n "s#^$nop/\([^:]*:[0-9]*\):[0-9]*: error: \([a-z_]*\) key '\([^']*\)' is also defined at $nop/\([^ ]*\) with different content.*#\2|\3|\1|\4#p" | sort)
tap_is "$got" "$want" "each of those keys is an error naming both places"
rm -rf "$nop"
psql -X -q -d postgres -c "DROP DATABASE $db2"
tap_done
