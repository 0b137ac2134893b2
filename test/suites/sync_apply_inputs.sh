#!/usr/bin/env bash
# registry-sync apply and its inputs: names from the mapping reach SQL quoted (a column named
# o'k works), and the mapping is read once per run (schema check, hash and apply see the same
# bytes: a mapping that can be read only once, from a pipe, is enough).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/tap.sh
. test/lib/sync_apply.sh
db=rg_sync_apply_inputs
sa_newdb $db; tap_ok $? "fresh database with the registry schema"
export PGDATABASE=$db
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# Column names with quotes: the composite key's label and the changed-field list used to be
# spliced into SQL string literals unquoted.
psql -X -q <<'SQL'
CREATE TABLE public.odd_names ("it's" text, "k""2" text, "o'k" text, PRIMARY KEY ("it's", "k""2"));
SQL
cat >"$work/odd-mapping.yaml" <<'YAML'
version: 1
tables:
  odd_names:
    key: ["it's", 'k"2']
    columns: {"it's": text, 'k"2': text, "o'k": text}
files:
  - path: odd.yaml
    lists:
      .: {table: odd_names}
YAML
mkdir -p "$work/odd"
printf -- "- {\"it's\": a, 'k\"2': b, \"o'k\": first}\n" >"$work/odd/odd.yaml"
out=$("$SA_BIN" apply --registry "$work/odd" --mapping "$work/odd-mapping.yaml" 2>&1); rc=$?
tap_is "$rc" 0 "apply into a table whose column names hold quotes succeeds"
printf -- "- {\"it's\": a, 'k\"2': b, \"o'k\": second}\n" >"$work/odd/odd.yaml"
out=$("$SA_BIN" apply --registry "$work/odd" --mapping "$work/odd-mapping.yaml" --dry-run 2>&1); rc=$?
tap_is "$rc" 0 "dry run of a change in such a table succeeds"
tap_like "$out" "~ it's=a, k\"2=b: o'k" "the diff names the row by its quoted key columns and the changed column"
"$SA_BIN" apply --registry "$work/odd" --mapping "$work/odd-mapping.yaml" >/dev/null 2>&1
tap_is "$(psql -X -At -c "SELECT \"o'k\" FROM odd_names")" "second" "the change is written"

# The mapping is read once: from a pipe (readable once) apply works and records the hash of
# the bytes it used.
R=$work/reg; sa_copy_fixture "$R"
out=$("$SA_BIN" apply --registry "$R" --on-dangling=drop --mapping <(cat "$RGSYNC_MAPPING") 2>&1); rc=$?
tap_is "$rc" 0 "apply with the mapping on a pipe succeeds (it is read once)"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /' | head -5
want=$(sha256sum "$RGSYNC_MAPPING" | cut -d' ' -f1)
tap_is "$(psql -X -At -c "SELECT options FROM registry_sync.apply_state WHERE tenant = 'default'" | grep -o 'mapping=[0-9a-f]*')" \
  "mapping=$want" "the run records the hash of the mapping bytes it applied"
out=$("$SA_BIN" validate --registry "$R" --on-dangling=drop --mapping <(cat "$RGSYNC_MAPPING") 2>&1); rc=$?
tap_is "$rc" 0 "validate with the mapping on a pipe succeeds"

psql -X -q -d postgres -c "DROP DATABASE $db"
tap_done
