#!/usr/bin/env bash
# docs/runbooks/onboard-data-product.md, run from the document on a throw-away cluster: the
# sample contract registry (examples/registry-contracts) is a git checkout with an origin and is
# applied; the runbook's contract is written into it; then every block: the checklist (all
# checks pass), the pull request (pushed to origin), the CI pull-request run with the checklist
# step, the apply (only the product and its two KPIs added) and the database check (ids, not
# display names; the audit trail). A broken copy of the contract fails the CI run at the
# checklist step, before any database step.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/pgcluster.sh
. test/lib/runbook.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-onboard.XXXXXX"); chmod 755 "$work"
cleanup() { pgc_stop; rm -rf "$work"; }
trap cleanup EXIT
step() {  # step NAME CMD...: runs CMD, one TAP line; its output as diagnostics when it fails
  local name=$1 s; shift
  "$@" >"$work/out" 2>&1; s=$?
  tap_ok $s "$name"
  [ $s = 0 ] || tail -30 "$work/out" | sed 's/^/#   /'
  return $s
}
out() { cat "$work/out"; }
pgc_start rg-onboard >/dev/null || { echo "not ok 1 - cannot start a cluster"; exit 1; }
mkdir -p "$work/bin"; ln -s "$rs" "$work/bin/registry-sync"
export PATH="$work/bin:$PGC_BIN:$PATH" LC_ALL=C
export REGISTRY_DIR=$work/registry MIGRATIONS=$work/migrations REGISTRY_CI=$repo/examples/ci/registry-ci.sh ON_DANGLING=fail
export RGSYNC_MAPPING=$REGISTRY_DIR/registry-mapping.yaml TMPDIR=$work
export GIT_AUTHOR_NAME=onboard GIT_AUTHOR_EMAIL=onboard@example.com GIT_COMMITTER_NAME=onboard GIT_COMMITTER_EMAIL=onboard@example.com
mkdir -p "$MIGRATIONS"; cp migrations/*.sql "$MIGRATIONS"/
# The registry repository: the sample contract registry (expected-rows/ are test data, not registry files).
git init -q --bare "$work/origin.git"
cp -r examples/registry-contracts "$REGISTRY_DIR"; rm -rf "$REGISTRY_DIR/expected-rows"
(cd "$REGISTRY_DIR" && git init -q -b main && git add -A && git commit -q -m "registry" && git remote add origin "$work/origin.git" && git push -q -u origin main)
tap_ok $? "the registry checkout with its origin"
step "registry-sync migrate" "$rs" migrate --dir "$MIGRATIONS"
step "registry-sync apply of the registry before onboarding" "$rs" apply --registry "$REGISTRY_DIR"
before_products=$(psql -X -At -c "SELECT count(*) FROM public.data_products")
before_kpis=$(psql -X -At -c "SELECT count(*) FROM public.kpis")

rb_use docs/runbooks/onboard-data-product.md
contract=$REGISTRY_DIR/data_products/dp_supplier_invoices.yaml
rb_block op-contract >"$contract"; tap_ok $? "the runbook's contract is written (op-contract)"

step "onboard: op-checklist" rb_run op-checklist
tap_is "$(grep -c '^ok ' "$work/out")" 10 "every check of the checklist passes"
tap_like "$(out)" "^10 passed, 0 failed$" "the checklist's summary"
tap_like "$(out)" "^ok   related business processes exist: procurement_spend_analysis$" "the process named by display name is found"
tap_like "$(out)" "^ok   KPIs that name the product exist: 2 in the contract" "the contract's two KPIs name the product"
tap_like "$(out)" "registry-contracts|\.: 0 error\(s\)" "the whole registry validates with the contract"

# The failure the runbook quotes: a misspelt view.
cp "$contract" "$work/contract.orig"
sed -i '0,/    view_name: v_invoices_monthly/s//    view_name: v_invoice_monthly/' "$contract"
out=$(cd "$REGISTRY_DIR" && LC_ALL=C.UTF-8 registry-sync validate --registry . --checklist data-product data_products/dp_supplier_invoices.yaml 2>&1); rc=$?
tap_is "$rc" 1 "a KPI naming a view the contract lacks: exit status 1"
quoted=$(sed -n '/misspelt view: `/,/name`\./p' docs/runbooks/onboard-data-product.md | tr '\n' ' ' | sed -E 's/.*misspelt view: `(.*)`\. Exit.*/\1/; s/ +/ /g')
got=$(grep '^✗' <<<"$out" | tr -s ' ')
tap_is "$got" "$quoted" "the failure line is the one the runbook quotes"
# ... and the CI run stops at the checklist step, before any database step.
summary=$work/bad-summary.md
(cd "$REGISTRY_DIR" && REGISTRY=. MAPPING="$RGSYNC_MAPPING" CONTRACTS=data_products/dp_supplier_invoices.yaml SUMMARY="$summary" \
  "$REGISTRY_CI" pr >/dev/null 2>&1); rc=$?
tap_is "$rc" 1 "the CI pull-request run fails with the broken contract (exit 1)"
tap_like "$(cat "$summary")" "### onboarding checklist: data_products/dp_supplier_invoices.yaml: FAILED \(exit 1\)" "its summary names the checklist step"
tap_like "$(cat "$summary")" "Stopped at: onboarding checklist" "and says the later steps did not run"
cp "$work/contract.orig" "$contract"

step "onboard: op-pr" rb_run op-pr
tap_like "$(git --git-dir="$work/origin.git" ls-tree -r --name-only onboard/dp_supplier_invoices)" "^data_products/dp_supplier_invoices.yaml$" \
  "the branch with the contract is on origin"

step "onboard: op-ci" rb_run op-ci
tap_like "$(out)" "^### validate the registry: ok$" "CI: validate ok"
tap_like "$(out)" "^### onboarding checklist: data_products/dp_supplier_invoices.yaml: ok$" "CI: the checklist step ok"
tap_like "$(out)" "^### apply --dry-run: the diff this PR makes \(ci_empty\): ok$" "CI: the dry run ok"
tap_like "$(out)" "^data_products: $((before_products + 1)) added" "CI: the diff adds every product, the new one included"
tap_is "$(psql -X -Atq -d postgres -c "select count(*) from pg_database where datname like 'ci\_%'")" 0 "CI drops its throw-away databases"

step "onboard: op-apply" rb_run op-apply
tap_like "$(out)" "^data_products: 1 added, 0 changed, 0 removed" "the dry run adds one product and changes nothing else"
tap_like "$(out)" "^kpis: 2 added, 0 changed, 0 removed" "and its two KPIs"
tap_like "$(out)" "\+ dp_supplier_invoices" "naming the product"
tap_like "$(out)" "applied: 3 row\(s\) written" "apply writes the three rows"
tap_is "$(psql -X -At -c "SELECT count(*) FROM public.data_products")" $((before_products + 1)) "one product more in the database"
tap_is "$(psql -X -At -c "SELECT count(*) FROM public.kpis")" $((before_kpis + 2)) "two KPIs more"

step "onboard: op-verify" rb_run op-verify -At
tap_like "$(out)" "^dp_supplier_invoices\|Supplier Invoices\|Procurement\|Procurement Analytics\|procurement_spend_analysis\|data_products/dp_supplier_invoices.yaml$" \
  "the product row: owner, the process by id, the contract's path"
tap_like "$(out)" "^active_suppliers\|dp_supplier_invoices\|Procurement\|v_invoices_monthly$" "a KPI points at the product by id, with its domain"
tap_like "$(out)" "^invoiced_amount\|dp_supplier_invoices\|Procurement\|v_invoices_monthly$" "so does the other"
tap_is "$(grep -c '|INSERT|registry-sync apply|' "$work/out")" 3 "the three inserts are in the audit trail, by registry-sync apply"
out=$("$rs" apply --registry "$REGISTRY_DIR" 2>&1)
tap_like "$out" "0 row\(s\) written" "a second apply writes nothing"
tap_done
