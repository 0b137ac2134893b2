#!/usr/bin/env bash
# HR sync against a real SCIM 2.0 server on loopback (scimmy + express): full and incremental
# runs, manager resolution, scope, deactivation and its threshold, conflicts, retries on
# 429/500, a server that dies mid-paging, a server whose paging does not advance, tokens.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); trap 'hr_scim_stop; rm -rf "$work"' EXIT

hr_db rg_hr_scim || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
export HR_TOKEN=s3cret-scim-token-4711 SCIM_TOKEN=s3cret-scim-token-4711
hr_gen_scim_users 30 '{"inactive": [29]}' >"$work/users.json"
hr_scim_start "$work/users.json" || { echo "not ok 1 - start the SCIM server"; exit 1; }

mapping() {  # mapping file with extra top-level YAML appended
  cat >"$work/m.yaml" <<EOF
source: {kind: scim, name: corp, url: "$SCIM_URL", token_env: HR_TOKEN, page_size: 7, backoff_seconds: 0.05, max_attempts: 4, timeout_seconds: 5}
scope: {departments: [Finance, Sales]}
deactivation_threshold: 0.25
$1
EOF
}
mapping ""
hr() { "$RS" hr --mapping "$work/m.yaml" "$@" >"$work/out" 2>&1; local s=$?; cat "$work/out" >>"$work/all-output"; return $s; }
rows() { q "SELECT count(*) FROM principal_profiles"; }
last_run() { q "SELECT status || ' ' || coalesce(counts->>'rows_written','-') FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1"; }

# A YAML principal linked by email, with registry-owned data HR must not touch, and one that HR does not know.
q "INSERT INTO business_processes (id, name, domain) VALUES ('finance_pa', 'Profitability Analysis', 'Finance')" >/dev/null
q "INSERT INTO principal_profiles (id, name, title, email, preferences, business_process_ids, default_filters)
   VALUES ('cfo_yaml', 'Chief Financial Officer', 'CFO', 'USER4@example.com', '{\"theme\":\"dark\"}', '{finance_pa}', '{\"region\":\"EU\"}'),
          ('ceo_yaml', 'Chief Executive Officer', 'CEO', NULL, NULL, NULL, NULL)" >/dev/null

hr --dry-run
tap_ok $? "dry run succeeds"
tap_like "$(cat "$work/out")" "create emp_E2 \(SCIM id 2\):.*manager_id=\"E1\"" "dry run lists creations with fields"
tap_like "$(cat "$work/out")" "update cfo_yaml \(SCIM id 4\): employee_id NULL -> \"E4\"" "dry run lists the email-linked profile's changed fields"
tap_is "$(rows)" 2 "dry run writes nothing"

hr
tap_ok $? "full sync succeeds"
# 30 users: Ops (i%3==0: 10 users) out of scope, user 29 inactive, user 4 linked to cfo_yaml.
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE hr_created")" 18 "in-scope active users are created"
tap_like "$(cat "$work/out")" "skipped 10 out of scope and 1 inactive" "out-of-scope and inactive users are skipped and counted"
tap_like "$(cat "$work/out")" "not in HR \(1\): ceo_yaml" "unlinked YAML principal is reported as not in HR"
tap_is "$(q "SELECT manager_id FROM principal_profiles WHERE id = 'emp_E2'")" "E1" "SCIM manager.value is resolved to the manager's employee id"
tap_is "$(q "SELECT employee_id || ' ' || status || ' ' || hr_source || ' ' || name || ' ' || preferences::text || ' ' || business_process_ids::text || ' ' || default_filters::text FROM principal_profiles WHERE id = 'cfo_yaml'")" \
  'E4 active corp User 4 {"theme": "dark"} {finance_pa} {"region": "EU"}' "linked profile gets HR columns, registry-owned columns untouched"
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE employee_id = 'E4'")" 1 "linked YAML principal is not duplicated"
tap_is "$(q "SELECT actor || ' ' || kind || ' ' || tenant FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "registry-sync hr:corp hr default" "sync_runs row names the HR source"

hr
tap_ok $? "re-run succeeds"
tap_like "$(cat "$work/out")" "incremental fetch of [0-9]+ users" "re-run is incremental from the stored watermark (users in the overlap window are fetched again)"
tap_is "$(last_run)" "succeeded 0" "unchanged re-run writes 0 rows"

scim_admin POST /users '[{"id":"5","userName":"user5","displayName":"User 5","title":"Senior Analyst","active":true,"emails":[{"value":"user5@example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E5","department":"Sales","manager":{"value":"1"}},"name":{"givenName":"Given5","familyName":"Family5"}}]' >/dev/null
hr --dry-run
tap_like "$(cat "$work/out")" "update emp_E5 \(SCIM id 5\): title \"Analyst\" -> \"Senior Analyst\"" "incremental dry run shows only the changed field"
hr
tap_like "$(cat "$work/out")" "incremental fetch of [0-9]+ users.*1 rows written" "incremental run writes only the changed user"
tap_is "$(q "SELECT title || ' ' || manager_id FROM principal_profiles WHERE id = 'emp_E5'")" "Senior Analyst E1" "incremental run updates the title and resolves the manager outside the fetch"

scim_admin POST /users '[{"id":"7","userName":"user7","displayName":"User 7","active":false,"emails":[{"value":"user7@example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E7","department":"Sales"},"name":{"givenName":"Given7","familyName":"Family7"},"title":"Analyst"}]' >/dev/null
hr
tap_is "$(q "SELECT status FROM principal_profiles WHERE id = 'emp_E7'")" "inactive" "user made inactive in HR becomes status inactive, not deleted"

# Users 10..19 disappear from HR: 7 of the 18 active HR-managed profiles would be deactivated (> 25%).
before=$(q "SELECT string_agg(id || status, ',' ORDER BY id) FROM principal_profiles")
scim_admin GET /users | python3 -c 'import json,sys; u=json.load(sys.stdin); print(json.dumps([x for x in u if not 10 <= int(x["id"]) <= 19]))' >"$work/fewer.json"
scim_admin PUT /users "@$work/fewer.json" >/dev/null
hr --full
tap_is "$?" 1 "mass deactivation is refused with exit status 1"
tap_like "$(cat "$work/out")" "refused: would deactivate 7 of 18 HR-managed profiles" "refusal says how many and what to do"
tap_is "$(q "SELECT string_agg(id || status, ',' ORDER BY id) FROM principal_profiles")" "$before" "refused run writes nothing"
tap_is "$(last_run)" "failed 0" "refused run is recorded in sync_runs"
tap_like "$(q "SELECT error FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "^refused: would deactivate" "sync_runs says why it was refused"
hr --full --allow-mass-deactivation
tap_ok $? "mass deactivation applies when explicitly allowed"
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE status = 'inactive'")" 8 "gone users are deactivated (7 + the earlier one), none deleted"
tap_is "$(rows)" 20 "no profile was deleted"

# Two HR users claim the same unlinked profile by email: a conflict, not applied.
q "INSERT INTO principal_profiles (id, name, email) VALUES ('shared_yaml', 'Shared', 'shared@example.com')" >/dev/null
scim_admin POST /users '[{"id":"101","userName":"a101","active":true,"emails":[{"value":"shared@example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E101","department":"Finance"}},{"id":"102","userName":"a102","active":true,"emails":[{"value":"Shared@Example.com","primary":true}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E102","department":"Finance"}}]' >/dev/null
hr
tap_ok $? "run with a conflict completes"
tap_like "$(cat "$work/out")" "conflict shared_yaml: 2 HR users match this profile.*\[SCIM id 101, SCIM id 102\] \(not applied\)" "conflict names the profile and both HR users"
tap_is "$(q "SELECT coalesce(employee_id, 'null') FROM principal_profiles WHERE id = 'shared_yaml'")" "null" "conflicting users are not applied"
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE employee_id IN ('E101','E102')")" 0 "conflicting users are not created either"

# Retries: 429 with Retry-After, then 500s; the run still completes.
scim_admin POST /faults '{"status":429,"count":2,"retryAfter":1}' >/dev/null
hr --full
tap_ok $? "sync succeeds after two 429 responses"
tap_like "$(cat "$work/out")" "2 retries" "429 responses were retried"
scim_admin POST /faults '{"status":503,"count":2}' >/dev/null
hr --full
tap_ok $? "sync succeeds after two 503 responses"

# Persistent 500: gives up after max_attempts, writes nothing, records the failure.
q "UPDATE principal_profiles SET title = 'Changed locally' WHERE id = 'emp_E2'" >/dev/null
scim_admin POST /faults '{"status":500,"count":100}' >/dev/null
hr --full
tap_is "$?" 1 "persistent 500 fails the run"
tap_like "$(cat "$work/out")" "HTTP 500.*gave up after 4 attempts" "error says what failed and that it retried"
tap_is "$(q "SELECT title FROM principal_profiles WHERE id = 'emp_E2'")" "Changed locally" "failed run writes nothing"
tap_is "$(q "SELECT status FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1")" "failed" "failed run is recorded"
scim_admin POST /faults '{}' >/dev/null

# Paging that does not advance (a server ignoring startIndex): stop with an error, no loop.
scim_admin POST /faults '{"stuckPaging":true}' >/dev/null
timeout 60 "$RS" hr --mapping "$work/m.yaml" --full >"$work/out" 2>&1
tap_is "$?" 1 "non-advancing paging fails instead of looping"
tap_like "$(cat "$work/out")" "paging does not advance" "error explains the paging problem"
scim_admin POST /faults '{}' >/dev/null

# Wrong token: 401 at once, and neither token in any output (the rejected one is checked in
# the 401 run's own output, kept apart so later runs cannot overwrite it).
HR_TOKEN=wrong-token-0000 "$RS" hr --mapping "$work/m.yaml" --full >"$work/out401" 2>&1
tap_is "$?" 1 "wrong token fails"
cat "$work/out401" >>"$work/all-output"
tap_like "$(cat "$work/out401")" "HTTP 401" "401 is reported"
tap_is "$(grep -c "wrong-token-0000" "$work/out401")" 0 "the rejected token is not in the 401 run's output"
printf '%s' "$SCIM_TOKEN" >"$work/token"
sed -i "s|token_env: HR_TOKEN|token_file: $work/token|" "$work/m.yaml"
hr --full
tap_ok $? "token from a file works"
tap_like "$(cat "$work/all-output")" "HTTP 401" "(the collected output holds the 401 run's)"
tap_is "$(grep -c -e "$SCIM_TOKEN" -e "wrong-token-0000" "$work/all-output")" 0 "no token appears in any run's output"
tap_is "$(q "SELECT count(*) FROM registry_sync.sync_runs WHERE concat(error, counts::text) LIKE ANY (ARRAY['%$SCIM_TOKEN%', '%wrong-token-0000%'])")" 0 \
  "no token appears in sync_runs"

# The server dies mid-paging: the run fails and writes nothing.
q "UPDATE principal_profiles SET title = 'Changed again' WHERE id = 'emp_E2'" >/dev/null
scim_admin POST /faults '{"dieAfterPages":2}' >/dev/null
hr --full
tap_is "$?" 1 "a server dying mid-paging fails the run"
tap_like "$(cat "$work/out")" "startIndex=15|Connection refused|Empty reply|connect" "error names the failed request"
tap_is "$(q "SELECT title FROM principal_profiles WHERE id = 'emp_E2'")" "Changed again" "nothing written when the server dies mid-paging"
SCIM_PID=

psql -X -q -d postgres -c "DROP DATABASE rg_hr_scim" >/dev/null
tap_done
