#!/usr/bin/env bash
# The README's main command as a test: scripts/demo-run.sh (on its own throw-away cluster)
# exits 0 and shows what a user must see: the January 2026 registry loaded with the row counts
# of the golden files, its dangling references refused then dropped, the array reference
# refusing an unknown process, rows per tenant under RLS, the HR sync refusing a mass
# deactivation, and the audit trail naming `registry-sync apply` and the HR source. Every
# error line it prints must be announced by "-- expected: ...". The steps that need the
# registry schema run on their own too, and a migration that changes a key they rely on
# stops them with a message naming the key.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
fx=test/fixtures/registry-2026-01
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The demo starts and stops its own cluster; it must not see test/check.sh's.
unset PGC_ROOT PGHOST PGPORT PGUSER PGDATABASE

# unlabelled_errors <output>: error lines not announced by "-- expected: ..." (the nearest
# preceding "== " / "-- " header line must be an "-- expected:" one).
unlabelled_errors() {
  awk '
    /^(== |-- )/ { labelled = ($0 ~ /^-- expected: /); next }
    /(ERROR|FATAL|PANIC):|(^|[^a-z_])error:|validation failed|^refused:|Segmentation fault|Aborted|core dumped|command not found|No such file or directory/ {
      if (!labelled) print NR ": " $0 }' <<<"$1"
}
section() {  # section <output> <header regex>: the lines from that "== " header to the next
  awk -v h="$2" '/^== / { on = ($0 ~ h) } on' <<<"$1"
}

# ---- the whole demo
out=$(scripts/demo-run.sh 2>&1); rc=$?
echo "$out" >"$work/demo.log"
tap_is "$rc" 0 "scripts/demo-run.sh exits 0"
[ "$rc" = 0 ] || tail -30 "$work/demo.log" | sed 's/^/#   /'
nsteps=$(ls scripts/demo.d/*.sh | wc -l)
tap_like "$out" "^== demo finished: $nsteps step\(s\) ran$" "every one of the $nsteps steps ran"
bad=$(unlabelled_errors "$out")
tap_is "$bad" "" "every error line the demo prints is announced by '-- expected: ...'"
tap_like "$(sed -n 's/^-- expected: //p' <<<"$out" | tr '\n' '|')" \
  "^7 dangling references.*\|the same 7 dangling.*\|a KPI naming a process that does not exist.*\|anon is refused.*\|the run is refused" \
  "the intended errors are announced, in order (validate, apply, array FK, anon, HR refusal)"
# The check above can fail: the same output without one announcement has an unlabelled error.
tap_like "$(unlabelled_errors "$(grep -v '^-- expected: anon' <<<"$out")")" "ERROR:  permission denied for table kpis" \
  "(self-check) an error without its announcement is found"

# ---- the registry: the demo's files are the fixture's, loaded with the golden row counts
same=0
for f in "$fx"/*.yaml; do cmp -s "$f" "examples/registry-2026-01/$(basename "$f")" || { same=1; echo "# differs: $f"; }; done
tap_is "$same" 0 "examples/registry-2026-01 holds the fixture's January 2026 files unchanged"
counts=$(python3 - "$fx/expected-rows" <<'PY'
import json, sys
tables = {"business_processes": "business_processes", "business_glossary_terms": "business_glossary",
          "data_products": "data_products", "kpis": "kpis", "principal_profiles": "principal_profiles",
          "consulting_personas": "consulting_personas", "council_presets": "council_presets",
          "council_preset_members": "council_preset_members"}
for t, f in tables.items():
    print(t, len(json.load(open(f"{sys.argv[1]}/{f}.json"))))
PY
)
load=$(section "$out" "apply --on-dangling=drop")
rows=$(section "$out" "^== rows per table")
total=0
while read -r t n; do
  tap_like "$load" "^$t: $n inserted, 0 updated, 0 deleted, 0 unchanged$" "apply --on-dangling=drop inserts the $n $t rows of the golden file"
  tap_like "$rows" "^ $t +\| +$n$" "rows per table shows $n $t"
  total=$((total + n))
done <<<"$counts"
# registry_documents: kpi_defaults, roles, principal_affinity, debate_config (no golden file).
tap_like "$load" "^registry_documents: 4 inserted" "the 4 non-row sections are stored as registry documents"
tap_like "$load" "^applied: $((total + 4)) row\(s\) written \(sync run [0-9]+\)$" "apply reports $((total + 4)) rows written"

# ---- dangling references: refused (validate, apply), then dropped, exactly the fixture's list
refs=$( { sed -n "s/^Warning: Unknown business process '\(.*\)' for KPI \(.*\)$/kpis '\2': business_process_ids refers to '\1'/p" "$fx/expected-rows/kpis.dangling.txt"
          sed -n "s/^Warning: Unknown business process '\(.*\)' for principal \(.*\)$/principal_profiles '\2': business_process_ids refers to '\1'/p" "$fx/expected-rows/principal_profiles.dangling.txt"; } | sort)
tap_is "$(wc -l <<<"$refs")" 7 "the fixture lists 7 dangling references"
refused=$(section "$out" "^== registry-sync apply \(default")
got=$(grep -o "error: dangling reference: .*refers to '[^']*'" <<<"$refused" | sed 's/^error: dangling reference: //' | sort)
tap_is "$got" "$refs" "apply refuses with exactly the fixture's dangling references, each as file:line:column"
tap_like "$(grep -c '^[a-z_]*\.yaml:[0-9]*:[0-9]*: error: dangling reference' <<<"$refused")" "^7$" "each refusal names file:line:column"
tap_like "$refused" "^registry-sync apply: validation failed; the database was not changed$" "and says the database was not changed"
got=$(grep -o "warning: dropped dangling reference: .*refers to '[^']*'" <<<"$load" | sed 's/^warning: dropped dangling reference: //' | sort)
tap_is "$got" "$refs" "--on-dangling=drop drops exactly those, each reported"
tap_like "$(section "$out" "^== re-apply")" "^applied: 0 row\(s\) written" "a re-apply of the unchanged files writes nothing"

# ---- array references
fk=$(section "$out" "^== references")
tap_like "$fk" "^-- expected: a KPI naming a process that does not exist is refused" "the array reference step announces its refusal"
tap_like "$fk" "ERROR:  insert or update on table \"kpis\" violates foreign key constraint \"demo_kpis_processes\"" "an unknown process in an array is refused like a foreign key"
tap_like "$fk" "Key \(business_process_ids\)=\(finance_receivables\) is not present in table \"business_processes\"" "naming the unknown element"
tap_like "$fk" "^ gross_margin \| \{finance_profitability\}$" "deleting a process removes it from the arrays (cascade)"

# ---- RLS: rows per tenant
rls=$(section "$out" "^== row-level security")
tap_like "$rls" "^   ERROR:  permission denied for table kpis$" "anon reads nothing (permission denied)"
tap_like "$(grep -A1 '^-- authenticated, JWT app_metadata.client_id = acme$' <<<"$rls" | tail -1)" "^   acme/demo_dso, acme/demo_gross_margin$" "tenant acme sees its two rows only"
tap_like "$(grep -A1 '^-- authenticated, JWT app_metadata.client_id = globex$' <<<"$rls" | tail -1)" "^   globex/demo_gross_margin$" "tenant globex sees its one row only"
tap_like "$(grep -A1 '^-- authenticated, no tenant in the JWT' <<<"$rls" | tail -1)" "^   \(no rows\)$" "a token without a tenant sees nothing, even with app.client_id set"
tap_like "$(grep -A1 '^-- registry_reader' <<<"$rls" | tail -1)" "^   globex/demo_gross_margin$" "the trusted reader sees the tenant it selects"

# ---- HR sync
hr=$(section "$out" "^== HR sync")
tap_like "$hr" "^hr hr-csv: full fetch of 5 users .*created 4, updated 1, .* 5 rows written" "the first HR sync creates 4 profiles and links 1"
tap_like "$(grep -A3 '^-- expected: the run is refused' <<<"$hr")" "^refused: would deactivate 1 of 5 HR-managed profiles, more than the threshold of 10%; nothing written" \
  "the HR sync refuses the mass deactivation (announced)"
tap_like "$hr" "^\(exit status 1: nothing written\)$" "with exit status 1"
tap_like "$hr" "^ +[0-9]+ \| failed +\| f +\| 0 +\| 1 +\| 1 +\| 0$" "the refused run is recorded as failed with nothing written"
tap_like "$hr" "^ emp_41004 .*\| inactive \| hr-csv" "after --allow-mass-deactivation the leaver is inactive"

# ---- audit trail: actors
tap_like "$(section "$out" "^== audit trail")" "^ UPDATE \| registry-sync apply +\| \{name\}" "the audit history names registry-sync apply as an actor"
tap_like "$(section "$out" "^== audit rows written by apply")" "\| UPDATE \| gross_revenue +\| 0.10 +\| 0.12 +\| registry-sync apply \|" \
  "apply's threshold edit is audited with actor registry-sync apply"
tap_like "$hr" "\| UPDATE \| emp_41004 \| registry-sync hr:hr-csv \|.*status: active -> inactive" "the HR deactivation is audited with the HR source as actor"
tap_is "$(grep -cE '^ +[0-9]+ \| (INSERT|UPDATE) \| [a-z_0-9]+ +\| registry-sync hr:hr-csv \|' <<<"$hr")" 7 \
  "every HR change (4 created, 1 linked, 1 promoted, 1 deactivated) has the HR source as actor"

# ---- each step that needs the registry schema runs on its own
for step in $(grep -l '^demo_registry_schema' scripts/demo.d/*.sh); do
  name=$(basename "$step" .sh)
  one=$(scripts/demo-run.sh "$name" 2>&1); rc=$?
  tap_is "$rc" 0 "demo step $name runs on its own (sets up the schema it needs)"
  [ "$rc" = 0 ] || tail -15 <<<"$one" | sed 's/^/#   /'
  tap_is "$(unlabelled_errors "$one")" "" "demo step $name alone prints no unannounced error"
done

# ---- a migration that changes a key the HR step relies on stops the step, naming the key
mkdir "$work/migrations"; cp migrations/*.sql "$work/migrations/"
cat >"$work/migrations/29990101000000_rekey_principals.sql" <<'SQL'
alter table public.principal_profiles drop constraint principal_profiles_pkey cascade;
alter table public.principal_profiles add primary key (id, client_id);
SQL
one=$(DEMO_MIGRATIONS=$work/migrations scripts/demo-run.sh 50-hr 2>&1); rc=$?
tap_ok "$([ "$rc" != 0 ] && echo 0 || echo 1)" "demo step 50-hr fails when a migration re-keys principal_profiles (exit $rc)"
tap_like "$one" "demo step 50-hr: expects the primary key \(client_id,id\) on public.principal_profiles, the database has \(id,client_id\)" \
  "naming the step, the table and both keys"
tap_done
