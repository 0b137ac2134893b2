# Helpers for the HR sync suites and benchmark (source this file after pgcluster.sh / tap.sh).
#
#   hr_db NAME            creates database NAME with the registry schema (registry-sync migrate)
#                         and exports PGDATABASE=NAME
#   hr_scim_start [SEED]  starts the loopback SCIM server (test/scim-server) -> SCIM_URL SCIM_PID
#   hr_scim_stop
#   scim_admin METHOD PATH [JSON]   calls the SCIM server's admin API
#   hr_gen_scim_users N [OPTIONS-JSON]  prints N SCIM users as JSON (python3)
HR_REPO=${HR_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RS=${RS:-$HR_REPO/build/daemon/registry-sync}

hr_db() {
  local db=$1
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || return 1
  export PGDATABASE=$db
  "$RS" migrate --dir "$HR_REPO/migrations" >/dev/null 2>"${TMPDIR:-/tmp}/hr_migrate.$$.log" \
    || { cat "${TMPDIR:-/tmp}/hr_migrate.$$.log" >&2; return 1; }
}

# Installs the SCIM server's npm packages from the lockfile once (node_modules is not in git).
hr_scim_deps() {
  local dir=$HR_REPO/test/scim-server
  if [ ! -d "$dir/node_modules/scimmy-routers" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || {
      echo "# npm ci failed in test/scim-server" >&2; return 1; }
  fi
}

hr_scim_start() {
  hr_scim_deps || return 1
  local seed=${1:-} portfile
  portfile=$(mktemp -u "${TMPDIR:-/tmp}/scim-port.XXXXXX")
  SCIM_LOG=$(mktemp "${TMPDIR:-/tmp}/scim-log.XXXXXX")
  node "$HR_REPO/test/scim-server/server.js" --port-file "$portfile" --token "${SCIM_TOKEN:-test-token}" \
    ${seed:+--seed "$seed"} >"$SCIM_LOG" 2>&1 &
  SCIM_PID=$!
  for _ in $(seq 1 100); do [ -s "$portfile" ] && break; sleep 0.1; done
  [ -s "$portfile" ] || { echo "# SCIM server did not start:" >&2; cat "$SCIM_LOG" >&2; return 1; }
  SCIM_PORT=$(cat "$portfile"); rm -f "$portfile"
  SCIM_URL="http://127.0.0.1:$SCIM_PORT/scim"
  export SCIM_URL SCIM_PID SCIM_PORT
}

hr_scim_stop() {
  [ -n "${SCIM_PID:-}" ] || return 0
  kill "$SCIM_PID" 2>/dev/null; wait "$SCIM_PID" 2>/dev/null
  SCIM_PID=
}

scim_admin() {  # METHOD PATH [JSON]
  curl -sS -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://127.0.0.1:$SCIM_PORT/admin$2"
}

# N SCIM users; employee numbers E1..EN, department Ops when N%3==0, else Finance / Sales, user 1 is
# everyone's manager (by SCIM id "1"), users listed in "inactive" are not active.
hr_gen_scim_users() {
  python3 - "$1" "${2:-{\}}" <<'PY'
import json, sys
n = int(sys.argv[1]); opt = json.loads(sys.argv[2])
depts = opt.get("departments", ["Ops", "Finance", "Sales"])
inactive = set(opt.get("inactive", []))
ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
out = []
for i in range(1, n + 1):
    u = {"id": str(i), "userName": f"user{i}", "displayName": f"User {i}",
         "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
         "title": "Manager" if i == 1 else "Analyst", "active": i not in inactive,
         "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}],
         ent: {"employeeNumber": f"E{i}", "department": depts[i % len(depts)]}}
    if i > 1:
        u[ent]["manager"] = {"value": "1"}
    out.append(u)
print(json.dumps(out))
PY
}

# Starts a hostile HTTP peer (test/hostile-peer/peer.py) -> sets <VAR>_URL, <VAR>_PID, <VAR>_LOG
# (one JSON line per request received, with the Authorization header if any).
#   hostile_start P; curl "$P_URL/wd/ok"; hostile_stop P
hostile_start() {
  local var=$1 portfile log
  portfile=$(mktemp -u "${TMPDIR:-/tmp}/peer-port.XXXXXX")
  log=$(mktemp "${TMPDIR:-/tmp}/peer-log.XXXXXX")
  python3 "$HR_REPO/test/hostile-peer/peer.py" serve --port-file "$portfile" --log "$log" >"$log.out" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do [ -s "$portfile" ] && break; sleep 0.1; done
  [ -s "$portfile" ] || { echo "# hostile peer did not start:" >&2; cat "$log.out" >&2; return 1; }
  printf -v "${var}_URL" 'http://127.0.0.1:%s' "$(cat "$portfile")"
  printf -v "${var}_PID" '%s' "$pid"
  printf -v "${var}_LOG" '%s' "$log"
  rm -f "$portfile"
}
hostile_stop() {
  local pid_var=${1}_PID log_var=${1}_LOG
  [ -n "${!pid_var:-}" ] || return 0
  kill "${!pid_var}" 2>/dev/null; wait "${!pid_var}" 2>/dev/null
  rm -f "${!log_var}" "${!log_var}.out"
  printf -v "$pid_var" '%s' ""
}
