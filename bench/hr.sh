#!/usr/bin/env bash
# HR sync benchmark (TARGETS.md "Sync"): 50k users
#   1. from a file source (Workday RaaS JSON, and CSV): users/s end to end (target >= 10k/s),
#      then an unchanged re-run (target: 0 rows written);
#   2. from the loopback SCIM server: full sync time vs merely fetching every page with curl
#      from the same server (target <= 1.2x; the Node server is the bottleneck).
# Starts its own throw-away cluster. N=50000 by default (HR_BENCH_USERS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. test/lib/hr.sh
N=${HR_BENCH_USERS:-50000}
PAGE=${HR_BENCH_PAGE:-500}
work=$(mktemp -d)
trap 'hr_scim_stop; pgc_stop; rm -rf "$work"' EXIT
pgc_start rg-bench-hr >/dev/null
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
rate() { python3 -c "print(f'{$1 / ($3 - $2):,.0f}')"; }
q() { psql -X -At -c "$1"; }
tracked() { q "SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'public.principal_profiles'::regclass AND tgname = 'audit_i_u_d'"; }
untrack() { [ "$(tracked)" = 0 ] || q "SELECT audit.disable_tracking('public.principal_profiles')" >/dev/null; }
last_rows() { q "SELECT counts->>'rows_written' FROM registry_sync.sync_runs ORDER BY id DESC LIMIT 1"; }

python3 - "$N" "$work" <<'PY'
import csv, json, sys
n, work = int(sys.argv[1]), sys.argv[2]
depts = ["Finance", "Sales", "Operations", "Marketing", "IT"]
rows = [{"Employee_ID": str(100000 + i), "First": f"Given{i}", "Last": f"Family{i}", "Title": "Analyst" if i % 10 else "Manager",
         "Org": depts[i % 5], "Email": f"user{i}@example.com", "Manager_ID": str(100000 + (i // 10) * 10), "Status": "Active"}
        for i in range(n)]
json.dump({"Report_Entry": rows}, open(f"{work}/report.json", "w"))
with open(f"{work}/users.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
json.dump([{"id": str(i + 1), "userName": f"user{i}", "displayName": f"Given{i} Family{i}", "title": r["Title"], "active": True,
            "name": {"givenName": r["First"], "familyName": r["Last"]}, "emails": [{"value": r["Email"], "primary": True}],
            ent: {"employeeNumber": r["Employee_ID"], "department": r["Org"], "manager": {"value": str((i // 10) * 10 + 1)}}}
           for i, r in enumerate(rows)], open(f"{work}/scim.json", "w"))
PY
fields='fields: {employee_id: Employee_ID, first_name: First, last_name: Last, name: "{First} {Last}", title: Title, department: Org, email: Email, manager_id: Manager_ID}
active: {field: Status, values: [Active]}'
printf 'source: {kind: workday, name: wd, file: "%s/report.json"}\n%s\n' "$work" "$fields" >"$work/wd.yaml"
printf 'source: {kind: csv, name: csv, file: "%s/users.csv"}\n%s\n' "$work" "$fields" >"$work/csv.yaml"

echo "== HR sync of $N users from file sources (no audit tracking; the daemon's own work)"
for src in wd csv; do
  hr_db "rg_bench_$src" >/dev/null; untrack
  t0=$(now); "$RS" hr --mapping "$work/$src.yaml" >/dev/null; t1=$(now)
  full_rows=$(last_rows)
  t2=$(now); "$RS" hr --mapping "$work/$src.yaml" >/dev/null; t3=$(now)
  printf '%-8s full sync: %s s, %s users/s (%s rows written) | unchanged re-run: %s s, %s rows written\n' \
    "$src" "$(secs "$t0" "$t1")" "$(rate "$N" "$t0" "$t1")" "$full_rows" "$(secs "$t2" "$t3")" "$(last_rows)"
done
hr_db rg_bench_wd_audit >/dev/null
[ "$(tracked)" = 1 ] || q "SELECT audit.enable_tracking('public.principal_profiles')" >/dev/null
t0=$(now); "$RS" hr --mapping "$work/wd.yaml" >/dev/null; t1=$(now)
printf '%-8s full sync with audit tracking on principal_profiles: %s s, %s users/s, %s audit versions\n' "wd" \
  "$(secs "$t0" "$t1")" "$(rate "$N" "$t0" "$t1")" "$(q "SELECT count(*) FROM audit.record_version")"

echo "== HR sync of $N users from the loopback SCIM server (page size $PAGE)"
export HR_TOKEN=bench-token SCIM_TOKEN=bench-token
hr_scim_start "$work/scim.json"
t0=$(now)
start=1; fetched=0
while [ "$start" -le "$N" ]; do
  n=$(curl -sS -H "Authorization: Bearer $HR_TOKEN" "$SCIM_URL/Users?startIndex=$start&count=$PAGE" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Resources"]))')
  fetched=$((fetched + n)); start=$((start + PAGE))
done
t1=$(now)
printf 'baseline: curl fetching every page: %s s (%s users, %s users/s)\n' "$(secs "$t0" "$t1")" "$fetched" "$(rate "$fetched" "$t0" "$t1")"
printf 'source: {kind: scim, name: scim, url: "%s", token_env: HR_TOKEN, page_size: %s, timeout_seconds: 120}\n' "$SCIM_URL" "$PAGE" >"$work/scim.yaml"
hr_db rg_bench_scim >/dev/null; untrack
t2=$(now); "$RS" hr --mapping "$work/scim.yaml" >/dev/null; t3=$(now)
printf 'ours: registry-sync hr full sync: %s s (%s users/s, %s rows written)\n' "$(secs "$t2" "$t3")" "$(rate "$N" "$t2" "$t3")" "$(last_rows)"
printf 'ratio sync / fetch: %s (target <= 1.2)\n' "$(python3 -c "print(f'{($t3 - $t2) / ($t1 - $t0):.2f}')")"
t4=$(now); "$RS" hr --mapping "$work/scim.yaml" >/dev/null; t5=$(now)
printf 'incremental re-run, nothing changed: %s s, %s rows written\n' "$(secs "$t4" "$t5")" "$(last_rows)"
