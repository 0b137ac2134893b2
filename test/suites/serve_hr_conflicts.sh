#!/usr/bin/env bash
# serve's HR conflicts metric: registry_sync_hr_conflicts{job,source,conflict} counts what the
# last HR plan of each hr job found and did not apply (fixture test/fixtures/hr/users-conflicts.csv:
# one employee id twice -> same_profile; a profile another HR source already owns ->
# ownership), follows the plan when the data is fixed, and RegistrySyncHrConflicts fires on the
# scraped series in promtool (and not once the conflicts are gone).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
work=$(mktemp -d); chmod 755 "$work"; pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
hr_db rg_serve_hr_conflicts || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
wait_for() { local end=$((SECONDS + $1)); shift; while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done; return 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
get() { curl -s --max-time 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
conflicts() { get /metrics >/dev/null; sed -n "s/^registry_sync_hr_conflicts{job=\"hr\",kind=\"hr\",source=\"hr-csv\",conflict=\"$1\"} //p" "$work/body" 2>/dev/null; }
mapping() {  # mapping NAME CSV
  printf 'source: {kind: csv, name: %s, file: %s}\nfields: {employee_id: employee_number, first_name: first_name, last_name: last_name, email: work_email}\n' "$1" "$2"
}

# Tomás's profile was created by another HR source (an older system, still linked).
grep -E '^(employee_number|51003),' test/fixtures/hr/users-conflicts.csv >"$work/old.csv"
mapping old-hr "$work/old.csv" >"$work/old.yaml"
"$RS" hr --mapping "$work/old.yaml" >"$work/old.log" 2>&1; tap_is "$?" 0 "another HR source created a profile"
cp test/fixtures/hr/users-conflicts.csv "$work/users.csv"
mapping hr-csv "$work/users.csv" >"$work/hr.yaml"
cat >"$work/serve.yaml" <<YAML
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
jobs:
  hr: {kind: hr, mapping: $work/hr.yaml, every_seconds: 1}
YAML
"$RS" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 & spid=$!; pids+=($spid)
wait_for 20 '[ -n "$(conflicts same_profile)" ]'; tap_ok $? "the hr job's conflicts are in /metrics after its first run"
tap_is "$(conflicts same_profile)" 1 "one employee id twice in HR: one same_profile conflict"
tap_is "$(conflicts ownership)" 1 "a profile linked to another HR source: one ownership conflict"
tap_is "$(conflicts email)" 0 "no email conflict"
tap_like "$(cat "$work/serve.log")" "conflict .*appears 2 times in HR" "the log names the conflict"
tap_is "$(q "SELECT count(*) FROM public.principal_profiles WHERE employee_id = '51002'")" 0 "the conflicting users were not applied"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.conflicts"

# HR fixes the duplicate: the next plan has one conflict less (a gauge of the last plan).
grep -v 'Vogel-Brandt' test/fixtures/hr/users-conflicts.csv >"$work/users.csv"
wait_for 20 '[ "$(conflicts same_profile)" = 0 ]'; tap_ok $? "the fixed duplicate is no longer counted"
tap_is "$(conflicts ownership)" 1 "the ownership conflict stays until the profile is resolved"
tap_is "$(q "SELECT count(*) FROM public.principal_profiles WHERE employee_id = '51002'")" 1 "the user is applied once the duplicate is gone"
# The operator hands Tomás's profile over to this source: no conflict left.
q "UPDATE public.principal_profiles SET hr_source = NULL WHERE employee_id = '51003'" >/dev/null
wait_for 20 '[ "$(conflicts ownership)" = 0 ]'; tap_ok $? "no ownership conflict once the profile is handed over"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.clean"
kill -TERM "$spid"; wait "$spid"; tap_is "$?" 0 "serve stops cleanly"

rules=$PWD/packaging/prometheus/registry-sync.rules.yml
promtest() {  # promtest METRICS NAME ALERT=firing|none...
  local f=$1 name=$2; shift 2
  python3 test/tools/metrics_to_promtool.py "$f" "$rules" "$work/t.yml" serve:9187 "$@" || { tap_ok 1 "$name"; return; }
  out=$(promtool test rules "$work/t.yml" 2>&1); rc=$?
  tap_is "$rc" 0 "$name"; [ "$rc" = 0 ] || echo "$out" | head -20 | sed 's/^/#   /'
}
# The scraped conflict series (labelled as a Prometheus scrape labels them) fed to promtool:
# RegistrySyncHrConflicts fires for each kind with conflicts, with its annotations rendered.
python3 - "$work/metrics.conflicts" "$rules" "$work/c.yml" <<'PY'
import re, sys, yaml
metrics, rules, out = sys.argv[1:]
r = {r["alert"]: r for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"]}["RegistrySyncHrConflicts"]
series, exp = [], []
for line in open(metrics):
    m = re.match(r'^registry_sync_hr_conflicts\{(.*)\} (\S+)$', line.strip())
    if not m:
        continue
    labels = {("exported_job" if k == "job" else k): v for k, v in re.findall(r'(\w+)="([^"]*)"', m.group(1))}
    labels.update(instance="serve:9187", job="registry-sync")
    series.append({"series": "registry_sync_hr_conflicts{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}",
                   "values": f"{m.group(2)}+0x40"})
    if float(m.group(2)) > 0:
        ann = {k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda x: labels[x.group(1)], v).replace("{{ $value }}", m.group(2))
               for k, v in r["annotations"].items()}
        exp.append({"exp_labels": {**labels, **r["labels"]}, "exp_annotations": ann})
yaml.safe_dump({"rule_files": [rules], "evaluation_interval": "1m", "tests": [{"interval": "1m", "input_series": series,
    "alert_rule_test": [{"eval_time": "2m", "alertname": "RegistrySyncHrConflicts", "exp_alerts": []},
                        {"eval_time": "10m", "alertname": "RegistrySyncHrConflicts", "exp_alerts": exp}]}]}, open(out, "w"), sort_keys=False)
PY
out=$(promtool test rules "$work/c.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool: RegistrySyncHrConflicts fires on the series scraped with conflicts (for each kind with some)"
[ "$rc" = 0 ] || echo "$out" | head -20 | sed 's/^/#   /'
tap_is "$(grep -c 'exp_labels' "$work/c.yml")" 2 "two alerts expected (same_profile, ownership)"
promtest "$work/metrics.clean" "promtool: and none once they are resolved" RegistrySyncHrConflicts=none
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE rg_serve_hr_conflicts" >/dev/null
tap_done
