#!/usr/bin/env bash
# SCIM runs against a peer that changes its users while being paged (test/hostile-peer/peer.py):
# a user deleted between two pages must not make the next user unseen and deactivated, neither
# when totalResults changes nor when an add between the same pages keeps it (then each unseen
# user is looked up before deactivation); the watermark is an instant (offsets, fractions) and
# incremental runs overlap it, so a change committed late in the watermark's own second is not
# missed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d)
trap 'hostile_stop P; rm -rf "$work"' EXIT

hr_db rg_hr_scim_consistency || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
hostile_start P || { echo "not ok 1 - start the hostile peer"; exit 1; }
users() {  # users N [LASTMODIFIED...]: N SCIM users E1..EN; user i gets the i-th time (default 2026-01-01T10:00:00Z)
  python3 - "$@" <<'PY'
import json, sys
n = int(sys.argv[1]); times = sys.argv[2:]
ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
print(json.dumps([{"id": str(i), "userName": f"user{i}", "displayName": f"User {i}", "active": True,
                   "emails": [{"value": f"user{i}@example.com", "primary": True}],
                   "meta": {"lastModified": times[i - 1] if i <= len(times) else "2026-01-01T10:00:00Z"},
                   ent: {"employeeNumber": f"E{i}", "department": "Finance"}} for i in range(1, n + 1)]))
PY
}
seed() {  # seed USERS-JSON [DELETE-AFTER-PAGE-JSON]
  curl -s -X POST -H 'Content-Type: application/json' --data-binary "{\"users\": $1${2:+, \"delete_after_page\": $2}}" "$P_URL/admin/scim" >/dev/null
}
mapping() {  # mapping SOURCE-NAME
  cat >"$work/m.yaml" <<EOF
source: {kind: scim, name: $1, url: "$P_URL/scim", page_size: 5, max_attempts: 1}
deactivation_threshold: 0.5
EOF
}
hr() { "$RS" hr --mapping "$work/m.yaml" "$@" >"$work/out" 2>&1; }
status_of() { q "SELECT status FROM principal_profiles WHERE employee_id = '$1'"; }

# A user deleted between pages.
mapping corp
seed "$(users 10)"
hr
tap_is "$?" 0 "full sync of 10 SCIM users"
tap_is "$(q "SELECT count(*) FROM principal_profiles WHERE status = 'active'")" 10 "10 active profiles"
seed "$(users 10)" '{"page": 1, "id": "3"}'   # user 3 disappears after the first page
hr --full
tap_is "$?" 0 "full sync while a user is deleted between pages succeeds"
tap_is "$(status_of E3)" inactive "the deleted user is deactivated"
tap_is "$(status_of E6)" active "the user shifted across the page boundary is not deactivated"
tap_like "$(cat "$work/out")" "users changed during the fetch \(totalResults changed from 10 to 9\); fetching again" "the log says the fetch was repeated"
tap_like "$(cat "$work/out")" "deactivated 1," "exactly one deactivation"

# A delete plus an add between the same two pages: totalResults and the number of distinct
# users stay right, but user 6 shifts from page 2 onto page 1, unseen. Before deactivating a
# user the full fetch did not see, its absence is confirmed at the source (a filter on its
# employee number): user 6 is still there and stays active; user 3 is really gone.
seed "$(users 10)"
q "UPDATE principal_profiles SET status = 'active'" >/dev/null
hr --full
user11=$(users 11 | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[-1]))')
seed "$(users 10)" "{\"page\": 1, \"id\": \"3\", \"add\": $user11}"   # 3 leaves, 11 joins after page 1
hr --full
tap_is "$?" 0 "full sync while a user is deleted and another added between the same pages succeeds"
tap_is "$(status_of E6)" active "the user shifted across the page boundary (totalResults unchanged) is not deactivated"
tap_is "$(status_of E3)" active "the deleted user was seen on page 1 before it left: still active in this run"
tap_is "$(status_of E11)" active "the added user is created"
tap_like "$(cat "$work/out")" "1 user\(s\) not seen in the full fetch are still at the source \(kept\), 0 confirmed gone" "the log says an unseen user was confirmed present"
tap_like "$(cat "$work/out")" "deactivated 0," "nobody is deactivated"
runs_counts() { q "SELECT (counts->>'absent_confirmed_present') || '/' || (counts->>'absent_confirmed_gone') FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1"; }
tap_is "$(runs_counts)" "1/0" "the run's counts record one unseen user kept"
hr --full
tap_is "$?" 0 "the next full sync succeeds"
tap_is "$(status_of E3)" inactive "the deleted user, now unseen and confirmed gone, is deactivated"
tap_is "$(status_of E6)" active "user 6 stays active"
tap_like "$(cat "$work/out")" "0 user\(s\) not seen in the full fetch are still at the source \(kept\), 1 confirmed gone" "the log says the unseen user was confirmed gone"
tap_is "$(runs_counts)" "0/1" "the run's counts record one unseen user confirmed gone"

# The watermark is an instant: the latest of "+02:00" and "Z" times, not the greatest text.
mapping wm
seed "$(users 2 2026-01-01T12:00:00+02:00 2026-01-01T10:30:00Z)"
q "DELETE FROM principal_profiles" >/dev/null
hr --full
tap_is "$?" 0 "full sync with mixed UTC offsets"
tap_is "$(q "SELECT to_char(value::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM registry_sync.watermarks WHERE source = 'hr:wm:default'")" \
  "2026-01-01 10:30:00" "the watermark is the latest instant (10:30Z), not the greatest text (12:00+02:00 = 10:00Z)"
tap_is "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'registry_sync.watermarks'::regclass AND attname = 'value'")" \
  "timestamp with time zone" "watermarks.value is timestamptz"

# A change committed late with the watermark's own timestamp is still fetched.
mapping late
seed "$(users 2 2026-01-01T10:30:00Z 2026-01-01T10:30:00Z)"
q "DELETE FROM principal_profiles" >/dev/null
hr --full
tap_is "$?" 0 "full sync for the late-commit case"
seed "$(users 3 2026-01-01T10:30:00Z 2026-01-01T10:30:00Z 2026-01-01T10:30:00Z)"   # user 3 lands late, same second
hr
tap_like "$(cat "$work/out")" "incremental fetch" "the next run is incremental"
tap_is "$(status_of E3)" active "the user committed late in the watermark's second is created"
seed "$(users 4 2026-01-01T10:30:00Z 2026-01-01T10:30:00Z 2026-01-01T10:30:00Z 2026-01-01T10:30:00.5Z)"
hr
tap_is "$(status_of E4)" active "a fractional-second change after the watermark is fetched"
tap_like "$(cat "$work/out")" "updated 0, .*unchanged [0-9]+" "users fetched again in the overlap are unchanged, not rewritten"
tap_like "$(cat "$work/out")" "; 1 rows written" "only the new user is written"

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_hr_scim_consistency" >/dev/null
tap_done
