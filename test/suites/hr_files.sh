#!/usr/bin/env bash
# HR sync from Workday RaaS and SuccessFactors OData v2 payloads (served over HTTP by a local
# python3 http.server from fixture files, and read from files) and from CSV: mapping, paging,
# audit actor, tenant column detection, and bad payloads that must write nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/hr.sh
fx=test/fixtures/hr
work=$(mktemp -d); http_pid=
trap '[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null; rm -rf "$work"' EXIT

hr_db rg_hr_files || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS registry_guard" -c "
  DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = 'public.principal_profiles'::regclass AND tgname = 'audit_i_u_d') THEN
      PERFORM audit.enable_tracking('public.principal_profiles');
    END IF;
  END \$\$" >/dev/null \
  || { echo "not ok 1 - enable audit tracking"; exit 1; }

# Static HTTP server for the Workday / SuccessFactors payloads.
mkdir -p "$work/www"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 1 50); do grep -q "port" "$work/http.log" && break; sleep 0.1; done
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/http.log" | head -1)
base="http://127.0.0.1:$port"
cp "$fx/workday-report.json" "$work/www/wd.json"
sed "s|__NEXT__|$base/sf2.json|" "$fx/sf-page1.json" >"$work/www/sf1.json"
cp "$fx/sf-page2.json" "$work/www/sf2.json"

wd_mapping() {  # $1: url or file line
  cat >"$work/wd.yaml" <<EOF
source: {kind: workday, name: workday, $1, max_attempts: 2, backoff_seconds: 0.01}
fields: {employee_id: Employee_ID, first_name: Legal_Name_First, last_name: Legal_Name_Last, name: "{Legal_Name_First} {Legal_Name_Last}",
         title: Business_Title, department: Cost_Center, email: Primary_Work_Email, manager_id: Manager_Employee_ID}
active: {field: Worker_Status, values: [Active]}
scope: {departments: [Finance]}
EOF
}
run() { "$RS" hr --mapping "$@" >"$work/out" 2>&1; }

wd_mapping "url: \"$base/wd.json\""
run "$work/wd.yaml"
tap_ok $? "Workday RaaS report over HTTP syncs"
tap_is "$(q "SELECT string_agg(id || ':' || name || ':' || coalesce(manager_id,'-'), ' ' ORDER BY id) FROM principal_profiles")" \
  "emp_21001:Amara Okafor:- emp_21002:Lukas Berg:21001 emp_21003:Mei Tanaka:21001" \
  "in-scope active workers are created with mapped fields (numeric ids as text), others skipped"
tap_like "$(cat "$work/out")" "skipped 1 out of scope and 1 inactive" "out-of-scope and terminated workers are counted"
tap_is "$(q "SELECT count(*) || ' ' || min(actor) || ' ' || bool_and(sync_run_id = (SELECT max(id) FROM registry_sync.sync_runs)) FROM audit.record_version WHERE table_name = 'principal_profiles'")" \
  "3 registry-sync hr:workday true" "audit trail names the HR source and the sync run"

run "$work/wd.yaml"
tap_like "$(cat "$work/out")" "0 rows written" "unchanged re-run writes 0 rows"
tap_is "$(q "SELECT count(*) FROM audit.record_version")" 3 "unchanged re-run adds no audit versions"

python3 - "$work/www/wd.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["Report_Entry"][1]["Business_Title"] = "Head of FP&A"
d["Report_Entry"] = [e for e in d["Report_Entry"] if e["Employee_ID"] != 21003]
json.dump(d, open(sys.argv[1], "w"))
PY
sed -i 's/^scope:.*$/scope: {departments: [Finance]}\ndeactivation_threshold: 0.5/' "$work/wd.yaml"
run "$work/wd.yaml"
tap_ok $? "changed report syncs"
tap_is "$(q "SELECT string_agg(id || ':' || title || ':' || status, ' ' ORDER BY id) FROM principal_profiles")" \
  "emp_21001:Chief Financial Officer:active emp_21002:Head of FP&A:active emp_21003:Controller:inactive" \
  "title change applied, worker gone from the report deactivated"
tap_is "$(q "SELECT string_agg(array_to_string(ARRAY(SELECT c FROM unnest(changed_columns) c WHERE c NOT IN ('updated_at', 'last_hr_sync_at') ORDER BY c), ','), ' ' ORDER BY id) FROM audit.record_version WHERE op = 'UPDATE'")" \
  "title status" "audit versions carry exactly the changed HR columns"

# Workday from a file, SuccessFactors over HTTP with __next paging and from a file.
wd_mapping "file: \"$fx/workday-report.json\""
run "$work/wd.yaml" --dry-run
tap_like "$(cat "$work/out")" "update emp_21002 \(Report_Entry\[1\]\): title \"Head of FP&A\" -> \"FP&A Manager\"" "Workday file source plans against the same profiles"
sf_mapping() {
  cat >"$work/sf.yaml" <<EOF
source: {kind: successfactors, name: sf, $1}
fields: {employee_id: userId, first_name: firstName, last_name: lastName, name: "{firstName} {lastName}", title: title,
         department: department, email: email, manager_id: manager.userId}
active: {field: status, values: [active]}
EOF
}
sf_mapping "url: \"$base/sf1.json\""
run "$work/sf.yaml"
tap_ok $? "SuccessFactors OData v2 over HTTP syncs"
tap_like "$(cat "$work/out")" "fetch of 3 users \(2 pages\)" "__next paging is followed"
tap_is "$(q "SELECT string_agg(id || ':' || coalesce(manager_id,'-'), ' ' ORDER BY id) FROM principal_profiles WHERE hr_source = 'sf'")" \
  "emp_31001:- emp_31002:31001" "expanded manager.userId maps to manager_id; inactive user skipped"
sed "s|\"__NEXT__\"|\"$base/sf1.json\"|" "$fx/sf-page1.json" >"$work/www/sfloop.json"
sed -i "s|sf1.json\"|sfloop.json\"|" "$work/www/sfloop.json"
sf_mapping "url: \"$base/sfloop.json\""
run "$work/sf.yaml"
tap_is "$?" 1 "__next pointing back at a fetched page fails"
tap_like "$(cat "$work/out")" "paging does not advance" "__next loop is explained"
sf_mapping "file: \"$fx/sf-page2.json\""
run "$work/sf.yaml" --dry-run
tap_like "$(cat "$work/out")" "fetch of 1 users \(1 page\)" "SuccessFactors file source reads d.results"

# CSV, with quoted commas and UTF-8 names.
cat >"$work/csv.yaml" <<EOF
source: {kind: csv, name: hr-csv, file: "$fx/users.csv"}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name, name: "{first_name} {last_name}",
         title: job_title, department: department, email: work_email, manager_id: manager_employee_number}
active: {field: status, values: [Active, Leave]}
EOF
run "$work/csv.yaml"
tap_ok $? "CSV file syncs"
tap_is "$(q "SELECT name || '|' || title FROM principal_profiles WHERE employee_id IN ('41002','41003') ORDER BY id")" \
  "Jonas Lindqvist|Director, Finance Operations
Chloé Martin|Financial Analyst" "quoted commas and UTF-8 survive"
tap_is "$(q "SELECT file_hashes->>'$fx/users.csv' = '$(sha256sum "$fx/users.csv" | cut -c1-64)' FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "t" "sync_runs records the source file's hash"

# Bad payloads: a clear error naming the record or position, and nothing written.
snapshot() { q "SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM principal_profiles p"; }
before=$(snapshot)
bad() {  # name, file content via stdin, expected error regex
  local name=$1 re=$2
  cat >"$work/www/bad.json"
  wd_mapping "url: \"$base/bad.json\""
  run "$work/wd.yaml"
  local s=$?
  tap_is "$s" 1 "$name: run fails"
  tap_like "$(cat "$work/out")" "$re" "$name: error says what and where"
  tap_is "$(snapshot)" "$before" "$name: nothing written"
}
bad "missing employee id" "Report_Entry\[1\]: no employee id" <<'EOF'
{"Report_Entry": [{"Employee_ID": "21001", "Cost_Center": "Finance", "Worker_Status": "Active", "Legal_Name_First": "X"},
                  {"Cost_Center": "Finance", "Worker_Status": "Active"}]}
EOF
bad "wrong type" "Report_Entry\[0\]: field 'Cost_Center' is a list" <<'EOF'
{"Report_Entry": [{"Employee_ID": "21001", "Cost_Center": ["Finance"], "Worker_Status": "Active"}]}
EOF
bad "truncated JSON" "not valid JSON.*truncated" < <(printf '{"Report_Entry": [{"Employee_ID": "21001", "Cost_Center": "Fin')
bad "non-UTF-8" "not valid UTF-8" < <(printf '{"Report_Entry": [{"Employee_ID": "21001", "Cost_Center": "Caf\xe9"}]}')
bad "not a report" "not a Workday RaaS JSON report" <<'EOF'
{"entries": []}
EOF
printf 'employee_number,work_email\n41001,a@x\n41002\n' >"$work/bad.csv"
sed "s|file: \"$fx/users.csv\"|file: \"$work/bad.csv\"|" "$work/csv.yaml" >"$work/badcsv.yaml"
run "$work/badcsv.yaml"
tap_is "$?" 1 "CSV with a short row fails"
tap_like "$(cat "$work/out")" "bad.csv:3: 1 fields, but the header has 2" "CSV error names file:line"
tap_is "$(snapshot)" "$before" "bad CSV writes nothing"

# Mapping errors are usage errors naming file:line.
printf 'source: {kind: csv, file: x.csv}\nfields: {employee_id: E, preferences: P}\n' >"$work/badmap.yaml"
run "$work/badmap.yaml"
tap_is "$?" 2 "a mapping naming a registry-owned column is refused"
tap_like "$(cat "$work/out")" "badmap.yaml:2: 'preferences' is not a column HR sync may write" "mapping error names file:line"

# The ownership rule is shared with apply: the registry mapping's hr_owned_columns bound the HR mapping.
sed 's/hr_owned_columns: \[name, first_name, last_name, title, /hr_owned_columns: [name, first_name, last_name, /' config/registry-mapping.yaml >"$work/registry-mapping.yaml"
"$RS" hr --mapping "$work/csv.yaml" --registry-mapping "$work/registry-mapping.yaml" --dry-run >"$work/out" 2>&1
tap_is "$?" 2 "an HR mapping writing a column the registry mapping does not give HR is refused"
tap_like "$(cat "$work/out")" "csv.yaml:[0-9]+: 'title' is not listed in the registry mapping's hr_owned_columns" "the refusal names the column and file:line"

# Tenancy: with a client_id column, rows are created in the given tenant only.
hr_db rg_hr_tenant || { echo "not ok - tenant database"; exit 1; }
q "ALTER TABLE principal_profiles ADD COLUMN IF NOT EXISTS client_id text NOT NULL DEFAULT 'default'" >/dev/null
q "INSERT INTO principal_profiles (id, name) VALUES ('other_tenant_ceo', 'CEO')" >/dev/null
"$RS" hr --mapping "$work/csv.yaml" --tenant acme >"$work/out" 2>&1
tap_ok $? "sync into tenant acme"
tap_is "$(q "SELECT client_id || ':' || n FROM (SELECT client_id, count(*) AS n FROM principal_profiles GROUP BY client_id) s ORDER BY 1" | tr '\n' ' ')" "acme:5 default:1 " "created rows belong to the tenant"
tap_like "$(cat "$work/out")" "not in HR 0" "profiles of other tenants are not considered"
tap_is "$(q "SELECT tenant FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "acme" "sync_runs records the tenant"

psql -X -q -d postgres -c "DROP DATABASE rg_hr_files" -c "DROP DATABASE rg_hr_tenant" >/dev/null
tap_done
