#!/usr/bin/env bash
# The Prometheus alert rules (packaging/prometheus): promtool check rules and the rules' unit
# tests (promtool test rules) pass, and a changed rule makes them fail; every rule has a
# severity and a runbook that exists; the example Prometheus and Alertmanager configs are
# valid; and no rule or rules test names a metric that a running serve (with a job of every
# kind) does not export - the names are scraped from its /metrics; the same for the panels of
# the Grafana dashboard (packaging/grafana).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
P=packaging/prometheus
work=$(mktemp -d); chmod 755 "$work"; pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

command -v promtool >/dev/null; tap_ok $? "promtool is installed (Debian package prometheus, scripts/deps.sh)"
out=$(promtool check rules "$P/registry-sync.rules.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool check rules passes"; [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'
out=$(cd "$P" && promtool test rules registry-sync.rules.test.yml 2>&1); rc=$?
tap_is "$rc" 0 "promtool test rules passes"; [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'
# The unit tests can fail: a rule whose threshold changed no longer fires when they expect it.
cp "$P"/registry-sync.rules*.yml "$work/"
sed -i 's/expr: registry_sync_database_up == 0/expr: registry_sync_database_up == 2/' "$work/registry-sync.rules.yml"
out=$(cd "$work" && promtool test rules registry-sync.rules.test.yml 2>&1); rc=$?
tap_isnt() { [ "$1" != "$2" ]; tap_ok $? "$3"; }
tap_isnt "$rc" 0 "promtool test rules fails for a changed rule"
tap_like "$out" "RegistrySyncDatabaseUnreachable" "and names the alert"

# Severity and runbook of every rule; the runbook file (and its anchor) exist.
out=$(python3 - "$P/registry-sync.rules.yml" <<'PY'
import os, re, sys, yaml
bad = []
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        name = r.get("alert", "?")
        if r.get("labels", {}).get("severity") not in ("critical", "warning"):
            bad.append(f"{name}: severity must be critical or warning")
        url = r.get("annotations", {}).get("runbook_url", "")
        path, _, anchor = url.partition("#")
        if not path.startswith("docs/runbooks/") or not os.path.isfile(path):
            bad.append(f"{name}: runbook_url {url!r} is not a file in docs/runbooks")
            continue
        if anchor:
            heads = {re.sub(r"[^a-z0-9 -]", "", l.lstrip("#").strip().lower()).replace(" ", "-")
                     for l in open(path) if l.startswith("#")}
            if anchor not in heads:
                bad.append(f"{name}: {path} has no heading for #{anchor}")
        for k in ("summary", "description"):
            if not r.get("annotations", {}).get(k):
                bad.append(f"{name}: no {k} annotation")
print("\n".join(bad))
PY
)
tap_is "$out" "" "every rule has a severity, a summary, a description and a runbook that exists"
out=$(promtool check config "$P/prometheus.example.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool check config passes for prometheus.example.yml"
if command -v amtool >/dev/null; then
  out=$(amtool check-config "$P/alertmanager.example.yml" 2>&1); rc=$?
  tap_is "$rc" 0 "amtool check-config passes for alertmanager.example.yml"; [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'
else
  tap_ok 1 "amtool is installed (Debian package prometheus-alertmanager, scripts/deps.sh)"
fi

# The metrics serve exports, scraped from a running serve with a job of every kind.
hr_db rg_alert_rules || { echo "not ok - create database with the registry schema"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
cat >"$work/hr.yaml" <<YAML
source: {kind: csv, name: hr-csv, file: $PWD/test/fixtures/hr/users.csv}
fields: {employee_id: employee_number, first_name: first_name, last_name: last_name}
YAML
cat >"$work/serve.yaml" <<YAML
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
jobs:
  hr: {kind: hr, mapping: $work/hr.yaml, every_minutes: 60}
  registry: {kind: apply, registry: $PWD/examples/registry-2026-01, on_dangling: drop, every_minutes: 60}
  seal: {kind: seal, every_minutes: 60}
  manifests: {kind: manifest, dir: $work/manifests, every_minutes: 60}
  snapshot: {kind: export, dir: $work/snap, every_minutes: 60}
  health: {kind: health, every_minutes: 60}
YAML
"$RS" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 & spid=$!; pids+=($spid)
ok=1
for _ in $(seq 1 150); do
  if curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >"$work/metrics" 2>/dev/null &&
     grep -q '^registry_sync_snapshot_age_seconds' "$work/metrics" && grep -q '^registry_sync_database_up' "$work/metrics" &&
     grep -q '^registry_sync_audit_verify_ok' "$work/metrics"; then ok=0; break; fi
  sleep 0.2
done
tap_ok "$ok" "serve's /metrics is scraped"
grep '^# TYPE ' "$work/metrics" | awk '{ print $3 }' | sort -u >"$work/exported"
tap_ok "$([ "$(wc -l <"$work/exported")" -ge 10 ]; echo $?)" "serve exports $(wc -l <"$work/exported") metric families"
kill -TERM "$spid"; wait "$spid"

# unknown_dashboard_metrics DASHBOARD: metric names in panel queries and template variables
# that serve does not export; also a panel that names no registry_sync_ metric.
unknown_dashboard_metrics() {
  python3 - "$work/exported" "$1" <<'PY'
import json, re, sys
exported = set(open(sys.argv[1]).read().split())
d = json.load(open(sys.argv[2]))
out = []
for p in d["panels"]:
    names = set()
    for t in p.get("targets", []):
        names |= set(re.findall(r"\bregistry_sync_[a-zA-Z0-9_:]*", t.get("expr", "")))
    if not names:
        out.append(f"panel {p['title']!r}: names no registry_sync_ metric")
    out += [f"panel {p['title']!r}: {n}" for n in sorted(names - exported)]
for v in d.get("templating", {}).get("list", []):
    q = v.get("query", "")
    out += [f"variable {v['name']}: {n}" for n in sorted(set(re.findall(r"\bregistry_sync_[a-zA-Z0-9_:]*", q if isinstance(q, str) else "")) - exported)]
print("\n".join(out))
PY
}
tap_is "$(unknown_dashboard_metrics packaging/grafana/registry-sync.dashboard.json)" "" \
  "every metric the Grafana dashboard's panels name is exported by serve"
# The panels' queries parse: promtool check rules on them as recording rules ($instance -> .*).
python3 - packaging/grafana/registry-sync.dashboard.json "$work/panels.rules.yml" <<'PY'
import json, sys, yaml
d = json.load(open(sys.argv[1]))
rules = [{"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": t["expr"].replace("$instance", ".*")}
         for p in d["panels"] for t in p["targets"]]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
PY
out=$(promtool check rules "$work/panels.rules.yml" 2>&1); rc=$?
tap_is "$rc" 0 "every panel query of the dashboard is valid PromQL (promtool)"; [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'
sed 's/registry_sync_job_last_duration_seconds/registry_sync_job_duration_seconds/' packaging/grafana/registry-sync.dashboard.json >"$work/dash.json"
tap_like "$(unknown_dashboard_metrics "$work/dash.json")" "panel 'Job run duration': registry_sync_job_duration_seconds" \
  "a panel naming a metric serve does not export is found"

# unknown_metrics RULES [TEST]: metric names in rule expressions (and in the rules test's input
# series) that serve does not export; also a rule that names no registry_sync_ metric at all.
unknown_metrics() {
  python3 - "$work/exported" "$@" <<'PY'
import re, sys, yaml
exported = set(open(sys.argv[1]).read().split())
out = []
for g in yaml.safe_load(open(sys.argv[2]))["groups"]:
    for r in g["rules"]:
        names = set(re.findall(r"\bregistry_sync_[a-zA-Z0-9_:]*", r["expr"]))
        if not names:
            out.append(f"{r.get('alert')}: names no registry_sync_ metric")
        out += [f"{r.get('alert')}: {n}" for n in sorted(names - exported)]
if len(sys.argv) > 3:
    for t in yaml.safe_load(open(sys.argv[3]))["tests"]:
        for s in t.get("input_series", []):
            n = s["series"].split("{")[0]
            if n not in exported:
                out.append(f"test series: {n}")
print("\n".join(sorted(set(out))))
PY
}
tap_is "$(unknown_metrics "$P/registry-sync.rules.yml" "$P/registry-sync.rules.test.yml")" "" \
  "every metric the rules and their tests name is exported by serve"
sed -i 's/registry_sync_snapshot_age_seconds > 7200/registry_sync_snapshot_age > 7200/' "$work/registry-sync.rules.yml"
tap_like "$(unknown_metrics "$work/registry-sync.rules.yml")" "RegistrySyncSnapshotStale: registry_sync_snapshot_age$" \
  "a rule naming a metric serve does not export is found"
tap_done
