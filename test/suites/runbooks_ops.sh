#!/usr/bin/env bash
# The operators' runbooks, run from the documents on a throw-away cluster: database down (the
# cluster stopped under a running serve), add a principal, HR sync refused, bad migration,
# audit verify failed (a version edited behind the triggers' back), rotate secrets (SCRAM
# passwords over TCP, a SCIM server that checks its bearer token). Each block of
# docs/runbooks/{database-down,add-principal,hr-sync-refused,bad-migration,
# audit-verify-failed,rotate-secrets}.md runs and its output is checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
. test/lib/runbook.sh
. test/lib/dr.sh
. test/lib/hr.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-rbops.XXXXXX"); chmod 755 "$work"
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  hr_scim_stop; pgc_stop; rm -rf "$work"
}
trap cleanup EXIT
step() {  # step NAME CMD...: runs CMD, one TAP line; its output as diagnostics when it fails
  local name=$1 s; shift
  "$@" >"$work/out" 2>&1; s=$?
  tap_ok $s "$name"
  [ $s = 0 ] || tail -20 "$work/out" | sed 's/^/#   /'
  return $s
}
out() { cat "$work/out"; }
as_server_block() { (cd / && rb_run_as_server "$1"); }
PGC_TCP=1 pgc_start rg-rbops >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
tcp_port=$PGPORT
# Passwords are checked over TCP (except for the harness's postgres); the socket trusts.
pgc_as_server sh -c "printf 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >'$PGC_ROOT/run/data/pg_hba.conf'"
pgc_pg_ctl reload >/dev/null
mkdir -p "$work/bin"; ln -s "$rs" "$work/bin/registry-sync"
export PATH="$work/bin:$PGC_BIN:$PATH" RGSYNC_MAPPING=$repo/config/registry-mapping.yaml
export PGDATA=$PGC_ROOT/run/data MIGRATIONS=$work/migrations REGISTRY_DIR=$work/registry SNAPSHOT_DIR=$work/snapshot \
       HR_MAPPING=$work/hr.yaml EVIDENCE_DIR=$work/evidence SECRETS_DIR=$work/secrets SYNC_ROLE=rg_sync_ops
mkdir -p "$MIGRATIONS" "$REGISTRY_DIR" "$EVIDENCE_DIR" "$SECRETS_DIR"; chmod 700 "$SECRETS_DIR"
cp migrations/*.sql "$MIGRATIONS"/; cp examples/registry-2026-01/*.yaml "$REGISTRY_DIR"/
cp test/fixtures/hr/users.csv "$work/users.csv"
sed "s|file: /var/lib/registry-sync/hr/users.csv|file: $work/users.csv|" config/hr-csv.yaml >"$HR_MAPPING"
step "registry-sync migrate" "$rs" migrate --dir "$MIGRATIONS"
step "registry-sync apply of the sample registry" "$rs" apply --registry "$REGISTRY_DIR" --on-dangling=drop

# serve with a job that writes a restore manifest every second, to watch /readyz (and the job).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SERVE_URL=http://127.0.0.1:$port
cat >"$work/serve.yaml" <<EOF
serve: {listen: "127.0.0.1:$port", migrations_dir: "$MIGRATIONS", retry_max_seconds: 1}
jobs:
  manifests: {kind: manifest, dir: "$work/manifests", every_seconds: 1}
EOF
mkdir -p "$work/manifests"
printf 'serve: {listen: "127.0.0.1:%s"}\njobs:\n  m: {kind: manifest, every_seconds: 1}\n' "$port" >"$work/bad-serve.yaml"
out=$(timeout 20 "$rs" serve --config "$work/bad-serve.yaml" 2>&1); rc=$?
tap_is "$rc" 2 "a manifest job without dir is a config error (exit 2)"
tap_like "$out" "bad-serve.yaml:3.*manifest job 'm' needs dir" "naming file:line"
"$rs" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 &
serve_pid=$!
wait_for() { local end=$((SECONDS + $1)); shift; while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.3; done; return 1; }
readyz() { curl -s -o /dev/null -w '%{http_code}' "$SERVE_URL/readyz"; }
wait_for 30 '[ "$(readyz)" = 200 ]'; tap_ok $? "serve is ready"

# ---- database down
rb_use docs/runbooks/database-down.md
step "snapshot export (database-down: export-snapshot)" rb_run export-snapshot
pgc_pg_ctl -m fast stop >/dev/null
step "check-isready runs" rb_run check-isready
tap_like "$(out)" "no response" "pg_isready says the server gives no response"
step "check-sync runs" rb_run check-sync
tap_like "$(out)" "server is not reachable" "registry-sync says the server is not reachable"
tap_like "$(out)" "exit status 3" "and exits 3"
step "check-readyz runs" rb_run check-readyz
tap_like "$(out)" "\(HTTP 503\)" "serve's /readyz answers 503"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' "$SERVE_URL/healthz")" 200 "while /healthz stays 200"
step "the server starts (database-down: start-server)" as_server_block start-server
wait_for 20 '[ "$(readyz)" = 200 ]'
step "recovery confirmed (database-down: confirm-up)" rb_run confirm-up
tap_like "$(out)" "accepting connections" "pg_isready accepts again"
tap_like "$(out)" "applied: 0 row\(s\) written|0 row\(s\) written" "the snapshot still round-trips (apply writes nothing)"
n_before=$(ls "$work/manifests" | wc -l)
wait_for 10 '[ "$(ls "$work/manifests" | wc -l)" -gt "$n_before" ]'; tap_ok $? "serve's manifest job writes again after the restart"
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; serve_pid=
newest=$(ls -1 "$work/manifests"/registry-*Z.json | tail -1)
tap_like "$newest" "/registry-[0-9]{8}T[0-9]{6}Z\.json$" "manifests are named by their UTC time ($(ls "$work/manifests" | wc -l) written)"
"$rs" verify-restore --manifest "$newest" >"$work/out" 2>&1
tap_ok $? "the newest scheduled manifest verifies against the database it was taken from"
tap_like "$(cat "$work/serve.log")" "job manifests: manifest of [0-9]+ tables -> .*/registry-" "each run is logged with the file it wrote"

# ---- add a principal (before the first HR run: HR links the YAML entry by employee_id)
rb_use docs/runbooks/add-principal.md
step "add-principal: ap-check" rb_run ap-check -At
tap_is "$(out)" "" "no profile for employee 41002 yet"
rb_block ap-entry >>"$REGISTRY_DIR/principal_registry.yaml.new" && {
  # The entry goes at the end of the principals list (before the top-level roles key).
  python3 - "$REGISTRY_DIR/principal_registry.yaml" "$REGISTRY_DIR/principal_registry.yaml.new" <<'PY'
import sys
path, entry = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
i = text.index("\n# Role definitions") if "\n# Role definitions" in text else text.index("\nroles:")
open(path, "w").write(text[:i].rstrip("\n") + "\n" + entry + text[i:])
PY
}
rm -f "$REGISTRY_DIR/principal_registry.yaml.new"
step "add-principal: ap-apply (validate, dry run, apply, HR)" rb_run ap-apply
tap_like "$(out)" "0 error\(s\)" "the edited registry validates"
tap_like "$(out)" "principal_profiles: 1 added, 0 changed" "the dry run plans one new profile"
tap_like "$(out)" "hr hr-csv: .*created 4, updated 1" "HR links the entry (1 updated) and creates the other four"
step "add-principal: ap-confirm" rb_run ap-confirm -At
tap_like "$(out)" "^finance_director_001\|Jonas Lindqvist\|Director, Finance Operations\|Finance\|41002\|hr-csv\|active\|Teams$" \
  "one profile: HR's title, the registry's preferences"
tap_like "$(out)" "INSERT\|registry-sync apply" "its creation by apply is in the audit trail"

# ---- HR sync refused
rb_use docs/runbooks/hr-sync-refused.md
sed -i '/^41004,/d' "$work/users.csv"
"$rs" hr --mapping "$HR_MAPPING" >"$work/out" 2>&1; rc=$?
tap_is "$rc" 1 "an HR run deactivating 1 of 5 is refused (exit 1)"
tap_like "$(out)" "refused: would deactivate 1 of 5 HR-managed profiles, more than the threshold of 10%" "with the message the runbook quotes"
step "hr-sync-refused: hr-dry-run" rb_run hr-dry-run
tap_like "$(out)" "deactivat.*emp_41004|emp_41004.*deactivat" "the dry run names the profile it would deactivate"
step "hr-sync-refused: hr-runs" rb_run hr-runs -At
tap_like "$(out)" "failed\|.*refused: would deactivate" "sync_runs records the refused run"
step "hr-sync-refused: hr-allow" rb_run hr-allow
tap_like "$(out)" "deactivated 1" "the allowed run deactivates the profile"
step "hr-sync-refused: hr-confirm" rb_run hr-confirm
tap_like "$(out)" "0 rows written" "the next run has nothing to do"
tap_like "$(out)" "emp_41004 inactive" "and lists the deactivated profile"

# ---- alerts: the registry checked offline, a release with a pending migration, references
rb_use docs/runbooks/alerts.md
step "alerts: al-validate" rb_run al-validate
tap_like "$(out)" "0 error\(s\)" "the registry validates offline"
probe=$(date -u -d '-3 minutes' +%Y%m%d%H%M%S)_release_probe
printf 'CREATE TABLE public.release_probe (id int PRIMARY KEY);\nALTER TABLE public.release_probe ENABLE ROW LEVEL SECURITY;\n' \
  >"$MIGRATIONS/$probe.sql"
step "alerts: al-migrate (a pending migration checked, then applied)" rb_run al-migrate
tap_like "$(out)" "$probe" "migrate --check and migrate name the pending migration"
tap_is "$(psql -X -At -c "SELECT to_regclass('public.release_probe') IS NOT NULL")" t "and it is applied"
step "alerts: al-violations" rb_run al-violations -At
tap_is "$(grep -c 'kpis_business_processes' "$work/out")" 0 "no violation of the enforced kpis_business_processes"
step "alerts: al-validate-reference" rb_run al-validate-reference -At
tap_is "$(psql -X -At -c "SELECT validated FROM guard.references WHERE name = 'kpis_business_processes'")" t \
  "kpis_business_processes is validated"

# ---- bad migration (drops kpis.synonyms and rewrites descriptions), deployed, then fixed forward
rb_use docs/runbooks/bad-migration.md
bad_version=$(date -u -d '-2 minutes' +%Y%m%d%H%M%S)
# A KPI that exists only in the database (not in git): apply does not put it back.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO public.kpis SELECT (jsonb_populate_record(NULL::public.kpis,
    to_jsonb(k) || '{"id": "db_only_kpi", "name": "DB-only KPI", "description": "kept in the database only"}')).*
  FROM public.kpis k WHERE k.domain = 'Finance' ORDER BY k.id LIMIT 1;
SQL
tap_ok $? "a KPI kept only in the database (db_only_kpi)"
cat >"$MIGRATIONS/${bad_version}_kpi_cleanup.sql" <<'SQL'
UPDATE public.kpis SET description = 'see wiki' WHERE domain = 'Finance';
ALTER TABLE public.kpis DROP COLUMN synonyms;
SQL
step "the bad migration deploys" "$rs" migrate --dir "$MIGRATIONS"
"$rs" apply --registry "$REGISTRY_DIR" --on-dangling=drop >"$work/out" 2>&1; rc=$?
[ "$rc" != 0 ]; tap_ok $? "apply fails against the changed schema (exit $rc)"
step "bad-migration: bm-status" rb_run bm-status
tap_like "$(out)" "applied +${bad_version}_kpi_cleanup.sql" "status lists the bad migration as applied"
step "bad-migration: bm-recent" rb_run bm-recent -At
tap_like "$(head -1 "$work/out")" "^${bad_version}\|kpi_cleanup\|" "the last migration is the bad one, with when and by whom"
step "bad-migration: bm-changes" rb_run bm-changes -At
cp "$work/out" "$work/changes"
tap_is "$(grep -c '|UPDATE|kpis|' "$work/out")" "$(psql -X -At -c "SELECT count(*) FROM public.kpis WHERE domain = 'Finance'")" \
  "the data changes of the migration's transaction are listed, one per KPI it rewrote"
tap_like "$(out)" "\|description,updated_at\|" "naming the changed columns"
step "bad-migration: bm-forward-fix" rb_run bm-forward-fix
step "bad-migration: bm-reapply" rb_run bm-reapply
tap_like "$(out)" "applied: [1-9][0-9]* row\(s\) written" "apply rewrites the KPIs from git"
tap_is "$(psql -X -At -c "SELECT description FROM public.kpis WHERE id = 'db_only_kpi'")" "see wiki" "but not the KPI kept only in the database"
bad=$(awk -F'|' '$2 == "UPDATE" && $3 == "kpis" && $4 == "db_only_kpi" { print $1 }' "$work/changes")
[ -n "$bad" ]; tap_ok $? "bm-changes lists the migration's version of db_only_kpi ($bad)"
# The two blocks in one psql session, as the runbook has them (\gset hands last_good on).
{ rb_block bm-last-good ; rb_block bm-restore-row ; } >"$work/restore-row.sql"
step "bad-migration: bm-last-good + bm-restore-row" psql -X -At -v ON_ERROR_STOP=1 -v bad="$bad" -f "$work/restore-row.sql"
tap_is "$(out)" "updated" "audit.restore puts the row back (updated)"
tap_is "$(psql -X -At -c "SELECT description FROM public.kpis WHERE id = 'db_only_kpi'")" "kept in the database only" \
  "db_only_kpi has its description from before the migration again"
step "bad-migration: bm-confirm" rb_run bm-confirm
tap_like "$(out)" "0 row\(s\) written" "the registry equals git again"
tap_is "$(psql -X -At -c "SELECT count(*) FROM public.kpis WHERE description = 'see wiki' OR synonyms IS NULL")" 0 "no KPI keeps the bad description, synonyms are back"

# ---- audit verify failed: a superuser edits a sealed version behind the triggers' back
rb_use docs/runbooks/audit-verify-failed.md
dr_seal_all; tap_ok $? "audit sealed"
victim=$(psql -X -At -c "SELECT min(id) + 5 FROM audit.version_log")
tamper() {  # tamper <jsonb expression over image>
  psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
ALTER TABLE audit.version_log DISABLE TRIGGER USER;
UPDATE audit.version_log SET image = $1 WHERE id = $victim;
ALTER TABLE audit.version_log ENABLE TRIGGER USER;
COMMIT;
SQL
}
original=$(psql -X -At -c "SELECT image FROM audit.version_log WHERE id = $victim")
tamper "image || '{\"name\": \"someone else\"}'"; tap_ok $? "a superuser edits version $victim"
step "audit-verify-failed: av-verify" rb_run av-verify -At
tap_like "$(head -1 "$work/out")" "^f\|[0-9]+\|$victim\|" "verify names version $victim as the first bad one"
step "audit-verify-failed: av-first-bad" rb_run av-first-bad -At
tap_like "$(out)" "^$victim\|" "the first bad version and its neighbours are listed"
step "audit-verify-failed: av-who" rb_run av-who -At
tap_like "$(out)" "^postgres\|t\|" "the superusers are listed"
tap_like "$(out)" "^version_log\|" "and the owners of the audit tables"
step "audit-verify-failed: av-evidence" rb_run av-evidence
tap_like "$(out)" "^[0-9a-f]{64}  .*/audit-[0-9TZ]+\.dump$" "the evidence dump is written with its checksum"
# The true version comes back (as the runbook's step 3 gets it from a backup).
tamper "'$(sed "s/'/''/g" <<<"$original")'::jsonb"
step "audit-verify-failed: av-confirm" rb_run av-confirm -At
tap_like "$(out)" "^t\|[0-9]+\|\|0$" "verify passes again once the version is back"

# ---- rotate secrets (over TCP, where passwords are checked)
rb_use docs/runbooks/rotate-secrets.md
head -c 24 /dev/urandom | base64 | tr -d '\n' >"$SECRETS_DIR/db-password"; chmod 600 "$SECRETS_DIR/db-password"
psql -X -q -v ON_ERROR_STOP=1 -v pw="$(cat "$SECRETS_DIR/db-password")" >/dev/null <<'SQL'
CREATE ROLE rg_sync_ops LOGIN PASSWORD :'pw';
GRANT pg_read_all_data TO rg_sync_ops;
SQL
tap_ok $? "role $SYNC_ROLE with a password"
# Log every DDL statement, so a password sent in an ALTER ROLE would land in the server log.
psql -X -q -c "ALTER SYSTEM SET log_statement = 'ddl'" -c "SELECT pg_reload_conf()" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$tcp_port
step "rotate-secrets: rs-check" rb_run rs-check -At
tap_like "$(out)" "^rg_sync_ops\|" "the password roles are listed"
step "rotate-secrets: rs-db-password" rb_run rs-db-password
tap_is "$(stat -c %a "$SECRETS_DIR/db-password")" 600 "the new password file is 0600"
tap_is "$(stat -c %a "$SECRETS_DIR/pgpass")" 600 "the service's pgpass file is 0600"
tap_is "$(cat "$SECRETS_DIR/pgpass")" "*:*:*:$SYNC_ROLE:$(cat "$SECRETS_DIR/db-password")" "and holds the new password for $SYNC_ROLE"
tap_like "$(psql -X -At -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'rg_sync_ops'")" '^SCRAM-SHA-256\$4096:' "the role holds a SCRAM verifier"
step "rotate-secrets: rs-db-confirm (the new password works)" rb_run rs-db-confirm
tap_is "$(out | wc -l) $(out | sort -u | wc -l)" "2 1" "the same status with --password-file and with the pgpass file as the service reads it"
step "rotate-secrets: rs-old-refused" rb_run rs-old-refused
tap_is "$(out)" "old password refused" "the old password is refused"
[ ! -e "$SECRETS_DIR/db-password.old" ]; tap_ok $? "and its file is gone"
tap_ok "$(grep -rc -- "$(cat "$SECRETS_DIR/db-password")" "$PGC_ROOT/run/server.log" 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}')" \
  "the new password is not in the server log"
# HR token: the HR system (a SCIM server) already accepts only the new token.
# The block reads the token from its input (read -rs), as pasted: it is in no environment here.
unset NEW_HR_TOKEN; new_token=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
hr_gen_scim_users 3 '{"departments": ["Finance"]}' >"$work/scim-users.json"
if SCIM_TOKEN=$new_token hr_scim_start "$work/scim-users.json"; then
  export HR_MAPPING=$work/hr-scim.yaml
  printf 'source: {kind: scim, name: scim, url: "%s", token_env: HR_SCIM_TOKEN, max_attempts: 1}\n' "$SCIM_URL" >"$HR_MAPPING"
  HR_SCIM_TOKEN=old-token "$rs" hr --mapping "$HR_MAPPING" --dry-run >"$work/out" 2>&1
  tap_is "$?" 1 "with the old token the HR source refuses"
  step "rotate-secrets: rs-hr-token (the token pasted into read -rs)" rb_run rs-hr-token <<<"$new_token"
  tap_is "$(cat "$SECRETS_DIR/hr-token")" "$new_token" "the credential file holds the pasted token"
  tap_like "$(out)" "dry run|fetch of 3 users" "the new token fetches the users"
  tap_is "$(stat -c %a "$SECRETS_DIR/hr-token")" 600 "the token file is 0600"
  tap_ok "$(grep -c -- "$new_token" "$work/out")" "the token is not printed"
else
  tap_ok 1 "the SCIM server starts"
fi
# The JWT secret: a copy older self-hosted Supabase kept in the database's settings goes.
jwt=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
psql -X -q -c "ALTER DATABASE postgres SET \"app.settings.jwt_secret\" = '$jwt'" >/dev/null
step "rotate-secrets: rs-check" rb_run rs-check -At
tap_like "$(out)" "^postgres\|\(all\)\|app.settings.jwt_secret=" "rs-check shows the stored JWT secret"
step "rotate-secrets: rs-jwt-reset" rb_run rs-jwt-reset
tap_is "$(psql -X -At -c "SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) s WHERE s LIKE 'app.settings.jwt_secret=%'")" 0 \
  "the stored JWT secret is gone"
tap_done
