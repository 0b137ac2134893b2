#!/usr/bin/env bash
# HR sources against a hostile HTTP peer (test/hostile-peer/peer.py): next-links and redirects to
# other hosts must not carry the token, plain http only on loopback, caps on body size (also
# after decompression), page count and run time, a wrong content type, and no secret or HR error
# body in logs and sync_runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d)
trap 'hostile_stop P; hostile_stop A; rm -rf "$work"' EXIT

hr_db rg_hr_hostile || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
hostile_start P || { echo "not ok 1 - start the hostile peer"; exit 1; }
hostile_start A || { echo "not ok 1 - start the second (attacker) peer"; exit 1; }
export HR_TOKEN=hostile-bearer-token-5521

sf() {  # sf URL [extra source settings]
  cat >"$work/m.yaml" <<EOF
source: {kind: successfactors, name: sf, url: "$1", token_env: HR_TOKEN, max_attempts: 1, timeout_seconds: 20${2:+, $2}}
fields: {employee_id: userId, first_name: firstName, last_name: lastName, title: title, department: department, email: email}
active: {field: status, values: [active]}
EOF
}
wd() {  # wd URL [extra source settings]
  cat >"$work/m.yaml" <<EOF
source: {kind: workday, name: wd, url: "$1", token_env: HR_TOKEN, max_attempts: 1, timeout_seconds: 20${2:+, $2}}
fields: {employee_id: Employee_ID, first_name: Legal_Name_First, last_name: Legal_Name_Last, title: Business_Title,
         department: Cost_Center, email: Primary_Work_Email}
active: {field: Worker_Status, values: [Active]}
EOF
}
hr() { timeout 60 "$RS" hr --mapping "$work/m.yaml" --dry-run "$@" >"$work/out" 2>&1; }
attacker_got_token() { grep -c "$HR_TOKEN" "$A_LOG"; }

# Next-links and redirects.
sf "$P_URL/sf/page?next=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$A_URL/sf/last")"
hr
tap_is "$?" 1 "__next pointing at another host fails the run"
tap_is "$(attacker_got_token)" 0 "the other host never receives the bearer token"
tap_like "$(cat "$work/out")" "__next.*(another|other|different) (host|origin)" "the error says the next-link leaves the source's origin"
sf "$P_URL/sf/page?next=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$P_URL/sf/last")"
hr
tap_is "$?" 0 "__next on the same host is followed"
tap_like "$(cat "$work/out")" "fetch of 2 users \(2 pages\)" "both pages are read"
wd "$P_URL/redirect?to=$A_URL/wd/ok"
: >"$A_LOG"
hr
tap_is "$?" 1 "a redirect to another host fails the run"
tap_is "$(attacker_got_token)" 0 "a redirect does not carry the token to another host"
tap_like "$(cat "$work/out")" "redirect to http://127.0.0.1:[0-9]+/wd/ok not followed" "the error names the redirect and its target"

# Plain http only for loopback (or an explicit opt-in).
wd "http://192.0.2.10/report" "connect_timeout_seconds: 0.5"
hr
tap_is "$?" 2 "plain http to a non-loopback host is a config error"
tap_like "$(cat "$work/out")" "m.yaml:[0-9]+: .*https" "the error names file:line and asks for https"
wd "http://192.0.2.10/report" "connect_timeout_seconds: 0.5, allow_insecure_http: true"
hr
tap_is "$?" 1 "allow_insecure_http: true accepts it (the fetch then fails: nothing listens)"

# Size caps, also after decompression, and the content type.
wd "$P_URL/wd/bomb?mb=32" "max_response_mb: 4"
hr
tap_is "$?" 1 "a gzip body decoding past max_response_mb fails"
tap_like "$(cat "$work/out")" "larger than 4 MB" "the error names the cap"
wd "$P_URL/wd/big?mb=8" "max_response_mb: 4"
hr
tap_is "$?" 1 "an oversized plain body fails"
tap_like "$(cat "$work/out")" "larger than 4 MB" "the error names the cap (plain body)"
wd "$P_URL/wd/big?mb=1" "max_response_mb: 4"
hr
tap_is "$?" 0 "a body under the cap is read"
wd "$P_URL/wd/type?ct=text/html"
hr
tap_is "$?" 1 "a text/html response fails although its body parses"
tap_like "$(cat "$work/out")" "content type 'text/html'" "the error names the content type"
wd "$P_URL/wd/type?ct=application/json;%20charset=utf-8"
hr
tap_is "$?" 0 "application/json with a charset is accepted"

# Pages: endless, repeating, slow.
sf "$P_URL/sf/endless?i=1" "max_pages: 20"
hr
tap_is "$?" 1 "endless paging stops at max_pages"
tap_like "$(cat "$work/out")" "more than 20 pages" "the error names the page cap"
sf "$P_URL/sf/repeat?i=1"
hr
tap_is "$?" 1 "pages that repeat the same users stop the run"
tap_like "$(cat "$work/out")" "only users already received" "the error says the pages repeat"
sf "$P_URL/sf/endless?i=1&delay=0.2" "run_timeout_seconds: 2"
hr
tap_is "$?" 1 "a run past run_timeout_seconds stops"
tap_like "$(cat "$work/out")" "run_timeout_seconds" "the error names the run deadline"

# Secrets and HR data stay out of logs and sync_runs.
wd "$P_URL/wd/status?code=500"
"$RS" hr --mapping "$work/m.yaml" >"$work/out" 2>&1
tap_is "$?" 1 "HTTP 500 fails the run"
tap_like "$(cat "$work/out")" "HTTP 500" "the error names the status"
tap_is "$(grep -c PRIVATE-HR-DATA "$work/out")" 0 "the HR error body is not logged"
tap_is "$(q "SELECT count(*) FROM registry_sync.sync_runs WHERE error LIKE '%PRIVATE-HR-DATA%'")" 0 "the HR error body is not stored in sync_runs.error"
tap_is "$(q "SELECT count(*) FROM registry_sync.sync_runs WHERE error LIKE '%HTTP 500%'")" 1 "the failed run is recorded with its status"
wd "$P_URL/wd/echo"
"$RS" hr --mapping "$work/m.yaml" >"$work/out" 2>&1
tap_is "$?" 1 "a body echoing the token fails to parse"
tap_is "$(grep -c "$HR_TOKEN" "$work/out")" 0 "the token is redacted from the parse error in the log"
tap_is "$(q "SELECT count(*) FROM registry_sync.sync_runs WHERE error LIKE '%$HR_TOKEN%'")" 0 "the token is redacted from sync_runs.error"
wd "$P_URL/wd/status?code=404&access_token=qs-secret-8812&sig=qs-signature-77"
"$RS" hr --mapping "$work/m.yaml" >"$work/out" 2>&1
tap_is "$?" 1 "HTTP 404 fails the run"
tap_is "$(grep -Ec "qs-secret-8812|qs-signature-77" "$work/out")" 0 "secrets in the URL's query string are redacted"
tap_like "$(cat "$work/out")" "access_token=\*\*\*" "the redacted parameter is still named"

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_hr_hostile" >/dev/null
tap_done
