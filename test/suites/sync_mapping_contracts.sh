#!/usr/bin/env bash
# The mapping features for contract files, through the command line (registry-sync validate,
# export): each mapping mistake exits 2 naming the mapping's file:line, each data mistake
# exits 1 naming the data file's file:line; $stem / first_of / const values are checked on a
# contract registry built here. The sample registry's rows and overrides are checked by
# sync_apply_parity.sh; the rules one by one by daemon/tests/registry_contracts_test.cpp.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
repo=$(pwd)
rs=$repo/build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
src=$repo/examples/registry-contracts
M=$src/registry-mapping.yaml

# ---- mapping mistakes: a copy of the sample mapping with one line changed (exit 2, file:line)
# bad_mapping NAME 'sed expression' 'message regex': the mistake is reported at the edited line.
bad_mapping() {
  local name=$1 expr=$2 want=$3 m=$work/$1.yaml line out rc
  sed "$expr" "$M" > "$m"
  line=$(diff <(cat "$M") "$m" | sed -n 's/^[0-9,]*[acd]\([0-9]*\).*/\1/p' | head -1)
  out=$("$rs" validate --registry "$src" --mapping "$m" 2>&1); rc=$?
  tap_is "$rc" 2 "mapping mistake ($name): exit 2"
  tap_like "$out" "$m:$line:[0-9]+: .*$want" "mapping mistake ($name): named at $name.yaml:$line"
}
bad_mapping unknown_source 's/id: \[metadata.id, id, \$stem\]/id: [metadata.id, id, $name]/' "unknown source '\\\$name'"
bad_mapping bad_path 's/name: \[metadata.name, name\]/name: [metadata..name, name]/' "'metadata..name' is not a field path"
bad_mapping const_type 's/language: {const: EN}/language: {const: [EN, DE]}/' "const value of data_products.language does not fit the column type text"
bad_mapping const_bool 's/staging: {const: true}/staging: {const: sometimes}/' "const value of data_products.staging does not fit the column type boolean"
bad_mapping const_default 's/language: {const: EN}/language: {const: EN, default: DE}/' "a const column takes no default"
bad_mapping two_kinds 's/language: {const: EN}/language: {const: EN, from: lang}/' "a column rule takes one of from / first_of"
bad_mapping overrides_unknown 's#overrides: \["data_products/\*.yaml", data_product_registry.yaml\]#overrides: ["data_product/*.yaml"]#' \
  "overrides: 'data_product/\\*.yaml' is not the path of a files entry"
bad_mapping overrides_self 's#overrides: \["data_products/\*.yaml", data_product_registry.yaml\]#overrides: ["staging/*.yaml"]#' \
  "overrides: 'staging/\\*.yaml' is this files entry itself"
bad_mapping parent_column 's/data_product_id: {parent: id}/data_product_id: {parent: product}/' "parent column 'product' is not a column of data_products"
bad_mapping unknown_fields_value 's/^      children: &contract_kpis/      unknown_fields: never\n      children: \&contract_kpis/' "unknown_fields must be error or warning"
bad_mapping entry_with_lists 's#^  - path: "data_products/\*.yaml"#  - path: "data_products/*.yaml"\n    documents: [notes]#' "a file that is one entry \\(entry:\\) has no lists: or documents:"
# A cycle: the contracts also override the staging files.
m=$work/cycle.yaml
sed 's#^  - path: "data_products/\*.yaml"#  - path: "data_products/*.yaml"\n    overrides: ["staging/*.yaml"]#' "$M" > "$m"
line=$(grep -n 'overrides: \["staging' "$m" | cut -d: -f1)
out=$("$rs" validate --registry "$src" --mapping "$m" 2>&1); rc=$?
tap_is "$rc" 2 "mapping mistake (overrides cycle): exit 2"
tap_like "$out" "$m:$line:[0-9]+: overrides: 'data_products/\\*.yaml' and the sources it overrides override each other" "mapping mistake (overrides cycle): named at its line"

# ---- data mistakes: a copy of the sample registry with bad contracts (exit 1, file:line each)
reg=$work/reg; mkdir "$reg"; cp -R "$src"/. "$reg"/; chmod -R u+w "$reg"
cat > "$reg"/data_products/dp_bad.yaml <<'YAML'
metadata:
  name: Bad
  domian: Finance
domain: Finance
owner: Someone
colour: blue
kpis:
  - id: bad_kpi
    name: Bad KPI
    data_product_id: dp_other
  - id: typo_kpi
    name: Typo KPI
    unti: EUR
  - just_a_name
YAML
printf 'metadata: a text, not a mapping\nname: X\ndomain: FI\nowner: Y\n' > "$reg"/data_products/dp_meta_text.yaml
printf -- '- name: X\n  domain: FI\n' > "$reg"/data_products/dp_list.yaml
printf 'metadata:\n  id: dp_inventory\nname: Second inventory\ndomain: FI\nowner: Z\n' > "$reg"/data_products/inventory_copy.yaml
out=$("$rs" validate --registry "$reg" --mapping "$M" 2>&1); rc=$?
tap_is "$rc" 1 "data mistakes: validate exits 1"
f=$reg/data_products
tap_like "$out" "$f/dp_bad.yaml:3:3: error: unknown field 'metadata.domian' in data_products entry 'dp_bad'" "a typo under metadata: is an error at its line"
tap_like "$out" "$f/dp_bad.yaml:6:1: error: unknown field 'colour' in data_products entry 'dp_bad'" "an undeclared contract field is an error at its line"
tap_like "$out" "$f/dp_bad.yaml:10:5: error: unknown field 'data_product_id' in kpis entry 'bad_kpi'" "a KPI in a contract may not name another product (the id is filled in)"
tap_like "$out" "$f/dp_bad.yaml:13:5: error: unknown field 'unti' in kpis entry 'typo_kpi'" "an undeclared KPI key is an error at its line"
tap_like "$out" "$f/dp_bad.yaml:14:5: error: data_products entry 'dp_bad': each kpis element must be a mapping of kpis fields" "a KPI that is not a mapping is an error at its line"
tap_like "$out" "$f/dp_meta_text.yaml:1:11: error: data_products.id: 'metadata' must be a mapping to read metadata.id" "metadata: that is not a mapping is an error at its line"
tap_is "$(grep -c "dp_meta_text.yaml:1:11: error" <<<"$out")" 1 "reported once, not once per column reading it"
tap_like "$out" "$f/dp_list.yaml:1:1: error: this file must be one data_products entry \\(a mapping of fields\\), got a list" "a contract that is a list is an error"
tap_like "$out" "$f/inventory_copy.yaml:1:1: error: data_products key 'dp_inventory' is also defined at $f/dp_inventory.yaml:2 with different content" \
  "the same id in two contracts (no precedence between them) is an error naming both places"
rm -rf "$reg"/staging/*.yaml
out=$("$rs" validate --registry "$reg" --mapping "$M" 2>&1)
n=$(grep -c "staging/\\*.yaml" <<<"$out")
tap_is "$n" 0 "an empty staging directory is fine (optional: true)"
sed 's/^    optional: true$//' "$M" > "$work"/strict.yaml
out=$("$rs" validate --registry "$reg" --mapping "$work"/strict.yaml 2>&1)
tap_like "$out" "$reg/staging/\\*.yaml:1:1: error: no registry file matches this pattern" "a required glob that matches nothing is an error naming the pattern"

# ---- a const column reads no field: the contract's own spelling of it is reported (with the id from the file name)
reg2=$work/reg2; mkdir -p "$reg2"/data_products
cp "$src"/business_process_registry.yaml "$src"/data_product_registry.yaml "$reg2"/
printf 'metadata:\n  name: From metadata\n  domain: FI\n  owner: O\nname: Top level loses\ndomain: HR\nlanguage: DE\n' > "$reg2"/data_products/dp_stem.yaml
out=$("$rs" validate --registry "$reg2" --mapping "$M" 2>&1); rc=$?
tap_is "$rc" 1 "a field a const column replaces is not read: it is an unknown field"
tap_like "$out" "dp_stem.yaml:7:1: error: unknown field 'language' in data_products entry 'dp_stem'" "named with the id taken from the file name"

# ---- export refuses a mapping with entry files (no file name per row)
out=$("$rs" export --mapping "$M" --out "$work"/out 2>&1); rc=$?
tap_ok $([ "$rc" != 0 ] && echo 0 || echo 1) "export with entry files fails"
tap_like "$out" "export cannot write 'data_products/\\*.yaml'" "and says which files entry it cannot write"
tap_done
