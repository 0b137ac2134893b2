#!/usr/bin/env bash
# serve's health job: audit.verify_incremental()'s result every run and the full audit.verify()'s
# on a slower schedule (tampering before the last verified seal is found by the full one, after
# it by the incremental one), unsealed versions, the last seal, reference
# violations (dangling elements of report-only references), the last HR run and principals
# without an HR link, computed on a schedule into /metrics; a tampered audit trail and a new
# dangling reference show there, and the alert rules fire on the scraped series in promtool.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
. test/lib/tap.sh
. test/lib/hr.sh
. test/lib/dr.sh
work=$(mktemp -d); chmod 755 "$work"; pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
hr_db rg_serve_health || { echo "not ok 1 - create database with the registry schema"; exit 1; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { local end=$((SECONDS + $1)); shift; while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.2; done; return 1; }
port=$(free_port)
get() { curl -s --max-time 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
m() { get /metrics >/dev/null; grep -E "^$1( |\{)" "$work/body" 2>/dev/null | sed -n "s/^[^ ]* //p" | head -1; }
health_ts() { m registry_sync_health_timestamp_seconds; }
next_health() { local t; t=$(health_ts); wait_for 20 '[ "$(health_ts)" != "$t" ]'; }

"$RS" apply --registry examples/registry-2026-01 --on-dangling=drop >/dev/null 2>&1; tap_is "$?" 0 "the example registry is applied"
"$RS" hr --mapping <(printf 'source: {kind: csv, name: hr-csv, file: %s}\nfields: {employee_id: employee_number, first_name: first_name, last_name: last_name}\n' "$PWD/test/fixtures/hr/users.csv") >/dev/null 2>&1
# One KPI names an existing data product (the example's KPIs name none that exist).
q "UPDATE public.kpis SET data_product_id = (SELECT min(id) FROM public.data_products) WHERE id = (SELECT min(id) FROM public.kpis)" >/dev/null
dr_seal_all; tap_ok $? "audit sealed"
cat >"$work/serve.yaml" <<YAML
serve:
  listen: 127.0.0.1:$port
  migrations_dir: $PWD/migrations
jobs:
  health: {kind: health, every_seconds: 1, full_verify_every_seconds: 4}
YAML
"$RS" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 & spid=$!; pids+=($spid)
wait_for 20 '[ -n "$(health_ts)" ] && [ "$(health_ts)" != 0 ]'; tap_ok $? "the health job computes the metrics"
tap_is "$(m registry_sync_audit_verify_ok)" 1 "registry_sync_audit_verify_ok is 1"
tap_is "$(m registry_sync_audit_full_verify_ok)/$(m registry_sync_audit_incremental_verify_ok)" 1/1 "the full and the incremental verify both found the chain intact"
tap_is "$(m registry_sync_audit_unsealed_versions)" 0 "no unsealed versions after sealing"
tap_is "$(m registry_sync_audit_verified_versions)" "$(q "SELECT checked FROM audit.verify()")" "verified versions as audit.verify() counts them"
seal=$(q "SELECT extract(epoch FROM max(sealed_at))::float8 FROM audit.seal")
tap_ok "$(python3 -c "import sys; sys.exit(0 if abs(float('$(m registry_sync_audit_last_seal_timestamp_seconds)') - $seal) < 0.01 else 1)"; echo $?)" "the last seal's time"
dangling() { q "SELECT count(*) FROM guard.reference r, guard.reference_violations(r) WHERE r.name = 'kpis_data_product'"; }
d0=$(dangling)
tap_is "$(m 'registry_sync_reference_violations\{reference="kpis_data_product",mode="report-only"\}')" "$d0" "dangling elements of the report-only reference as guard.reference_violations counts them ($d0)"
tap_is "$(m 'registry_sync_reference_violations\{reference="kpis_business_processes",mode="enforced"\}')" 0 "an enforced reference has no violations"
hr_ts=$(q "SELECT extract(epoch FROM max(finished_at))::float8 FROM registry_sync.sync_runs WHERE kind = 'hr' AND status = 'succeeded'")
tap_ok "$(python3 -c "import sys; sys.exit(0 if abs(float('$(m 'registry_sync_hr_last_success_timestamp_seconds\{tenant="default"\}')') - $hr_ts) < 0.01 else 1)"; echo $?)" "the last successful HR run per tenant"
tap_is "$(m registry_sync_principals_not_in_hr)" "$(q "SELECT count(*) FROM public.principal_profiles WHERE hr_source IS NULL AND status = 'active'")" "active principals without an HR link"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.good"

# A new dangling element and an unsealed change.
q "UPDATE public.kpis SET data_product_id = 'no_such_product' WHERE id = (SELECT min(id) FROM public.kpis)" >/dev/null
next_health; next_health
tap_is "$(m 'registry_sync_reference_violations\{reference="kpis_data_product",mode="report-only"\}')" "$((d0 + 1))" "the new dangling element is counted"
tap_ok "$([ "$(m registry_sync_audit_unsealed_versions)" -ge 1 ]; echo $?)" "the change is an unsealed version"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.dangling"

# Tampering: a superuser edits a sealed version behind the triggers' back.
tamper() {
  psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
ALTER TABLE audit.version_log DISABLE TRIGGER USER;
UPDATE audit.version_log SET image = image || '{"name": "someone else"}' WHERE id = $1;
ALTER TABLE audit.version_log ENABLE TRIGGER USER;
COMMIT;
SQL
}
# Before the last seal the incremental verify found good: only the full verify (every 4 s
# here, at start and on its slower schedule) looks there.
tap_ok "$([ "$(q "SELECT seal_id FROM audit.verify_state")" -gt 0 ]; echo $?)" "the incremental verify remembers its last verified seal"
tampered_at=$(date +%s.%N)
tamper "$(q "SELECT min(id) + 5 FROM audit.version_log")"
next_health
tap_is "$(m registry_sync_audit_incremental_verify_ok)" 1 "tampering before the last verified seal is not the incremental verify's (it stays cheap)"
wait_for 20 'python3 -c "import sys; sys.exit(0 if float(\"$(m registry_sync_audit_full_verify_timestamp_seconds)\") > $tampered_at else 1)"'
tap_ok $? "the full verify runs on its own schedule"
tap_is "$(m registry_sync_audit_full_verify_ok)" 0 "the full verify finds the tampering"
tap_is "$(m registry_sync_audit_verify_ok)" 0 "registry_sync_audit_verify_ok is 0 after tampering"
tap_like "$(cat "$work/serve.log")" "VERIFY FAILED" "the log says so"
get /metrics >/dev/null; cp "$work/body" "$work/metrics.tampered"
kill -TERM "$spid"; wait "$spid"; tap_is "$?" 0 "serve stops cleanly"

# After it: a change sealed since the last verified seal, then tampered; the incremental verify
# of the next run finds it.
q "UPDATE public.kpis SET name = name || ' (renamed)' WHERE id = (SELECT max(id) FROM public.kpis)" >/dev/null
dr_seal_all; tap_ok $? "the change is sealed"
after=$(q "SELECT max(s.id) FROM audit.seal s WHERE s.id > (SELECT seal_id FROM audit.verify_state)")
tap_ok "$([ -n "$after" ]; echo $?)" "a version sealed after the last verified seal"
tamper "$after"
"$RS" serve --config "$work/serve.yaml" >>"$work/serve.log" 2>&1 & spid=$!; pids+=($spid)
wait_for 20 '[ "$(m registry_sync_audit_incremental_verify_ok)" = 0 ]'
tap_ok $? "the incremental verify finds tampering after the last verified seal"
kill -TERM "$spid"; wait "$spid"; tap_is "$?" 0 "serve stops cleanly again"
# The full verify's interval is a health job's setting.
printf 'jobs:\n  s:\n    kind: seal\n    every_seconds: 5\n    full_verify_every_minutes: 60\n' >"$work/bad.yaml"
"$RS" serve --config "$work/bad.yaml" >"$work/out" 2>&1
tap_is "$?" 2 "full_verify_every_minutes on a seal job is a usage error"
tap_like "$(cat "$work/out")" "bad.yaml:5: full_verify_every_minutes/_seconds are settings of health jobs" "the error names file:line"

rules=$PWD/packaging/prometheus/registry-sync.rules.yml
promtest() {  # promtest METRICS NAME ALERT=firing|none...
  local f=$1 name=$2; shift 2
  python3 test/tools/metrics_to_promtool.py "$f" "$rules" "$work/t.yml" serve:9187 "$@" || { tap_ok 1 "$name"; return; }
  out=$(promtool test rules "$work/t.yml" 2>&1); rc=$?
  tap_is "$rc" 0 "$name"; [ "$rc" = 0 ] || echo "$out" | head -20 | sed 's/^/#   /'
}
promtest "$work/metrics.good" "promtool: no audit or reference alert on a healthy registry" RegistrySyncAuditVerifyFailed=none RegistrySyncEnforcedReferenceViolated=none
promtest "$work/metrics.tampered" "promtool: RegistrySyncAuditVerifyFailed fires on the series scraped after tampering" RegistrySyncAuditVerifyFailed=firing
# New dangling references: the rule compares with an hour before, so feed both scrapes.
python3 - "$work/metrics.good" "$work/metrics.dangling" "$rules" "$work/d.yml" <<'PY'
import re, sys, yaml
good, dang, rules, out = sys.argv[1:]
def val(path):
    for l in open(path):
        if l.startswith('registry_sync_reference_violations{reference="kpis_data_product"'):
            return l.split()[-1]
a, b = val(good), val(dang)
series = [{"series": 'registry_sync_reference_violations{instance="serve:9187",job="registry-sync",reference="kpis_data_product",mode="report-only"}',
           "values": f"{a}x60 {b}x60"}]
r = {r["alert"]: r for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"]}["RegistrySyncNewDanglingReferences"]
ann = {k: v.replace("{{ $labels.reference }}", "kpis_data_product") for k, v in r["annotations"].items()}
exp = [{"exp_labels": {"instance": "serve:9187", "job": "registry-sync", "reference": "kpis_data_product", "mode": "report-only", **r["labels"]},
        "exp_annotations": ann}]
yaml.safe_dump({"rule_files": [rules], "evaluation_interval": "1m", "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": [
    {"eval_time": "50m", "alertname": "RegistrySyncNewDanglingReferences", "exp_alerts": []},
    {"eval_time": "70m", "alertname": "RegistrySyncNewDanglingReferences", "exp_alerts": exp}]}]}, open(out, "w"), sort_keys=False)
PY
out=$(promtool test rules "$work/d.yml" 2>&1); rc=$?
tap_is "$rc" 0 "promtool: RegistrySyncNewDanglingReferences fires on the scraped counts (before and after the new one)"; [ "$rc" = 0 ] || echo "$out" | head -20 | sed 's/^/#   /'
tap_done
