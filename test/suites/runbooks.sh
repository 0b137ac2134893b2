#!/usr/bin/env bash
# The runbooks cannot rot: every fenced block in docs/runbooks/*.md is named (```sh test:NAME,
# ```sql test:NAME, or ```yaml test:NAME for a file excerpt a suite writes with rb_block), names
# are unique per document, and every named block is used from the document by a suite
# (rb_use <document> ... rb_run / rb_run_as_server / rb_block NAME in test/suites/).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/runbook.sh
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# The check itself must be able to fail: an unnamed block and a duplicate name are found.
printf '# x\n```sh test:a\necho a\n```\n\n  ```sh\n  echo unnamed\n  ```\n```sql test:a\nSELECT 1;\n```\n' >"$work/bad.md"
tap_is "$(rb_list "$work/bad.md" | tr '\n' ' ')" "sh a sh - sql a " "rb_list sees named, unnamed (indented) and duplicate blocks"
RB_REPO=$work rb_use bad.md && out=$(RB_REPO=$work rb_block a 2>&1)
tap_like "$out" "has 2 blocks named test:a" "a duplicate name is refused"

docs=(docs/runbooks/*.md)
[ -e "${docs[0]}" ]; tap_ok $? "docs/runbooks has documents"
for doc in "${docs[@]}"; do
  blocks=$(rb_list "$doc")
  [ -n "$blocks" ] || continue
  bad=$(awk '$2 == "-" || ($1 != "sh" && $1 != "sql" && $1 != "yaml")' <<<"$blocks")
  tap_is "$bad" "" "$doc: every block is an sh, sql or yaml block named test:NAME"
  dups=$(awk '{ print $2 }' <<<"$blocks" | sort | uniq -d)
  tap_is "$dups" "" "$doc: block names are unique"
  suites=$(grep -l -- "rb_use $doc" test/suites/*.sh)
  missing=()
  for name in $(awk '$2 != "-" { print $2 }' <<<"$blocks"); do
    # shellcheck disable=SC2086
    [ -n "$suites" ] && grep -Eq -- "(rb_run|rb_run_as_server|rb_block|as_server_block) $name( |$|\))" $suites || missing+=("$name")
  done
  tap_is "${missing[*]}" "" "$doc: every block is run by a suite (${suites//$'\n'/, })"
done
# Links between the documents resolve (a renamed runbook breaks the others' references).
broken=()
for doc in docs/runbooks/*.md docs/security.md; do
  [ -f "$doc" ] || continue
  while IFS= read -r target; do
    target=${target%%#*}
    [ -n "$target" ] || continue
    [ -e "$(dirname "$doc")/$target" ] || broken+=("$doc -> $target")
  done < <(grep -oE '\]\([^)#][^)]*\)' "$doc" | sed -E 's/^\]\((.*)\)$/\1/' | grep -vE '^[a-z]+:')
done
tap_is "${broken[*]}" "" "every relative link in docs/runbooks and docs/security.md resolves"
tap_done
