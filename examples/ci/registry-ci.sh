#!/usr/bin/env bash
# CI/CD for a registry repository (migrations/ + YAML registry), called by github-actions.yml.
#
#   registry-ci.sh pr       checks a pull request on a THROW-AWAY server (PG* variables name a
#                           superuser of it; databases ci_* are created and dropped there):
#                           validate; migrate --check and migrate from an empty database;
#                           from the previous release's schema (PREVIOUS_MIGRATIONS); against a
#                           schema-only copy of production (PROD_SCHEMA) migrate --check,
#                           migrate and apply --dry-run, whose diff goes to the job summary
#   registry-ci.sh deploy   deploys to the database the PG* variables / DATABASE_URL name:
#                           validate (offline), migrate --check, migrate under the advisory lock
#                           with lock_timeout LOCK_TIMEOUT_SECONDS, status, apply, smoke checks; the
#                           first failing step stops the run, so no registry data is written
#                           unless every schema step succeeded
#
# Environment: REGISTRY_SYNC (binary, default registry-sync), MIGRATIONS (default migrations),
# REGISTRY (YAML directory, default registry), MAPPING (optional --mapping), ON_DANGLING
# (optional --on-dangling for validate and apply), TENANT (optional),
# PREVIOUS_MIGRATIONS (pr: the previous release's migrations directory, optional),
# PROD_SCHEMA (pr: pg_dump --schema-only of production plus the data of schema
# supabase_migrations, optional), CONTRACTS (pr: data product contract files, paths inside
# REGISTRY, that the pull request adds or changes; each gets the onboarding checklist,
# validate --checklist data-product, as a step of its own; optional),
# LOCK_TIMEOUT_SECONDS (deploy, default 5), LARGE_TABLE_ROWS (optional),
# SUMMARY (markdown output; default $GITHUB_STEP_SUMMARY, else stdout).
# Exit status: 0 all steps passed; otherwise the failing step's status (1 findings/refused,
# 2 usage, 3 database unreachable), with the step named on stderr and in the summary.
set -uo pipefail

mode=${1:-}
RS=${REGISTRY_SYNC:-registry-sync}
MIGRATIONS=${MIGRATIONS:-migrations}
REGISTRY=${REGISTRY:-registry}
LOCK_TIMEOUT_SECONDS=${LOCK_TIMEOUT_SECONDS:-5}
SUMMARY=${SUMMARY:-${GITHUB_STEP_SUMMARY:-/dev/stdout}}
mapping_args=(); [ -n "${MAPPING:-}" ] && mapping_args=(--mapping "$MAPPING")
[ -n "${ON_DANGLING:-}" ] && mapping_args+=(--on-dangling "$ON_DANGLING")  # validate and apply alike
tenant_args=(); [ -n "${TENANT:-}" ] && tenant_args=(--tenant "$TENANT")
check_args=(); [ -n "${LARGE_TABLE_ROWS:-}" ] && check_args=(--large-table-rows "$LARGE_TABLE_ROWS")

summary() { printf '%s\n' "$@" >>"$SUMMARY"; }
# step NAME CMD...: runs CMD, puts its output in the summary, stops the run when it fails.
step() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  summary "### ${name}: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)")" '```' "$out" '```'
  printf '== %s: exit %s\n%s\n' "$name" "$rc" "$out" >&2
  if [ "$rc" != 0 ]; then
    summary "**Stopped at: ${name}.** Later steps did not run."
    echo "registry-ci: stopped at step '${name}' (exit $rc); later steps did not run" >&2
    exit "$rc"
  fi
}
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# A second apply must find nothing to add, change or remove.
apply_writes_nothing() {
  local out
  out=$("$RS" apply --dry-run --full-diff --registry "$REGISTRY" "${mapping_args[@]}" "${tenant_args[@]}" 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  if grep -qE ': [1-9][0-9]* added|, [1-9][0-9]* changed|, [1-9][0-9]* removed' <<<"$out"; then
    echo "a second apply would still write rows: the first one did not converge"
    return 1
  fi
}
tables_hold_rows() {
  local t n
  for t in public.kpis public.business_processes public.principal_profiles; do
    n=$(psql -X -Atq -v ON_ERROR_STOP=1 ${DATABASE_URL:+-d "$DATABASE_URL"} -c "select count(*) from $t") || return 1
    echo "$t: $n row(s)"
    [ "$n" -gt 0 ] || { echo "$t is empty after apply"; return 1; }
  done
}
fresh_db() { psql_q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }

case $mode in
  pr)
    summary "## Registry pull request check"
    for contract in ${CONTRACTS:-}; do
      step "onboarding checklist: $contract" "$RS" validate --registry "$REGISTRY" "${mapping_args[@]}" --checklist data-product "$REGISTRY/$contract"
    done
    step "validate the registry" "$RS" validate --registry "$REGISTRY" "${mapping_args[@]}"
    trap 'for d in ci_empty ci_previous ci_prod; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done' EXIT
    fresh_db ci_empty
    step "migrate --check (empty database)" "$RS" migrate --check "${check_args[@]}" --dir "$MIGRATIONS" --dbname ci_empty
    step "migrate (empty database)" "$RS" migrate --dir "$MIGRATIONS" --dbname ci_empty
    step "status (empty database)" "$RS" status --fail-on-pending --dir "$MIGRATIONS" --dbname ci_empty
    if [ -n "${PREVIOUS_MIGRATIONS:-}" ]; then
      fresh_db ci_previous
      step "migrate to the previous release" "$RS" migrate --dir "$PREVIOUS_MIGRATIONS" --dbname ci_previous
      step "migrate --check (from the previous release)" "$RS" migrate --check "${check_args[@]}" --dir "$MIGRATIONS" --dbname ci_previous
      step "migrate (from the previous release)" "$RS" migrate --dir "$MIGRATIONS" --dbname ci_previous
    fi
    target=ci_empty
    if [ -n "${PROD_SCHEMA:-}" ]; then
      fresh_db ci_prod
      step "load the production schema copy" psql_q -d ci_prod -f "$PROD_SCHEMA"
      step "migrate --check (production schema)" "$RS" migrate --check "${check_args[@]}" --dir "$MIGRATIONS" --dbname ci_prod
      step "migrate (production schema)" "$RS" migrate --dir "$MIGRATIONS" --dbname ci_prod
      target=ci_prod
    fi
    step "apply --dry-run: the diff this PR makes ($target)" "$RS" apply --dry-run --registry "$REGISTRY" "${mapping_args[@]}" "${tenant_args[@]}" --dbname "$target"
    summary "All pull request checks passed."
    ;;
  deploy)
    summary "## Registry deploy"
    step "validate the registry" "$RS" validate --registry "$REGISTRY" "${mapping_args[@]}"
    step "migrate --check" "$RS" migrate --check "${check_args[@]}" --dir "$MIGRATIONS"
    # The advisory lock serialises concurrent deploys; lock_timeout bounds every table lock
    # a migration waits for (a failing file is rolled back and the deploy stops here).
    # (registry-sync sets lock_timeout itself, from its config's database.lock_timeout_seconds)
    lock_config=$(mktemp); trap 'rm -f "$lock_config"' EXIT
    printf 'database:\n  lock_timeout_seconds: %s\n' "$LOCK_TIMEOUT_SECONDS" >"$lock_config"
    step "migrate (lock_timeout ${LOCK_TIMEOUT_SECONDS}s)" "$RS" migrate --config "$lock_config" --dir "$MIGRATIONS"
    step "status" "$RS" status --fail-on-pending --dir "$MIGRATIONS"
    step "apply" "$RS" apply --registry "$REGISTRY" "${mapping_args[@]}" "${tenant_args[@]}"
    # Smoke checks: the schema is current, a second apply finds nothing to write, the
    # registry tables answer and hold rows.
    step "smoke: status" "$RS" status --fail-on-pending --dir "$MIGRATIONS"
    step "smoke: apply is idempotent" apply_writes_nothing
    step "smoke: registry tables hold rows" tables_hold_rows
    summary "Deploy finished."
    ;;
  *)
    echo "usage: registry-ci.sh pr|deploy   (see the comment at the top of this script)" >&2
    exit 2
    ;;
esac
