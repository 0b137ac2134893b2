#!/usr/bin/env bash
# `registry-sync validate --checklist data-product FILE`, the onboarding checklist as code, over
# sample contracts against the January 2026 example registry: the good contract passes every
# check (exit 0); each broken variant fails exactly the check it breaks, naming file:line; bad
# inputs (not a mapping, empty, not YAML, wrong types everywhere) give a clear failed check or a
# usage error, never a crash. No database is needed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export RGSYNC_MAPPING=$repo/config/registry-mapping.yaml
reg=$repo/examples/registry-2026-01
good=$repo/test/fixtures/contracts/dp_fi_accounts_payable.yaml
n_checks=10

# check FILE [registry]: runs the checklist (ASCII marks: LC_ALL=C), sets $out and $rc.
check() { out=$(LC_ALL=C "$rs" validate --registry "${2:-$reg}" --checklist data-product "$1" 2>&1); rc=$?; }
# variant NAME OLD NEW [OLD NEW ...]: a copy of the good contract (same file name, so the same
# id) with each OLD text (which must occur exactly once) replaced; prints its path.
variant() {
  local name=$1; shift
  mkdir -p "$work/$name"
  python3 - "$good" "$work/$name/$(basename "$good")" "$@" <<'PY' || return 1
import sys
src, dst, *edits = sys.argv[1:]
text = open(src).read()
for old, new in zip(edits[::2], edits[1::2]):
    if text.count(old) != 1:
        sys.exit(f"variant: {old!r} occurs {text.count(old)} times")
    text = text.replace(old, new)
open(dst, "w").write(text)
PY
  echo "$work/$name/$(basename "$good")"
}
line_of() { grep -n -m1 -F -- "$2" "$1" | cut -d: -f1; }  # line_of FILE TEXT
# fails_only TITLE FILE LINE WHAT: exit 1, exactly one failed check, the one titled TITLE, its
# first problem at FILE:LINE; every other check passed.
fails_only() {
  local title=$1 file=$2 line=$3 what=$4
  tap_is "$rc" 1 "$what: exit status 1"
  tap_is "$(grep -c '^FAIL ' <<<"$out")" 1 "$what: exactly one check fails"
  tap_like "$out" "^FAIL ${title}: ${file//./\\.}:${line}:[0-9]+: " "$what: '$title' fails at ${file##*/}:$line"
  tap_is "$(grep -c '^ok ' <<<"$out")" $((n_checks - 1)) "$what: the other $((n_checks - 1)) checks pass"
}

# ---- the good contract
check "$good"
tap_is "$rc" 0 "the good contract: exit status 0"
tap_is "$(grep -c '^ok ' <<<"$out")" "$n_checks" "the good contract: all $n_checks checks pass"
tap_like "$out" "^$n_checks passed, 0 failed$" "the summary says so"
tap_like "$out" "^ok   related business processes exist: finance_expense_management, finance_cash_flow_management$" \
  "a process named by display name is found (and shown by id)"
tap_like "$out" "^ok   required fields .*: id dp_fi_accounts_payable \(the file name\)" "the id defaults to the file name"
[ "$rc" = 0 ] || sed 's/^/#   /' <<<"$out"
out_utf8=$(LC_ALL=C.UTF-8 "$rs" validate --registry "$reg" --checklist data-product "$good" 2>&1)
tap_is "$(grep -c '^✓ ' <<<"$out_utf8")" "$n_checks" "in a UTF-8 locale the marks are check marks"
out_ascii=$(LC_ALL=C.UTF-8 "$rs" validate --registry "$reg" --checklist data-product --ascii "$good" 2>&1)
tap_is "$(grep -c '^ok ' <<<"$out_ascii")" "$n_checks" "--ascii gives ok/FAIL in a UTF-8 locale too"
# Fields at the top level instead of under metadata:, and an explicit id.
flat=$(variant flat 'metadata:
  name:' 'id: dp_fi_ap_flat
name:' '
  domain: "Finance"
  owner:' '
domain: "Finance"
owner:' '
  description:' '
description:' '
  version:' '
version:' '
  tags:' '
tags:' '
  related_business_processes:
    - "finance_expense_management"
    - "Finance: Cash Flow Management"' '
related_business_processes:
  - "finance_expense_management"
  - "Finance: Cash Flow Management"')
check "$flat"
tap_is "$rc" 0 "fields at the top level (no metadata:) and an explicit id: every check passes"
tap_like "$out" "id dp_fi_ap_flat \(written\)" "the written id wins over the file name"
[ "$rc" = 0 ] || sed 's/^/#   /' <<<"$out"

# ---- one variant per check
f=$(variant no-name '  name: "Accounts Payable"
' '')
check "$f"; fails_only "required fields present, with the right types" "$f" "$(line_of "$f" 'metadata:')" "no name"
tap_like "$out" "no name: add \`name: \.\.\.\` under metadata:" "  and says where to add it"

f=$(variant tags-text 'tags: ["erp", "finance", "payables"]' 'tags: "erp"')
check "$f"; fails_only "required fields present, with the right types" "$f" "$(line_of "$f" 'tags:')" "tags is text, not a list"
tap_like "$out" "tags: expected a list of text values, got a single value" "  naming the expected type"

f=$(variant staging-maybe 'staging: false' 'staging: maybe')
check "$f"; fails_only "required fields present, with the right types" "$f" "$(line_of "$f" 'staging:')" "staging is not a boolean"

f=$(variant kpi-no-domain '    name: "Overdue Payables"
    domain: "Finance"
' '    name: "Overdue Payables"
')
check "$f"; fails_only "required fields present, with the right types" "$f" "$(line_of "$f" '- id: ap_overdue_amount')" "a contract KPI without domain"

f=$(variant no-owner '  owner: "Finance Data Team"
' '')
check "$f"; fails_only "owner and domain set" "$f" "$(line_of "$f" 'metadata:')" "no owner"
tap_like "$out" "default is not an owner" "  the '{domain} Team' default does not count"

f=$(variant empty-domain '  domain: "Finance"
  owner' '  domain: ""
  owner')
check "$f"; fails_only "owner and domain set" "$f" "$(line_of "$f" 'domain: ""')" "an empty domain"

f=$(variant bad-process '"finance_expense_management"
    - "Finance: Cash' '"finance_expense_managment"
    - "Finance: Cash')
check "$f"; fails_only "related business processes exist" "$f" "$(line_of "$f" 'finance_expense_managment')" "a misspelt process"
tap_like "$out" "business process 'finance_expense_managment' does not exist" "  named in the message"

f=$(variant no-process '  related_business_processes:
    - "finance_expense_management"
    - "Finance: Cash Flow Management"
' '')
check "$f"; fails_only "related business processes exist" "$f" "$(line_of "$f" 'metadata:')" "no process at all"

no_kpis_contract=$(python3 -c 'import sys; t = open(sys.argv[1]).read(); print(t[:t.index("kpis:")], end="")' "$good")
mkdir -p "$work/no-kpis"; f=$work/no-kpis/$(basename "$good"); printf '%s' "$no_kpis_contract" >"$f"
check "$f"; fails_only "KPIs that name the product exist" "$f" "$(line_of "$f" 'metadata:')" "no KPI names the product"

f=$(variant kpi-by-name '    view_name: "ap_invoice_view"
    sql_query: "SELECT SUM' '    data_product_id: "Accounts Payable"
    view_name: "ap_invoice_view"
    sql_query: "SELECT SUM')
check "$f"; fails_only "KPIs name the product by id" "$f" "$(line_of "$f" 'data_product_id: "Accounts Payable"')" "a contract KPI names the product by display name"
tap_like "$out" "write data_product_id: dp_fi_accounts_payable" "  and says to write the id"

# A KPI in the registry (kpi_registry.yaml) naming the product by its display name: the
# failure points into the registry file.
cp -r "$reg" "$work/reg-by-name"
cat >>"$work/reg-by-name/kpi_registry.yaml" <<'YAML'
  - id: ap_invoice_count
    name: "Invoices Received"
    domain: "Finance"
    data_product_id: "Accounts Payable"
    view_name: "ap_invoice_view"
    sql_query: "SELECT COUNT(*) FROM ap_invoice_view"
YAML
check "$good" "$work/reg-by-name"
fails_only "KPIs name the product by id" "$work/reg-by-name/kpi_registry.yaml" "$(line_of "$work/reg-by-name/kpi_registry.yaml" 'data_product_id: "Accounts Payable"')" \
  "a registry KPI names the product by display name"
tap_like "$out" "^ok   KPIs that name the product exist: 2 in the contract, 1 in the registry" "  and counts as one of its KPIs"

f=$(variant bad-view 'view_name: "ap_invoice_view"
    base_column' 'view_name: "ap_invoices_view"
    base_column')
check "$f"; fails_only "tables and columns the KPIs use exist in the contract" "$f" "$(line_of "$f" 'ap_invoices_view')" "a KPI's view is not in the contract"

f=$(variant bad-dimension 'field: company_code}' 'field: profit_center}')
check "$f"; fails_only "tables and columns the KPIs use exist in the contract" "$f" "$(line_of "$f" 'profit_center')" "a KPI's dimension column is not in the contract"

f=$(variant bad-sql-table 'FROM ap_invoice_view WHERE' 'FROM sap.ap_open_items WHERE')
check "$f"; fails_only "tables and columns the KPIs use exist in the contract" "$f" "$(line_of "$f" 'ap_open_items')" "a KPI's query reads a table the contract lacks"
tap_like "$out" "sql_query reads 'ap_open_items'" "  naming the table"

f=$(variant bad-sql-column 'AVG(ap_invoices.paid_date' 'AVG(ap_invoices.payment_date')
check "$f"; fails_only "tables and columns the KPIs use exist in the contract" "$f" "$(line_of "$f" 'payment_date')" "a KPI's query uses a column the table lacks"

f=$(variant same-name 'name: "Accounts Payable"' 'name: "GL Accounts"')
check "$f"; fails_only "no id or name collision with another product" "$f" "$(line_of "$f" 'GL Accounts')" "the name of another product"
tap_like "$out" "product dp_fi_20250516_002 \(.*data_product_registry.yaml:[0-9]+\) has the same name" "  naming the other product and where it is"

f=$(variant kpi-id-taken '- id: ap_overdue_amount' '- id: gross_revenue')
check "$f"; fails_only "no id or name collision with another product" "$f" "$(line_of "$f" 'id: gross_revenue')" "a KPI id another product's KPI has"

f=$(variant override-undeclared 'metadata:
  name:' 'metadata:
  product_id: dp_fi_20250516_002
  name:')
check "$f"; fails_only "no override without saying so" "$f" "$(line_of "$f" 'product_id:')" "the id of a registry product, without staging"
tap_like "$out" "declare \`staging: true\` if it is meant to" "  saying how to declare it"
f=$(variant override-declared 'metadata:
  name:' 'metadata:
  product_id: dp_fi_20250516_002
  name:' 'staging: false' 'staging: true')
check "$f"
tap_is "$rc" 0 "the same override declared with staging: true passes"
tap_like "$out" "^ok   no override .*: declared; overrides product dp_fi_20250516_002 at .*data_product_registry.yaml:[0-9]+ \(staging: true\)" \
  "  and says what it overrides"

# The registry itself must read: a broken registry file is named.
cp -r "$reg" "$work/reg-broken"
printf 'not_a_key: 1\n' >>"$work/reg-broken/business_glossary.yaml"
check "$good" "$work/reg-broken"
tap_is "$rc" 1 "a registry with errors: exit status 1"
tap_like "$out" "^FAIL registry .* reads through the mapping: .*business_glossary.yaml:$(wc -l <"$work/reg-broken/business_glossary.yaml"):1: unknown top-level key 'not_a_key'" \
  "  its error is named with file:line"

# ---- bad inputs: a failed first check with file:line, never a crash
bad() {  # bad NAME CONTENT REGEX
  printf '%s' "$2" >"$work/$1.yaml"
  check "$work/$1.yaml"
  tap_is "$rc" 1 "bad input $1: exit status 1"
  tap_like "$out" "^FAIL contract reads as one YAML mapping: $work/$1\.yaml:[0-9]+:[0-9]+: $3" "bad input $1: $3"
  tap_like "$out" "^0 passed, 1 failed \(the other checks need a readable contract\)$" "bad input $1: the other checks are not run"
}
bad empty "" "file is empty"
bad list $'- name: x\n- name: y\n' "the top level is a list"
bad scalar "just text" "the top level is a single value"
bad syntax $'metadata:\n  name: [unclosed\n' "did not find expected"
bad binary $'\xff\xfe\x00garbage' "invalid leading UTF-8 octet"
bad metadata-list $'metadata:\n  - name: x\n' "metadata: is a list"
bad two-docs $'name: a\n---\nname: b\n' ".*(more than one|multiple|document)"
# Wrong types everywhere: every problem is a finding with file:line; the run ends normally.
cat >"$work/types.yaml" <<'YAML'
metadata:
  id: [1, 2]
  name: {a: 1}
  domain: 5
  owner: [x]
  related_business_processes: "finance_expense_management"
  last_updated: "yesterday"
  reviewed: sometimes
staging: [true]
tables: "ap_invoices"
views:
  - 42
  - {columns: [a]}
  - {name: v, columns: 7}
kpis:
  - just-a-string
  - {id: k1, name: K, domain: Finance, view_name: [v], sql_query: {select: 1}, dimensions: "x", filters: [1], tags: "t"}
YAML
check "$work/types.yaml"
tap_is "$rc" 1 "wrong types everywhere: exit status 1, no crash"
for l in 2 3 5 6 7 8 9 10 13 14 16 17; do
  tap_like "$out" "$work/types\.yaml:$l:[0-9]+: " "wrong types: line $l is named"
done
tap_like "$out" "^[0-9]+ passed, [0-9]+ failed$" "wrong types: the summary line is printed"
tap_ok "$(grep -ciE 'terminate|exception|what\(\)' <<<"$out")" "wrong types: no exception text"
# Nested deeply / a long list of KPIs: still a normal result.
python3 -c 'print("metadata:\n  name: " + "[" * 400 + "]" * 400)' >"$work/deep.yaml"
check "$work/deep.yaml"
tap_is "$rc" 1 "a deeply nested name: exit status 1"
tap_like "$out" "deep\.yaml:2:[0-9]+: name: expected text" "  a type finding"

# ---- usage errors (exit 2)
LC_ALL=C "$rs" validate --registry "$reg" --checklist data-product "$work/missing.yaml" >"$work/o" 2>&1; rc=$?
tap_is "$rc" 2 "a missing FILE is a usage error (exit 2)"
tap_like "$(cat "$work/o")" "missing.yaml: no such file" "  naming the file"
LC_ALL=C "$rs" validate --registry "$reg" --checklist kpi "$good" >"$work/o" 2>&1; rc=$?
tap_is "$rc" 2 "an unknown checklist is a usage error (exit 2)"
tap_like "$(cat "$work/o")" "unknown checklist \(known: data-product\)" "  listing the known ones"
LC_ALL=C "$rs" validate --registry "$reg" "$good" >"$work/o" 2>&1; rc=$?
tap_is "$rc" 2 "a FILE without --checklist is a usage error (exit 2)"
LC_ALL=C "$rs" validate --checklist data-product "$good" >"$work/o" 2>&1; rc=$?
tap_is "$rc" 2 "the checklist without --registry is a usage error (exit 2)"
tap_done
