#!/usr/bin/env bash
# The runbooks cannot rot: every fenced block in docs/runbooks/*.md is named (```sh test:NAME,
# ```sql test:NAME, or ```yaml test:NAME for a file excerpt a suite writes with rb_block) or
# marked with the reason it cannot run on a test machine (```sh not-run: REASON), names are
# unique per document, every named block is used from the document by a suite (rb_use
# <document> ... rb_run / rb_run_as_server / rb_block NAME in test/suites/), and a command
# written inline in the text (`registry-sync migrate --check`, `SELECT ...`) is one of the
# document's blocks; `registry-sync NAME` alone must name a command registry-sync has.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/runbook.sh
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
rs=build/daemon/registry-sync
[ -x "$rs" ] || { echo "not ok 1 - $rs is not built"; exit 1; }
commands=$("$rs" --help | awk '/^commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && /^$/ { c = 0 }' | tr '\n' ' ')
tap_like "$commands" "^apply .*verify-restore $" "registry-sync --help lists its commands ($commands)"

# The check itself must be able to fail: an unnamed block and a duplicate name are found.
printf '# x\n```sh test:a\necho a\n```\n\n  ```sh\n  echo unnamed\n  ```\n```sql test:a\nSELECT 1;\n```\n' >"$work/bad.md"
tap_is "$(rb_list "$work/bad.md" | tr '\n' ' ')" "sh a sh - sql a " "rb_list sees named, unnamed (indented) and duplicate blocks"
RB_REPO=$work rb_use bad.md && out=$(RB_REPO=$work rb_block a 2>&1)
tap_like "$out" "has 2 blocks named test:a" "a duplicate name is refused"
printf '```sh not-run: needs systemd\nsystemctl restart x\n```\n```sh not-run:\nx\n```\n' >"$work/notrun.md"
tap_is "$(rb_list "$work/notrun.md" | tr '\n' ' ')" "sh not-run sh not-run: " "rb_list tells a not-run block with a reason from one without"
cat >"$work/inline.md" <<'MD'
Run `registry-sync migrate --check` and then `registry-sync apply --registry "$D"`, or
`SELECT audit.restore(42)` across a
line; `registry-sync migrat` is a typo. Not commands: `registry-sync migrate`, `CREATE DATABASE`,
`psql`, `audit.verify()`, `systemctl restart x` (in the block below).

```sh not-run: needs systemd
systemctl   restart x
```
```sh test:apply
registry-sync apply --registry "$D" --dry-run
```
MD
tap_is "$(rb_inline_commands "$work/inline.md" "$commands" | sed "s|$work/||")" \
"inline.md:1: \`registry-sync migrate --check\`
inline.md:2: \`SELECT audit.restore(42)\`
inline.md:3: \`registry-sync migrat\` (registry-sync has no command migrat)" \
  "an inline command not in a block, across a line too, and an unknown registry-sync command are found"

docs=(docs/runbooks/*.md)
[ -e "${docs[0]}" ]; tap_ok $? "docs/runbooks has documents"
for doc in "${docs[@]}"; do
  blocks=$(rb_list "$doc")
  [ -n "$blocks" ] || continue
  bad=$(awk '$2 == "-" || $2 == "not-run:" || ($1 != "sh" && $1 != "sql" && $1 != "yaml")' <<<"$blocks")
  tap_is "$bad" "" "$doc: every block is an sh, sql or yaml block named test:NAME or marked not-run: with a reason"
  dups=$(awk '$2 != "not-run" { print $2 }' <<<"$blocks" | sort | uniq -d)
  tap_is "$dups" "" "$doc: block names are unique"
  suites=$(grep -l -- "rb_use $doc" test/suites/*.sh)
  missing=()
  for name in $(awk '$2 != "-" && $2 != "not-run" { print $2 }' <<<"$blocks"); do
    # shellcheck disable=SC2086
    [ -n "$suites" ] && grep -Eq -- "(rb_run|rb_run_as_server|rb_block|as_server_block) $name( |$|\))" $suites || missing+=("$name")
  done
  tap_is "${missing[*]}" "" "$doc: every block is run by a suite (${suites//$'\n'/, })"
done
for doc in "${docs[@]}"; do
  tap_is "$(rb_inline_commands "$doc" "$commands")" "" "$doc: every command written inline is one of its blocks"
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
